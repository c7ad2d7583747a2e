BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force

    # What a user sees at 80 columns: the script's output as a child pwsh renders it (Out-String -Width 80).
    function Get-Rendered([string] $Script, [string] $VaultPath) {
        $result = Invoke-ChildPwsh -VaultPath $VaultPath -Script "$Script | Out-String -Width 80"
        $result.ExitCode | Should -Be 0 -Because $result.Text
        $result.Output
    }

    function Assert-Fits([string[]] $Lines) {
        $long = @($Lines | Where-Object { $_.Length -gt 80 })
        $long | Should -BeNullOrEmpty -Because "no line may exceed 80 columns:`n$($Lines -join "`n")"
    }

    # The header line of a table: the line above the first dashes line.
    function Get-Header([string[]] $Lines) {
        $dashes = [array]::FindIndex([string[]]$Lines, [Predicate[string]] { param($l) $l -match '^-+( +-+)*\s*$' })
        $dashes | Should -BeGreaterThan 0 -Because ($Lines -join "`n")
        $Lines[$dashes - 1]
    }

    # Progress records of a cmdlet run in a PowerShell instance of this process.
    function Get-ProgressOf([scriptblock] $Command) {
        $shell = [powershell]::Create()
        try {
            $null = $shell.AddScript("Import-Module '$env:AZSR_DR_TEST_MODULE'").AddStatement().AddScript($Command.ToString())
            $output = $shell.Invoke()
            $shell.Streams.Error | Should -BeNullOrEmpty
            [pscustomobject]@{ Output = $output; Progress = @($shell.Streams.Progress) }
        }
        finally { $shell.Dispose() }
    }

    function Assert-NeverBackwards($Records) {
        foreach ($activity in $Records | Group-Object ActivityId) {
            $percents = @($activity.Group | Where-Object PercentComplete -ge 0 | ForEach-Object PercentComplete)
            for ($i = 1; $i -lt $percents.Count; $i++) {
                $percents[$i] | Should -BeGreaterOrEqual $percents[$i - 1] -Because "activity $($activity.Name) must not go backwards: $($percents -join ', ')"
            }
        }
    }
}

