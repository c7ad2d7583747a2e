BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    # Azurite's published development account key (not a secret); it still must never be shown.
    $azuriteKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
    $azuriteScript = Join-Path $PSScriptRoot '../lab/azurite/azurite.sh'
    function New-TestVaultKey { [Convert]::ToBase64String([Security.Cryptography.RandomNumberGenerator]::GetBytes(32)) }
    # Every AZSR_DR_VAULT* variable cleared, so a child sees only what a test gives it.
    function Get-VaultEnvironmentPrelude([hashtable] $Variables) {
        $lines = @('Get-ChildItem env:AZSR_DR_VAULT* | Remove-Item')
        foreach ($name in $Variables.Keys) { $lines += "`$env:$name = '$($Variables[$name])'" }
        ($lines -join "`n") + "`n"
    }
}

Describe 'A vault in Azure Table storage (Azurite)' {
    BeforeAll {
        $stateDir = Join-Path ([IO.Path]::GetTempPath()) "azsr-dr-tables-$([guid]::NewGuid().ToString('n'))"
        $url = & bash $azuriteScript start-table $stateDir
        if ($LASTEXITCODE -ne 0) { throw "azurite.sh start-table failed ($LASTEXITCODE): $url" }
        $endpoint = "$(@($url)[-1])".Trim()
        $keyFile = Join-Path $stateDir 'keys/vault.key'
        $prefix = "t$([guid]::NewGuid().ToString('n').Substring(0, 10))"
        $secure = ConvertTo-SecureString $azuriteKey -AsPlainText -Force
        $childVariables = @{
            AZSR_DR_VAULT = $endpoint; AZSR_DR_VAULT_TABLE_PREFIX = $prefix; AZSR_DR_VAULT_AUTHENTICATION = 'SharedKey'
            AZSR_DR_VAULT_SECRET = $azuriteKey; AZSR_DR_VAULT_KEY = $keyFile
        }
        # Whatever fails to reach the tables lands in a scratch vault, never in the user's default one.
        $savedVault = $env:AZSR_DR_VAULT
        $env:AZSR_DR_VAULT = New-TestVaultPath
    }
    AfterAll {
        Disconnect-DRVault
        Remove-TestVault $env:AZSR_DR_VAULT
        $env:AZSR_DR_VAULT = $savedVault
        & bash $azuriteScript stop-table $stateDir *> $null
        Remove-Item $stateDir -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'connects with the account key and a key file, and shows no secret' {
        $connection = Connect-DRVault $endpoint -TablePrefix $prefix -AccountKey $secure -KeyFile $keyFile -PassThru
        $connection.Kind | Should -Be 'Table'
        $connection.Authentication | Should -Be 'SharedKey'
        $connection.Location | Should -Be $endpoint
        Test-Path $keyFile | Should -BeTrue
        $shown = Get-DRVault | Format-List * | Out-String
        $shown | Should -Match 'Source\s*:\s*Session'
        $shown | Should -Match ([regex]::Escape("key file '$keyFile'"))
        $shown | Should -Not -Match ([regex]::Escape($azuriteKey))
        (Get-DRVault | Out-String) | Should -Not -Match ([regex]::Escape($azuriteKey))
        (Connect-DRVault $endpoint -TablePrefix $prefix -AccountKey $secure -KeyFile $keyFile -PassThru -Verbose 4>&1 | Out-String) |
            Should -Not -Match ([regex]::Escape($azuriteKey))
    }

    It 'keeps sites, policies and groups in the tables, sealed secrets included' {
        (Get-DRVault).Kind | Should -Be 'Table'
        $cred = New-TestCredential -Password 'Tabl3!secret'
        New-DRSite -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest | Out-Null
        New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        New-ReplicationPolicy -Name gold -ReplicationInterval 00:15:00 | Out-Null
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        (Get-DRSite).Name | Sort-Object | Should -Be @('dr', 'onprem')
        (Get-ReplicationPolicy gold).ReplicationInterval | Should -Be ([timespan] '00:15:00')
        (Get-ProtectionGroup erp).Policy | Should -Be 'gold'
    }

    It 'is the same vault for a child pwsh given only the environment variables' {
        $result = Invoke-ChildPwsh -Script ((Get-VaultEnvironmentPrelude $childVariables) + @'
(Get-DRSite | Sort-Object Name).Name -join ','
(Get-DRVault).Source
New-ReplicationPolicy -Name silver | Out-Null
'@)
        $result.ExitCode | Should -Be 0 -Because $result.Text
        $result.Output | Should -Contain 'dr,onprem'
        $result.Output | Should -Contain 'Environment'
        (Get-ReplicationPolicy silver).Name | Should -Be 'silver'
    }

    It 'runs an -AsJob replication job against it' {
        (Get-DRVault).Kind | Should -Be 'Table'
        $lab = Start-TestVcsim -Arguments @('-disk-mb', 8)
        try {
            $cred = New-TestCredential
            New-DRSite -Name vc -VSphere -Server $lab.Url -Credential $cred -Role Protected -SkipCertificateCheck -WarningAction SilentlyContinue | Out-Null
            New-ProtectionGroup -Name local -ProtectedSite vc -RecoverySite dr -Policy gold | Out-Null
            Get-DRVm -Site vc -Name DC0_H0_VM0 | Enable-VmProtection -ProtectionGroup local | Out-Null
            $job = Sync-VmReplication -ProtectionGroup local -AsJob
            $job | Wait-Job -Timeout 120 | Out-Null
            $job.State | Should -Be 'Completed' -Because ($job.ChildJobs.Error + $job.Error | Out-String)
            $result = @(Receive-Job $job)
            $result.Count | Should -Be 1
            (Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint).Count | Should -BeGreaterOrEqual 1
            (Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint | Test-RecoveryPoint).Intact | Should -Not -Contain $false
        }
        finally { $lab | Stop-TestVcsim }
    }

    It 'refuses a Table vault without a key source, saying how to give one' {
        $result = Invoke-ChildPwsh -Script ((Get-VaultEnvironmentPrelude @{
                    AZSR_DR_VAULT = $endpoint; AZSR_DR_VAULT_AUTHENTICATION = 'SharedKey'; AZSR_DR_VAULT_SECRET = $azuriteKey
                }) + @'
try { Get-DRSite -ErrorAction Stop } catch { "$($_.FullyQualifiedErrorId)|$($_.Exception.Message)" }
'@)
        $result.Text | Should -Match '^VaultKeyRequired'
        $result.Text | Should -Match '-KeyFile'
        $result.Text | Should -Match 'AZSR_DR_VAULT_KEY'
        $result.Text | Should -Not -Match ([regex]::Escape($azuriteKey))
        { Connect-DRVault $endpoint -AccountKey $secure } | Should -Throw -ErrorId 'VaultKeyRequired,AzureSiteRecovery.DR.Vault.ConnectDRVaultCommand'
    }

    It 'refuses another key for the same tables, and removes the key file it would have made' {
        $other = Join-Path $stateDir 'keys/other.key'
        { Connect-DRVault $endpoint -TablePrefix $prefix -AccountKey $secure -KeyFile $other } | Should -Throw -ErrorId 'VaultKeyMissing,AzureSiteRecovery.DR.Vault.ConnectDRVaultCommand'
        Test-Path $other | Should -BeFalse
        { Connect-DRVault $endpoint -TablePrefix $prefix -AccountKey $secure -Key (New-TestVaultKey) } | Should -Throw -ErrorId 'VaultKeyMismatch,AzureSiteRecovery.DR.Vault.ConnectDRVaultCommand'
        # The session keeps the vault it had.
        (Get-DRVault).Location | Should -Be $endpoint
    }

    It 'goes back to the environment or default vault after Disconnect-DRVault' {
        Disconnect-DRVault
        (Get-DRVault).Source | Should -Be 'Environment'
    }
}

Describe 'The vault key in a Key Vault secret (lab ARM, managed identity)' {
    BeforeAll {
        $lab = Start-TestAzureLab
        $vaultPath = New-TestVaultPath
        $vaultKey = New-TestVaultKey
        Invoke-RestMethod -Method Put -Uri "$($lab.ArmUrl.TrimEnd('/'))/lab/secrets/dr-vault-key" -SkipCertificateCheck `
            -ContentType 'application/json' -Body (@{ value = $vaultKey } | ConvertTo-Json) | Out-Null
        $secretUri = "$($lab.ArmUrl.TrimEnd('/'))/secrets/dr-vault-key"
        $prelude = (Get-TestAzureIdentityPrelude $lab) + (Get-VaultEnvironmentPrelude @{
                AZSR_DR_VAULT = $vaultPath; AZSR_DR_VAULT_KEY = $secretUri; AZSR_DR_VAULT_CERTIFICATE_THUMBPRINT = $lab.Thumbprint
            })
    }
    AfterAll {
        Stop-TestAzureLab $lab
        Remove-TestVault $vaultPath
    }

    It 'seals with the key read from Key Vault, and writes no key file' {
        $result = Invoke-ChildPwsh -Script ($prelude + @'
New-DRSite -Name onprem -VSphere -Server https://127.0.0.1:1/sdk -Credential ([pscredential]::new('admin', (ConvertTo-SecureString 'Kv!secret1' -AsPlainText -Force))) -Role Protected -SkipConnectionTest | Out-Null
(Get-DRSite onprem).HasSecret
(Get-DRVault).KeySource
'@)
        $result.ExitCode | Should -Be 0 -Because $result.Text
        $result.Output | Should -Contain 'True'
        $result.Text | Should -Match ([regex]::Escape("Key Vault secret $secretUri"))
        $result.Text | Should -Not -Match ([regex]::Escape($vaultKey))
        Test-Path "$vaultPath.key" | Should -BeFalse
        $calls = @(Get-TestAzureLabState $lab requests | Where-Object service -EQ 'keyvault')
        $calls.status | Should -Contain 401 -Because 'the SDK sends its first request without a token and reads the challenge'
        $calls.status | Should -Contain 200
        @(Get-TestAzureLabState $lab violations).Count | Should -Be 0
    }

    It 'opens the same vault with the same key given as a value, and not with another' {
        $same = Invoke-ChildPwsh -Script ((Get-VaultEnvironmentPrelude @{}) + @"
Connect-DRVault '$vaultPath' -Key '$vaultKey'
try { Test-DRSite onprem -ErrorAction Stop | Out-Null } catch { `$_.FullyQualifiedErrorId }
"@)
        $same.Text | Should -Not -Match 'VaultKey'
        $other = Invoke-ChildPwsh -Script ((Get-VaultEnvironmentPrelude @{}) + @"
Connect-DRVault '$vaultPath' -Key '$(New-TestVaultKey)'
try { Test-DRSite onprem -ErrorAction Stop | Out-Null } catch { `$_.FullyQualifiedErrorId }
"@)
        $other.Text | Should -Match 'VaultKeyMismatch'
    }

    It 'names a missing secret clearly' {
        $result = Invoke-ChildPwsh -Script ($prelude.Replace('secrets/dr-vault-key', 'secrets/no-such-key') + @'
try { Get-DRSite -ErrorAction Stop } catch { "$($_.FullyQualifiedErrorId)|$($_.Exception.Message)" }
'@)
        $result.Text | Should -Match '^VaultKeyUnreadable'
        $result.Text | Should -Match 'does not exist'
    }
}
