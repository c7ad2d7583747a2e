BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force

    # Records a job through the Core API, as a failover cmdlet will; its step actions are never run here.
    function New-TestJob([string] $VaultPath, [string] $Operation = 'TestFailover', [string] $Target = 'erp', [string[]] $Step = @('boot web', 'check the app', 'report')) {
        $core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'AzureSiteRecovery.DR.Core' } | Select-Object -First 1
        $stepType = $core.GetType('AzureSiteRecovery.DR.Core.Orchestration.Jobs.JobStepDefinition')
        $action = { throw 'not run' } -as $stepType.GetConstructors()[0].GetParameters()[1].ParameterType
        $list = { param($items) $typed = [Activator]::CreateInstance([Collections.Generic.List`1].MakeGenericType($stepType)); foreach ($i in $items) { $typed.Add($i) }; , $typed }
        $steps = & $list @(foreach ($name in $Step) { [Activator]::CreateInstance($stepType, @($name, $action, 'web', 'web01')) })
        $cleanup = & $list @([Activator]::CreateInstance($stepType, @('cleanup', $action, $null, $null)))
        $operationValue = [Enum]::Parse($core.GetType('AzureSiteRecovery.DR.Core.Model.JobOperation'), $Operation)
        $definition = [Activator]::CreateInstance($core.GetType('AzureSiteRecovery.DR.Core.Orchestration.Jobs.JobDefinition'), @($operationValue, $Target, $steps, $cleanup))
        $vault = $core.GetType('AzureSiteRecovery.DR.Core.Vault.SqliteVault')::Open($VaultPath)
        try {
            $catalog = [Activator]::CreateInstance($core.GetType('AzureSiteRecovery.DR.Core.Orchestration.Jobs.JobCatalog'))
            $runner = [Activator]::CreateInstance($core.GetType('AzureSiteRecovery.DR.Core.Orchestration.Jobs.JobRunner'), @($vault, $catalog))
            $runner.CreateAsync($definition, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
        }
        finally { $vault.Dispose() }
    }

    # Puts a job where a running process would have left it (SQL: records have no setters in PowerShell).
    function Set-TestJobState([string] $VaultPath, [string] $JobId, [string] $State, [string] $Owner, [int] $RunningStep = -1, [string] $StepState = 'Running', [long] $CreatedOffsetMs = 0) {
        $now = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
        Invoke-VaultSql $VaultPath "UPDATE jobs SET state = '$State', owner = $(if ($Owner) { "'$Owner'" } else { 'NULL' }), started_unix_ms = $now,
                created_unix_ms = created_unix_ms + $CreatedOffsetMs WHERE id = '$JobId';
            UPDATE job_steps SET state = 'Succeeded', started_unix_ms = $now, ended_unix_ms = $now WHERE job_id = '$JobId' AND step_index < $RunningStep;
            UPDATE job_steps SET state = '$StepState', started_unix_ms = $now, message = 'Post a test order.' WHERE job_id = '$JobId' AND step_index = $RunningStep;" | Out-Null
    }

    function Get-DeadOwner {
        $process = [Diagnostics.Process]::Start('true')
        $process.WaitForExit()
        "$([Environment]::MachineName)/$($process.Id)/$([guid]::NewGuid().ToString('n'))"
    }
}

Describe 'Jobs' {
    BeforeEach {
        $vault = New-TestVaultPath
        New-Item -ItemType Directory (Split-Path $vault) | Out-Null
        # The vault exists (Get-* and Wait-* do not create one): an unknown job id, not an unknown vault.
        New-ReplicationPolicy -Vault $vault -Name gold | Out-Null
        $PSDefaultParameterValues = @{ '*-DRJob:Vault' = $vault }
    }
    AfterEach { Remove-TestVault $vault }

    Context 'Get-DRJob' {
        It 'lists jobs newest first with their steps, and filters by state and count' {
            $old = New-TestJob $vault -Target old
            $new = New-TestJob $vault -Target new
            Set-TestJobState $vault $old.JobId -State Succeeded -CreatedOffsetMs -60000
            Set-TestJobState $vault $new.JobId -State WaitingForUser -Owner (Get-DeadOwner) -RunningStep 1 -StepState WaitingForUser

            $jobs = Get-DRJob
            $jobs.JobId | Should -Be @($new.JobId, $old.JobId)
            $jobs[0].Steps.Name | Should -Be @('boot web', 'check the app', 'report', 'cleanup')
            $jobs[0].CurrentStep.Name | Should -Be 'check the app'
            $jobs[0].CurrentStep.Message | Should -Be 'Post a test order.'
            (Get-DRJob -First 1).JobId | Should -Be $new.JobId
            (Get-DRJob -State Succeeded).Target | Should -Be 'old'
            (Get-DRJob -JobId $old.JobId).Operation | Should -Be 'TestFailover'
        }

        It 'shows a table a user can read' {
            $job = New-TestJob $vault
            Set-TestJobState $vault $job.JobId -State WaitingForUser -RunningStep 1 -StepState WaitingForUser

            $table = Get-DRJob | Out-String -Width 200
            $table | Should -Match 'JobId\s+State\s+Started\s+Duration\s+Operation\s+Steps\s+Target\s+CurrentStep'
            $table | Should -Match "$($job.JobId)\s+WaitingForUser\s+\S+ \S+\s+\d\d:\d\d:\d\d\s+TestFailover\s+1 ok, 1 running, 2 pending\s+erp\s+check the app"

            $steps = (Get-DRJob).Steps | Out-String -Width 200
            $steps | Should -Match '0\s+web\s+web01\s+boot web\s+Succeeded'
            $steps | Should -Match '1\s+web\s+web01\s+check the app\s+WaitingForUser\s+\S+\s+\d\d:\d\d:\d\d\s+Post a test order\.'
            $steps | Should -Match '3\*\s+cleanup\s+Pending'
        }

        It 'reports a running job whose process died as Interrupted' {
            $job = New-TestJob $vault
            Set-TestJobState $vault $job.JobId -State Running -Owner (Get-DeadOwner) -RunningStep 1

            (Get-DRJob -JobId $job.JobId).State | Should -Be 'Interrupted'
            (Get-DRJob -State Interrupted).JobId | Should -Be $job.JobId
            (Get-DRJob -State Running) | Should -BeNullOrEmpty
        }

        It 'keeps a job run by a live process Running' {
            $job = New-TestJob $vault
            Set-TestJobState $vault $job.JobId -State Running -Owner "$([Environment]::MachineName)/$PID/x" -RunningStep 0

            (Get-DRJob -JobId $job.JobId).State | Should -Be 'Running'
        }

        It 'reports an unknown job id' {
            Get-DRJob -JobId nope -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -Be 'DRJobNotFound,AzureSiteRecovery.DR.Jobs.GetDRJobCommand'
            $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        }
    }

    Context 'Stop-DRJob' {
        It 'changes nothing with -WhatIf' {
            $job = New-TestJob $vault
            Stop-DRJob -JobId $job.JobId -WhatIf
            (Get-DRJob -JobId $job.JobId).StopRequested | Should -BeFalse
        }

        It 'records the stop request for the process running the job' {
            $job = New-TestJob $vault
            $stopped = Get-DRJob -JobId $job.JobId | Stop-DRJob -Confirm:$false -PassThru
            $stopped.StopRequested | Should -BeTrue
            (Get-DRJob -JobId $job.JobId).StopRequested | Should -BeTrue
        }

        It 'refuses a job that has ended, and reports an unknown job id' {
            $job = New-TestJob $vault
            Set-TestJobState $vault $job.JobId -State Succeeded
            Stop-DRJob -JobId $job.JobId -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            Stop-DRJob -JobId nope -Confirm:$false -ErrorVariable +err -ErrorAction SilentlyContinue
            $err.FullyQualifiedErrorId | Should -Be @('JobAlreadyEnded,AzureSiteRecovery.DR.Jobs.StopDRJobCommand', 'DRJobNotFound,AzureSiteRecovery.DR.Jobs.StopDRJobCommand')
        }
    }

    Context 'Wait-DRJob' {
        It 'returns a job that waits for the user at once' {
            $job = New-TestJob $vault
            Set-TestJobState $vault $job.JobId -State WaitingForUser -RunningStep 1 -StepState WaitingForUser
            $waited = $job | Wait-DRJob
            $waited.State | Should -Be 'WaitingForUser'
        }

        It 'reports a job still running when the timeout is up' {
            $job = New-TestJob $vault
            Set-TestJobState $vault $job.JobId -State Running -Owner "$([Environment]::MachineName)/$PID/x" -RunningStep 0
            Wait-DRJob -JobId $job.JobId -Timeout '00:00:01' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -Be 'WaitDRJobTimeout,AzureSiteRecovery.DR.Jobs.WaitDRJobCommand'
        }

        It 'reports an unknown job id' {
            Wait-DRJob -JobId nope -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -Be 'DRJobNotFound,AzureSiteRecovery.DR.Jobs.WaitDRJobCommand'
        }
    }

    Context 'Resume-DRJob' {
        It 'names what keeps a job from being rebuilt (its recovery plan is gone), and leaves the job as it was' {
            $job = New-TestJob $vault -Target 'gone'
            Set-TestJobState $vault $job.JobId -State WaitingForUser -RunningStep 1 -StepState WaitingForUser
            $job | Resume-DRJob -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -Be 'RecoveryPlanNotFound,AzureSiteRecovery.DR.Jobs.ResumeDRJobCommand'
            $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $err[0].Exception.Message | Should -Match 'gone'
            (Get-DRJob -JobId $job.JobId).State | Should -Be 'WaitingForUser'
        }

        It 'refuses a job that has ended, and reports an unknown job id' {
            $job = New-TestJob $vault
            Set-TestJobState $vault $job.JobId -State Failed
            Resume-DRJob -JobId $job.JobId -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            Resume-DRJob -JobId nope -Confirm:$false -ErrorVariable +err -ErrorAction SilentlyContinue
            $err.FullyQualifiedErrorId | Should -Be @('JobNotResumable,AzureSiteRecovery.DR.Jobs.ResumeDRJobCommand', 'DRJobNotFound,AzureSiteRecovery.DR.Jobs.ResumeDRJobCommand')
        }

        It 'changes nothing with -WhatIf' {
            $job = New-TestJob $vault
            Set-TestJobState $vault $job.JobId -State WaitingForUser -RunningStep 1 -StepState WaitingForUser
            Resume-DRJob -JobId $job.JobId -WhatIf
            (Get-DRJob -JobId $job.JobId).State | Should -Be 'WaitingForUser'
        }
    }
}
