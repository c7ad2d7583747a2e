<#
.SYNOPSIS
    Replication over a faulty network: $Cycles cycles of a $DiskMiB MiB disk through drfaultproxy cutting 0 %, 5 % and
    10 % (and 30 %) of the connections; SuccessRate per rate and the cycles' time against the fault-free run.
.DESCRIPTION
    The 'Faults' section of ../Invoke-Benchmarks.ps1 (also runs on its own). Lab: one vcsim VM with a $DiskMiB MiB disk
    and the lab's drfaultproxy (tcp mode) in front of it; the site is reached through the proxy. For each cut rate: a
    fresh vault, the VM protected, its first full copy and two delta cycles made with no faults (after a whole fault-free pass
    that is not reported, so that no rate pays the JIT); then the proxy cuts that share of its new
    connections after a random byte count of up to $MaxBytes, and $Cycles cycles run one after another, each after the
    guest rewrote $ExtentsPerCycle random extents of 64 KiB-1 MiB (the same extents, from -Seed, at every rate). Per
    rate: SuccessRate (cycles that committed a point / cycles; goal 1.0), the cycles' seconds and TimeRatioToClean
    (against the 0 % run), retries, the proxy's cuts, summed per rate over -Rounds rounds (every other one in reverse
    order, so no rate always runs first), and afterwards every point checked (Test-RecoveryPoint) and the
    last one compared with the disk byte for byte. Writes $OutFolder/faults.json. Never asserted by a test.
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Bench -Only Faults
.EXAMPLE
    dotnet pwsh -NoProfile -File tests/bench/faults/Measure-Faults.ps1 -ModulePath out/AzureSiteRecovery.DR/0.1.0/AzureSiteRecovery.DR.psd1 -Cycles 5
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [string] $OutFolder = (Join-Path $PSScriptRoot '../../../out/bench'),
    [ValidateRange(1, 1000)][int] $Cycles = 20,
    [ValidateRange(16, 65536)][int] $DiskMiB = 128,
    [double[]] $CutRates = @(0, 0.05, 0.10, 0.30),
    [ValidateRange(1, 1000)][int] $ExtentsPerCycle = 24,
    [long] $MaxBytes = 4MB,
    [int] $Seed = 14,
    # Rounds over the rates, every other one in reverse order, so no rate always runs first or last (the figures are per-rate sums).
    [ValidateRange(1, 10)][int] $Rounds = 2
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$ProgressPreference = 'SilentlyContinue'
Import-Module (Join-Path $PSScriptRoot '../BenchChild.psm1') -Force
$ModulePath = Initialize-BenchChild $ModulePath
Import-Module (Join-Path $PSScriptRoot '../../pester/TestSupport.psm1') -Function Start-TestVcsim, Stop-TestVcsim, New-TestCredential, Get-FlatFile, Write-DiskBytes, Write-GuestChanges, Get-DiskHash,
    Start-TestFaultProxy, Set-TestFaults, Get-TestFaultStats, Stop-TestFaultProxy
New-Item -ItemType Directory -Force -Path $OutFolder | Out-Null
$OutFolder = (Resolve-Path $OutFolder).Path
$work = Join-Path ([IO.Path]::GetTempPath()) "azsr-bench-faults-$([guid]::NewGuid().ToString('n'))"
New-Item -ItemType Directory -Force -Path $work | Out-Null
$capacity = [long]$DiskMiB * 1MB
$invariant = [Globalization.CultureInfo]::InvariantCulture

