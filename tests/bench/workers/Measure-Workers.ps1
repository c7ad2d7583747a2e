<#
.SYNOPSIS
    Many replication workers on one vault: $Workers processes of Sync-VmReplication -Continuous share $VmCount
    VMs whose guests keep writing, one worker is SIGKILLed at $KillAtSeconds; then one worker alone on the same lab.
.DESCRIPTION
    The 'Workers' section of ../Invoke-Benchmarks.ps1 (also runs on its own). Lab: a vcsim with $VmCount VMs
    ($DiskMiB MiB disks, CBT), a vault (-VaultKind: a Table vault on Azurite, the default as the issue asks, or a SQLite file) with one policy
    (replication interval $IntervalSeconds s) and one group of every VM, each VM replicated once before the clock
    starts. A writer process (the guests) writes $WriteKiB KiB at a random place of every disk every
    $WriteEverySeconds s, so each cycle has changes.

    Run 1: $Workers workers (each its own AZSR_DR_WORKER_NAME, as if on its own machine; -ThrottleLimit
    $ThrottleLimit, -LeaseDuration $LeaseSeconds s) for $DurationSeconds s; at $KillAtSeconds the worker that holds
    a VM right then is SIGKILLed. Run 2 (after the leases ran out): one worker for $SingleWorkerSeconds s.
    Each worker logs every committed cycle (VM, start, end, worker, point time) and every failed one; the bench
    samples Get-DRWorker every $SampleMilliseconds ms (which VMs each worker holds: the killed worker's cycle is
    never committed, so its start and its lease come from these samples).

    Figures (WorkerTimeline.psm1), goals beside them in the JSON:
      DoubleCycles            cycles of one VM that overlap (goal 0)
      MaxSecondsWithoutPoint  per VM, the longest stretch after the kill without a new point (commit times), a gap
                              spanning the kill counted from the kill (goal <= lease + one cycle; the interval is
                              set to the lease, so a VM's regular gap meets the same bound)
      IdleWhileDueSeconds     the longest stretch in which a live worker had no cycle in flight while some VM was
                              due (last point's time + interval passed) and nobody held it (goal < the workers'
                              1 s poll interval); sampled every 100 ms
      CyclesPerMinute         committed cycles per minute, $Workers workers and 1 (on a small shared machine this
                              shows coordination overhead, not scaling)
    Writes $OutFolder/workers.json and the raw logs to $OutFolder/workers/. Never asserted by a test.
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Bench -Only Workers
.EXAMPLE
    dotnet pwsh -NoProfile -File tests/bench/workers/Measure-Workers.ps1 -ModulePath out/AzureSiteRecovery.DR/0.1.0/AzureSiteRecovery.DR.psd1 -DurationSeconds 120 -KillAtSeconds 50 -SingleWorkerSeconds 60
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [string] $OutFolder = (Join-Path $PSScriptRoot '../../../out/bench'),
    [ValidateRange(2, 16)][int] $Workers = 4,
    [ValidateRange(1, 500)][int] $VmCount = 40,
    [ValidateRange(30, 7200)][int] $DurationSeconds = 600,
    [int] $KillAtSeconds = 240,
    # 0: no single-worker run.
    [ValidateRange(0, 3600)][int] $SingleWorkerSeconds = 180,
    [ValidateRange(5, 3600)][int] $IntervalSeconds = 30,
    [ValidateRange(3, 600)][int] $LeaseSeconds = 30,
    [ValidateRange(1, 64)][int] $ThrottleLimit = 2,
    [ValidateRange(1, 1024)][int] $DiskMiB = 16,
    [ValidateRange(4, 4096)][int] $WriteKiB = 64,
    [ValidateRange(1, 600)][int] $WriteEverySeconds = 5,
    [ValidateRange(100, 5000)][int] $SampleMilliseconds = 250,
    [ValidateSet('Sqlite', 'Table')][string] $VaultKind = 'Table',
    # Runs nothing: the figures again from the last run's record ($OutFolder/workers/run.json and the logs beside it).
    [switch] $FromRecord
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$ProgressPreference = 'SilentlyContinue'
if ($KillAtSeconds -le 0 -or $KillAtSeconds -ge $DurationSeconds) { throw "-KillAtSeconds $KillAtSeconds must fall inside the run (0 < it < -DurationSeconds $DurationSeconds)." }
# Child processes (workers, the writer) as the Pester suites start them: the built module imported.
Import-Module (Join-Path $PSScriptRoot '../BenchChild.psm1') -Force
$ModulePath = Initialize-BenchChild $ModulePath
Import-Module (Join-Path $PSScriptRoot '../../pester/TestSupport.psm1') -Function Start-TestVcsim, Stop-TestVcsim, Start-ChildPwsh, Get-FlatFile, New-TestCredential
Import-Module (Join-Path $PSScriptRoot 'WorkerTimeline.psm1') -Force
New-Item -ItemType Directory -Force -Path $OutFolder | Out-Null
$OutFolder = (Resolve-Path $OutFolder).Path
$rawFolder = Join-Path $OutFolder 'workers'
$recordPath = Join-Path $rawFolder 'run.json'
$work = Join-Path ([IO.Path]::GetTempPath()) "azsr-bench-workers-$([guid]::NewGuid().ToString('n'))"

function Get-Now { [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() }
$intervalMs = [long]$IntervalSeconds * 1000
$leaseMs = [long]$LeaseSeconds * 1000
$lease = [timespan]::FromSeconds($LeaseSeconds)

# A worker: the cmdlet a Hybrid Runbook Worker or a service would run, each committed cycle appended to its log
# (VM|start|end|worker|point|pointTime, Unix ms) and each failed one to its .failed log (time|VM|error id).
function Start-Worker([string] $Name, [string] $Run) {
    $log = Join-Path $rawFolder "$Run-$Name.log"
    $failed = Join-Path $rawFolder "$Run-$Name.failed"
    $script = @"
`$env:AZSR_DR_WORKER_NAME = '$Name'
Sync-VmReplication -Continuous -ThrottleLimit $ThrottleLimit -LeaseDuration '$lease' 2>&1 | ForEach-Object {
    if (`$_ -is [Management.Automation.ErrorRecord]) {
        [IO.File]::AppendAllText('$failed', ('{0}|{1}|{2}|{3}' -f [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds(), `$_.TargetObject, `$_.FullyQualifiedErrorId, (`$_.Exception.Message -replace '[\r\n|]', ' ')) + "``n")
    }
    else {
        [IO.File]::AppendAllText('$log', ('{0}|{1}|{2}|{3}|{4}|{5}' -f `$_.Vm.Name, `$_.Started.ToUnixTimeMilliseconds(), (`$_.Started + `$_.Duration).ToUnixTimeMilliseconds(), `$_.Worker, `$_.Point.RecoveryPointId, `$_.Point.Time.ToUnixTimeMilliseconds()) + "``n")
    }
}
"@
    $process = Start-ChildPwsh -VaultPath $vault -OutputPath (Join-Path $rawFolder "$Run-$Name.out") -Script $script
    [pscustomobject]@{ Name = $Name; Run = $Run; Log = $log; Failed = $failed; Process = $process; Started = $null; Killed = $null }
}

function Stop-Worker($Worker) {
    if ($Worker.Process -and -not $Worker.Process.HasExited) {
        & kill -9 $Worker.Process.Id
        $Worker.Process.WaitForExit()
    }
}

function Read-Failed([object[]] $Runners) {
    foreach ($runner in $Runners) {
        $path = Join-Path $rawFolder $runner.Failed
        if (Test-Path $path) {
            foreach ($line in [IO.File]::ReadAllLines($path)) {
                $at, $vm, $id, $message = $line -split '\|', 4
                [pscustomobject]@{ At = [long]$at; Worker = $runner.Name; Vm = $vm; ErrorId = $id; Message = $message }
            }
        }
    }
}

# Runs the workers for $Seconds, sampling Get-DRWorker; kills one at $KillAt (seconds from the start; 0: none).
function Invoke-Run([string] $Run, [string[]] $Names, [int] $Seconds, [int] $KillAt) {
    $runners = @(foreach ($name in $Names) { Start-Worker $name $Run })
    $script:live += $runners
    $samples = [Collections.Generic.List[object]]::new()
    $begin = Get-Now
    $end = $begin + [long]$Seconds * 1000
    $killed = $null
    $victim = $null
    while ((Get-Now) -lt $end) {
        $at = Get-Now
        foreach ($row in @(Get-DRWorker)) {
            $machine = $row.Machine
            if ($runners.Name -notcontains $machine) { continue }
            $samples.Add([pscustomobject]@{ At = $at; Worker = $machine; Status = "$($row.Status)"; Vms = @($row.CurrentVms) })
            $runner = $runners | Where-Object Name -eq $machine
            if (-not $runner.Started -and "$($row.Status)" -eq 'Running' -and $row.ProcessId -eq $runner.Process.Id) { $runner.Started = $at }
        }
        foreach ($runner in $runners) {
            if ($runner.Process.HasExited -and -not $runner.Killed) { throw "Worker $($runner.Name) ($Run) exited by itself: $(Get-Content "$(Join-Path $rawFolder "$Run-$($runner.Name).out").err" -Raw)" }
        }
        # The kill: at its time, the first worker seen holding a VM (so it dies mid-cycle), within 30 s.
        if ($KillAt -gt 0 -and -not $killed -and $at -ge $begin + [long]$KillAt * 1000) {
            $holding = @($samples | Where-Object { $_.At -eq $at -and $_.Vms.Count -gt 0 })
            if ($holding -or $at -ge $begin + ([long]$KillAt + 30) * 1000) {
                $victim = if ($holding) { $runners | Where-Object Name -eq $holding[-1].Worker } else { $runners[-1] }
                & kill -9 $victim.Process.Id
                $killed = Get-Now
                $victim.Killed = $killed
                $victim.Process.WaitForExit()
                Write-Host ("{0}: SIGKILLed worker {1} (pid {2}) at {3:n1} s, holding {4}" -f $Run, $victim.Name, $victim.Process.Id, (($killed - $begin) / 1000), ($(if ($holding) { $holding[-1].Vms -join ', ' } else { 'nothing' })))
            }
        }
        $sleep = $SampleMilliseconds - ((Get-Now) - $at)
        if ($sleep -gt 0) { Start-Sleep -Milliseconds $sleep }
    }
    $stopped = Get-Now
    # CPU seconds of the run's processes (the workers while alive; the lab's services since they started): where the machine's time went.
    $cpu = [ordered]@{}
    foreach ($runner in $runners | Where-Object { -not $_.Process.HasExited }) { $cpu[$runner.Name] = [math]::Round($runner.Process.TotalProcessorTime.TotalSeconds, 1) }
    foreach ($service in $script:services.GetEnumerator()) {
        try { $cpu[$service.Key] = [math]::Round([Diagnostics.Process]::GetProcessById($service.Value).TotalProcessorTime.TotalSeconds, 1) } catch { $cpu[$service.Key] = $null }
    }
    foreach ($runner in $runners) { Stop-Worker $runner }
    $samples | ConvertTo-Json -Depth 3 -Compress | Set-Content (Join-Path $rawFolder "$Run-samples.json")

    # The killed worker's cycles in flight never committed: from the samples, each VM it held at its last sample,
    # since when it held it (its cycle's start), and when its lease ran out (renewed every third of the lease from the start).
    $held = @()
    if ($victim) {
        $mine = @($samples | Where-Object { $_.Worker -eq $victim.Name -and $_.At -lt $killed } | Sort-Object At)
        if ($mine) {
            foreach ($vm in $mine[-1].Vms) {
                $from = $mine[-1].At
                for ($i = $mine.Count - 1; $i -ge 0 -and $mine[$i].Vms -contains $vm; $i--) { $from = $mine[$i].At }
                $third = [long]($leaseMs / 3)
                $renewals = [math]::Floor(($killed - $from) / $third)
                $held += [pscustomobject]@{ Vm = $vm; Worker = $victim.Name; From = $from; Killed = $killed; Until = $from + $renewals * $third + $leaseMs }
            }
        }
    }
    [ordered]@{
        Run = $Run; Begin = $begin; Stopped = $stopped; Killed = $killed; CpuSeconds = $cpu; Victim = $(if ($victim) { $victim.Name } else { $null }); Held = $held
        Workers = @($runners | ForEach-Object { [ordered]@{ Name = $_.Name; Started = $(if ($_.Started) { $_.Started } else { $begin }); Killed = $_.Killed; Log = Split-Path -Leaf $_.Log; Failed = Split-Path -Leaf $_.Failed } })
    }
}

$lab = $null
$writer = $null
$azurite = Join-Path $PSScriptRoot '../../lab/azurite/azurite.sh'
$azuriteDir = $null
$savedEnvironment = [ordered]@{ AZSR_DR_VAULT = $null; AZSR_DR_VAULT_TABLE_PREFIX = $null; AZSR_DR_VAULT_AUTHENTICATION = $null; AZSR_DR_VAULT_SECRET = $null; AZSR_DR_VAULT_KEY = $null; XDG_DATA_HOME = $null }
foreach ($name in @($savedEnvironment.Keys)) { $savedEnvironment[$name] = [Environment]::GetEnvironmentVariable($name) }
$script:live = @()
$script:services = [ordered]@{}
$vault = $null
if (-not $FromRecord) {
if (Test-Path $rawFolder) { Remove-Item $rawFolder -Recurse -Force }
New-Item -ItemType Directory -Force -Path $rawFolder, $work | Out-Null
try {
    Write-Host "== Workers: $Workers workers, $VmCount VMs, $DurationSeconds s (kill at $KillAtSeconds s), then 1 worker for $SingleWorkerSeconds s; interval $IntervalSeconds s, lease $LeaseSeconds s, $VaultKind vault" -ForegroundColor Cyan
    $lab = Start-TestVcsim -Arguments @('-vm', "$VmCount", '-cluster', '0', '-disk-mb', "$DiskMiB")
    $script:services['vcsim'] = $lab.Pid
    if ($VaultKind -eq 'Table') {
        # One Table vault on Azurite, named and signed in to through the environment (every worker inherits it);
        # its local chunk store goes under $work (XDG_DATA_HOME), not the user's data folder.
        $azuriteDir = Join-Path $work 'azurite'
        $url = & bash $azurite start-table $azuriteDir
        if ($LASTEXITCODE -ne 0) { throw "azurite.sh start-table failed ($LASTEXITCODE): $url" }
        $vault = "$(@($url)[-1])".Trim()
        $script:services['azurite-table'] = [int](Get-Content (Join-Path $azuriteDir 'azurite-table.pid'))
        $env:AZSR_DR_VAULT_TABLE_PREFIX = 'bench'
        $env:AZSR_DR_VAULT_AUTHENTICATION = 'SharedKey'
        # Azurite's published development account key (not a secret).
        $env:AZSR_DR_VAULT_SECRET = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
        $env:AZSR_DR_VAULT_KEY = Join-Path $work 'keys/vault.key'
        $env:XDG_DATA_HOME = Join-Path $work 'data'
    }
    else { $vault = Join-Path $work 'vault.db' }
    $env:AZSR_DR_VAULT = $vault
    $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
    $cred = New-TestCredential
    New-DRSite -Name onprem -VSphere -Server $lab.Url -Credential $cred -Role Protected -SkipCertificateCheck | Out-Null
    New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
    New-ReplicationPolicy -Name bench -ReplicationInterval ([timespan]::FromSeconds($IntervalSeconds)) -RpoThreshold ([timespan]::FromSeconds(4 * $IntervalSeconds)) -AppConsistentFrequency 0 | Out-Null
    New-ProtectionGroup -Name bench -ProtectedSite onprem -RecoverySite dr -Policy bench | Out-Null
    $vms = @(Get-DRVm -Site onprem | Sort-Object Name | Select-Object -First $VmCount)
    if ($vms.Count -ne $VmCount) { throw "The vcsim has $($vms.Count) VMs, not $VmCount." }
    $flats = @($vms | ForEach-Object { Get-FlatFile $lab.StateDir $_.Name })
    if (@($flats | Where-Object { $_ }).Count -ne $VmCount) { throw "Not every VM's flat file was found under $($lab.StateDir)." }
    $vms | Enable-VmProtection -ProtectionGroup bench -NoWait | Out-Null
    $vmNames = @($vms.Name)

    # The guests: every $WriteEverySeconds s, $WriteKiB KiB of new random bytes at a random 64 KiB-aligned place of each disk.
    $writerLog = Join-Path $rawFolder 'writer.log'
    $flatList = ($flats | ForEach-Object { "'$($_ -replace "'", "''")'" }) -join ','
    $writerScript = @"
Import-Module '$(Join-Path $PSScriptRoot '../../pester/TestSupport.psm1')' -Function Write-DiskBytes
`$random = [Random]::new(12)
`$blocks = [int]($DiskMiB * 1MB / 64KB - [math]::Ceiling($WriteKiB / 64))
`$round = 0
while (`$true) {
    `$began = [DateTime]::UtcNow
    foreach (`$flat in @($flatList)) { Write-DiskBytes `$flat ([long]`$random.Next(0, [math]::Max(1, `$blocks)) * 64KB) ($WriteKiB * 1KB) `$random.Next() }
    `$round++
    Set-Content '$writerLog' "`$round rounds, last `$([int]([DateTime]::UtcNow - `$began).TotalMilliseconds) ms"
    `$rest = $WriteEverySeconds * 1000 - ([DateTime]::UtcNow - `$began).TotalMilliseconds
    if (`$rest -gt 0) { Start-Sleep -Milliseconds `$rest }
}
"@
    $writer = Start-ChildPwsh -Script $writerScript -OutputPath (Join-Path $rawFolder 'writer.out')
    $script:services['writer'] = $writer.Id

    # Every VM's first (full) point before the clock starts: the runs measure the steady state.
    $initial = Measure-Command { $first = @(Sync-VmReplication -ProtectionGroup bench -ThrottleLimit 4) }
    if ($first.Count -ne $VmCount) { throw "The initial replication made $($first.Count) points, not $VmCount." }
    $setupCycles = @($first | ForEach-Object {
        [pscustomobject]@{ Vm = $_.Vm.Name; Start = $_.Started.ToUnixTimeMilliseconds(); End = ($_.Started + $_.Duration).ToUnixTimeMilliseconds()
            Worker = 'setup'; Machine = 'setup'; Point = $_.Point.RecoveryPointId; PointTime = $_.Point.Time.ToUnixTimeMilliseconds() } })
    Write-Host ("initial replication of {0} VMs: {1:n1} s" -f $VmCount, $initial.TotalSeconds)

    $names = @(1..$Workers | ForEach-Object { "w$_" })
    $multi = Invoke-Run 'multi' $names $DurationSeconds $KillAtSeconds
    $single = $null
    if ($SingleWorkerSeconds -gt 0) {
        # The killed worker's and the stopped workers' leases run out first (they were SIGKILLed too, on 'other machines').
        Start-Sleep -Seconds ($LeaseSeconds + 2)
        $single = Invoke-Run 'single' @('solo') $SingleWorkerSeconds 0
    }
    $record = [ordered]@{
        Workers = $Workers; Vms = $vmNames; DurationSeconds = $DurationSeconds; SingleWorkerSeconds = $SingleWorkerSeconds; VaultKind = $VaultKind
        IntervalSeconds = $IntervalSeconds; LeaseSeconds = $LeaseSeconds; ThrottleLimit = $ThrottleLimit; DiskMiB = $DiskMiB
        GuestWrites = "$WriteKiB KiB at a random 64 KiB-aligned offset of every disk every $WriteEverySeconds s ($(if (Test-Path $writerLog) { (Get-Content $writerLog -Raw).Trim() } else { 'no round' }))"
        InitialSeconds = [math]::Round($initial.TotalSeconds, 1); Setup = $setupCycles; Multi = $multi; Single = $single
        LoadAverage = (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' '
    }
    $record | ConvertTo-Json -Depth 6 | Set-Content $recordPath
}
finally {
    foreach ($runner in $script:live) { Stop-Worker $runner }
    if ($writer -and -not $writer.HasExited) { & kill -9 $writer.Id; $writer.WaitForExit() }
    if ($lab) { $lab | Stop-TestVcsim }
    if ($azuriteDir) { & bash $azurite stop-table $azuriteDir | Out-Null }
    foreach ($name in $savedEnvironment.Keys) { [Environment]::SetEnvironmentVariable($name, $savedEnvironment[$name]) }
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}
}

# ---- the figures, from the record (the run's, or an earlier one's with -FromRecord) ----
$record = Get-Content $recordPath -Raw | ConvertFrom-Json
$multi = $record.Multi
$single = $record.Single
$intervalMs = [long]$record.IntervalSeconds * 1000
$lease = [long]$record.LeaseSeconds
$vmNames = @($record.Vms)
$multiCycles = @(Read-CycleLog ($multi.Workers | ForEach-Object { Join-Path $rawFolder $_.Log }))
$allCycles = @($record.Setup | ForEach-Object { [pscustomobject]@{ Vm = $_.Vm; Start = [long]$_.Start; End = [long]$_.End; Worker = $_.Worker; Machine = $_.Machine; Point = $_.Point; PointTime = [long]$_.PointTime } }) + $multiCycles
$held = @($multi.Held | ForEach-Object { [pscustomobject]@{ Vm = $_.Vm; Worker = $_.Worker; From = [long]$_.From; Killed = [long]$_.Killed; Until = [long]$_.Until } })
$workerSpans = @($multi.Workers | ForEach-Object { [pscustomobject]@{ Name = $_.Name; Started = [long]$_.Started; Killed = $(if ($_.Killed) { [long]$_.Killed } else { $null }) } })
$windowFrom = ($workerSpans | Measure-Object Started -Maximum).Maximum
$killed = [long]$multi.Killed
$stopped = [long]$multi.Stopped
$doubles = @(Get-DoubleCycle $allCycles)
$early = @(Get-EarlyCycle $allCycles $intervalMs)
$withoutPoint = Get-SecondsWithoutPoint $allCycles $vmNames $killed $stopped
$maxWithoutPoint = ($withoutPoint.Values | Measure-Object -Maximum).Maximum
$idle = @(Get-IdleWhileDue -Cycles $allCycles -Workers $workerSpans -Held $held -Vms $vmNames -IntervalMs $intervalMs -From $windowFrom -To $stopped)
$idleMax = if ($idle) { ($idle | Measure-Object Seconds -Maximum).Maximum } else { 0 }
$multiAll = Get-Throughput $allCycles $windowFrom $stopped $intervalMs
$multiBefore = Get-Throughput $allCycles $windowFrom $killed $intervalMs
$multiAfter = Get-Throughput $allCycles $killed $stopped $intervalMs
$failed = @(Read-Failed $multi.Workers)
$singleAll = $null
$singleCycles = @()
if ($single) {
    $singleCycles = @(Read-CycleLog ($single.Workers | ForEach-Object { Join-Path $rawFolder $_.Log }))
    $singleAll = Get-Throughput (@($allCycles) + $singleCycles) ([long]$single.Workers[0].Started) ([long]$single.Stopped) $intervalMs
    $doubles += @(Get-DoubleCycle (@($allCycles) + $singleCycles) | Where-Object { $_.SecondStart -gt $stopped })
    $failed += @(Read-Failed $single.Workers)
}
$cycleLimit = $multiAll.MaxCycleSeconds
$goalWithoutPoint = [math]::Round($lease + $cycleLimit, 1)
$takeovers = @(foreach ($h in $held) {
    $next = @($multiCycles | Where-Object { $_.Vm -eq $h.Vm -and $_.Start -gt $killed } | Sort-Object Start | Select-Object -First 1)
    [ordered]@{ Vm = $h.Vm; HeldSinceSecondsBeforeKill = [math]::Round(($killed - $h.From) / 1000, 1); LeaseExpirySecondsAfterKill = [math]::Round(($h.Until - $killed) / 1000, 1)
        TakenBy = $(if ($next) { $next[0].Worker } else { $null }); TakenSecondsAfterKill = $(if ($next) { [math]::Round(($next[0].Start - $killed) / 1000, 1) } else { $null })
        PointSecondsAfterKill = $(if ($next) { [math]::Round(($next[0].End - $killed) / 1000, 1) } else { $null }) }
})
$at = { param($t) [math]::Round(($t - [long]$multi.Begin) / 1000, 1) }
$result = [ordered]@{
    Benchmark                  = "$($record.Workers) replication workers (Sync-VmReplication -Continuous) on one $($record.VaultKind) vault, $($vmNames.Count) VMs with guest writes, $($record.DurationSeconds) s, one worker SIGKILLed; then 1 worker for $($record.SingleWorkerSeconds) s"
    Workers                    = $record.Workers
    Vms                        = $vmNames.Count
    DurationSeconds            = $record.DurationSeconds
    KillAtSeconds              = & $at $killed
    KilledWorker               = $multi.Victim
    VaultKind                  = $record.VaultKind
    ReplicationIntervalSeconds = $record.IntervalSeconds
    LeaseSeconds               = $lease
    PollIntervalSeconds        = 1
    ThrottleLimitPerWorker     = $record.ThrottleLimit
    DiskMiB                    = $record.DiskMiB
    GuestWrites                = $record.GuestWrites
    DoubleCycles               = $doubles.Count
    DoubleCyclesGoal           = 0
    MaxSecondsWithoutPoint     = $maxWithoutPoint
    MaxSecondsWithoutPointGoal = "<= lease + one cycle = $lease + $cycleLimit (the run's longest cycle) = $goalWithoutPoint"
    MaxSecondsWithoutPointMet  = $maxWithoutPoint -le $goalWithoutPoint
    IdleWhileDueSeconds        = $idleMax
    IdleWhileDueGoal           = '< 1 (one poll interval)'
    IdleWhileDueMet            = $idleMax -lt 1
    IdleWhileDueTotalSeconds   = [math]::Round(($idle | Measure-Object Seconds -Sum).Sum, 1)
    IdleWhileDueStretches      = $idle.Count
    IdleWhileDueLongest        = @($idle | Sort-Object Seconds -Descending | Select-Object -First 5 | ForEach-Object { [ordered]@{ AtSeconds = & $at $_.Start; Seconds = $_.Seconds; IdleWorker = $_.Worker; DueVm = $_.Vm } })
    CyclesPerMinute            = [ordered]@{ "$($record.Workers)" = $multiAll.CyclesPerMinute; '1' = $(if ($singleAll) { $singleAll.CyclesPerMinute } else { $null }) }
    DemandCyclesPerMinute      = [math]::Round($vmNames.Count * 60 / $record.IntervalSeconds, 1)
    CyclesPerMinuteMeaning     = "committed cycles per minute of each run, from the moment every worker reported Running to the stop; the VMs ask for $($vmNames.Count) x 60 / $($record.IntervalSeconds) per minute: a run below it could not keep up (its VMs wait: DueWait), one at it kept up; the single worker starts with every VM overdue (after the lease wait between the runs), so its first minute catches up. On one small shared machine more workers add coordination (polls, leases, vault writes), not cores."
    CpuSeconds                 = [ordered]@{ "$($record.Workers) workers" = $multi.CpuSeconds; '1 worker' = $(if ($single) { $single.CpuSeconds } else { $null }) }
    Runs                       = [ordered]@{ "$($record.Workers) workers" = $multiAll; "$($record.Workers) workers before the kill" = $multiBefore; "$($record.Workers - 1) workers after the kill" = $multiAfter; '1 worker' = $singleAll }
    CyclesByWorker             = [ordered]@{}
    EarlyCycles                = $early.Count
    EarlyCyclesMeaning         = 'cycles that started more than 1 s before their VM was due (its previous point''s time + the interval)'
    EarlyCycleList             = @($early | Select-Object -First 10 | ForEach-Object { [ordered]@{ Vm = $_.Vm; Worker = $_.Worker; StartSeconds = & $at $_.Start; DueSeconds = & $at $_.DueAt; PreviousWorker = $_.PreviousWorker } })
    FailedCycles               = $failed.Count
    FailedByError              = [ordered]@{}
    Takeovers                  = $takeovers
    SecondsWithoutPointPerVm   = $withoutPoint
    DoubleCycleList            = @($doubles | Select-Object -First 10)
    InitialReplicationSeconds  = $record.InitialSeconds
    CpuCount                   = [Environment]::ProcessorCount
    LoadAverage                = $record.LoadAverage
    Meaning                    = 'Cycles from the workers'' logs (start = lease taken, end = point committed), the first points (setup) before the clock; DoubleCycles = cycles of one VM that overlap; MaxSecondsWithoutPoint = per VM the longest stretch from the kill to the end of the run without a committed point (a gap spanning the kill counted from the kill), max over the VMs; IdleWhileDueSeconds = the longest stretch (100 ms steps) in which a live worker had no cycle in flight while a VM was due (its last point''s time + the interval passed) and no one held it (no cycle in flight, not under the killed worker''s lease: held from the first Get-DRWorker sample showing it until start + n x lease/3 + lease); times in seconds from the start of the 4-worker run.'
}
foreach ($group in @($multiCycles) + $singleCycles | Group-Object Machine | Sort-Object Name) { $result.CyclesByWorker[$group.Name] = $group.Count }
foreach ($group in $failed | Group-Object ErrorId) { $result.FailedByError[$group.Name] = $group.Count }
$result | ConvertTo-Json -Depth 6 | Set-Content (Join-Path $OutFolder 'workers.json')
Write-Host ("DoubleCycles {0} (goal 0) | MaxSecondsWithoutPoint {1} s (goal <= {2}) | IdleWhileDueSeconds {3} (goal < 1) | CyclesPerMinute {4}: {5}, 1: {6} (demand {7})" -f
    $result.DoubleCycles, $maxWithoutPoint, $goalWithoutPoint, $idleMax, $record.Workers, $multiAll.CyclesPerMinute, $(if ($singleAll) { $singleAll.CyclesPerMinute } else { '-' }), $result.DemandCyclesPerMinute)
