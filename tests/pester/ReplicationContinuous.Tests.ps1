BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
}

Describe 'Sync-VmReplication -Continuous, the long-running process server' {
    BeforeAll {
        $lab = Start-TestVcsim -Arguments @('-vm', '2', '-cluster', '0', '-disk-mb', '16')
        $vault = New-TestVaultPath
        $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
        $cred = New-TestCredential
        New-DRSite -Name onprem -VSphere -Server $lab.Url -Credential $cred -Role Protected -SkipCertificateCheck | Out-Null
        New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        # A short interval, and an RPO threshold it can meet.
        New-ReplicationPolicy -Name fast -ReplicationInterval 00:00:30 -RpoThreshold 00:01:00 -AppConsistentFrequency 0 | Out-Null
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy fast | Out-Null
        Get-DRVm -Site onprem | Enable-VmProtection -ProtectionGroup erp -NoWait | Out-Null

        $output = Join-Path (Split-Path $vault) 'continuous.txt'
        $server = Start-ChildPwsh -VaultPath $vault -OutputPath $output -Script 'Sync-VmReplication -ProtectionGroup erp -Continuous -ThrottleLimit 2 -WarningAction SilentlyContinue | Format-Table -AutoSize | Out-String -Stream'
        # Two intervals: a first cycle at once for each VM, a second 30 s later.
        $deadline = [DateTime]::UtcNow.AddSeconds(75)
        do {
            Start-Sleep -Seconds 2
            $counts = @(Get-ProtectedVm | ForEach-Object { @($_ | Get-RecoveryPoint).Count })
        } while ((@($counts | Where-Object { $_ -ge 2 }).Count -lt 2) -and -not $server.HasExited -and [DateTime]::UtcNow -lt $deadline)
        $stillRunning = -not $server.HasExited
    }
    AfterAll {
        if ($server -and -not $server.HasExited) { $server.Kill() }
        $lab | Stop-TestVcsim
        Remove-TestVault $vault
    }

    It 'keeps running' {
        $stillRunning | Should -BeTrue -Because (Get-Content "$output.err" -Raw)
    }

    It 'makes a point per VM every replication interval, both VMs in parallel' {
        $counts | Should -HaveCount 2
        $counts | ForEach-Object { $_ | Should -BeGreaterOrEqual 2 }
        foreach ($vm in Get-ProtectedVm) {
            $points = @($vm | Get-RecoveryPoint)
            ($points[1].Time - $points[0].Time).TotalSeconds | Should -BeGreaterOrEqual 29
            $vm.Health | Should -Be 'Healthy'
        }
    }

    It 'leaves points that are intact' {
        (Get-ProtectedVm | Get-RecoveryPoint | Test-RecoveryPoint).Intact | Should -Not -Contain $false
    }
}