$lab = $null
$proxy = $null
$runs = [Collections.Generic.List[object]]::new()
try {
    Write-Host "== Faults: $Cycles cycles of a $DiskMiB MiB disk ($ExtentsPerCycle extents rewritten a cycle) through drfaultproxy cutting $($CutRates -join ', ') of its connections" -ForegroundColor Cyan
    $lab = Start-TestVcsim -Arguments @('-vm', '1', '-cluster', '0', '-disk-mb', "$DiskMiB")
    $proxy = Start-TestFaultProxy -Upstream $lab.Url -Mode tcp -Arguments @('-seed', "$Seed", '-max-bytes', "$MaxBytes")
    $disk = Get-FlatFile $lab.StateDir 'DC0_H0_VM0'
    Write-DiskBytes $disk 0 $capacity 1
    $cred = New-TestCredential

    # A fault-free pass first, not reported: the process's JIT and the lab's caches warm up on it, not on the first measured rate.
    $order = @($null)
    for ($round = 0; $round -lt $Rounds; $round++) { $order += if ($round % 2) { $CutRates[($CutRates.Count - 1)..0] } else { $CutRates } }
    $pass = 0
    foreach ($rate in $order) {
        $pass++
        $warmUp = $null -eq $rate
        if ($warmUp) { $rate = 0.0 }
        Set-TestFaults $proxy @{ cut = 0.0 } | Out-Null
        $vault = Join-Path $work "vault-$pass.db"
        $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
        New-DRSite -Name onprem -VSphere -Server $proxy.Url('/sdk') -Credential $cred -Role Protected -SkipCertificateCheck | Out-Null
        New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        New-ReplicationPolicy -Name bench -AppConsistentFrequency 0 -RecoveryPointRetention (New-TimeSpan -Days 1) | Out-Null
        New-ProtectionGroup -Name bench -ProtectedSite onprem -RecoverySite dr -Policy bench | Out-Null
        Get-DRVm -Site onprem -Name DC0_H0_VM0 | Enable-VmProtection -ProtectionGroup bench -NoWait | Out-Null
        Sync-VmReplication -ProtectionGroup bench -ErrorAction Stop | Out-Null
        # Two delta cycles before the clock: the first rate's cycles must not pay the JIT the others do not.
        1..2 | ForEach-Object {
            Write-DiskBytes $disk 0 1MB (1000 + $_)
            Sync-VmReplication -ProtectionGroup bench -ErrorAction Stop | Out-Null
        }

        $statsBefore = Get-TestFaultStats $proxy
        Set-TestFaults $proxy @{ cut = $rate; maxBytes = $MaxBytes } | Out-Null
        $rng = [Random]::new($Seed)
        $outcomes = for ($i = 1; $i -le $Cycles; $i++) {
            Write-GuestChanges $disk $capacity $ExtentsPerCycle $rng
            $clock = [Diagnostics.Stopwatch]::StartNew()
            try {
                $result = Sync-VmReplication -ProtectionGroup bench -ErrorAction Stop
                [pscustomobject]@{ Ok = [bool]$result.Point; Seconds = $clock.Elapsed.TotalSeconds; Retries = $result.Retries; BytesRead = $result.BytesRead; Error = $null }
            }
            catch {
                [pscustomobject]@{ Ok = $false; Seconds = $clock.Elapsed.TotalSeconds; Retries = $null; BytesRead = 0; Error = "$($_.FullyQualifiedErrorId): $($_.Exception.Message)" }
            }
        }
        $statsAfter = Get-TestFaultStats $proxy
        Set-TestFaults $proxy @{ cut = 0.0 } | Out-Null

        $points = @(Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint)
        $intact = @($points | Test-RecoveryPoint | Where-Object Intact).Count
        $image = $points[-1] | Export-RecoveryPoint -Destination (Join-Path $work "export-$(Split-Path $vault -LeafBase)")
        $lastMatches = $outcomes[-1].Ok -and (Get-FileHash $image.FullName -Algorithm SHA256).Hash -eq (Get-DiskHash $disk $capacity)
        Remove-Item $image.FullName -Force

        $ok = @($outcomes | Where-Object Ok).Count
        $run = [ordered]@{
            CutRate            = $rate
            Cycles             = $Cycles
            Succeeded          = $ok
            SuccessRate        = [Math]::Round($ok / $Cycles, 3)
            Seconds            = [Math]::Round(($outcomes | Measure-Object Seconds -Sum).Sum, 2)
            CycleSecondsP50    = [Math]::Round((@($outcomes.Seconds | Sort-Object))[[int][Math]::Floor(($Cycles - 1) / 2)], 3)
            CycleSecondsMax    = [Math]::Round(($outcomes | Measure-Object Seconds -Maximum).Maximum, 3)
            Retries            = ($outcomes | Where-Object Ok | Measure-Object Retries -Sum).Sum
            Connections        = $statsAfter.connections - $statsBefore.connections
            ConnectionsCut     = $statsAfter.cuts - $statsBefore.cuts
            MiBRead            = [Math]::Round(($outcomes | Measure-Object BytesRead -Sum).Sum / 1MB, 1)
            PointsIntact       = "$intact/$($points.Count)"
            LastPointEqualsDisk = [bool]$lastMatches
            Errors             = @($outcomes | Where-Object Error | ForEach-Object Error)
        }
        if ($warmUp) { Write-Host ('warm-up (not reported): {0}/{1} cycles, {2:n1} s' -f $ok, $Cycles, $run.Seconds); continue }
        $runs.Add([pscustomobject]$run)
        Write-Host ("cut {0,4:P0}: {1}/{2} cycles committed, {3:n1} s, {4} connections of {5} cut, {6} retries, points intact {7}, last point = disk: {8}" -f
            $rate, $ok, $Cycles, $run.Seconds, $run.ConnectionsCut, $run.Connections, $run.Retries, $run.PointsIntact, $run.LastPointEqualsDisk)
    }
}
finally {
    if ($proxy) { $proxy | Stop-TestFaultProxy }
    if ($lab) { $lab | Stop-TestVcsim }
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}

