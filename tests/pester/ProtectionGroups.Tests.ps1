BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $cred = New-TestCredential
}

Describe 'Protection groups' {
    BeforeEach {
        $vault = New-TestVaultPath
        $PSDefaultParameterValues = @{ '*-ReplicationPolicy:Vault' = $vault; '*-DRSite:Vault' = $vault; '*-ProtectionGroup:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
        New-DRSite -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest | Out-Null
        New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        New-ReplicationPolicy -Name gold | Out-Null
    }
    AfterEach { Remove-TestVault $vault }

    It 'takes the protected site from the pipeline' {
        $group = Get-DRSite onprem | New-ProtectionGroup -Name erp -RecoverySite dr -Policy gold
        $group | Should -BeOfType 'AzureSiteRecovery.DR.Core.Model.ProtectionGroup'
        $group.ProtectedSite | Should -Be 'onprem'
        $group.RecoverySite | Should -Be 'dr'
        $group.Policy | Should -Be 'gold'
        $group.ProtectedVmCount | Should -Be 0
    }

    It 'takes sites and policy as objects' {
        $group = New-ProtectionGroup -Name erp -ProtectedSite (Get-DRSite onprem) -RecoverySite (Get-DRSite dr) -Policy (Get-ReplicationPolicy gold)
        $group.RecoverySite | Should -Be 'dr'
        $group.Policy | Should -Be 'gold'
    }

    It 'names what is missing: <Case>' -ForEach @(
        @{ Case = 'site'; Arguments = @{ ProtectedSite = 'nope'; RecoverySite = 'dr'; Policy = 'gold' }; Id = 'SiteNotFound'; Pattern = 'nope' }
        @{ Case = 'policy'; Arguments = @{ ProtectedSite = 'onprem'; RecoverySite = 'dr'; Policy = 'platinum' }; Id = 'ReplicationPolicyNotFound'; Pattern = 'platinum' }
        @{ Case = 'same site twice'; Arguments = @{ ProtectedSite = 'onprem'; RecoverySite = 'onprem'; Policy = 'gold' }; Id = 'InvalidProtectionGroupSetting'; Pattern = 'onprem' }
        @{ Case = 'recovery-only site as protected site'; Arguments = @{ ProtectedSite = 'dr'; RecoverySite = 'onprem'; Policy = 'gold' }; Id = 'InvalidProtectionGroupSetting'; Pattern = 'Role' }
    ) {
        New-ProtectionGroup -Name erp @Arguments -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be "$Id,AzureSiteRecovery.DR.ProtectionGroups.NewProtectionGroupCommand"
        $err[0].Exception.Message | Should -Match $Pattern
        Get-ProtectionGroup | Should -BeNullOrEmpty
    }

    It 'gets groups by name, wildcard and site' {
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        New-ProtectionGroup -Name web -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        (Get-ProtectionGroup).Count | Should -Be 2
        (Get-ProtectionGroup 'w*').Name | Should -Be 'web'
        (Get-ProtectionGroup -RecoverySite dr).Count | Should -Be 2
        Get-ProtectionGroup -ProtectedSite dr | Should -BeNullOrEmpty
        Get-ProtectionGroup nope -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'ProtectionGroupNotFound,AzureSiteRecovery.DR.ProtectionGroups.GetProtectionGroupCommand'
    }

    It 'shows a readable default table' {
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        Get-ProtectionGroup | Out-String | Should -Match 'erp\s+onprem\s+dr\s+gold\s+0'
    }

    It 'changes the policy through the pipeline' {
        New-ReplicationPolicy -Name platinum -ReplicationInterval 00:01:00 | Out-Null
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        (Get-ProtectionGroup erp | Set-ProtectionGroup -Policy platinum -PassThru).Policy | Should -Be 'platinum'
        Set-ProtectionGroup erp -Policy nope -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'ReplicationPolicyNotFound,AzureSiteRecovery.DR.ProtectionGroups.SetProtectionGroupCommand'
    }

    It 'removes nothing with -WhatIf' {
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        New-ProtectionGroup -Name web -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        $whatIf = Get-ProtectionGroup | Remove-ProtectionGroup -WhatIf 6>&1 | Out-String
        (Get-ProtectionGroup).Count | Should -Be 2
    }

    It 'removes every group piped in without prompting under -Confirm:$false' {
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        New-ProtectionGroup -Name web -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        Get-ProtectionGroup | Remove-ProtectionGroup -Confirm:$false
        Get-ProtectionGroup | Should -BeNullOrEmpty
    }

    It 'refuses to remove a group with protected VMs unless -Force' {
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        Add-TestProtectedVm -VaultPath $vault -Group erp -Name vm1
        (Get-ProtectionGroup erp).ProtectedVmCount | Should -Be 1
        Remove-ProtectionGroup erp -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'ProtectionGroupHasProtectedVms,AzureSiteRecovery.DR.ProtectionGroups.RemoveProtectionGroupCommand'
        $err[0].Exception.Message | Should -Match 'Disable-VmProtection'
        Get-ProtectionGroup erp | Should -Not -BeNullOrEmpty
        Remove-ProtectionGroup erp -Force
        Get-ProtectionGroup | Should -BeNullOrEmpty
    }
}
