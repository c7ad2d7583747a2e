# Transient network faults retried: the lab's vCenters reached through drfaultproxy (tests/lab/README.md, "Fault proxy"),
# which cuts, stalls or answers 503 to a share of the connections. The resume of a broken copy is in NetworkFaults.Tests.ps1.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $cred = New-TestCredential
    # In $Vault: site onprem reached at $Server (a proxy), policy gold (with $Policy's settings), group erp with DC0_H0_VM0.
    function New-ProxiedProtection([string] $Vault, [string] $Server, [hashtable] $Policy = @{}) {
        $at = @{ Vault = $Vault; WarningAction = 'SilentlyContinue' }
        New-DRSite @at -Name onprem -VSphere -Server $Server -Credential $cred -Role Protected -SkipCertificateCheck | Out-Null
        New-DRSite @at -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        New-ReplicationPolicy @at -Name gold -AppConsistentFrequency 0 @Policy | Out-Null
        New-ProtectionGroup @at -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        Get-DRVm @at -Site onprem -Name DC0_H0_VM0 | Enable-VmProtection @at -ProtectionGroup erp -NoWait | Out-Null
    }
}

Describe 'Replication through a network that cuts 10 % of its connections' {
    BeforeAll {
        $capacity = 128MB
        $seed = Get-Random -Maximum 100000
        $rng = [Random]::new($seed)
        $lab = Start-TestVcsim -Arguments @('-vm', '1', '-cluster', '0', '-disk-mb', '128')
        # Cut after a random count of up to 4 MiB: data connections die mid-chunk, SOAP connections now and then.
        $proxy = Start-TestFaultProxy -Upstream $lab.Url -Mode tcp -Arguments @('-cut', '0.1', '-seed', $seed)
        $vault = New-TestVaultPath
        $work = Split-Path $vault
        $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
        $disk = Get-FlatFile $lab.StateDir 'DC0_H0_VM0'
        Write-DiskBytes $disk 0 (32MB) 1
        New-ProxiedProtection $vault $proxy.Url('/sdk') @{ RecoveryPointRetention = New-TimeSpan -Days 1 }
    }
    AfterAll {
        $proxy | Stop-TestFaultProxy
        $lab | Stop-TestVcsim
        Remove-TestVault $vault
    }

    It 'makes 20 points in 20 cycles, retrying the cut transfers within each cycle''s budget (seed <seed>)' {
        $results = for ($cycle = 1; $cycle -le 20; $cycle++) {
            if ($cycle -gt 1) { Write-GuestChanges $disk $capacity 24 $rng }
            Sync-VmReplication -ProtectionGroup erp -ErrorAction Stop
        }
        $stats = Get-TestFaultStats $proxy
        $retries = ($results | Measure-Object Retries -Sum).Sum
        Write-Host "Seed $seed`: $($stats.connections) connections, $($stats.cuts) cut, $retries retries over 20 cycles"
        @($results | Where-Object Point) | Should -HaveCount 20 -Because "every cycle commits its point (seed $seed)"
        $stats.cuts | Should -BeGreaterThan 0 -Because 'the proxy cut connections'
        $retries | Should -BeGreaterThan 0 -Because 'the cycles met the cuts and retried'
        $vm = Get-ProtectedVm DC0_H0_VM0
        $vm.State | Should -Be 'Protected'
        $vm.LastError | Should -BeNullOrEmpty
    }

    It 'keeps every point intact, and the last one equals the disk byte for byte' {
        $points = @(Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint)
        $points | Should -HaveCount 20
        $checks = @($points | Test-RecoveryPoint)
        @($checks | Where-Object { -not $_.Intact }) | Should -BeNullOrEmpty
        $image = $points[-1] | Export-RecoveryPoint -Destination (Join-Path $work 'export')
        (Get-FileHash $image.FullName -Algorithm SHA256).Hash | Should -Be (Get-DiskHash $disk $capacity)
        Remove-Item $image.FullName
    }

    It 'says in its own words which VM, disk, offset and server failed when the network stays down, shows it in the VM''s health, and the next cycle goes on' {
        Write-DiskBytes $disk 0 (96MB) 7
        # Once the disk's data flows, every connection is cut at its first byte until the cycle gives up.
        $cutter = Start-ThreadJob -ScriptBlock {
            param($proxy, $support)
            Import-Module $support
            $start = (Get-TestFaultStats $proxy).bytesDown
            while ((Get-TestFaultStats $proxy).bytesDown - $start -lt 8MB) { Start-Sleep -Milliseconds 10 }
            while ($true) { Set-TestFaults $proxy @{ cut = 1.0; maxBytes = 1; cutAtTotalBytes = 1 } | Out-Null; Start-Sleep -Milliseconds 50 }
        } -ArgumentList $proxy, (Join-Path $PSScriptRoot 'TestSupport.psm1')
        try {
            Sync-VmReplication -ProtectionGroup erp -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }
        finally {
            $cutter | Stop-Job -PassThru | Remove-Job -Force
            Set-TestFaults $proxy @{ cut = 0.1; maxBytes = 4MB; cutAtTotalBytes = 0 } | Out-Null
        }
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'VSphereTransferFailed,*'
        $err[0].Exception.Message | Should -Match "Cannot read disk '.+' of VM 'DC0_H0_VM0' \('\[LocalDS_0\] .+-flat\.vmdk'\) at offset \d+ from 'https://$([regex]::Escape($proxy.Address))/' \(site 'onprem'\) after \d+ attempts: "
        $vm = Get-ProtectedVm DC0_H0_VM0
        $vm.Health | Should -Be 'Warning' -Because 'the newest point is recent, but the last cycle failed'
        $vm.LastError | Should -Be $err[0].Exception.Message

        $next = Sync-VmReplication -ProtectionGroup erp -ErrorAction Stop
        $next.Point | Should -Not -BeNullOrEmpty
        $next.Mode | Should -BeLike '*+Resumed'
        $vm = Get-ProtectedVm DC0_H0_VM0
        $vm.Health | Should -Be 'Healthy'
        $vm.LastError | Should -BeNullOrEmpty
        $image = $next.Point | Export-RecoveryPoint -Destination (Join-Path $work 'export')
        (Get-FileHash $image.FullName -Algorithm SHA256).Hash | Should -Be (Get-DiskHash $disk $capacity)
    }
}

