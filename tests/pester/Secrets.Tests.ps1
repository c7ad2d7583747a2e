BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
}

Describe 'Secrets' {
    BeforeAll {
        $vault = New-TestVaultPath
        $password = 'Pw-' + [guid]::NewGuid().ToString('n')
        $clientSecret = 'Cs-' + [guid]::NewGuid().ToString('n')
        $credentialSecret = 'Cc-' + [guid]::NewGuid().ToString('n')
        $rotatedSecret = 'Cr-' + [guid]::NewGuid().ToString('n')
        # Every stream on, every object formatted: whatever the cmdlets could show, the test sees.
        $run = Invoke-ChildPwsh -VaultPath $vault -Script @"
`$VerbosePreference = 'Continue'; `$DebugPreference = 'Continue'; `$InformationPreference = 'Continue'
`$cred = [pscredential]::new('admin@vsphere.local', (ConvertTo-SecureString '$password' -AsPlainText -Force))
& {
    New-DRSite -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential `$cred -Role Protected -SkipConnectionTest | Format-List *
    New-DRSite -Name azure -Azure -TenantId t -SubscriptionId s -ResourceGroup rg -Location westeurope -Authentication ServicePrincipalSecret -ClientId app -ClientSecret (ConvertTo-SecureString '$clientSecret' -AsPlainText -Force) -Role Recovery -SkipConnectionTest | Format-List *
    Set-DRSite onprem -Credential `$cred -PassThru | Format-List *
    New-DRSite -Name azure-sp -Azure -TenantId t -SubscriptionId s -ResourceGroup rg -Location westeurope -Credential ([pscredential]::new('app-id', (ConvertTo-SecureString '$credentialSecret' -AsPlainText -Force))) -Role Recovery -SkipConnectionTest | Format-List *
    Set-DRSite azure -ClientSecret (ConvertTo-SecureString '$rotatedSecret' -AsPlainText -Force) -PassThru | Format-List *
    New-DRSite -Name azure-mi -Azure -SubscriptionId s -ResourceGroup rg -Location westeurope -Authentication ManagedIdentity -ClientSecret (ConvertTo-SecureString '$rotatedSecret' -AsPlainText -Force) -Role Recovery -SkipConnectionTest
    New-DRSite -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential `$cred -Role Protected -SkipConnectionTest
    Get-DRSite | Format-List *
    Get-DRSite | ConvertTo-Json -Depth 5
    `$Error | Format-List * -Force
} *>&1 | Out-String -Width 400
"@
    }
    AfterAll { Remove-TestVault $vault }

    It 'ran the commands' {
        $run.Text | Should -Match 'onprem'
        $run.Text | Should -Match 'SiteAlreadyExists'
        $run.Text | Should -Match 'azure-sp'
        $run.Text | Should -Match 'takes no client secret'
    }

    It 'never shows a secret in any output stream' {
        $run.Text | Should -Not -Match $password
        $run.Text | Should -Not -Match $clientSecret
        $run.Text | Should -Not -Match $credentialSecret
        $run.Text | Should -Not -Match $rotatedSecret
    }

    It 'never writes a secret in clear text into the vault files' {
        $files = Get-ChildItem (Split-Path $vault) -File
        $files.Name | Should -Contain 'vault.db'
        foreach ($file in $files | Where-Object Name -notlike '*.key') {
            $bytes = [IO.File]::ReadAllBytes($file.FullName)
            foreach ($secret in $password, $clientSecret, $credentialSecret, $rotatedSecret) {
                foreach ($encoding in [Text.Encoding]::UTF8, [Text.Encoding]::Unicode) {
                    $needle = [BitConverter]::ToString($encoding.GetBytes($secret))
                    [BitConverter]::ToString($bytes).Contains($needle) | Should -BeFalse -Because "$($file.Name) must not hold the secret"
                }
            }
        }
    }

    It 'keeps the key in a file only its owner can read, beside the vault' -Skip:$IsWindows {
        $key = Get-Item "$vault.key"
        $key.UnixFileMode | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite')
    }
}
