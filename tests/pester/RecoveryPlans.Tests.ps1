BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    $module = Import-Module $env:AZSR_DR_TEST_MODULE -Force -PassThru
    $cred = New-TestCredential
    $example = Join-Path $module.ModuleBase 'Examples/erp.plan.yaml'
}

Describe 'Recovery plans' {
    BeforeEach {
        $vault = New-TestVaultPath
        $work = Split-Path $vault
        $PSDefaultParameterValues = @{
            '*-RecoveryPlan:Vault' = $vault; '*-DRSite:Vault' = $vault; '*-ReplicationPolicy:Vault' = $vault; '*-ProtectionGroup:Vault' = $vault
            '*:WarningAction' = 'SilentlyContinue'
        }
        New-DRSite -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest | Out-Null
        New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        New-ReplicationPolicy -Name gold | Out-Null
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        New-ProtectionGroup -Name erp-web -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
    }
    AfterEach { Remove-TestVault $vault }

    It 'ships a commented example plan in the module' {
        $example | Should -Exist
        Get-Content $example -Raw | Should -Match '# .*recoveryNetwork'
    }

    It 'imports the example and exports exactly the text it read' {
        $plan = Import-RecoveryPlan -Path $example
        $plan | Should -BeOfType 'AzureSiteRecovery.DR.Core.Model.RecoveryPlan'
        $plan.Name | Should -Be 'erp'
        @($plan.Groups.Name) | Should -Be @('db', 'app', 'web')

        Export-RecoveryPlan erp | Should -BeExactly (Get-Content $example -Raw)
        $copy = Join-Path $work 'copy.yaml'
        Get-RecoveryPlan erp | Export-RecoveryPlan -Path $copy
        [IO.File]::ReadAllBytes($copy) | Should -Be ([IO.File]::ReadAllBytes($example))
        Export-RecoveryPlan erp -Path $work
        Join-Path $work 'erp.plan.yaml' | Should -Exist

        (Import-RecoveryPlan -Path $copy -Force).Created | Should -Be $plan.Created
    }

    It 'refuses a plan of a name already taken unless -Force' {
        Import-RecoveryPlan -Path $example | Out-Null
        Import-RecoveryPlan -Path $example -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'RecoveryPlanAlreadyExists,AzureSiteRecovery.DR.Plans.ImportRecoveryPlanCommand'
        $err[0].Exception.Message | Should -Match '-Force'
    }

    It 'names the file, line and column of a mistake, and stores nothing' {
        $bad = Join-Path $work 'erp.yaml'
        (Get-Content $example -Raw) -replace 'bootDelay: 30s', 'bootDelay: soon' | Set-Content -Path $bad -NoNewline
        $line = (Select-String -Path $bad -Pattern 'bootDelay: soon').LineNumber
        $column = (Select-String -Path $bad -Pattern 'bootDelay: soon').Line.IndexOf('soon') + 1

        Import-RecoveryPlan -Path $bad -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty

        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'RecoveryPlanInvalid,AzureSiteRecovery.DR.Plans.ImportRecoveryPlanCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].TargetObject | Should -Be $bad
        $err[0].Exception.Message | Should -BeExactly "erp.yaml:$($line):$($column): 'bootDelay' must be a duration such as 30s or 00:00:30, not 'soon'"
        Get-RecoveryPlan | Should -BeNullOrEmpty
    }

    It 'imports the good files of a batch and reports the bad one' {
        Copy-Item $example (Join-Path $work 'a.yaml')
        "name: web`nprotectedSite: onprem`nrecoverySite: dr`ngroups:`n  - name: web`n    vms: [web01]`n    waitFor: Later`n" | Set-Content (Join-Path $work 'b.yaml')
        $imported = Get-ChildItem $work -Filter *.yaml | Import-RecoveryPlan -ErrorVariable err -ErrorAction SilentlyContinue
        @($imported.Name) | Should -Be @('erp')
        $err[0].Exception.Message | Should -Match '^b\.yaml:7:14: .waitFor. must be one of PowerOn, Heartbeat, IpAddress'
        Import-RecoveryPlan -Path (Join-Path $work 'none.yaml') -ErrorVariable missing -ErrorAction SilentlyContinue
        $missing[0].FullyQualifiedErrorId | Should -Be 'RecoveryPlanFileNotFound,AzureSiteRecovery.DR.Plans.ImportRecoveryPlanCommand'
    }

    It 'gets plans by name and wildcard, and shows a readable table' {
        Import-RecoveryPlan -Path $example | Out-Null
        (Get-RecoveryPlan 'e*').Name | Should -Be 'erp'
        Get-RecoveryPlan | Out-String | Should -Match 'erp\s+onprem\s+dr\s+3\s+4\+\s+ERP'
        Get-RecoveryPlan nope -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'RecoveryPlanNotFound,AzureSiteRecovery.DR.Plans.GetRecoveryPlanCommand'
        Export-RecoveryPlan nope -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'RecoveryPlanNotFound,AzureSiteRecovery.DR.Plans.ExportRecoveryPlanCommand'
    }

    It 'removes nothing with -WhatIf, and what is piped in without prompting' {
        Import-RecoveryPlan -Path $example | Out-Null
        Get-RecoveryPlan | Remove-RecoveryPlan -WhatIf
        Import-RecoveryPlan -Path $example -WhatIf -Force | Should -BeNullOrEmpty
        Get-RecoveryPlan | Should -Not -BeNullOrEmpty
        Get-RecoveryPlan | Remove-RecoveryPlan -Confirm:$false
        Get-RecoveryPlan | Should -BeNullOrEmpty
        Remove-RecoveryPlan erp -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'RecoveryPlanNotFound,AzureSiteRecovery.DR.Plans.RemoveRecoveryPlanCommand'
    }

    It 'passes the pre-flight when every VM is protected with a recovery point' {
        Import-RecoveryPlan -Path $example | Out-Null
        foreach ($name in 'erp-db01', 'erp-app01', 'erp-app02', 'erp-lb01') { Add-TestProtectedVm -VaultPath $vault -Group erp -Name $name }
        foreach ($name in 'erp-web01', 'erp-web02') { Add-TestProtectedVm -VaultPath $vault -Group erp-web -Name $name }
        Add-TestRecoveryPoint -VaultPath $vault -Name erp-db01, erp-app01, erp-app02, erp-lb01, erp-web01, erp-web02

        # The sites are not real vCenters here: the vault checks only (the recovery site checks are in Safety.Choices.Tests.ps1).
        $output = Get-RecoveryPlan erp | Test-RecoveryPlan -SkipSiteCheck
        $summary = $output | Select-Object -Last 1
        $summary | Should -BeOfType 'AzureSiteRecovery.DR.Core.Orchestration.Plans.RecoveryPlanTestResult'
        $summary.Passed | Should -BeTrue
        $summary.VmCount | Should -Be 6
        $findings = @($output | Select-Object -SkipLast 1)
        $findings.Check | Should -Be @('NetworksNotChecked')
        $findings[0].Severity | Should -Be 'Warning'
    }

    It 'reports each problem with its place in the plan' {
        Import-RecoveryPlan -Path $example | Out-Null
        foreach ($name in 'erp-db01', 'erp-app01', 'erp-lb01') { Add-TestProtectedVm -VaultPath $vault -Group erp -Name $name }
        Add-TestProtectedVm -VaultPath $vault -Group erp-web -Name erp-web01
        Add-TestRecoveryPoint -VaultPath $vault -Name erp-db01, erp-lb01, erp-web01

        $output = Test-RecoveryPlan erp -SkipSiteCheck
        $summary = $output | Select-Object -Last 1
        $summary.Passed | Should -BeFalse
        $summary.ErrorCount | Should -Be 2
        $errors = $output | Where-Object { $_.pstypenames -contains 'AzureSiteRecovery.DR.Core.Orchestration.Plans.RecoveryPlanFinding' -and $_.Severity -eq 'Error' } | Sort-Object Vm
        $errors.Check | Should -Be @('NoRecoveryPoint', 'VmNotProtected')
        $errors.Vm | Should -Be @('erp-app01', 'erp-app02')
        $line = (Select-String -Path $example -Pattern 'name: erp-app02').LineNumber
        "$($errors[1].Location)" | Should -Be "erp:$($line):9"
        Test-RecoveryPlan erp -SkipSiteCheck | Out-String -Width 200 | Should -Match "Error\s+VmNotProtected\s+$($line):9\s+VM 'erp-app02' is not protected"
        Test-RecoveryPlan nope -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'RecoveryPlanNotFound,AzureSiteRecovery.DR.Plans.TestRecoveryPlanCommand'
    }
}
