BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $cred = New-TestCredential
}

Describe 'Sites' {
    BeforeEach {
        $vault = New-TestVaultPath
        $PSDefaultParameterValues = @{ '*-DRSite:Vault' = $vault; '*-ProtectionGroup:Vault' = $vault; '*-ReplicationPolicy:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
    }
    AfterEach { Remove-TestVault $vault }

    It 'registers a vSphere site and returns it typed' {
        $site = New-DRSite -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest
        $site | Should -BeOfType 'AzureSiteRecovery.DR.Core.Model.Site'
        $site.Kind | Should -Be 'VSphere'
        $site.Role | Should -Be 'Protected'
        $site.UserName | Should -Be 'administrator@vsphere.local'
        $site.HasSecret | Should -BeTrue
        $site.Server | Should -Be 'https://vc01.example.test/sdk'
    }

    It 'makes a site usable both ways when no -Role is given' {
        (New-DRSite -Name lab -VSphere -Server https://vc01.example.test/sdk -Credential $cred -SkipConnectionTest).Role | Should -Be 'Both'
    }

    It 'registers an Azure site with a managed identity' {
        $site = New-DRSite -Name azure -Azure -SubscriptionId 00000000-0000-0000-0000-000000000001 -ResourceGroup rg-dr -Location westeurope -Role Recovery -SkipConnectionTest
        $site.Authentication | Should -Be 'ManagedIdentity'
        $site.HasSecret | Should -BeFalse
        $site.Endpoint | Should -Match 'rg-dr'
    }

    It 'normalises a pinned thumbprint' {
        $thumb = (1..32 | ForEach-Object { 'ab' }) -join ':'
        $site = New-DRSite -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -Thumbprint $thumb -SkipConnectionTest
        $site.CertificateThumbprint | Should -Be ('AB' * 32)
    }

    It 'warns when certificate checks are skipped' {
        New-DRSite -Name lab -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Both -SkipCertificateCheck -SkipConnectionTest -WarningVariable warnings -WarningAction SilentlyContinue
        $warnings -join ' ' | Should -Match 'Thumbprint'
    }

    It 'refuses a second site of the same name, whatever the case' {
        New-DRSite -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest | Out-Null
        New-DRSite -Name ONPREM -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'SiteAlreadyExists,AzureSiteRecovery.DR.Sites.NewDRSiteCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
    }

    It 'refuses an invalid name' {
        New-DRSite -Name 'bad name!' -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'InvalidSiteSetting,AzureSiteRecovery.DR.Sites.NewDRSiteCommand'
        $err[0].Exception.Message | Should -Match 'letters, digits'
        Test-Path $vault | Should -BeFalse -Because 'nothing was stored, so no vault was created'
    }

    It 'gets sites by wildcard, kind and role' {
        New-DRSite -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest | Out-Null
        New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        (Get-DRSite).Count | Should -Be 2
        (Get-DRSite -Name 'on*').Name | Should -Be 'onprem'
        (Get-DRSite -Role Recovery).Name | Should -Be 'dr'
        'dr', 'onprem' | Get-DRSite | Should -HaveCount 2
    }

    It 'reports a missing site by name with SiteNotFound' {
        New-ReplicationPolicy -Name gold | Out-Null # the vault exists: the site is what is missing
        Get-DRSite -Name nope -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'SiteNotFound,AzureSiteRecovery.DR.Sites.GetDRSiteCommand'
        Get-DRSite -Name 'nope*' -ErrorVariable err2 | Should -BeNullOrEmpty
        $err2 | Should -BeNullOrEmpty
    }

    It 'changes only what Set-DRSite is given, from the pipeline' {
        New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -Description 'second site' -SkipConnectionTest | Out-Null
        $changed = Get-DRSite dr | Set-DRSite -Role Both -PassThru
        $changed.Role | Should -Be 'Both'
        $changed.Description | Should -Be 'second site'
        $changed.Server | Should -Be 'https://vc02.example.test/sdk'
    }

    It 'changes nothing with -WhatIf' {
        New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        Set-DRSite dr -Role Both -WhatIf
        Remove-DRSite dr -WhatIf
        (Get-DRSite dr).Role | Should -Be 'Recovery'
    }

    It 'removes a site, and refuses while a group uses it' {
        New-DRSite -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest | Out-Null
        New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        New-ReplicationPolicy -Name gold | Out-Null
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        Remove-DRSite dr -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'SiteInUse,AzureSiteRecovery.DR.Sites.RemoveDRSiteCommand'
        $err[0].Exception.Message | Should -Match 'erp'
        Remove-ProtectionGroup erp
        Get-DRSite dr | Remove-DRSite -Confirm:$false
        Get-DRSite | Select-Object -ExpandProperty Name | Should -Be 'onprem'
    }

    It 'removes nothing and reports SiteNotFound for an unknown site' {
        New-ReplicationPolicy -Name gold | Out-Null
        Remove-DRSite nope -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'SiteNotFound,AzureSiteRecovery.DR.Sites.RemoveDRSiteCommand'
    }

    It 'shows a readable default table' {
        New-DRSite -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest | Out-Null
        $table = Get-DRSite | Out-String
        $table | Should -Match 'Name\s+Kind\s+Role\s+UserName\s+Endpoint'
        $table | Should -Match 'onprem\s+VSphere\s+Protected'
    }

    It 'reports VaultNotFound, and creates nothing, for a read-only command given a -Vault that does not exist' {
        $err = $null
        try { Get-DRSite -Name onprem } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Be 'VaultNotFound,AzureSiteRecovery.DR.Sites.GetDRSiteCommand'
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err.Exception.Message | Should -BeLike "*'$vault'*"
        Test-Path (Split-Path $vault) | Should -BeFalse
    }

    It 'uses AZSR_DR_VAULT when -Vault is not given' {
        $PSDefaultParameterValues.Remove('*-DRSite:Vault')
        $env:AZSR_DR_VAULT = $vault
        try {
            New-DRSite -Name envsite -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Both -SkipConnectionTest | Out-Null
            (Get-DRSite -Vault $vault).Name | Should -Be 'envsite'
        }
        finally { Remove-Item Env:AZSR_DR_VAULT }
    }
}
