BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $capacity = 8MB

    function Get-RecoverStep($Job, [string] $Vm) { $Job.Steps | Where-Object Name -eq "Recover $Vm" }
    function Get-TestVmName([string] $Vm, [string] $JobId) { "$Vm-drtest-$($JobId.Substring(0, 6))" }
    # A port nothing listens on: bound by us, then released.
    function Get-FreePort {
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
    }
}

Describe 'A test failover brings back the disks and cleans up after itself' {
    BeforeAll {
        $lab = New-FailoverLab -Vms DC0_H0_VM0, DC0_H0_VM1
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue' }
        Import-TestPlan $lab erp @'
  - name: db
    vms:
      - name: DC0_H0_VM0
  - name: app
    vms:
      - name: DC0_H0_VM1
'@
        $disk = Get-FlatFile $lab.Protected.StateDir DC0_H0_VM0
        Write-DiskBytes $disk 3MB 1MB 100
        $hashA = Get-DiskHash $disk $capacity
        $pointA = (Sync-VmReplication -ProtectionGroup erp).Point | Where-Object VmName -eq DC0_H0_VM0
        Write-DiskBytes $disk 512KB 1MB 200
        Write-DiskBytes $disk 6MB 2MB 201
        $hashB = Get-DiskHash $disk $capacity
        $pointB = (Sync-VmReplication -ProtectionGroup erp).Point | Where-Object VmName -eq DC0_H0_VM0
        $before = Get-RecoverySiteState $lab
    }
    AfterAll { Remove-FailoverLab $lab }

    It 'recovers the disk as it was at the chosen point, byte for byte' {
        $hashA | Should -Not -Be $hashB
        $pointA.RecoveryPointId | Should -Not -Be $pointB.RecoveryPointId

        $job = Start-TestFailover -RecoveryPlan erp -RecoveryPoint $pointA.RecoveryPointId
        $job.State | Should -Be 'Succeeded' -Because $job.Error
        $step = Get-RecoverStep $job DC0_H0_VM0
        $step.Details['recoveryPointId'] | Should -Be $pointA.RecoveryPointId
        $name = $step.Details['recoveredName']
        $name | Should -Be (Get-TestVmName DC0_H0_VM0 $job.JobId)
        Get-DiskHash (Get-RecoveredFlatFile $lab $name) $capacity | Should -Be $hashA
        # The guest was watched through WaitForUpdatesEx; the power on and the guest up are both recorded (the RTO bench's inputs).
        $step.Details['guestWait'] | Should -Be 'WaitForUpdatesEx'
        [DateTimeOffset]$step.Details['poweredOnAt'] | Should -BeLessThan ([DateTimeOffset]$step.Details['upAt'])
        [DateTimeOffset]$step.Details['poweredOnAt'] | Should -BeGreaterThan $step.Started
        ($job | Stop-TestFailover).State | Should -Be 'Succeeded'

        $latest = Get-ProtectedVm DC0_H0_VM0 | Start-TestFailover -Network DC0_DVPG1
        $latest.State | Should -Be 'Succeeded' -Because $latest.Error
        $step = Get-RecoverStep $latest DC0_H0_VM0
        $step.Details['recoveryPointId'] | Should -Be $pointB.RecoveryPointId
        Get-DiskHash (Get-RecoveredFlatFile $lab $step.Details['recoveredName']) $capacity | Should -Be $hashB
        ($latest | Stop-TestFailover).State | Should -Be 'Succeeded'
    }

    It 'recovers a recovery point piped in from Get-RecoveryPoint, without a plan' {
        $piped = Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint | Where-Object RecoveryPointId -eq $pointA.RecoveryPointId | Start-TestFailover -Network DC0_DVPG1
        $piped.State | Should -Be 'Succeeded' -Because $piped.Error
        $step = Get-RecoverStep $piped DC0_H0_VM0
        $step.Details['recoveryPointId'] | Should -Be $pointA.RecoveryPointId
        Get-DiskHash (Get-RecoveredFlatFile $lab $step.Details['recoveredName']) $capacity | Should -Be $hashA
        ($piped | Stop-TestFailover).State | Should -Be 'Succeeded'
    }

    It 'takes a protected VM by name as well as by id, without a plan' {
        $byName = Start-TestFailover -VmId DC0_H0_VM0 -Network DC0_DVPG1
        $byName.State | Should -Be 'Succeeded' -Because $byName.Error
        $step = Get-RecoverStep $byName DC0_H0_VM0
        $step.Details['recoveryPointId'] | Should -Be $pointB.RecoveryPointId
        Get-DiskHash (Get-RecoveredFlatFile $lab $step.Details['recoveredName']) $capacity | Should -Be $hashB
        ($byName | Stop-TestFailover).State | Should -Be 'Succeeded'

        Start-TestFailover -VmId NoSuchVm -Network DC0_DVPG1 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'ProtectedVmNotFound,AzureSiteRecovery.DR.Recovery.StartTestFailoverCommand'
    }

    It 'leaves nothing on the recovery site after Stop-TestFailover, and a second Stop-TestFailover is harmless' {
        $job = Start-TestFailover -RecoveryPlan erp
        $job.State | Should -Be 'Succeeded' -Because $job.Error
        $during = Get-RecoverySiteState $lab
        $testVms = @('DC0_H0_VM0', 'DC0_H0_VM1' | ForEach-Object { Get-TestVmName $_ $job.JobId })
        $during.VmNames | Should -Contain $testVms[0]
        $during.VmNames | Should -Contain $testVms[1]
        @($during.Tagged | Where-Object Tags -match "azsr-dr\.job=$($job.JobId)").Count | Should -Be 2
        $during.Files -like "*/$($testVms[0])/$($testVms[0])-flat.vmdk" | Should -HaveCount 1

        $stop = $job | Stop-TestFailover -Notes 'checked'
        $stop.State | Should -Be 'Succeeded' -Because $stop.Error
        $stop.Steps[0].Message | Should -Match ([regex]::Escape($testVms[0]))
        $stop.Steps[0].Message | Should -Match 'Notes: checked'
        Assert-NothingLeft $lab $before 'Stop-TestFailover deletes every test VM with its files'

        $again = Stop-TestFailover -JobId $job.JobId
        $again.State | Should -Be 'Succeeded' -Because $again.Error
        $again.Steps[0].Message | Should -Match 'Nothing left to delete'
        Assert-NothingLeft $lab $before 'a second Stop-TestFailover changes nothing'
    }

    It 'leaves nothing on the recovery site after Invoke-DRDrill' {
        $report = Invoke-DRDrill -RecoveryPlan erp
        $report.Passed | Should -BeTrue -Because $report.Error
        $report.CleanupPassed | Should -BeTrue
        $report.Vms.Name | Should -Be 'DC0_H0_VM0', 'DC0_H0_VM1'
        $report.Vms.RecoveredName | Should -Be ('DC0_H0_VM0', 'DC0_H0_VM1' | ForEach-Object { Get-TestVmName $_ $report.JobId })
        ($report.Vms | Where-Object Name -eq DC0_H0_VM0).RecoveryPointId | Should -Be $pointB.RecoveryPointId
        $report.Steps[-1].Name | Should -Be 'Delete the test VMs'
        $report.Steps[-1].Message | Should -Match 'Deleted 2 VM'
        Assert-NothingLeft $lab $before 'a drill deletes its test VMs'

        $again = Stop-TestFailover -JobId $report.JobId
        $again.State | Should -Be 'Succeeded' -Because $again.Error
        Assert-NothingLeft $lab $before 'Stop-TestFailover after a drill changes nothing'
    }
}

