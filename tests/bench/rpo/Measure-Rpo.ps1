<#
.SYNOPSIS
    RPO under continuous replication: $VmCount VMs whose guests write $WritePercent % of their disk a minute,
    one Sync-VmReplication -Continuous for $DurationSeconds s, RPO per VM and second from the guests' writes.
.DESCRIPTION
    The 'Rpo' section of ../Invoke-Benchmarks.ps1 (also runs on its own). Lab: a vcsim with $VmCount VMs
    ($DiskMiB MiB disks, CBT) whose guest writer (vcsim -guest-write-percent) writes random 64 KiB-1 MiB extents
    of realistic content, each logged with its time (-guest-write-log); a SQLite vault with one policy (replication
    interval $IntervalSeconds s, RPO threshold $RpoThresholdSeconds s, no app-consistent points) and one group of
    every VM, each VM replicated once before the clock starts. Then one worker (a child pwsh running
    Sync-VmReplication -Continuous -ThrottleLimit $ThrottleLimit) runs for $DurationSeconds s and logs every
    committed cycle (VM, start, commit, snapshot time) and every warning (RPO breaches).

    RPO of a VM at a moment t = the age of the guest's oldest write not in a committed point: the first logged write
    after the snapshot time of the newest point committed by t (0 when there is none), sampled every second from
    the moment the worker runs to its stop. Figures over all VMs and samples: P50Seconds, P95Seconds, MaxSeconds
    (goal p95 <= 30 s), CyclesPerVm, CyclesPerMinute against DemandCyclesPerMinute (VMs x 60 / interval: below it
    the worker could not keep up), cycle times, and the CPU seconds per minute of the worker process
    (ModuleCpuSecondsPerMinute) and of the lab's vcsim with its guest writer (LabCpuSecondsPerMinute), from
    /proc/<pid>/stat. Writes $OutFolder/rpo.json and the raw logs to $OutFolder/rpo/. Never asserted by a test.
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Bench -Only Rpo
.EXAMPLE
    dotnet pwsh -NoProfile -File tests/bench/rpo/Measure-Rpo.ps1 -ModulePath out/AzureSiteRecovery.DR/0.1.0/AzureSiteRecovery.DR.psd1 -VmCount 4 -DurationSeconds 60
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [string] $OutFolder = (Join-Path $PSScriptRoot '../../../out/bench'),
    [ValidateRange(1, 200)][int] $VmCount = 20,
    [ValidateRange(16, 65536)][int] $DiskMiB = 1024,
    [ValidateRange(0.01, 100)][double] $WritePercent = 1,
    [ValidateRange(30, 7200)][int] $DurationSeconds = 600,
    [ValidateRange(30, 86400)][int] $RpoThresholdSeconds = 30,
    [ValidateRange(5, 3600)][int] $IntervalSeconds = 10,
    [ValidateRange(1, 64)][int] $ThrottleLimit = 4
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$ProgressPreference = 'SilentlyContinue'
# The worker runs in a child pwsh as the Pester suites start them.
Import-Module (Join-Path $PSScriptRoot '../BenchChild.psm1') -Force
$ModulePath = Initialize-BenchChild $ModulePath
Import-Module (Join-Path $PSScriptRoot '../../pester/TestSupport.psm1') -Function Start-TestVcsim, Stop-TestVcsim, Start-ChildPwsh, New-TestCredential
Import-Module (Join-Path $PSScriptRoot 'RpoTimeline.psm1') -Force
New-Item -ItemType Directory -Force -Path $OutFolder | Out-Null
$OutFolder = (Resolve-Path $OutFolder).Path
$rawFolder = Join-Path $OutFolder 'rpo'
if (Test-Path $rawFolder) { Remove-Item $rawFolder -Recurse -Force }
$work = Join-Path ([IO.Path]::GetTempPath()) "azsr-bench-rpo-$([guid]::NewGuid().ToString('n'))"
New-Item -ItemType Directory -Force -Path $rawFolder, $work | Out-Null
function Get-Now { [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() }

$writeLog = Join-Path $rawFolder 'writes.log'
$cycleLog = Join-Path $rawFolder 'cycles.log'
$failedLog = Join-Path $rawFolder 'failed.log'
$warningLog = Join-Path $rawFolder 'warnings.log'
$lab = $null
$worker = $null
$savedVault = $env:AZSR_DR_VAULT
try {
    Write-Host "== Rpo: $VmCount VMs ($DiskMiB MiB disks, guests writing $WritePercent % a minute), Sync-VmReplication -Continuous for $DurationSeconds s, interval $IntervalSeconds s, RPO threshold $RpoThresholdSeconds s, throttle $ThrottleLimit" -ForegroundColor Cyan
    $lab = Start-TestVcsim -Arguments @('-vm', "$VmCount", '-cluster', '0', '-disk-mb', "$DiskMiB",
        '-guest-write-percent', "$([string]::Format([Globalization.CultureInfo]::InvariantCulture, '{0}', $WritePercent))", '-guest-write-log', $writeLog)
    $vault = Join-Path $work 'vault.db'
    $env:AZSR_DR_VAULT = $vault
    $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
    $cred = New-TestCredential
    New-DRSite -Name onprem -VSphere -Server $lab.Url -Credential $cred -Role Protected -SkipCertificateCheck | Out-Null
    New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
    New-ReplicationPolicy -Name bench -ReplicationInterval ([timespan]::FromSeconds($IntervalSeconds)) -RpoThreshold ([timespan]::FromSeconds($RpoThresholdSeconds)) -AppConsistentFrequency 0 | Out-Null
    New-ProtectionGroup -Name bench -ProtectedSite onprem -RecoverySite dr -Policy bench | Out-Null
    $vms = @(Get-DRVm -Site onprem | Sort-Object Name | Select-Object -First $VmCount)
    if ($vms.Count -ne $VmCount) { throw "The vcsim has $($vms.Count) VMs, not $VmCount." }
    $vms | Enable-VmProtection -ProtectionGroup bench -NoWait | Out-Null
    $vmNames = @($vms.Name)

    # Every VM's first (full) point before the clock starts: the run measures the steady state.
    $initial = Measure-Command { $first = @(Sync-VmReplication -ProtectionGroup bench -ThrottleLimit $ThrottleLimit) }
    if ($first.Count -ne $VmCount) { throw "The initial replication made $($first.Count) points, not $VmCount." }
    $points = [Collections.Generic.List[object]]::new()
    foreach ($c in $first) { $points.Add([pscustomobject]@{ Vm = $c.Vm.Name; Start = $c.Started.ToUnixTimeMilliseconds(); Committed = ($c.Started + $c.Duration).ToUnixTimeMilliseconds(); PointTime = $c.Point.Time.ToUnixTimeMilliseconds() }) }
    Write-Host ("initial replication of {0} VMs: {1:n1} s" -f $VmCount, $initial.TotalSeconds)

    # The worker: each committed cycle VM|start|commit|snapshot (Unix ms), each failed one and each warning to their logs.
    $script = @"
`$env:AZSR_DR_WORKER_NAME = 'rpo'
# No progress records: nobody sees them, and serialized to stderr they cost the worker CPU.
`$ProgressPreference = 'SilentlyContinue'
Sync-VmReplication -Continuous -ThrottleLimit $ThrottleLimit *>&1 | ForEach-Object {
    `$now = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
    if (`$_ -is [Management.Automation.ErrorRecord]) {
        [IO.File]::AppendAllText('$failedLog', ('{0}|{1}|{2}|{3}' -f `$now, `$_.TargetObject, `$_.FullyQualifiedErrorId, (`$_.Exception.Message -replace '[\r\n|]', ' ')) + "``n")
    }
    elseif (`$_ -is [Management.Automation.WarningRecord]) {
        [IO.File]::AppendAllText('$warningLog', ('{0}|{1}' -f `$now, (`$_.Message -replace '[\r\n|]', ' ')) + "``n")
    }
    elseif (`$_.PSObject.Properties['Point'] -and `$_.Point) {
        [IO.File]::AppendAllText('$cycleLog', ('{0}|{1}|{2}|{3}' -f `$_.Vm.Name, `$_.Started.ToUnixTimeMilliseconds(), (`$_.Started + `$_.Duration).ToUnixTimeMilliseconds(), `$_.Point.Time.ToUnixTimeMilliseconds()) + "``n")
    }
}
"@
    $worker = Start-ChildPwsh -VaultPath $vault -OutputPath (Join-Path $rawFolder 'worker.out') -Script $script
    # The clock starts when the worker reports Running (its module loaded, its first due check next).
    $deadline = (Get-Now) + 120000
    while (-not @(Get-DRWorker | Where-Object { "$($_.Status)" -eq 'Running' -and $_.ProcessId -eq $worker.Id })) {
        if ($worker.HasExited) { throw "The worker exited: $(Get-Content (Join-Path $rawFolder 'worker.out.err') -Raw)" }
        if ((Get-Now) -gt $deadline) { throw 'The worker did not report Running within 120 s.' }
        Start-Sleep -Milliseconds 200
    }
    $begin = Get-Now
    $cpuBegin = @{ Module = Get-ProcessCpuSeconds $worker.Id; Lab = Get-ProcessCpuSeconds $lab.Pid }
    while ((Get-Now) -lt $begin + [long]$DurationSeconds * 1000) {
        if ($worker.HasExited) { throw "The worker exited: $(Get-Content (Join-Path $rawFolder 'worker.out.err') -Raw)" }
        Start-Sleep -Milliseconds 500
    }
    $end = Get-Now
    $cpuEnd = @{ Module = Get-ProcessCpuSeconds $worker.Id; Lab = Get-ProcessCpuSeconds $lab.Pid }
}
finally {
    if ($worker -and -not $worker.HasExited) { & kill -9 $worker.Id; $worker.WaitForExit() }
    if ($lab) { $lab | Stop-TestVcsim }
    $env:AZSR_DR_VAULT = $savedVault
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}

