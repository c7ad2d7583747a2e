BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
}

Describe 'Replication policies' {
    BeforeEach {
        $vault = New-TestVaultPath
        $PSDefaultParameterValues = @{ '*-ReplicationPolicy:Vault' = $vault; '*-DRSite:Vault' = $vault; '*-ProtectionGroup:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
    }
    AfterEach { Remove-TestVault $vault }

    It 'takes Azure Site Recovery defaults' {
        $policy = New-ReplicationPolicy -Name default
        $policy | Should -BeOfType 'AzureSiteRecovery.DR.Core.Model.ReplicationPolicy'
        $policy.ReplicationInterval | Should -Be ([timespan]'00:05:00')
        $policy.AppConsistentFrequency | Should -Be ([timespan]'04:00:00')
        $policy.RecoveryPointRetention | Should -Be ([timespan]'1.00:00:00')
        $policy.RpoThreshold | Should -Be ([timespan]'00:15:00')
    }

    It 'stores the given settings' {
        New-ReplicationPolicy -Name gold -RpoThreshold 00:10:00 -RecoveryPointRetention 3.00:00:00 -AppConsistentFrequency 0 -ReplicationInterval 00:01:00 | Out-Null
        $policy = Get-ReplicationPolicy gold
        $policy.RpoThreshold | Should -Be ([timespan]'00:10:00')
        $policy.RecoveryPointRetention | Should -Be ([timespan]'3.00:00:00')
        $policy.AppConsistentFrequency | Should -Be ([timespan]::Zero)
        $policy.ReplicationInterval | Should -Be ([timespan]'00:01:00')
        (Get-ReplicationPolicy | Out-String) | Should -Match 'gold\s+00:01:00\s+00:10:00\s+3\.00:00:00\s+off'
    }

    It 'rejects <Setting> = <Value> with a message naming it, and stores nothing' -ForEach @(
        @{ Setting = 'RpoThreshold'; Value = '-00:05:00' }
        @{ Setting = 'RpoThreshold'; Value = '2.00:00:00' }
        @{ Setting = 'ReplicationInterval'; Value = '00:00:04' }
        @{ Setting = 'RpoThreshold'; Value = '00:00:29' }
        @{ Setting = 'RecoveryPointRetention'; Value = '30.00:00:00' }
        @{ Setting = 'AppConsistentFrequency'; Value = '00:10:00' }
    ) {
        $arguments = @{ Name = 'bad'; $Setting = [timespan]$Value }
        New-ReplicationPolicy @arguments -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'InvalidReplicationPolicySetting,AzureSiteRecovery.DR.Policies.NewReplicationPolicyCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].Exception.Message | Should -Match $Setting
        Test-Path (Split-Path $vault) | Should -BeFalse -Because 'nothing is stored, not even a vault'
    }

    It 'rejects an interval longer than the RPO threshold' {
        New-ReplicationPolicy -Name bad -ReplicationInterval 00:30:00 -RpoThreshold 00:15:00 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -Match 'RPO could never be met'
    }

    It 'validates with -WhatIf too and creates nothing' {
        New-ReplicationPolicy -Name ok -WhatIf
        Test-Path (Split-Path $vault) | Should -BeFalse -Because 'nothing is stored, not even a vault'
        New-ReplicationPolicy -Name bad -RpoThreshold -00:05:00 -WhatIf -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -Not -BeNullOrEmpty
    }

    It 'changes settings and validates the result' {
        New-ReplicationPolicy -Name gold | Out-Null
        $changed = Set-ReplicationPolicy gold -RecoveryPointRetention 2.00:00:00 -PassThru
        $changed.RecoveryPointRetention | Should -Be ([timespan]'2.00:00:00')
        $changed.RpoThreshold | Should -Be ([timespan]'00:15:00')
        Set-ReplicationPolicy gold -RpoThreshold 00:00:10 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'InvalidReplicationPolicySetting,AzureSiteRecovery.DR.Policies.SetReplicationPolicyCommand'
        (Get-ReplicationPolicy gold).RpoThreshold | Should -Be ([timespan]'00:15:00')
    }

    It 'refuses to remove a policy a group uses' {
        $cred = New-TestCredential
        New-DRSite -Name a -VSphere -Server https://a.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest | Out-Null
        New-DRSite -Name b -VSphere -Server https://b.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        New-ReplicationPolicy -Name gold | Out-Null
        New-ProtectionGroup -Name erp -ProtectedSite a -RecoverySite b -Policy gold | Out-Null
        Get-ReplicationPolicy gold | Remove-ReplicationPolicy -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'ReplicationPolicyInUse,AzureSiteRecovery.DR.Policies.RemoveReplicationPolicyCommand'
        Get-ReplicationPolicy gold | Should -Not -BeNullOrEmpty
    }

    It 'removes a policy' {
        New-ReplicationPolicy -Name bronze | Out-Null
        Remove-ReplicationPolicy bronze -Confirm:$false
        Get-ReplicationPolicy | Should -BeNullOrEmpty
    }
}