Describe 'A stalled transfer' {
    BeforeAll {
        $lab = Start-TestVcsim -Arguments @('-vm', '1', '-cluster', '0', '-disk-mb', '64')
        $proxy = Start-TestFaultProxy -Upstream $lab.Url -Mode tcp
        $vault = New-TestVaultPath
        $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
        Write-DiskBytes (Get-FlatFile $lab.StateDir 'DC0_H0_VM0') 0 (64MB) 3
        New-ProxiedProtection $vault $proxy.Url('/sdk') @{ TransferStallTimeout = New-TimeSpan -Seconds 2 }
    }
    AfterAll {
        $proxy | Stop-TestFaultProxy
        $lab | Stop-TestVcsim
        Remove-TestVault $vault
    }

    It 'is aborted after the policy''s TransferStallTimeout and retried: the cycle succeeds long before the stall would end' {
        # Every connection stalls for 60 s somewhere in its first 16 MiB, until the first stall is seen.
        Set-TestFaults $proxy @{ stall = 1.0; stallForMs = 60000; maxBytes = 16MB } | Out-Null
        $child = Start-ThreadJob -ScriptBlock {
            param($proxy, $support)
            Import-Module $support
            while ((Get-TestFaultStats $proxy).stalls -eq 0) { Start-Sleep -Milliseconds 20 }
            Set-TestFaults $proxy @{ stall = 0.0 } | Out-Null
        } -ArgumentList $proxy, (Join-Path $PSScriptRoot 'TestSupport.psm1')
        try {
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $result = Sync-VmReplication -ProtectionGroup erp -ErrorAction Stop
            $clock.Stop()
        }
        finally {
            $child | Wait-Job -Timeout 90 | Out-Null
            $child | Remove-Job -Force
        }
        (Get-TestFaultStats $proxy).stalls | Should -BeGreaterOrEqual 1
        $result.Point | Should -Not -BeNullOrEmpty
        $result.Retries | Should -BeGreaterOrEqual 1
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 30 -Because 'a 60 s stall is given up after the 2 s TransferStallTimeout'
    }
}

