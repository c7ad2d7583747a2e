# The figures of the workers benchmark, computed from what the run recorded (so a run's raw files can be
# analysed again without running it): each committed cycle (VM, start, end, worker, point time) from the
# workers' logs, and the Get-DRWorker samples taken every fraction of a second. All times are Unix ms.

# The cycles of one log line format: VM|start|end|workerId|pointId|pointTime.
function Read-CycleLog([string[]] $Path) {
    foreach ($file in $Path) {
        if (-not (Test-Path $file)) { continue }
        foreach ($line in [IO.File]::ReadAllLines($file)) {
            if (-not $line) { continue }
            $vm, $start, $end, $worker, $point, $pointTime = $line -split '\|'
            [pscustomobject]@{ Vm = $vm; Start = [long]$start; End = [long]$end; Worker = $worker; Machine = ($worker -split '/')[0]
                Point = $point; PointTime = [long]$pointTime }
        }
    }
}

function Get-Median([double[]] $Values) { if (-not $Values) { return $null }; $s = @($Values | Sort-Object); $s[[int][math]::Floor($s.Length / 2)] }
function Get-Percentile([double[]] $Values, [double] $P) { if (-not $Values) { return $null }; $s = @($Values | Sort-Object); $s[[int][math]::Min($s.Length - 1, [math]::Ceiling($P * $s.Length) - 1)] }

# Overlapping cycles of one VM (a cycle starting before an earlier one of the same VM ended): the goal is 0.
function Get-DoubleCycle([object[]] $Cycles) {
    foreach ($group in $Cycles | Group-Object Vm) {
        $ordered = @($group.Group | Sort-Object Start)
        $latest = $ordered[0]
        for ($i = 1; $i -lt $ordered.Count; $i++) {
            if ($ordered[$i].Start -lt $latest.End) {
                [pscustomobject]@{ Vm = $group.Name; First = $latest.Worker; FirstStart = $latest.Start; FirstEnd = $latest.End; Second = $ordered[$i].Worker; SecondStart = $ordered[$i].Start }
            }
            if ($ordered[$i].End -gt $latest.End) { $latest = $ordered[$i] }
        }
    }
}

# Cycles started before their VM was due (its last point's time + the interval): work a second worker did
# although another had just made the point (a race between listing the due VMs and taking the lease).
function Get-EarlyCycle([object[]] $Cycles, [long] $IntervalMs, [long] $ToleranceMs = 1000) {
    foreach ($group in $Cycles | Group-Object Vm) {
        $ordered = @($group.Group | Sort-Object Start)
        for ($i = 1; $i -lt $ordered.Count; $i++) {
            $dueAt = $ordered[$i - 1].PointTime + $IntervalMs
            if ($ordered[$i].Start -lt $dueAt - $ToleranceMs) {
                [pscustomobject]@{ Vm = $group.Name; Worker = $ordered[$i].Worker; Start = $ordered[$i].Start; DueAt = $dueAt; PreviousWorker = $ordered[$i - 1].Worker }
            }
        }
    }
}

# Per VM, the longest stretch in [From, To] without a new point (commit = the cycle's end): gaps spanning
# From are counted from From, the last one runs to To.
function Get-SecondsWithoutPoint([object[]] $Cycles, [string[]] $Vms, [long] $From, [long] $To) {
    $result = [ordered]@{}
    foreach ($vm in $Vms | Sort-Object) {
        $commits = @($Cycles | Where-Object Vm -eq $vm | ForEach-Object End | Sort-Object)
        $since = $From
        $longest = 0L
        foreach ($commit in $commits) {
            if ($commit -le $From) { continue }
            if ($commit -gt $To) { break }
            $longest = [math]::Max($longest, $commit - $since)
            $since = $commit
        }
        $longest = [math]::Max($longest, $To - $since)
        $result[$vm] = [math]::Round($longest / 1000, 1)
    }
    $result
}