Describe 'Test failovers killed mid-run' {
    BeforeAll {
        $lab = New-FailoverLab -Vms DC0_H0_VM0, DC0_H0_VM1
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue' }
        # The wait keeps the job running after the first group's VM is up, so the kill always finds it mid-run.
        Import-TestPlan $lab erp @'
  - name: db
    vms:
      - name: DC0_H0_VM0
    postActions:
      - wait: 2m
  - name: app
    vms:
      - name: DC0_H0_VM1
'@
        $before = Get-RecoverySiteState $lab
        $work = Split-Path $lab.Vault

        # Starts a test failover in a new pwsh and kills it (SIGKILL) once a test VM exists on the recovery site; returns the job.
        function Invoke-KilledTestFailover([string] $Round) {
            $known = @(Get-DRJob | ForEach-Object JobId)
            Invoke-ChildPwshKilled -Script 'Start-TestFailover -RecoveryPlan erp | Out-Null' -VaultPath $lab.Vault -OutputPath (Join-Path $work "test-$Round.txt") `
                -Until { Get-DRVm -Site dr | Where-Object Name -like '*-drtest-*' }
            $job = @(Get-DRJob | Where-Object { $_.JobId -notin $known -and $_.Operation -eq 'TestFailover' })
            $job | Should -HaveCount 1
            Write-Host "killed job $($job[0].JobId) during: $(($job[0].Steps | Where-Object State -eq 'Running').Name -join ', ')"
            $job[0]
        }
    }
    AfterAll { Remove-FailoverLab $lab }

    It 'shows the killed job Interrupted, and Stop-TestFailover removes what it made' {
        $job = Invoke-KilledTestFailover 'one'
        $job.State | Should -Be 'Interrupted'
        (Get-DRJob -JobId $job.JobId).State | Should -Be 'Interrupted'
        (Get-DRVm -Site dr).Name | Should -Contain (Get-TestVmName DC0_H0_VM0 $job.JobId)

        $stop = Stop-TestFailover -JobId $job.JobId
        $stop.State | Should -Be 'Succeeded' -Because $stop.Error
        Assert-NothingLeft $lab $before 'Stop-TestFailover of a killed test deletes its VMs'
    }

    It 'stops a drill from another process with Stop-DRJob, even in a long wait, and its cleanup still runs' {
        $known = @(Get-DRJob | ForEach-Object JobId)
        $child = Start-ChildPwsh -Script 'Invoke-DRDrill -RecoveryPlan erp | Out-Null' -VaultPath $lab.Vault -OutputPath (Join-Path $work 'drill-stop.txt')
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            $drill = $null
            while ([DateTime]::UtcNow -lt $deadline -and -not $drill) {
                Start-Sleep -Milliseconds 200
                $drill = Get-DRJob | Where-Object { $_.JobId -notin $known -and $_.Operation -eq 'Drill' -and $_.CurrentStep.Name -like 'db: post-action*' }
            }
            $drill | Should -Not -BeNullOrEmpty -Because 'the drill reaches its 2 minute wait'
            Stop-DRJob -JobId $drill.JobId -Confirm:$false
            $child.WaitForExit(30000) | Should -BeTrue -Because 'a stop ends the running wait, not only the next step'
        }
        finally {
            if (-not $child.HasExited) { & kill -9 $child.Id }
        }
        $ended = Get-DRJob -JobId $drill.JobId
        $ended.State | Should -Be 'Cancelled'
        ($ended.Steps | Where-Object Name -like 'db: post-action*').Error | Should -Be 'Stopped before it finished.'
        $ended.Steps[-1].State | Should -Be 'Succeeded'
        Assert-NothingLeft $lab $before 'a stopped drill still deletes its test VMs'
    }

    It "sweeps a killed test's VMs when another test failover is stopped" {
        $killed = Invoke-KilledTestFailover 'two'
        $killed.State | Should -Be 'Interrupted'
        $leftover = Get-TestVmName DC0_H0_VM0 $killed.JobId
        (Get-DRVm -Site dr).Name | Should -Contain $leftover

        $other = Get-ProtectedVm DC0_H0_VM1 | Start-TestFailover -Network DC0_DVPG1
        $other.State | Should -Be 'Succeeded' -Because $other.Error
        $stop = $other | Stop-TestFailover
        $stop.State | Should -Be 'Succeeded' -Because $stop.Error
        $stop.Steps[0].Message | Should -Match ([regex]::Escape((Get-TestVmName DC0_H0_VM1 $other.JobId)))
        $stop.Steps[1].Name | Should -Be 'Delete what crashed test failovers left behind'
        $stop.Steps[1].Message | Should -Match ([regex]::Escape($leftover))
        Assert-NothingLeft $lab $before "stopping another test sweeps the killed test's VMs"
    }
}

Describe 'Recovery plan groups, validations and manual steps' {
    BeforeAll {
        $lab = New-FailoverLab -Vms DC0_H0_VM0, DC0_H0_VM1, DC0_C0_RP0_VM0, DC0_C0_RP0_VM1
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue' }
        $before = Get-RecoverySiteState $lab
        $work = Split-Path $lab.Vault
    }
    AfterAll { Remove-FailoverLab $lab }

    It 'starts each group after every step of the group before it ended' {
        Import-TestPlan $lab ordered @'
  - name: db
    vms:
      - name: DC0_H0_VM0
  - name: app
    vms:
      - name: DC0_H0_VM1
        bootDelay: 1s
      - name: DC0_C0_RP0_VM0
  - name: web
    vms:
      - name: DC0_C0_RP0_VM1
'@
        $job = Start-TestFailover -RecoveryPlan ordered
        $job.State | Should -Be 'Succeeded' -Because $job.Error
        try {
            $groups = 'db', 'app', 'web'
            for ($n = 0; $n -lt 2; $n++) {
                $earlier = @($job.Steps | Where-Object Group -eq $groups[$n])
                $next = @($job.Steps | Where-Object { $_.Group -eq $groups[$n + 1] -and $_.Name -like 'Recover *' })
                $earlier.Count | Should -BeGreaterThan 0
                $next.Count | Should -BeGreaterThan 0
                $earlier.Ended | Should -Not -Contain $null
                $lastEnd = ($earlier.Ended | Measure-Object -Maximum).Maximum
                foreach ($step in $next) {
                    $step.Started | Should -BeGreaterOrEqual $lastEnd -Because "'$($step.Name)' of group $($groups[$n + 1]) must start after group $($groups[$n]) ended"
                }
            }
            @($job.Steps | Where-Object Name -like 'Recover *').State | Should -Be 'Succeeded', 'Succeeded', 'Succeeded', 'Succeeded'
        }
        finally { ($job | Stop-TestFailover).State | Should -Be 'Succeeded' }
        Assert-NothingLeft $lab $before 'the test is stopped'
    }

    It 'fails the drill on a closed port, reports it, and still deletes the test VMs' {
        $closed = Get-FreePort
        Import-TestPlan $lab closed @"
  - name: db
    vms:
      - name: DC0_H0_VM0
        validations:
          - tcpPort: { port: $closed, timeout: 3s }
"@
        $report = Invoke-DRDrill -RecoveryPlan closed -ErrorVariable drillError -ErrorAction SilentlyContinue
        $report.Passed | Should -BeFalse
        $drillError[0].FullyQualifiedErrorId | Should -Be 'DrillFailed,AzureSiteRecovery.DR.Recovery.InvokeDRDrillCommand'
        $report.State | Should -Be 'Failed'
        $validation = $report.Steps | Where-Object Name -eq "Validate DC0_H0_VM0: tcp $closed"
        $validation.State | Should -Be 'Failed'
        $validation.Error | Should -Match "\b$closed\b"
        $report.Vms[0].Validations[0].Passed | Should -BeFalse
        $report.Error | Should -Match "\b$closed\b"
        $report.CleanupPassed | Should -BeTrue
        $report.Steps[-1].Name | Should -Be 'Delete the test VMs'
        $report.Steps[-1].State | Should -Be 'Succeeded'
        Assert-NothingLeft $lab $before 'the cleanup of a failed drill still runs'

        $xmlPath = Join-Path $work 'closed.xml'
        $report | Export-DrillReport -Path $xmlPath | Out-Null
        [xml] $junit = Get-Content -LiteralPath $xmlPath -Raw
        $case = $junit.SelectNodes('//testcase') | Where-Object name -eq "Validate DC0_H0_VM0: tcp $closed"
        $case | Should -HaveCount 1
        $case.failure | Should -Not -BeNullOrEmpty
        $case.failure.message | Should -Match "\b$closed\b"
        [int] $junit.testsuites.failures | Should -Be 1
    }

    It 'passes a tcpPort validation against a port that listens' {
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try {
            $open = $listener.LocalEndpoint.Port
            Import-TestPlan $lab open @"
  - name: db
    vms:
      - name: DC0_H0_VM0
        validations:
          - tcpPort: { port: $open, timeout: 3s }
"@
            $report = Invoke-DRDrill -RecoveryPlan open
        }
        finally { $listener.Stop() }
        $report.Passed | Should -BeTrue -Because $report.Error
        ($report.Steps | Where-Object Name -eq "Validate DC0_H0_VM0: tcp $open").State | Should -Be 'Succeeded'
        $report.Vms[0].Validations[0].Passed | Should -BeTrue
        Assert-NothingLeft $lab $before 'the drill cleans up'
    }

    It 'runs a group''s validations on every VM of its protection group, and a VM''s own, and reports the targets' {
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $second = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $second.Start()
        try {
            $open = $listener.LocalEndpoint.Port
            $own = $second.LocalEndpoint.Port
            # The lab's protection group erp holds all four VMs; DC0_H0_VM0 is also named, to add its own check.
            Import-TestPlan $lab grouped @"
  - name: all
    protectionGroups: [erp]
    rtoTarget: 10m
    validations:
      - tcpPort: { port: $open, timeout: 3s }
    vms:
      - name: DC0_H0_VM0
        validations:
          - tcpPort: { port: $own, timeout: 3s }
"@
            $report = Invoke-DRDrill -RecoveryPlan grouped
        }
        finally { $listener.Stop(); $second.Stop() }
        $report.Passed | Should -BeTrue -Because $report.Error
        $validations = @($report.Steps | Where-Object Kind -eq 'validate')
        ($validations.Name | Sort-Object) | Should -Be (@(
            "Validate DC0_C0_RP0_VM0: tcp $open", "Validate DC0_C0_RP0_VM1: tcp $open", "Validate DC0_H0_VM0: tcp $open",
            "Validate DC0_H0_VM0: tcp $own", "Validate DC0_H0_VM1: tcp $open") | Sort-Object)
        $validations.State | Should -Be (@('Succeeded') * 5)
        @($report.Vms).Count | Should -Be 4
        # Targets: the group's rtoTarget and the policy's RPO threshold (gold: 15 minutes), met.
        $report.Vms.RtoTarget | Should -Be (@([TimeSpan]::FromMinutes(10)) * 4)
        $report.Vms.RpoTarget | Should -Be (@([TimeSpan]::FromMinutes(15)) * 4)
        $report.Vms.RtoMet | Should -Be (@($true) * 4)
        $report.RpoMet | Should -BeTrue
        $html = Get-Content -Raw ($report | Export-DrillReport -Path (Join-Path $work 'grouped.html')).FullName
        $html | Should -Match '<div class="target pass">target 10m 00s: met</div>'
        $html | Should -Match '<dt>Targets</dt><dd>met: RTO \d+\.\d s \(the plan states no rtoTarget\); 4 of 4 VM\(s\) up within their RTO target; 4 of 4 VM\(s\) within their policy&#39;s RPO threshold</dd>'
        Assert-NothingLeft $lab $before 'the drill cleans up'
    }

    It 'pauses at a manual step and goes on after Resume-DRJob' {
        Import-TestPlan $lab manual @'
  - name: db
    vms:
      - name: DC0_H0_VM0
    postActions:
      - manual: Check the DB
  - name: app
    vms:
      - name: DC0_H0_VM1
'@
        $job = Start-TestFailover -RecoveryPlan manual
        try {
            $job.State | Should -Be 'WaitingForUser' -Because $job.Error
            $job.CurrentStep.Name | Should -Be 'db: post-action 1: manual: Check the DB'
            $job.CurrentStep.State | Should -Be 'WaitingForUser'
            $job.CurrentStep.Message | Should -Match 'Check the DB'
            $job.CurrentStep.Message | Should -Match "Resume-DRJob $($job.JobId)"
            (Get-DRJob -JobId $job.JobId).State | Should -Be 'WaitingForUser'
            (Get-DRVm -Site dr).Name | Should -Contain (Get-TestVmName DC0_H0_VM0 $job.JobId)
            (Get-DRVm -Site dr).Name | Should -Not -Contain (Get-TestVmName DC0_H0_VM1 $job.JobId) -Because 'the next group waits for the manual step'

            $resumed = $job | Resume-DRJob
            $resumed.State | Should -Be 'Succeeded' -Because $resumed.Error
            ($resumed.Steps | Where-Object Name -eq 'db: post-action 1: manual: Check the DB').State | Should -Be 'Succeeded'
            (Get-RecoverStep $resumed DC0_H0_VM1).State | Should -Be 'Succeeded'
            (Get-DRVm -Site dr).Name | Should -Contain (Get-TestVmName DC0_H0_VM1 $job.JobId)
        }
        finally { ($job | Stop-TestFailover).State | Should -Be 'Succeeded' }
        Assert-NothingLeft $lab $before 'the test is stopped'
    }
}

# The recovered VM is a new VM, so the source's guestinfo.lab.boot cannot reach it: a recovery
# vcsim whose guests take an hour to boot keeps it down past any start timeout of the test.
Describe 'A recovered VM whose guest does not come up' {
    BeforeAll {
        $lab = New-FailoverLab -Vms DC0_H0_VM0 -RecoveryArguments @('-guest-boot', '1h')
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue' }
        Import-TestPlan $lab down @'
  - name: db
    vms:
      - name: DC0_H0_VM0
        startTimeout: 10s
'@
        $before = Get-RecoverySiteState $lab
    }
    AfterAll { Remove-FailoverLab $lab }

    It 'fails the recovery step at its start timeout and still deletes the test VM' {
        $report = Invoke-DRDrill -RecoveryPlan down -ErrorVariable drillError -ErrorAction SilentlyContinue
        $report.Passed | Should -BeFalse
        $drillError[0].FullyQualifiedErrorId | Should -Be 'DrillFailed,AzureSiteRecovery.DR.Recovery.InvokeDRDrillCommand'
        $report.State | Should -Be 'Failed'
        $step = $report.Steps | Where-Object Name -eq 'Recover DC0_H0_VM0'
        $step.State | Should -Be 'Failed'
        $step.Error | Should -Match 'did not come up within its start timeout of 00:00:10'
        $report.Vms[0].Passed | Should -BeFalse
        $report.CleanupPassed | Should -BeTrue
        $report.Steps[-1].Message | Should -Match ([regex]::Escape((Get-TestVmName DC0_H0_VM0 $report.JobId)))
        Assert-NothingLeft $lab $before 'the cleanup runs after a VM that never came up'
    }
}

Describe 'Waiting for recovered guests without WaitForUpdatesEx' {
    BeforeAll {
        # The recovery vcsim faults WaitForUpdatesEx (MethodNotFound), like a server without it.
        $lab = New-FailoverLab -Vms DC0_H0_VM0 -RecoveryArguments @('-wait-for-updates=false')
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue' }
        Sync-VmReplication -ProtectionGroup erp | Out-Null
        $before = Get-RecoverySiteState $lab
    }
    AfterAll { Remove-FailoverLab $lab }

    It 'falls back to polling and still brings the VM up' {
        $job = Get-ProtectedVm DC0_H0_VM0 | Start-TestFailover -Network DC0_DVPG1
        try {
            $job.State | Should -Be 'Succeeded' -Because $job.Error
            $step = Get-RecoverStep $job DC0_H0_VM0
            $step.Details['guestWait'] | Should -BeLike 'Polling (*MethodNotFound*'
            $step.Details['upAt'] | Should -Not -BeNullOrEmpty
        }
        finally { ($job | Stop-TestFailover).State | Should -Be 'Succeeded' }
        Assert-NothingLeft $lab $before 'the test is stopped'
    }

    It 'polls when AZSR_VSPHERE_WAIT=Polling' {
        $env:AZSR_VSPHERE_WAIT = 'Polling'
        try { $job = Get-ProtectedVm DC0_H0_VM0 | Start-TestFailover -Network DC0_DVPG1 }
        finally { Remove-Item Env:AZSR_VSPHERE_WAIT }
        try {
            $job.State | Should -Be 'Succeeded' -Because $job.Error
            (Get-RecoverStep $job DC0_H0_VM0).Details['guestWait'] | Should -Be 'Polling (AZSR_VSPHERE_WAIT=Polling)'
        }
        finally { ($job | Stop-TestFailover).State | Should -Be 'Succeeded' }
    }
}