Describe 'A fault that is not transient' {
    BeforeAll {
        $lab = Start-TestVcsim -Arguments @('-vm', '1', '-cluster', '0', '-username', $cred.UserName, '-password', $cred.GetNetworkCredential().Password)
        # https: the proxy sees (and counts) the requests.
        $proxy = Start-TestFaultProxy -Upstream $lab.Url -Mode https
        $vault = New-TestVaultPath
        $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
    }
    AfterAll {
        $proxy | Stop-TestFaultProxy
        $lab | Stop-TestVcsim
        Remove-TestVault $vault
    }

    It 'a wrong password fails at once: one login asked, no retry' {
        $wrong = New-TestCredential -Password 'not the password'
        $clock = [Diagnostics.Stopwatch]::StartNew()
        New-DRSite -Name onprem -VSphere -Server $proxy.Url('/sdk') -Credential $wrong -Role Protected -SkipCertificateCheck -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $clock.Stop()
        $err[0].FullyQualifiedErrorId | Should -BeLike 'VSphereInvalidLogin,*'
        $err[0].Exception.Message | Should -Not -Match 'not the password'
        # RetrieveServiceContent, then one Login.
        (Get-TestFaultStats $proxy).requests | Should -Be 2
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 5
    }
}

# Also on a plain simulator (no CBT, no ranged PUT, no simulated guest): failback then replaces whole disks through the faults.
Describe 'A drill and a failback through networks that cut and refuse, plain simulator <Plain>' -ForEach @(@{ Plain = $false }, @{ Plain = $true }) {
    BeforeAll {
        $capacity = 16MB
        [string[]] $extensions = @()
        if ($Plain) { $extensions = '-cbt=false', '-paging=false', '-guest=false', '-ranged-put=false' }
        $lab = New-FailoverLab -Vms 'DC0_H0_VM0' -DiskMb 16 -GuestBoot 300ms -ProtectedArguments $extensions -RecoveryArguments $extensions
        $waitFor = if ($Plain) { 'PowerOn' } else { 'Heartbeat' }
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue'; '*:Confirm' = $false }
        $seed = Get-Random -Maximum 100000
        # Both sites through proxies that cut 20 % of their connections (within their first MiB) and answer 5 % of the requests with 503.
        $faults = @('-cut', '0.2', '-http503', '0.05', '-max-bytes', '1048576')
        $proxies = @(
            Start-TestFaultProxy -Upstream $lab.Protected.Url -Mode https -Arguments ($faults + @('-seed', $seed))
            Start-TestFaultProxy -Upstream $lab.Recovery.Url -Mode https -Arguments ($faults + @('-seed', ($seed + 1))))
        Set-DRSite -Name onprem -Server $proxies[0].Url('/sdk') -SkipCertificateCheck | Out-Null
        Set-DRSite -Name dr -Server $proxies[1].Url('/sdk') -SkipCertificateCheck | Out-Null
        Import-TestPlan $lab erp @"
  - name: app
    waitFor: $waitFor
    vms:
      - name: DC0_H0_VM0
"@
        $before = Get-RecoverySiteState $lab
    }
    AfterAll {
        $proxies | Stop-TestFaultProxy
        Remove-FailoverLab $lab
    }

    It 'runs a drill that passes and leaves nothing behind (seed <seed>)' {
        Sync-VmReplication -ProtectionGroup erp -ErrorAction Stop | Out-Null
        $report = Invoke-DRDrill -RecoveryPlan erp
        $report.Passed | Should -BeTrue -Because "the drill passes through the faults (seed $seed): $($report.Vms | Out-String)"
        Assert-NothingLeft $lab $before 'the drill cleans up through the faults'
    }

    It 'fails over, reprotects and fails back onto the original VM with the recovered bytes (seed <seed>)' {
        $job = Start-Failover -RecoveryPlan erp -Planned
        $job.State | Should -Be 'Succeeded' -Because $job.Error
        (Complete-Failover -RecoveryPlan erp).State | Should -Be 'Succeeded'
        $recovered = Get-RecoveredFlatFile $lab DC0_H0_VM0
        Write-DiskBytes $recovered 4MB 4MB 41
        $wanted = Get-DiskHash $recovered $capacity
        $reprotect = Invoke-Reprotect -RecoveryPlan erp
        $reprotect.State | Should -Be 'Succeeded' -Because $reprotect.Error
        $failback = Invoke-Failback -RecoveryPlan erp
        $failback.State | Should -Be 'Succeeded' -Because $failback.Error
        Get-DiskHash (Get-FlatFile $lab.Protected.StateDir DC0_H0_VM0) $capacity | Should -Be $wanted
        (Get-ProtectedVm DC0_H0_VM0).State | Should -Be 'Protected'
        $stats = $proxies | ForEach-Object { Get-TestFaultStats $_ }
        Write-Host "Seed $seed`: $(($stats | Measure-Object cuts -Sum).Sum) connections cut, $(($stats | Measure-Object answered503 -Sum).Sum) requests answered 503"
        ($stats | Measure-Object answered503 -Sum).Sum | Should -BeGreaterThan 0
    }
}
