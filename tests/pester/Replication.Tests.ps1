BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $cred = New-TestCredential
}

Describe 'Replication on <Flavor>' -ForEach @(
    @{ Flavor = 'the lab vcsim with CBT'; Arguments = @('-disk-mb', '64'); DeltaMode = 'ChangedBlockTracking' }
    @{ Flavor = 'a plain vcsim (no CBT: digest mode)'; Arguments = @('-disk-mb', '64', '-cbt=false', '-paging=false'); DeltaMode = 'Digest' }
) {
    BeforeAll {
        $lab = Start-TestVcsim -Arguments $Arguments
        $vault = New-TestVaultPath
        $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
        New-DRSite -Name onprem -VSphere -Server $lab.Url -Credential $cred -Role Protected -SkipCertificateCheck | Out-Null
        New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        New-ReplicationPolicy -Name gold -AppConsistentFrequency 0 | Out-Null
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null

        $capacity = 64MB
        $disk = Get-FlatFile $lab.StateDir 'DC0_H0_VM0'
        Write-DiskBytes $disk 0 1MB 1
        Write-DiskBytes $disk 20MB 3MB 2
        $hashAtFirstPoint = Get-DiskHash $disk $capacity
        $vm = Get-DRVm -Site onprem -Name DC0_H0_VM0 | Enable-VmProtection -ProtectionGroup erp

        Write-DiskBytes $disk 40MB 1MB 3
        $hashAtSecondPoint = Get-DiskHash $disk $capacity
        $delta = Sync-VmReplication -ProtectionGroup erp
        $points = @(Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint)
    }
    AfterAll {
        $lab | Stop-TestVcsim
        Remove-TestVault $vault
    }

    It 'protects the VM and makes the first point' {
        $vm | Should -BeOfType 'AzureSiteRecovery.DR.Core.Model.ProtectedVm'
        $vm.State | Should -Be 'Protected'
        $vm.LastRecoveryPointTime | Should -Not -BeNullOrEmpty
        $vm.BytesSent | Should -BeGreaterThan 0
    }

    It 'sends only the changed chunk on a delta cycle (<DeltaMode>)' {
        $delta.Mode | Should -Be $DeltaMode
        $delta.ChunksStored | Should -Be 1
        $delta.Point | Should -Not -BeNullOrEmpty
        if ($DeltaMode -eq 'ChangedBlockTracking') { $delta.BytesRead | Should -Be 4MB }
    }

    It 'shows state, last point, RPO and health' {
        $protected = Get-ProtectedVm -ProtectionGroup erp
        $protected.State | Should -Be 'Protected'
        $protected.Health | Should -Be 'Healthy'
        $protected.CurrentRpo | Should -BeLessThan ([timespan]'00:15:00')
        $protected.LastRecoveryPointId | Should -Be $points[-1].RecoveryPointId
        (Get-ProtectedVm -ProtectionGroup erp | Out-String) | Should -Match 'DC0_H0_VM0\s+erp\s+Protected'
        (Get-ProtectionGroup erp).ProtectedVmCount | Should -Be 1
    }

    It 'exports every point byte for byte as the disk was at its snapshot' {
        $points.Count | Should -Be 2
        $expected = @($hashAtFirstPoint, $hashAtSecondPoint)
        for ($i = 0; $i -lt 2; $i++) {
            $folder = Join-Path (Split-Path $vault) "export-$i"
            $image = $points[$i] | Export-RecoveryPoint -Destination $folder
            $image.Length | Should -Be $capacity
            (Get-FileHash $image.FullName -Algorithm SHA256).Hash | Should -Be $expected[$i]
        }
    }

    It 'finds every point intact' {
        $checks = Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint | Test-RecoveryPoint
        $checks.Intact | Should -Not -Contain $false
        $checks.Count | Should -Be 2
    }

    It 'stores nothing new for a clone with the same disk' {
        Copy-Item $disk (Get-FlatFile $lab.StateDir 'DC0_H0_VM1') -Force
        $clone = Get-DRVm -Site onprem -Name DC0_H0_VM1 | Enable-VmProtection -ProtectionGroup erp
        $clone.State | Should -Be 'Protected'
        (Get-ProtectedVm DC0_H0_VM1 | Get-RecoveryPoint).StoredBytes | Should -Be 0
    }

    It 'refuses to protect a VM twice' {
        Get-DRVm -Site onprem -Name DC0_H0_VM0 | Enable-VmProtection -ProtectionGroup erp -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'VmAlreadyProtected,AzureSiteRecovery.DR.Replication.EnableVmProtectionCommand'
    }

    It 'reports a tampered chunk and does not export a wrong image' {
        $chunk = Get-ChildItem "$([IO.Path]::ChangeExtension($vault, '.store'))/chunks" -Recurse -File | Select-Object -First 1
        $bytes = [IO.File]::ReadAllBytes($chunk.FullName); $bytes[40] = $bytes[40] -bxor 0xFF; [IO.File]::WriteAllBytes($chunk.FullName, $bytes)
        $checks = Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint | Test-RecoveryPoint -ErrorVariable err -ErrorAction SilentlyContinue
        $checks.Intact | Should -Contain $false
        $err.FullyQualifiedErrorId | Should -Contain 'RecoveryPointChunkDamaged,AzureSiteRecovery.DR.Replication.TestRecoveryPointCommand'
        $err[0].Exception.Message | Should -Match 'chunk \d+ at offset \d+'
    }

    It 'stops protection, turns CBT off and removes the points' {
        Get-ProtectedVm DC0_H0_VM0 | Disable-VmProtection -RemoveData -Confirm:$false
        Get-ProtectedVm DC0_H0_VM0 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        (Get-DRVm -Site onprem -Name DC0_H0_VM0).ChangeTrackingEnabled | Should -BeFalse
    }
}