Describe 'An RPO breach under -Continuous: a warning once, an event, the VM''s health and breach count' {
    BeforeAll {
        $lab = Start-TestVcsim -Arguments @('-vm', '2', '-cluster', '0', '-disk-mb', '8')
        $vault = New-TestVaultPath
        $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
        $cred = New-TestCredential
        New-DRSite -Name onprem -VSphere -Server $lab.Url -Credential $cred -Role Protected -SkipCertificateCheck | Out-Null
        New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        # The tightest policy: a cycle every 5 s, a 30 s RPO threshold.
        New-ReplicationPolicy -Name tight -ReplicationInterval 00:00:05 -RpoThreshold 00:00:30 -AppConsistentFrequency 0 | Out-Null
        New-ProtectionGroup -Name a -ProtectedSite onprem -RecoverySite dr -Policy tight | Out-Null
        New-ProtectionGroup -Name b -ProtectedSite onprem -RecoverySite dr -Policy tight | Out-Null
        $vms = @(Get-DRVm -Site onprem | Sort-Object Name)
        $vms[0] | Enable-VmProtection -ProtectionGroup a | Out-Null
        $vms[1] | Enable-VmProtection -ProtectionGroup b | Out-Null
        $nameA, $nameB = $vms[0].Name, $vms[1].Name
        $started = Get-Date
        # The protected site goes away after the first points: every cycle fails from now on, and the points grow old.
        $lab | Stop-TestVcsim
        $lab = $null

        # Group a: a worker process, its warnings to a file; group b: a -AsJob worker in this process.
        $warnings = Join-Path (Split-Path $vault) 'warnings.txt'
        $server = Start-ChildPwsh -VaultPath $vault -OutputPath (Join-Path (Split-Path $vault) 'a.txt') -Script "`$ProgressPreference = 'SilentlyContinue'; Sync-VmReplication -ProtectionGroup a -Continuous 3>&1 2>`$null | ForEach-Object { Add-Content '$warnings' `$_.Message }"
        $job = Sync-VmReplication -ProtectionGroup b -Continuous -AsJob
        $deadline = [DateTime]::UtcNow.AddSeconds(75)
        do { Start-Sleep -Seconds 1 } while (@(Get-DREvent).Count -lt 2 -and [DateTime]::UtcNow -lt $deadline -and -not $server.HasExited)
        # Several more polls of both workers: the breach is not reported again.
        Start-Sleep -Seconds 4
        $jobWarnings = @($job.Warning | ForEach-Object Message | Where-Object { $_ -match 'RPO threshold' })
        $job | Stop-Job
        $job | Remove-Job -Force
        if (-not $server.HasExited) { $server.Kill(); $server.WaitForExit() }
        $events = @(Get-DREvent)
    }
    AfterAll {
        if ($server -and -not $server.HasExited) { $server.Kill() }
        if ($lab) { $lab | Stop-TestVcsim }
        Remove-TestVault $vault
    }

    It 'records one RpoBreached event per VM, named by the VM and its newest point' {
        $events | Should -HaveCount 2
        foreach ($name in $nameA, $nameB) {
            $vm = Get-ProtectedVm $name
            $e = @($events | Where-Object VmName -eq $name)
            $e | Should -HaveCount 1
            $e[0].EventId | Should -Be "RpoBreached:$($vm.VmId):$($vm.LastRecoveryPointId)"
            $e[0].Kind | Should -Be 'RpoBreached'
            $e[0].RpoThreshold | Should -Be ([timespan]'00:00:30')
            $e[0].Rpo.TotalSeconds | Should -BeGreaterThan 30
            $e[0].Rpo.TotalSeconds | Should -BeLessThan 50
        }
    }

    It 'warns once from the worker process and once from the -AsJob worker' {
        $lines = @(Get-Content $warnings | Where-Object { $_ -match 'RPO threshold' })
        $lines | Should -HaveCount 1
        $lines[0] | Should -Match "^VM '$nameA' \(protection group 'a'\) is over its RPO threshold of 30 s: its newest recovery point is [34]\d s old"
        $lines[0] | Should -Match 'Get-DRWorker'
        $jobWarnings | Should -HaveCount 1
        $jobWarnings[0] | Should -Match "^VM '$nameB' \(protection group 'b'\)"
    }

    It 'filters events by VM (name, id or pipeline), kind and time' {
        (Get-DREvent -Vm $nameA).VmName | Should -Be $nameA
        (Get-ProtectedVm $nameB | Get-DREvent).VmName | Should -Be $nameB
        (Get-DREvent -Vm (Get-ProtectedVm $nameB).VmId).VmName | Should -Be $nameB
        @(Get-DREvent -Kind RpoBreached -Since $started) | Should -HaveCount 2
        @(Get-DREvent -Since (Get-Date).AddMinutes(1)) | Should -HaveCount 0
        @(Get-DREvent -Vm 'no-such-vm*') | Should -HaveCount 0
    }

    It 'shows the VM Critical in Get-ProtectedVm, with its breach count in the list view' {
        $vm = Get-ProtectedVm $nameA
        $vm.Health | Should -Be 'Critical'
        $vm.RpoBreaches | Should -Be 1
        (Get-ProtectedVm $nameB).RpoBreaches | Should -Be 1
        $table = Get-ProtectedVm $nameA | Format-Table | Out-String -Width 200
        $table | Should -Match "$nameA\s+a\s+\S+\s+Critical\s+0\.00:0\d:\d\d\s"
        (Get-ProtectedVm $nameA | Format-List | Out-String) | Should -Match 'RpoBreaches \(24 h\)\s+: 1\r?\n'
    }

    It 'lists events in a table with time, kind, VM, RPO and threshold' {
        $text = Get-DREvent -Vm $nameA | Format-Table | Out-String -Width 200
        $text | Should -Match 'Time\s+Kind\s+VmName\s+Group\s+RPO\s+Threshold\s+RecoveryPointId'
        $text | Should -Match "RpoBreached\s+$nameA\s+a\s+0\.00:00:[34]\d\s+0\.00:00:30"
    }
}
