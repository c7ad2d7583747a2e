# The RPO bench's figures from its raw logs (Measure-Rpo.ps1): the guests' writes and the committed points.

# The vcsim guest writer's log (-guest-write-log): "unixms vmName offset length diskKey" per write.
# Times: per VM the write times (Unix ms); Bytes: per VM the bytes written.
function Read-WriteLog([string] $Path) {
    $times = @{}
    $bytes = @{}
    foreach ($line in [IO.File]::ReadLines($Path)) {
        $f = $line.Split(' ')
        if ($f.Count -ne 5) { continue }
        if (-not $times.ContainsKey($f[1])) { $times[$f[1]] = [Collections.Generic.List[long]]::new(); $bytes[$f[1]] = [long]0 }
        $times[$f[1]].Add([long]$f[0])
        $bytes[$f[1]] += [long]$f[3]
    }
    [pscustomobject]@{ Times = $times; Bytes = $bytes }
}

# Per VM and second from $From to $To (Unix ms): the age in seconds of the guest's oldest write that is not in
# the VM's last committed point (written after the snapshot time of the newest point committed by then; 0 when
# there is none). $Points: objects with Vm, PointTime (snapshot time) and Committed (Unix ms).
function Get-RpoSample {
    param([Parameter(Mandatory)] $Writes, [Parameter(Mandatory)][object[]] $Points, [Parameter(Mandatory)][string[]] $Vms,
        [Parameter(Mandatory)][long] $From, [Parameter(Mandatory)][long] $To)
    $samples = [Collections.Generic.List[double]]::new()
    foreach ($vm in $Vms) {
        $times = if ($Writes.Times.ContainsKey($vm)) { $Writes.Times[$vm].ToArray() } else { [long[]]@() }
        [Array]::Sort($times)
        $mine = @($Points | Where-Object Vm -eq $vm | Sort-Object Committed)
        $p = -1   # the newest point committed by t
        $w = 0    # the first write after that point's snapshot
        for ($t = $From; $t -le $To; $t += 1000) {
            while ($p + 1 -lt $mine.Count -and $mine[$p + 1].Committed -le $t) { $p++ }
            $snapshot = if ($p -ge 0) { [long]$mine[$p].PointTime } else { [long]::MinValue }
            while ($w -lt $times.Length -and $times[$w] -le $snapshot) { $w++ }
            $samples.Add($(if ($w -lt $times.Length -and $times[$w] -le $t) { ($t - $times[$w]) / 1000.0 } else { 0.0 }))
        }
    }
    , $samples.ToArray()
}

# The value below which $Fraction of $Values lie (nearest rank).
function Get-Percentile([double[]] $Values, [double] $Fraction) {
    if (-not $Values -or $Values.Count -eq 0) { return $null }
    $sorted = [double[]]$Values.Clone()
    [Array]::Sort($sorted)
    $sorted[[math]::Max(0, [math]::Ceiling($Fraction * $sorted.Count) - 1)]
}

# user + system CPU seconds of a process so far, from /proc/<pid>/stat (null once it is gone).
function Get-ProcessCpuSeconds([int] $ProcessId) {
    $path = "/proc/$ProcessId/stat"
    if (-not (Test-Path $path)) { return $null }
    $stat = [IO.File]::ReadAllText($path)
    # Fields after the command name (which may hold spaces) in parentheses: utime and stime are the 12th and 13th.
    $fields = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
    ([long]$fields[11] + [long]$fields[12]) / $script:ClockTicks
}
$script:ClockTicks = [double](& getconf CLK_TCK)

Export-ModuleMember -Function Read-WriteLog, Get-RpoSample, Get-Percentile, Get-ProcessCpuSeconds
