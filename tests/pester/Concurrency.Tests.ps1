BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
}

Describe 'Two pwsh processes changing one vault at the same time' {
    BeforeAll {
        $vault = New-TestVaultPath
        $folder = Split-Path $vault
        $cred = New-TestCredential
        New-DRSite -Vault $vault -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest -WarningAction SilentlyContinue | Out-Null
        New-DRSite -Vault $vault -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest -WarningAction SilentlyContinue | Out-Null
        New-ReplicationPolicy -Vault $vault -Name gold | Out-Null
        $go = Join-Path $folder 'go'
        $iterations = 40

        # Each writer creates its own groups and changes its own setting of the shared policy:
        # a read-modify-write that is not atomic would overwrite the other writer's setting.
        $writer = {
            param($Id, $Setting)
            @"
`$ErrorActionPreference = 'Stop'
while (-not (Test-Path '$go')) { Start-Sleep -Milliseconds 20 }
for (`$i = 1; `$i -le $iterations; `$i++) {
    New-ProtectionGroup -Name "$Id-`$i" -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
    Set-ReplicationPolicy gold -$Setting ([timespan]::FromMinutes(`$i + 5))
}
'done'
"@
        }
        # The reader keeps listing until it has seen every group, or for a minute at most.
        $reader = @"
while (-not (Test-Path '$go')) { Start-Sleep -Milliseconds 20 }
`$torn = 0; `$reads = 0; `$deadline = [DateTime]::UtcNow.AddMinutes(1)
do {
    `$groups = @(Get-ProtectionGroup)
    foreach (`$g in `$groups) { `$reads++; if (-not `$g.ProtectedSite -or -not `$g.RecoverySite -or -not `$g.Policy -or `$g.Created -eq [DateTimeOffset]::MinValue) { `$torn++ } }
} while (`$groups.Count -lt $(2 * $iterations) -and [DateTime]::UtcNow -lt `$deadline)
"reads=`$reads torn=`$torn"
"@
        $processes = @(
            Start-ChildPwsh -VaultPath $vault -OutputPath (Join-Path $folder 'a.out') -Script (& $writer 'a' 'RpoThreshold')
            Start-ChildPwsh -VaultPath $vault -OutputPath (Join-Path $folder 'b.out') -Script (& $writer 'b' 'RecoveryPointRetention')
            Start-ChildPwsh -VaultPath $vault -OutputPath (Join-Path $folder 'r.out') -Script $reader
        )
        Start-Sleep -Milliseconds 500
        New-Item $go -ItemType File | Out-Null
        $processes | Wait-Process -Timeout 240
        $outputs = 'a', 'b', 'r' | ForEach-Object { (Get-Content (Join-Path $folder "$_.out") -Raw) + (Get-Content (Join-Path $folder "$_.out.err") -Raw) }
    }
    AfterAll {
        $processes | Where-Object { -not $_.HasExited } | Stop-Process -Force
        Remove-TestVault $vault
    }

    It 'both writers finish without an error' {
        $outputs[0] | Should -Match 'done'
        $outputs[1] | Should -Match 'done'
        $processes | ForEach-Object { $_.ExitCode | Should -Be 0 }
    }

    It 'loses no created object' {
        (Get-ProtectionGroup -Vault $vault).Count | Should -Be (2 * $iterations)
    }

    It 'loses neither writer''s last change to the shared policy' {
        $policy = Get-ReplicationPolicy -Vault $vault gold
        $policy.RpoThreshold | Should -Be ([timespan]::FromMinutes($iterations + 5))
        $policy.RecoveryPointRetention | Should -Be ([timespan]::FromMinutes($iterations + 5))
    }

    It 'never lets a reader see a half-written object' {
        $outputs[2] | Should -Match 'reads=\d+ torn=0'
        [int]($outputs[2] -replace '(?s).*reads=(\d+).*', '$1') | Should -BeGreaterThan 0
    }
}