Describe 'Views, progress and jobs of a protected group' {
    BeforeAll {
        $lab = New-FailoverLab -Vms DC0_H0_VM0, DC0_H0_VM1
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue' }
        Invoke-VaultSql $lab.Vault "UPDATE protection_groups SET description = 'The ERP system: its database, the application servers and the web front end, recovered in this order' WHERE name = 'erp'" | Out-Null
        Import-TestPlan $lab erp @'
  - name: db
    vms:
      - name: DC0_H0_VM0
  - name: app
    vms:
      - name: DC0_H0_VM1
'@
        $testJob = Start-TestFailover -RecoveryPlan erp
        $testVmName = "DC0_H0_VM0-drtest-$($testJob.JobId.Substring(0, 6))"
        $drVms = Get-Rendered "Get-DRVm -Site dr" $lab.Vault
        $testJob | Stop-TestFailover | Out-Null
    }
    AfterAll { Remove-FailoverLab $lab }

    It 'Get-ProtectedVm fits 80 columns and keeps State, Health and RPO' {
        $lines = Get-Rendered 'Get-ProtectedVm' $lab.Vault
        Assert-Fits $lines
        $header = Get-Header $lines
        foreach ($column in 'Name', 'State', 'Health', 'RPO') { $header | Should -Match "\b$column\b" }
        $row = $lines | Where-Object { $_ -match '^DC0_H0_VM0 ' }
        $row | Should -Match '\bProtected\b'
        $row | Should -Match '\bHealthy\b'
        $row | Should -Match '\d\.\d\d:\d\d:\d\d'
        $row | Should -Not -Match '…'
    }

    It 'Format-List of a protected VM shows each disk as label, size and file' {
        $lines = Get-Rendered 'Get-ProtectedVm DC0_H0_VM0 | Format-List' $lab.Vault
        $disk = (Get-ProtectedVm DC0_H0_VM0).Disks[0]
        ($lines -join "`n") | Should -Match ([regex]::Escape("Disks                 : $($disk.Label) 8 MiB $($disk.FileName)"))
        ($lines -join "`n") | Should -Not -Match 'ProtectedDisk \{'
    }

    It 'Get-ProtectionGroup fits 80 columns; a long description is cut on its line, not printed a letter per line' {
        $lines = Get-Rendered 'Get-ProtectionGroup' $lab.Vault
        Assert-Fits $lines
        foreach ($column in 'Name', 'Protected', 'Recovery', 'Policy', 'VMs', 'Description') { Get-Header $lines | Should -Match "\b$column\b" }
        $row = @($lines | Where-Object { $_ -match '^erp ' })
        $row.Count | Should -Be 1
        $row[0] | Should -Match 'onprem +dr +gold +2 The ERP system'
        @($lines | Where-Object { $_.Trim().Length -eq 1 }) | Should -BeNullOrEmpty
    }

    It 'Get-DRVm shows test VM names whole, within 80 columns' {
        Assert-Fits $drVms
        $drVms | Where-Object { $_ -match [regex]::Escape($testVmName) } | Should -Not -BeNullOrEmpty -Because ($drVms -join "`n")
        $drVms -join "`n" | Should -Not -Match '…'
    }

    It 'Get-DRVm names the site it looked on when a VM is not there' {
        Get-DRVm -Site onprem -Name NoSuchVm -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'VmNotFound,AzureSiteRecovery.DR.Inventory.GetDRVmCommand'
        $err[0].Exception.Message | Should -Be "VM 'NoSuchVm' was not found on site 'onprem'."
    }

    It 'Get-DRJob fits 80 columns with State, Started and Duration; a failed drill counts its steps ok / failed / skipped' {
        # The test failover's job, played as a drill whose second step failed: the steps after it were skipped.
        $count = (Get-DRJob -JobId $testJob.JobId).Steps.Count
        $count | Should -BeGreaterOrEqual 3
        Invoke-VaultSql $lab.Vault "UPDATE jobs SET operation = 'Drill', state = 'Failed' WHERE id = '$($testJob.JobId)';
            UPDATE job_steps SET state = CASE WHEN step_index < 1 THEN 'Succeeded' WHEN step_index = 1 THEN 'Failed' ELSE 'Skipped' END WHERE job_id = '$($testJob.JobId)'" | Out-Null
        $expected = "1 ok, 1 failed, $($count - 2) skipped"
        (Get-DRJob -JobId $testJob.JobId).StepSummary | Should -Be $expected

        $lines = Get-Rendered 'Get-DRJob' $lab.Vault
        Assert-Fits $lines
        foreach ($column in 'JobId', 'State', 'Started', 'Duration') { Get-Header $lines | Should -Match "\b$column\b" }
        $row = $lines | Where-Object { $_ -match "^$($testJob.JobId) " }
        $row | Should -Match '^[0-9a-f]{32} Failed +\d\d-\d\d \d\d:\d\d +\d\d:\d\d:\d\d'
        $row | Should -Not -Match '…'

        # On a wider terminal the step counts show too, never as "done/total".
        $wide = Invoke-ChildPwsh -VaultPath $lab.Vault -Script "Get-DRJob -JobId $($testJob.JobId) | Out-String -Width 160"
        $wide.Text | Should -Match ([regex]::Escape($expected))
        $wide.Text | Should -Not -Match "$count/$count"
    }

    It 'Sync-VmReplication shows a parent "VM i of N" and a child per VM, never going backwards' {
        $vault = $lab.Vault
        $run = Get-ProgressOf ([scriptblock]::Create("Sync-VmReplication -Vault '$vault' -ProtectionGroup erp -ThrottleLimit 1"))
        $parent = @($run.Progress | Where-Object ParentActivityId -eq -1)
        $children = @($run.Progress | Where-Object ParentActivityId -ne -1)
        @($parent.ActivityId | Sort-Object -Unique) | Should -Be @(1)
        @($children | ForEach-Object ParentActivityId | Sort-Object -Unique) | Should -Be @(1)
        $childIds = @($children | Group-Object ActivityId)
        $childIds.Count | Should -Be 2
        $childIds | ForEach-Object { @($_.Group.Activity | Sort-Object -Unique).Count | Should -Be 1 }
        @($childIds.Group.Activity | Sort-Object -Unique) | Should -Be @('Replicating DC0_H0_VM0', 'Replicating DC0_H0_VM1')
        $numbers = @($parent | Where-Object StatusDescription -match '^VM (\d) of 2' | ForEach-Object { [int]($_.StatusDescription -replace '^VM (\d).*', '$1') })
        $numbers | Should -Contain 1
        $numbers | Should -Contain 2
        for ($i = 1; $i -lt $numbers.Count; $i++) { $numbers[$i] | Should -BeGreaterOrEqual $numbers[$i - 1] }
        Assert-NeverBackwards $run.Progress
        $parent[-1].RecordType | Should -Be 'Completed'
    }

    It 'Invoke-DRDrill shows the job as parent and a child per VM (VM i of N), never going backwards' {
        $vault = $lab.Vault
        $run = Get-ProgressOf ([scriptblock]::Create("Invoke-DRDrill -Vault '$vault' -RecoveryPlan erp"))
        $parent = @($run.Progress | Where-Object ParentActivityId -eq -1)
        @($parent.ActivityId | Sort-Object -Unique) | Should -Be @(1)
        $parent[0].Activity | Should -Match '^Drill of erp'
        $children = @($run.Progress | Where-Object ParentActivityId -ne -1)
        @($children | ForEach-Object ParentActivityId | Sort-Object -Unique) | Should -Be @(1)
        $byVm = @($children | Group-Object Activity | Sort-Object Name)
        @($byVm.Name) | Should -Be @('DC0_H0_VM0', 'DC0_H0_VM1')
        @($byVm | ForEach-Object { @($_.Group.ActivityId | Sort-Object -Unique).Count }) | Should -Be @(1, 1)
        @($byVm | ForEach-Object { $_.Group[0].ActivityId } | Sort-Object -Unique).Count | Should -Be 2
        ($children | Where-Object StatusDescription -match '^VM 2 of 2') | Should -Not -BeNullOrEmpty
        $byVm | ForEach-Object { $_.Group[-1].RecordType | Should -Be 'Completed' }
        Assert-NeverBackwards $run.Progress
    }

    It 'Export-RecoveryPoint reports progress and returns the images as FileInfo with their sizes' {
        $vault = $lab.Vault
        $folder = Join-Path (Split-Path $vault) 'export-progress'
        $run = Get-ProgressOf ([scriptblock]::Create("Get-ProtectedVm -Vault '$vault' DC0_H0_VM0 | Get-RecoveryPoint -Vault '$vault' | Select-Object -Last 1 | Export-RecoveryPoint -Vault '$vault' -Destination '$folder'"))
        $run.Progress | Should -Not -BeNullOrEmpty
        $run.Progress[-1].RecordType | Should -Be 'Completed'
        $run.Progress[0].Activity | Should -Match '^Exporting DC0_H0_VM0'
        Assert-NeverBackwards $run.Progress
        $file = @($run.Output)[0]
        $file | Should -BeOfType System.IO.FileInfo
        $file.Length | Should -Be 8MB
        $file.Length | Should -Be (Get-Item $file.FullName).Length
    }

    It 'Export-RecoveryPoint -AsJob writes the same image in a background job' {
        $folder = Join-Path (Split-Path $lab.Vault) 'export-job'
        $job = Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint | Select-Object -Last 1 | Export-RecoveryPoint -Destination $folder -AsJob
        $job | Should -BeOfType System.Management.Automation.Job
        $job | Wait-Job -Timeout 120 | Out-Null
        $job.State | Should -Be 'Completed'
        $files = @($job | Receive-Job)
        $files.Count | Should -Be 1
        $files[0].Length | Should -Be 8MB
        (Get-FileHash $files[0].FullName).Hash | Should -Be (Get-FileHash (Join-Path (Split-Path $lab.Vault) 'export-progress/DC0_H0_VM0/2000.img')).Hash
        $job | Remove-Job
    }

    It 'Enable-VmProtection -AsJob protects and copies in a background job' {
        $job = Get-DRVm -Site onprem -Name DC0_C0_RP0_VM0 | Enable-VmProtection -ProtectionGroup erp -AsJob
        $job | Should -BeOfType System.Management.Automation.Job
        $job | Wait-Job -Timeout 120 | Out-Null
        $job.State | Should -Be 'Completed' -Because "$($job.Error)"
        $vm = @($job | Receive-Job)
        $vm.Count | Should -Be 1
        $vm[0].Name | Should -Be 'DC0_C0_RP0_VM0'
        $stored = Get-ProtectedVm DC0_C0_RP0_VM0
        $stored.State | Should -Be 'Protected'
        $stored.LastRecoveryPointId | Should -Not -BeNullOrEmpty
        $job | Remove-Job
    }

    It 'Export-RecoveryPlan and Export-DrillReport return the files they wrote, sizes filled in' {
        $folder = Split-Path $lab.Vault
        $plan = Export-RecoveryPlan erp -Path (Join-Path $folder 'erp.plan.yaml')
        $plan | Should -BeOfType System.IO.FileInfo
        $plan.Length | Should -Be ([IO.File]::ReadAllBytes($plan.FullName).Length)
        $plan.Length | Should -BeGreaterThan 0
        (Get-Command Export-RecoveryPlan).OutputType.Name | Should -Contain 'System.IO.FileInfo'
        $report = Export-DrillReport -JobId $testJob.JobId -Path (Join-Path $folder 'report.json')
        $report | Should -BeOfType System.IO.FileInfo
        $report.Length | Should -Be ([IO.File]::ReadAllBytes($report.FullName).Length)
    }
}