# When a live worker sat idle (no cycle in flight) while some VM was due (its last point's time + the interval
# passed) and nobody held it (no cycle of it in flight; not leased by a killed worker whose lease still ran).
# Walks [From, To] in steps of $StepMs; returns the stretches (start, seconds, an idle worker, a due VM).
# $Workers: machine names with the time each started ($Started) and died ($Killed, or none).
# $Held: leases of a killed worker: VM, From, Until (its cycle was not logged: it never committed).
function Get-IdleWhileDue {
    param([object[]] $Cycles, [object[]] $Workers, [object[]] $Held = @(), [string[]] $Vms, [long] $IntervalMs,
        [long] $From, [long] $To, [int] $StepMs = 100)
    # Per VM its cycles by end (a VM's cycles do not overlap: DoubleCycles counts when they do); per worker its
    # starts and ends, sorted: time only moves forward, so each list is walked once with a pointer.
    $vmCycles = @{}; $vmAt = @{}
    foreach ($vm in $Vms) { $vmCycles[$vm] = @($Cycles | Where-Object Vm -eq $vm | Sort-Object End); $vmAt[$vm] = 0 }
    $starts = @{}; $ends = @{}; $startAt = @{}; $endAt = @{}
    foreach ($worker in $Workers) {
        $mine = @($Cycles | Where-Object Machine -eq $worker.Name)
        $starts[$worker.Name] = [long[]]@($mine.Start | Sort-Object); $ends[$worker.Name] = [long[]]@($mine.End | Sort-Object)
        $startAt[$worker.Name] = 0; $endAt[$worker.Name] = 0
    }
    $stretches = [Collections.Generic.List[object]]::new()
    $open = $null
    for ($t = $From; $t -le $To; $t += $StepMs) {
        $idle = $null
        foreach ($worker in $Workers) {
            $name = $worker.Name
            $s = $starts[$name]; $e = $ends[$name]
            while ($startAt[$name] -lt $s.Length -and $s[$startAt[$name]] -le $t) { $startAt[$name]++ }
            while ($endAt[$name] -lt $e.Length -and $e[$endAt[$name]] -le $t) { $endAt[$name]++ }
            if ($t -lt $worker.Started -or ($worker.Killed -and $t -ge $worker.Killed)) { continue }
            $busy = $startAt[$name] -gt $endAt[$name]
            foreach ($h in $Held) { if ($h.Worker -eq $name -and $h.From -le $t -and $t -lt $h.Killed) { $busy = $true } }
            if (-not $busy -and -not $idle) { $idle = $name }
        }
        $due = $null
        foreach ($vm in $Vms) {
            $list = $vmCycles[$vm]
            while ($vmAt[$vm] -lt $list.Length -and $list[$vmAt[$vm]].End -le $t) { $vmAt[$vm]++ }
            if (-not $idle -or $due -or $vmAt[$vm] -eq 0) { continue }
            if ($vmAt[$vm] -lt $list.Length -and $list[$vmAt[$vm]].Start -le $t) { continue }
            if ($list[$vmAt[$vm] - 1].PointTime + $IntervalMs -gt $t) { continue }
            $leased = $false
            foreach ($h in $Held) { if ($h.Vm -eq $vm -and $h.From -le $t -and $t -lt $h.Until) { $leased = $true } }
            if (-not $leased) { $due = $vm }
        }
        if ($idle -and $due) {
            if (-not $open) { $open = [pscustomobject]@{ Start = $t; Steps = 0; Worker = $idle; Vm = $due } }
            $open.Steps++
        }
        elseif ($open) { $stretches.Add($open); $open = $null }
    }
    if ($open) { $stretches.Add($open) }
    foreach ($s in $stretches) { [pscustomobject]@{ Start = $s.Start; Seconds = [math]::Round($s.Steps * $StepMs / 1000, 1); Worker = $s.Worker; Vm = $s.Vm } }
}

# Committed cycles per minute in [From, To], with cycle durations and how long due VMs waited for their cycle.
function Get-Throughput([object[]] $Cycles, [long] $From, [long] $To, [long] $IntervalMs) {
    $inside = @($Cycles | Where-Object { $_.End -gt $From -and $_.End -le $To })
    $durations = @($inside | ForEach-Object { ($_.End - $_.Start) / 1000 })
    $waits = @(foreach ($group in $Cycles | Group-Object Vm) {
        $ordered = @($group.Group | Sort-Object Start)
        for ($i = 1; $i -lt $ordered.Count; $i++) {
            if ($ordered[$i].End -gt $From -and $ordered[$i].End -le $To) { [math]::Max(0, ($ordered[$i].Start - $ordered[$i - 1].PointTime - $IntervalMs) / 1000) }
        }
    })
    [ordered]@{
        Cycles               = $inside.Count
        Minutes              = [math]::Round(($To - $From) / 60000, 2)
        CyclesPerMinute      = [math]::Round($inside.Count / (($To - $From) / 60000), 1)
        MedianCycleSeconds   = [math]::Round((Get-Median $durations), 2)
        P95CycleSeconds      = [math]::Round((Get-Percentile $durations 0.95), 2)
        MaxCycleSeconds      = [math]::Round(($durations | Measure-Object -Maximum).Maximum, 2)
        MedianDueWaitSeconds = if ($waits) { [math]::Round((Get-Median $waits), 2) } else { $null }
        MaxDueWaitSeconds    = if ($waits) { [math]::Round(($waits | Measure-Object -Maximum).Maximum, 2) } else { $null }
    }
}

Export-ModuleMember -Function Read-CycleLog, Get-DoubleCycle, Get-EarlyCycle, Get-SecondsWithoutPoint, Get-IdleWhileDue, Get-Throughput, Get-Median, Get-Percentile
