BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
}

Describe 'The acceptance script of the foundation issue, run as written in a fresh pwsh' {
    BeforeAll {
        $run = Invoke-ChildPwsh -Script @'
$ErrorActionPreference = 'Continue'
$env:AZSR_DR_VAULT = Join-Path ([IO.Path]::GetTempPath()) "acc-$(New-Guid)/vault.db"
$cred = [pscredential]::new('administrator@vsphere.local', (ConvertTo-SecureString 'S3cret!pass' -AsPlainText -Force))
New-DRSite -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest
New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest
New-ReplicationPolicy -Name gold -RpoThreshold 00:15:00 -RecoveryPointRetention 1.00:00:00 -AppConsistentFrequency 04:00:00
Get-DRSite onprem | New-ProtectionGroup -Name erp -RecoverySite dr -Policy gold
'== group'
Get-ProtectionGroup erp | Format-List Name, ProtectedSite, RecoverySite, Policy
'== whatif'
Get-ProtectionGroup | Remove-ProtectionGroup -WhatIf
'== count'
(Get-ProtectionGroup).Count
'== bad'
New-ReplicationPolicy -Name bad -RpoThreshold -00:05:00
'== policies'
(Get-ReplicationPolicy).Name -join ','
Remove-Item (Split-Path $env:AZSR_DR_VAULT) -Recurse -Force
'@
        $text = $run.Text
    }

    It 'creates the group with its sites and policy' {
        $text | Should -Match 'ProtectedSite\s*:\s*onprem'
        $text | Should -Match 'RecoverySite\s*:\s*dr'
        $text | Should -Match 'Policy\s*:\s*gold'
    }

    It 'removes nothing under -WhatIf and says what it would do' {
        $text | Should -Match "What if: .*protection group 'erp'"
        ($text -split '== count')[1].Trim() -split "`n" | Select-Object -First 1 | Should -Be '1'
    }

    It 'rejects a negative RPO threshold clearly and stores nothing' {
        $text | Should -Match 'RpoThreshold must be between 00:00:30 and 1.00:00:00; -00:05:00 was given'
        (($text -split '== policies')[1].Trim() -split "`n")[0] | Should -Be 'gold'
    }
}