Describe 'Help' {
    BeforeAll {
        $help = Invoke-ChildPwsh -Script @'
foreach ($name in 'New-DRSite', 'Get-DRVm', 'Wait-DRJob', 'Set-ReplicationPolicy', 'Get-DRJob') {
    "=== $name"
    Get-Help $name -Full | Out-String -Width 400
}
'@
        $help.ExitCode | Should -Be 0
        $sections = @{}
        foreach ($part in $help.Text -split '(?m)^=== ' | Where-Object { $_ }) {
            $name, $text = $part -split "`n", 2
            $sections[$name.Trim()] = $text
        }
    }

    It 'SYNTAX lists [-WhatIf] [-Confirm] where the cmdlet supports them, and not elsewhere' {
        $sections['New-DRSite'] | Should -Match '\[-WhatIf\] \[-Confirm\] \[<CommonParameters>\]'
        $sections['Get-DRVm'] | Should -Not -Match 'WhatIf'
    }

    It 'shows underlying types, never Nullable`1' {
        foreach ($name in 'Wait-DRJob', 'Set-ReplicationPolicy', 'Get-DRJob') { $sections[$name] | Should -Not -Match 'Nullable' }
        $sections['Wait-DRJob'] | Should -Match '-Timeout <TimeSpan>'
        $sections['Get-DRJob'] | Should -Match '-First <Int32>'
    }

    It 'shows real defaults: <Name> -<Parameter> is <Default>' -ForEach @(
        @{ Name = 'New-DRSite'; Parameter = 'Role'; Default = 'Both' }
        @{ Name = 'New-DRSite'; Parameter = 'SkipConnectionTest'; Default = 'False' }
        @{ Name = 'Wait-DRJob'; Parameter = 'Timeout'; Default = 'no limit' }
    ) {
        $sections[$Name] | Should -Match "(?s)-$Parameter\b.*?Default value\s+$([regex]::Escape($Default))\r?\n"
    }
}