# ---- the figures ----
$cycles = @(if (Test-Path $cycleLog) {
        foreach ($line in [IO.File]::ReadAllLines($cycleLog)) {
            $vm, $start, $commit, $pointTime = $line -split '\|'
            [pscustomobject]@{ Vm = $vm; Start = [long]$start; Committed = [long]$commit; PointTime = [long]$pointTime }
        }
    })
foreach ($c in $cycles) { $points.Add($c) }
$inWindow = @($cycles | Where-Object { $_.Committed -ge $begin -and $_.Committed -le $end })
$writes = Read-WriteLog $writeLog
$samples = Get-RpoSample -Writes $writes -Points $points.ToArray() -Vms $vmNames -From $begin -To $end
$minutes = ($end - $begin) / 60000
$cycleSeconds = [double[]]@($inWindow | ForEach-Object { ($_.Committed - $_.Start) / 1000 })
# How long after its due time (previous point's snapshot + interval) each cycle's snapshot came: the wait for a free slot.
$dueWait = [Collections.Generic.List[double]]::new()
foreach ($group in $points | Group-Object Vm) {
    $mine = @($group.Group | Sort-Object Committed)
    for ($i = 1; $i -lt $mine.Count; $i++) {
        if ($mine[$i].Committed -ge $begin -and $mine[$i].Committed -le $end) {
            $dueWait.Add([math]::Max(0, ($mine[$i].PointTime - $mine[$i - 1].PointTime - $IntervalSeconds * 1000) / 1000))
        }
    }
}
$dueWait = $dueWait.ToArray()
$written = ($writes.Bytes.Values | Measure-Object -Sum).Sum
$warnings = @(if (Test-Path $warningLog) { [IO.File]::ReadAllLines($warningLog) })
$failed = @(if (Test-Path $failedLog) { [IO.File]::ReadAllLines($failedLog) })
$r = { param($v, $d = 1) if ($null -eq $v) { $null } else { [math]::Round([double]$v, $d) } }
$p95 = Get-Percentile $samples 0.95
$result = [ordered]@{
    Benchmark                 = "RPO under continuous replication: $VmCount VMs ($DiskMiB MiB disks) whose guests write $WritePercent % of their disk a minute, one Sync-VmReplication -Continuous (throttle $ThrottleLimit) for $DurationSeconds s"
    Vms                       = $VmCount
    DiskMiB                   = $DiskMiB
    WritePercentPerMinute     = $WritePercent
    WrittenMiBPerVmPerMinute  = & $r ($written / 1MB / $VmCount / [math]::Max($minutes, 0.01)) 2
    DurationSeconds           = & $r (($end - $begin) / 1000)
    ReplicationIntervalSeconds = $IntervalSeconds
    RpoThresholdSeconds       = $RpoThresholdSeconds
    ThrottleLimit             = $ThrottleLimit
    P50Seconds                = & $r (Get-Percentile $samples 0.5)
    P95Seconds                = & $r $p95
    MaxSeconds                = & $r (($samples | Measure-Object -Maximum).Maximum)
    Goal                      = 30
    GoalMet                   = $p95 -le 30
    Samples                   = $samples.Count
    CyclesPerVm               = & $r ($inWindow.Count / $VmCount)
    CyclesPerMinute           = & $r ($inWindow.Count / $minutes)
    DemandCyclesPerMinute     = & $r ($VmCount * 60 / $IntervalSeconds)
    CycleSecondsP50           = & $r (Get-Percentile $cycleSeconds 0.5) 2
    CycleSecondsP95           = & $r (Get-Percentile $cycleSeconds 0.95) 2
    DueWaitSecondsP50         = & $r (Get-Percentile $dueWait 0.5) 2
    DueWaitSecondsP95         = & $r (Get-Percentile $dueWait 0.95) 2
    ModuleCpuSecondsPerMinute = & $r (($cpuEnd.Module - $cpuBegin.Module) / $minutes) 2
    LabCpuSecondsPerMinute    = & $r (($cpuEnd.Lab - $cpuBegin.Lab) / $minutes) 2
    BreachWarnings            = $warnings.Count
    FailedCycles              = $failed.Count
    InitialReplicationSeconds = & $r $initial.TotalSeconds
    CpuCount                  = [Environment]::ProcessorCount
    LoadAverage               = (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' '
    Meaning                   = 'RPO of a VM at a second t: the age of its guest''s oldest logged write after the snapshot time of its newest point committed by t (0 if none), every second of the run for every VM. A write is in a point when it ended before the point''s snapshot time (the module takes that time just before CreateSnapshot; the lab''s CBT lock orders writes and snapshots). So the RPO right before a commit is about one interval + the wait for a free slot (DueWait) + the cycle time; CyclesPerMinute below DemandCyclesPerMinute means the worker could not keep up. CPU per minute of the worker process (Module) and of vcsim with its guest writer (Lab) over the run, from /proc/<pid>/stat.'
}
$result | ConvertTo-Json -Depth 4 | Set-Content (Join-Path $OutFolder 'rpo.json')
Write-Host ("RPO p50 {0} s | p95 {1} s (goal <= 30) | max {2} s | cycles/min {3} (demand {4}) | cycle p95 {5} s | module {6} CPU s/min, lab {7} | breach warnings {8}, failed cycles {9}" -f
    $result.P50Seconds, $result.P95Seconds, $result.MaxSeconds, $result.CyclesPerMinute, $result.DemandCyclesPerMinute, $result.CycleSecondsP95,
    $result.ModuleCpuSecondsPerMinute, $result.LabCpuSecondsPerMinute, $result.BreachWarnings, $result.FailedCycles)