# Per rate over its rounds: cycles, successes, seconds, retries and cuts summed; the time against the fault-free run's.
$byRate = foreach ($group in ($runs | Group-Object { $_.CutRate })) {
    $all = @($group.Group)
    $total = [int]($all | Measure-Object Cycles -Sum).Sum
    $ok = [int]($all | Measure-Object Succeeded -Sum).Sum
    [ordered]@{
        CutRate             = $all[0].CutRate
        Cycles              = $total
        Succeeded           = $ok
        SuccessRate         = [Math]::Round($ok / $total, 3)
        Seconds             = [Math]::Round(($all | Measure-Object Seconds -Sum).Sum, 2)
        Retries             = [int]($all | Measure-Object Retries -Sum).Sum
        ConnectionsCut      = [int]($all | Measure-Object ConnectionsCut -Sum).Sum
        Connections         = [int]($all | Measure-Object Connections -Sum).Sum
        AllPointsIntact     = -not @($all | Where-Object { ($_.PointsIntact -split '/')[0] -ne ($_.PointsIntact -split '/')[1] })
        LastPointEqualsDisk = -not @($all | Where-Object { -not $_.LastPointEqualsDisk })
    }
}
$clean = $byRate | Where-Object { $_.CutRate -eq 0 } | Select-Object -First 1
foreach ($rate in $byRate) {
    $rate['TimeRatioToClean'] = if ($clean -and $clean.Seconds -gt 0) { [Math]::Round($rate.Seconds / $clean.Seconds, 3) } else { $null }
}
$summary = [ordered]@{
    Benchmark          = 'Faults'
    Date               = [DateTimeOffset]::UtcNow.ToString('o')
    DiskMiB            = $DiskMiB
    Cycles             = $Cycles
    ExtentsPerCycle    = $ExtentsPerCycle
    MaxBytesBeforeCut  = $MaxBytes
    Seed               = $Seed
    Rounds             = $Rounds
    SuccessRateGoal    = 1.0
    Rates              = @($byRate)
    Runs               = @($runs)
}
$path = Join-Path $OutFolder 'faults.json'
$summary | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $path
$byRate | ForEach-Object { [pscustomobject]$_ } | Format-Table CutRate, Cycles, SuccessRate, Seconds, TimeRatioToClean, Retries, ConnectionsCut, AllPointsIntact, LastPointEqualsDisk | Out-String -Width 160 | Write-Host
Write-Host "faults.json: $path"