Describe 'Benchmark names from bash' {
    It 'a comma-separated -Only reaches the benchmarks as separate names' {
        $pwsh = (Get-ChildPwshCommand | ForEach-Object { "'$_'" }) -join ' '
        $script = Join-Path $PSScriptRoot '../bench/Invoke-Benchmarks.ps1'
        $listed = & bash -c "$pwsh -NoProfile -File '$script' -ModulePath unused -Only Replication,Recovery -ListOnly"
        $LASTEXITCODE | Should -Be 0
        $listed | Should -Be @('Replication', 'Recovery')
    }

    It 'unknown names are each named' {
        $pwsh = (Get-ChildPwshCommand | ForEach-Object { "'$_'" }) -join ' '
        $script = Join-Path $PSScriptRoot '../bench/Invoke-Benchmarks.ps1'
        $output = & bash -c "$pwsh -NoProfile -File '$script' -ModulePath unused -Only NoSuch,Recovery,Other -ListOnly 2>&1"
        $LASTEXITCODE | Should -Not -Be 0
        ($output -join "`n") | Should -Match "Unknown benchmark\(s\): 'NoSuch', 'Other'\."
    }

    It 'build.ps1 splits -Only at commas' {
        $build = Get-Content (Join-Path $PSScriptRoot '../../build.ps1') -Raw
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($build, [ref]$null, [ref]$null)
        $split = $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.AssignmentStatementAst] -and $n.Left.Extent.Text -eq '$Only' }, $true) | Select-Object -First 1
        $split | Should -Not -BeNullOrEmpty
        $Only = @('Replication,Recovery', 'Demo')
        $Only = Invoke-Expression $split.Right.Extent.Text
        $Only | Should -Be @('Replication', 'Recovery', 'Demo')
    }
}
