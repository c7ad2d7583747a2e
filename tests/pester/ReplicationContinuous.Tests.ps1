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
        # The shortest interval a policy allows, and an RPO threshold it can meet.
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
