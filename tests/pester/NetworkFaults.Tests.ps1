# Replication over a faulty network: the lab's vCenter reached through drfaultproxy (tests/lab/README.md, "Fault proxy").
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $cred = New-TestCredential
}

Describe 'Resume' {
    # A first full copy broken in the middle goes on from what it stored: the next cycle reads only the rest.
    BeforeAll {
        $capacity = 192MB
        $lab = Start-TestVcsim -Arguments @('-vm', '1', '-cluster', '0', '-disk-mb', '192')
        $proxy = Start-TestFaultProxy -Upstream $lab.Url -Mode tcp
        $vault = New-TestVaultPath
        $work = Split-Path $vault
        $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
        New-DRSite -Name onprem -VSphere -Server $proxy.Url('/sdk') -Credential $cred -Role Protected -SkipCertificateCheck | Out-Null
        New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        New-ReplicationPolicy -Name gold -AppConsistentFrequency 0 | Out-Null
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        $disk = Get-FlatFile $lab.StateDir 'DC0_H0_VM0'
        # Every chunk allocated and distinct: the first copy reads the whole disk.
        Write-DiskBytes $disk 0 $capacity 14
        $diskHash = Get-DiskHash $disk $capacity
        Get-DRVm -Site onprem -Name DC0_H0_VM0 | Enable-VmProtection -ProtectionGroup erp -NoWait | Out-Null
    }
    AfterAll {
        $proxy | Stop-TestFaultProxy
        $lab | Stop-TestVcsim
        Remove-TestVault $vault
    }

    It 'fails the first full copy when every connection is cut part way' {
        [void](Get-TestFaultStats $proxy) # the control endpoint answers before the copy starts
        $output = Join-Path $work 'first-cycle.txt'
        $child = Start-ChildPwsh -Script 'Sync-VmReplication -ProtectionGroup erp 2>&1 | Out-String -Width 200' -VaultPath $vault -OutputPath $output
        try {
            $start = (Get-TestFaultStats $proxy).bytesDown
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            while (-not $child.HasExited -and [DateTime]::UtcNow -lt $deadline -and (Get-TestFaultStats $proxy).bytesDown - $start -lt 0.4 * $capacity) { Start-Sleep -Milliseconds 10 }
            $child.HasExited | Should -BeFalse -Because "the copy must still run when the network breaks: $(Get-Content $output -Raw)"
            # Every connection cut, the ones open now (cutAtTotalBytes, re-armed) and new ones, until the cycle gives up.
            while (-not $child.HasExited -and [DateTime]::UtcNow -lt $deadline) {
                Set-TestFaults $proxy @{ cut = 1.0; maxBytes = 1; cutAtTotalBytes = 1 } | Out-Null
                Start-Sleep -Milliseconds 50
            }
            $child.HasExited | Should -BeTrue -Because 'the cycle must fail while every connection is cut'
        }
        finally {
            if (-not $child.HasExited) { & kill -9 $child.Id }
            $child.WaitForExit()
            Set-TestFaults $proxy @{ cut = 0.0; cutAtTotalBytes = 0 } | Out-Null
        }
        $script:copiedBeforeCut = (Get-TestFaultStats $proxy).bytesDown - $start
        (Get-TestFaultStats $proxy).cuts | Should -BeGreaterThan 0
        $vm = Get-ProtectedVm DC0_H0_VM0
        $vm.State | Should -Be 'InitialSync'
        $vm.LastError | Should -Not -BeNullOrEmpty
        @($vm | Get-RecoveryPoint) | Should -HaveCount 0
        Write-Host "First cycle: $([Math]::Round($script:copiedBeforeCut / 1MB)) MiB through the proxy before it failed: $($vm.LastError)"
    }

    It 'resumes: the next cycle reads clearly less than the whole disk' {
        $before = (Get-TestFaultStats $proxy).bytesDown
        $script:result = Sync-VmReplication -ProtectionGroup erp -ErrorAction Stop
        $through = (Get-TestFaultStats $proxy).bytesDown - $before
        Write-Host ("Resumed cycle: mode {0}, read {1:N0} MiB, taken from the resume record {2:N0} MiB, {3:N0} MiB through the proxy" -f
            $result.Mode, ($result.BytesRead / 1MB), ($result.ResumedBytes / 1MB), ($through / 1MB))
        $result.Mode | Should -Be 'Full+Resumed'
        $result.Point | Should -Not -BeNullOrEmpty
        $result.BytesRead | Should -BeLessThan (0.75 * $capacity)
        $through | Should -BeLessThan (0.75 * $capacity)
        # Every chunk was either stored by the broken cycle or read now: nothing read twice, nothing skipped.
        ($result.BytesRead + $result.ResumedBytes) | Should -Be $capacity
        (Get-ProtectedVm DC0_H0_VM0).State | Should -Be 'Protected'
    }

    It 'makes a point that verifies and equals the disk byte for byte' {
        $point = Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint | Select-Object -Last 1
        $point.RecoveryPointId | Should -Be $result.Point.RecoveryPointId
        ($point | Test-RecoveryPoint).Intact | Should -BeTrue
        $image = $point | Export-RecoveryPoint -Destination (Join-Path $work 'export')
        $image.Length | Should -Be $capacity
        (Get-FileHash $image.FullName -Algorithm SHA256).Hash | Should -Be $diskHash
    }
}
