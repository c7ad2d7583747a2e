<#
.SYNOPSIS
    Replication cost per byte: the module's CPU seconds for a first cycle against its primitives on the same chunks,
    the highest datastore rate a full sync keeps up with, and a delta cycle against the full one.
.DESCRIPTION
    The 'Efficiency' section of ../Invoke-Benchmarks.ps1 (also runs on its own). One vcsim VM with a $DiskMiB MiB disk
    of realistic content (DiskImage.psm1, seed 42).

    CPU (vcsim unlimited): a child pwsh with the built module imported measures its own CPU seconds (user + sys) from
    the start of each step until it is idle again (the JIT's background tier-up after a step is the step's), less its
    idle floor, around
      - the primitives alone (Primitives.cs): for every chunk a first cycle reads (the 4 MiB chunks with a non-zero
        byte: CBT "*" lists the non-zero blocks), a plain HttpClient ranged GET of the flat file, SHA-256, the
        module's zstd-1 codec, its AES-256-GCM seal; one chunk after the other on one thread;
      - the module: Sync-VmReplication of the VM into a fresh vault (a first, full cycle: snapshot, CBT "*", reads,
        hash, compress, seal, store writes with fsync, manifest, commit);
    $Passes times each, in the order primitives, cycle, primitives, cycle...: the first pair pays the JIT (a fresh
    process, ...FirstInProcess), the last is the steady state (CpuRatio = ModuleCpuSeconds / PrimitivesCpuSeconds).
    -CompareEnvironment runs these passes again in a child with other environment variables (runtime settings such
    as DOTNET_TieredPGO=0), in the same run: a measured before/after, under Compare.
    vcsim's CPU (its CBT emulation hashes the disk at CreateSnapshot; it serves the reads) is counted in neither; it
    is reported beside them. Then $ChangePercent % of the disk changes in 1 MiB writes and the same vault's next
    cycle (CBT) runs: DeltaRatio = (delta cycle - the lab's snapshot cost) / (full cycle - the lab's snapshot cost),
    the snapshot cost being CreateSnapshot + RemoveSnapshot alone on the same disk (median of 3). What the module
    spends beyond its primitives is split (ModuleOverCpuSeconds) into a cycle with nothing changed (its fixed cost),
    the object store's writes of chunks of the same sealed lengths (LocalFolderStore: file, fsync, rename), and the rest.

    Rates: vcsim restarted with -datastore-mibps R for each of $RatesMiBps; at each, the plain read of the same chunks
    (4 MiB ranged GETs, Primitives.ReadOnly) and a full cycle into a fresh vault, and the lab's snapshot cost once.
    A rate is kept up with when plain read time / (cycle time - snapshot cost) >= 0.95; KeepsUpAtMiBps is the
    highest such rate (0: none).
    Writes $OutFolder/efficiency.json. Never asserted by a test.
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Bench -Only Efficiency
.EXAMPLE
    dotnet pwsh -NoProfile -File tests/bench/replication/Measure-Efficiency.ps1 -ModulePath out/AzureSiteRecovery.DR/0.1.0/AzureSiteRecovery.DR.psd1 -DiskMiB 512
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [string] $OutFolder = (Join-Path $PSScriptRoot '../../../out/bench'),
    [ValidateRange(64, 65536)][int] $DiskMiB = 2048,
    # Datastore rates to try, MiB/s, ascending (238 MiB/s = 2 Gbit/s, the goal).
    [ValidateRange(1, 100000)][double[]] $RatesMiBps = @(60, 120, 180, 238, 300),
    [ValidateRange(0.01, 50)][double] $ChangePercent = 1,
    # Primitives + cycle pairs in the CPU child: the first pays the JIT, the last is the steady state.
    [ValidateRange(2, 10)][int] $Passes = 3,
    # A measured attempt: the CPU passes again in a child with these environment variables ('NAME=value', e.g.
    # DOTNET_TieredPGO=0), in the same run, reported under Compare.
    [string[]] $CompareEnvironment = @()
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$ProgressPreference = 'SilentlyContinue'
# The child pwsh imports the built module, as the Pester suites' children do.
Import-Module (Join-Path $PSScriptRoot '../BenchChild.psm1') -Force
$ModulePath = Initialize-BenchChild $ModulePath
Import-Module (Join-Path $PSScriptRoot '../../pester/TestSupport.psm1') -Function Start-TestVcsim, Stop-TestVcsim, Invoke-ChildPwsh, Get-FlatFile, New-TestCredential
Import-Module (Join-Path $PSScriptRoot 'DiskImage.psm1') -Force
New-Item -ItemType Directory -Force -Path $OutFolder | Out-Null
$OutFolder = (Resolve-Path $OutFolder).Path
$imageCache = Join-Path $OutFolder 'storage'
$primitivesSource = Join-Path $PSScriptRoot 'Primitives.cs'
if (-not ('AzureSiteRecovery.DR.Bench.Replication.Primitives' -as [type])) { Add-Type -TypeDefinition (Get-Content -Raw $primitivesSource) }
$work = Join-Path ([IO.Path]::GetTempPath()) "azsr-bench-efficiency-$([guid]::NewGuid().ToString('n'))"
$vmName = 'DC0_H0_VM0'
$capacity = [long]$DiskMiB * 1MB
$chunkSize = 4MB
$cred = New-TestCredential
$core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'AzureSiteRecovery.DR.Core' } | Select-Object -First 1
$none = [Threading.CancellationToken]::None

# A lab of one VM whose disk holds the realistic image; -datastore-mibps when $MiBps > 0.
function Start-DiskLab([double] $MiBps) {
    $lab = Start-TestVcsim -Arguments @('-vm', '1', '-cluster', '0', '-disk-mb', "$DiskMiB", '-datastore-mibps', "$MiBps")
    try {
        $flat = Get-FlatFile $lab.StateDir $vmName
        if (-not $flat) { throw "No flat file of $vmName under $($lab.StateDir)." }
        Write-DiskImage $flat $capacity $imageCache
        $lab | Add-Member -NotePropertyName Flat -NotePropertyValue $flat -PassThru
    }
    catch { $lab | Stop-TestVcsim; throw }
}

# A fresh vault (so a fresh store: its first cycle is a full one) with the VM protected, no cycle run yet.
function New-BenchVault([string] $Name, $Lab) {
    $vault = Join-Path $work "$Name/vault.db"
    $at = @{ Vault = $vault; WarningAction = 'SilentlyContinue' }
    New-DRSite @at -Name onprem -VSphere -Server $Lab.Url -Credential $cred -Role Protected -SkipCertificateCheck | Out-Null
    New-DRSite @at -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
    New-ReplicationPolicy @at -Name bench -AppConsistentFrequency 0 | Out-Null
    New-ProtectionGroup @at -Name bench -ProtectedSite onprem -RecoverySite dr -Policy bench | Out-Null
    Get-DRVm @at -Site onprem -Name $vmName | Enable-VmProtection @at -ProtectionGroup bench -NoWait | Out-Null
    $vault
}

# The lab's snapshot cost alone (CreateSnapshot hashes the disk for our CBT emulation, then RemoveSnapshot), seconds, median of $Runs.
function Measure-LabSnapshot($Lab, [string] $VmMoRef, [int] $Runs) {
    $endpoint = [Activator]::CreateInstance($core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereEndpoint'), @([uri]$Lab.Url, $cred.UserName, $cred.GetNetworkCredential().Password, $null, $true))
    $client = $core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereClient')::ConnectAsync($endpoint, 'bench', $none).GetAwaiter().GetResult()
    try {
        $times = @(1..$Runs | ForEach-Object {
            (Measure-Command {
                $snapshot = $client.CreateSnapshotAsync($VmMoRef, "efficiency-$_", $null, $false, $false, $none).GetAwaiter().GetResult()
                $client.RemoveSnapshotAsync($snapshot, $none).GetAwaiter().GetResult()
            }).TotalSeconds } | Sort-Object)
        $times[[int][math]::Floor($Runs / 2)]
    }
    finally { $client.Dispose() }
}

function New-PlainClient {
    $handler = [Net.Http.HttpClientHandler]::new()
    $handler.ServerCertificateCustomValidationCallback = [Net.Http.HttpClientHandler]::DangerousAcceptAnyServerCertificateValidator
    $http = [Net.Http.HttpClient]::new($handler)
    $http.Timeout = [timespan]::FromMinutes(30)
    $http
}
function Get-FlatUrl($Lab) { [uri]::new([uri]$Lab.Url, "/folder/$vmName/disk1-flat.vmdk?dcPath=DC0&dsName=LocalDS_0") }

$lab = $null
$http = $null
New-Item -ItemType Directory -Force -Path $work | Out-Null
try {
    Write-Host "== Efficiency: first cycle of a $DiskMiB MiB disk vs its primitives (CPU); datastore rates $($RatesMiBps -join ', ') MiB/s; a $ChangePercent % delta" -ForegroundColor Cyan
    # ---- 1. CPU seconds, and the delta, on an unlimited lab ----
    $lab = Start-DiskLab 0
    $offsets = [AzureSiteRecovery.DR.Bench.Replication.Primitives]::NonZeroChunks($lab.Flat, $chunkSize)
    $offsetsFile = Join-Path $work 'offsets.txt'
    Set-Content $offsetsFile ($offsets -join "`n")
    $changedMiB = [int][math]::Max(1, [math]::Round($DiskMiB * $ChangePercent / 100))
    # The CPU child's script: $Passes pairs of primitives and a full cycle (each into a fresh vault of $Vaults), then,
    # -WithDelta, the delta, a no-change cycle and the object store alone; results as JSON into $ResultFile.
    function New-CpuScript([string[]] $Vaults, [string] $ResultFile, [switch] $WithDelta) {
        $lastVault = $Vaults[-1]
        $passes = ($Vaults | ForEach-Object { "`$runs.Passes += [ordered]@{ Primitives = Measure-Cpu 'primitives' { Invoke-Primitives }; Cycle = Measure-Cpu 'cycle' { Invoke-Cycle '$_' } }" }) -join "`n"
        $delta = if ($WithDelta) { @"
# $changedMiB MiB ($ChangePercent %) of the disk in scattered 1 MiB writes, as the Replication benchmark's delta.
`$random = [Random]::new(7)
`$changed = [Collections.Generic.HashSet[long]]::new()
while (`$changed.Count -lt $changedMiB) { [void]`$changed.Add([long]`$random.Next(0, $DiskMiB) * 1MB) }
`$seed = 100
foreach (`$offset in `$changed) { Write-DiskBytes '$($lab.Flat)' `$offset 1MB (`$seed++) }
`$runs.Delta = Measure-Cpu 'delta' { Invoke-Cycle '$lastVault' }
# Nothing changed since: what any cycle costs besides reading (snapshot, CBT query, manifests, commit).
`$runs.NoChange = Measure-Cpu 'no change' { Invoke-Cycle '$lastVault' }
# The object store alone, for chunks of the sealed lengths the primitives made: the chunk store's writes (file, fsync, rename).
`$storeType = `$core.GetType('AzureSiteRecovery.DR.Core.Storage.LocalFolderStore')
`$store = [Activator]::CreateInstance(`$storeType, @('$(Join-Path $work 'store-alone')'))
`$chunkKey = [Delegate]::CreateDelegate([Func[string, string]], `$core.GetType('AzureSiteRecovery.DR.Core.Storage.ObjectKeys').GetMethod('Chunk'))
`$touch = [Delegate]::CreateDelegate([Func[string, Threading.CancellationToken, Threading.Tasks.Task[bool]]], `$store, `$storeType.GetMethod('TouchAsync'))
`$put = [Delegate]::CreateDelegate([Func[string, ReadOnlyMemory[byte], Threading.CancellationToken, Threading.Tasks.Task]], `$store, `$storeType.GetMethod('PutAsync'))
`$runs.StoreWrites = Measure-Cpu 'store writes' { [AzureSiteRecovery.DR.Bench.Replication.Primitives]::WriteStore(`$chunkKey, `$touch, `$put, `$runs.Primitives.Out.SealedLengths) }
"@ } else { '' }
        @"

`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
Import-Module '$(Join-Path $PSScriptRoot '../../pester/TestSupport.psm1')' -Function Write-DiskBytes
Add-Type -TypeDefinition (Get-Content -Raw '$primitivesSource')
`$core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'AzureSiteRecovery.DR.Core' } | Select-Object -First 1
`$any = [Reflection.BindingFlags]'Instance,Static,Public,NonPublic'
`$codecType = `$core.GetType('AzureSiteRecovery.DR.Core.Storage.ChunkPayloadCodec')
`$codec = [Activator]::CreateInstance(`$codecType, `$any, `$null, @([Enum]::ToObject(`$core.GetType('AzureSiteRecovery.DR.Core.Storage.ChunkCompression'), 3), 1), `$null)
`$encode = [Delegate]::CreateDelegate([AzureSiteRecovery.DR.Bench.Replication.EncodeInto], `$codec, `$codecType.GetMethod('EncodeInto', `$any))
`$cipherType = `$core.GetType('AzureSiteRecovery.DR.Core.Secrets.AuthenticatedCipher')
`$key = [byte[]]::new(32); [Security.Cryptography.RandomNumberGenerator]::Fill(`$key)
`$cipher = [Activator]::CreateInstance(`$cipherType, @(`$key, 'chunk', [Enum]::ToObject(`$core.GetType('AzureSiteRecovery.DR.Core.Secrets.SealingFormat'), 2)))
`$seal = [Delegate]::CreateDelegate([AzureSiteRecovery.DR.Bench.Replication.SealGcm], `$cipher, `$cipherType.GetMethod('SealGcm'))
`$maxEncoded = `$codecType.GetMethod('MaxEncodedLength', `$any).Invoke(`$null, @($chunkSize))
`$gcmHeader = `$cipherType.GetField('GcmHeaderLength').GetValue(`$null); `$gcmOverhead = `$cipherType.GetField('GcmOverhead').GetValue(`$null)
`$handler = [Net.Http.HttpClientHandler]::new()
`$handler.ServerCertificateCustomValidationCallback = [Net.Http.HttpClientHandler]::DangerousAcceptAnyServerCertificateValidator
`$http = [Net.Http.HttpClient]::new(`$handler)
`$url = [uri]'$(Get-FlatUrl $lab)'
[long[]] `$offsets = [IO.File]::ReadAllLines('$offsetsFile') | Where-Object { `$_ }
[void][AzureSiteRecovery.DR.Bench.Replication.Primitives]::ReadOnly(`$http, `$url, [long[]]@(0), $chunkSize) # connection and TLS set up first

`$self = [Diagnostics.Process]::GetCurrentProcess()
function Get-Cpu([int] `$ProcessId) { if (`$ProcessId) { [Diagnostics.Process]::GetProcessById(`$ProcessId).TotalProcessorTime.TotalSeconds } else { `$self.Refresh(); `$self.TotalProcessorTime.TotalSeconds } }
# The JIT compiles hot methods again (tier 1) in the background after they ran: a step's CPU goes on for a while after it
# returns. Each step is measured until this process is idle again (a 0.5 s window under `$settleRate CPU s/s, at most
# 15 s), less the idle floor (the lowest rate of any such window) over that time.
`$settleRate = 0.04
`$script:floor = 1.0
function Wait-Settled {
    for (`$i = 0; `$i -lt 30; `$i++) {
        `$c = Get-Cpu; `$w = [Diagnostics.Stopwatch]::StartNew(); Start-Sleep -Milliseconds 500
        `$rate = ((Get-Cpu) - `$c) / `$w.Elapsed.TotalSeconds
        `$script:floor = [math]::Min(`$script:floor, `$rate)
        if (`$rate -lt `$settleRate) { return `$true }
    }
    `$false
}
function Measure-Cpu([string] `$Name, [scriptblock] `$Action) {
    [GC]::Collect(); [GC]::WaitForPendingFinalizers()
    `$settledBefore = Wait-Settled
    `$c = Get-Cpu; `$v = Get-Cpu $($lab.Pid); `$w = [Diagnostics.Stopwatch]::StartNew()
    `$out = & `$Action
    `$seconds = `$w.Elapsed.TotalSeconds; `$cpuInStep = (Get-Cpu) - `$c; `$vcsim = (Get-Cpu $($lab.Pid)) - `$v
    `$settledAfter = Wait-Settled
    `$cpu = (Get-Cpu) - `$c; `$total = `$w.Elapsed.TotalSeconds
    [ordered]@{ Name = `$Name; Seconds = `$seconds; CpuSeconds = `$null; CpuSecondsRaw = `$cpu; CpuSecondsInStep = `$cpuInStep; MeasuredSeconds = `$total
        Settled = `$settledBefore -and `$settledAfter; VcsimCpuSeconds = `$vcsim; Out = `$out }
}
function Invoke-Primitives { [AzureSiteRecovery.DR.Bench.Replication.Primitives]::Run(`$http, `$url, `$offsets, $chunkSize, `$encode, `$seal, `$maxEncoded, `$gcmHeader, `$gcmOverhead) }
function Invoke-Cycle([string] `$Vault) {
    `$r = Sync-VmReplication -Vault `$Vault -ProtectionGroup bench
    [ordered]@{ Mode = `$r.Mode; Duration = `$r.Duration.TotalSeconds; BytesRead = `$r.BytesRead; ChunksRead = `$r.ChunksRead; ChunksStored = `$r.ChunksStored; BytesStored = `$r.BytesStored }
}
`$runs = [ordered]@{ Passes = @() }
$passes
`$runs.PrimitivesFirst = `$runs.Passes[0].Primitives; `$runs.CycleFirst = `$runs.Passes[0].Cycle
`$runs.Primitives = `$runs.Passes[-1].Primitives; `$runs.Cycle = `$runs.Passes[-1].Cycle
$delta
`$runs.IdleCpuPerSecond = `$script:floor
foreach (`$step in @(`$runs.Passes | ForEach-Object { `$_.Primitives; `$_.Cycle }) + @(`$runs.Values | Where-Object { `$_ -is [Collections.IDictionary] })) { `$step.CpuSeconds = [math]::Max(0.0, `$step.CpuSecondsRaw - `$script:floor * `$step.MeasuredSeconds) }
`$runs | ConvertTo-Json -Depth 5 | Set-Content '$resultFile'
"@
    }
    # Runs the CPU child (fresh vaults; $Environment: 'NAME=value' set for it alone) and returns its results.
    function Invoke-CpuChild([string] $Label, [string[]] $Environment = @(), [switch] $WithDelta) {
        $vaults = @(1..$Passes | ForEach-Object { New-BenchVault "$Label-pass-$_" $lab })
        $resultFile = Join-Path $work "$Label-cpu.json"
        $saved = @{}
        foreach ($pair in $Environment) {
            $name, $value = $pair -split '=', 2
            if (-not $name -or $null -eq $value) { throw "-CompareEnvironment '$pair': want NAME=value." }
            $saved[$name] = [Environment]::GetEnvironmentVariable($name)
            [Environment]::SetEnvironmentVariable($name, $value)
        }
        try { $run = Invoke-ChildPwsh -Script (New-CpuScript $vaults $resultFile -WithDelta:$WithDelta) }
        finally { foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) } }
        if ($run.ExitCode -ne 0 -or -not (Test-Path $resultFile)) { throw "The CPU measurement's child pwsh ($Label) failed ($($run.ExitCode)): $($run.Text)" }
        $cpu = Get-Content $resultFile -Raw | ConvertFrom-Json
        foreach ($pass in $cpu.Passes) {
            if ($pass.Cycle.Out.Mode -ne 'Full') { throw "A $Label cycle ran in mode $($pass.Cycle.Out.Mode), not Full." }
            if ($pass.Primitives.Out.BytesRead -ne $pass.Cycle.Out.BytesRead) {
                throw "The primitives read $($pass.Primitives.Out.BytesRead) bytes, the cycle $($pass.Cycle.Out.BytesRead): not the same chunks."
            }
        }
        $cpu | Add-Member -NotePropertyName LastVault -NotePropertyValue $vaults[-1] -PassThru
    }
    $compare = $null
    if ($CompareEnvironment) {
        # Before the delta changes the disk (the chunks read must stay those of the offsets).
        Write-Host "CPU, with $($CompareEnvironment -join ' '): primitives and a full cycle, $Passes times each, in a child pwsh"
        $compare = Invoke-CpuChild 'compare' $CompareEnvironment
    }
    Write-Host "CPU: primitives and a full cycle, $Passes times each, in a child pwsh; then a $changedMiB MiB delta"
    $cpu = Invoke-CpuChild 'cpu' -WithDelta
    if ($cpu.Delta.Out.Mode -ne 'ChangedBlockTracking') { throw "The delta cycle ran in mode $($cpu.Delta.Out.Mode), not ChangedBlockTracking." }
    $snapshotSeconds = Measure-LabSnapshot $lab (Get-ProtectedVm -Vault $cpu.LastVault).MoRef 3
    # This process runs the rates' cycles: one unmeasured cycle first, so the first rate does not pay the JIT.
    $warmUp = Sync-VmReplication -Vault (New-BenchVault 'warm-up' $lab) -ProtectionGroup bench
    if ($warmUp.Mode -ne 'Full') { throw "The warm-up cycle ran in mode $($warmUp.Mode), not Full." }
    $lab | Stop-TestVcsim; $lab = $null
    Write-Host ("CPU s (less idle): primitives {0:n2}, cycle {1:n2} (first in process: {2:n2}, {3:n2}); lab snapshot {4:n2} s; delta {5:n2} s of full {6:n2} s" -f
        $cpu.Primitives.CpuSeconds, $cpu.Cycle.CpuSeconds, $cpu.PrimitivesFirst.CpuSeconds, $cpu.CycleFirst.CpuSeconds, $snapshotSeconds, $cpu.Delta.Out.Duration, $cpu.Cycle.Out.Duration)

    # ---- 2. The datastore rates a full sync keeps up with ----
    $rates = @()
    $http = New-PlainClient
    foreach ($rate in $RatesMiBps) {
        $lab = Start-DiskLab $rate
        $url = Get-FlatUrl $lab
        [void][AzureSiteRecovery.DR.Bench.Replication.Primitives]::ReadOnly($http, $url, [long[]]@(0), $chunkSize)
        $plain = Measure-Command { $plainBytes = [AzureSiteRecovery.DR.Bench.Replication.Primitives]::ReadOnly($http, $url, $offsets, $chunkSize) }
        $vault = New-BenchVault "rate-$rate" $lab
        $cycle = Sync-VmReplication -Vault $vault -ProtectionGroup bench
        if ($cycle.Mode -ne 'Full') { throw "The cycle at $rate MiB/s ran in mode $($cycle.Mode), not Full." }
        $snapshot = Measure-LabSnapshot $lab $cycle.Vm.MoRef 1
        $lab | Stop-TestVcsim; $lab = $null
        $less = $cycle.Duration.TotalSeconds - $snapshot
        $row = [ordered]@{
            MiBps                    = $rate
            PlainReadSeconds         = [math]::Round($plain.TotalSeconds, 2)
            PlainReadMiBps           = [math]::Round($plainBytes / 1MB / $plain.TotalSeconds, 1)
            CycleSeconds             = [math]::Round($cycle.Duration.TotalSeconds, 2)
            LabSnapshotSeconds       = [math]::Round($snapshot, 2)
            CycleLessSnapshotSeconds = [math]::Round($less, 2)
            CycleReadMiBps           = [math]::Round($cycle.BytesRead / 1MB / $less, 1)
            Ratio                    = [math]::Round($plain.TotalSeconds / $less, 3)
            RatioWithSnapshot        = [math]::Round($plain.TotalSeconds / $cycle.Duration.TotalSeconds, 3)
        }
        $row.KeepsUp = $row.Ratio -ge 0.95
        $rates += $row
        Write-Host ("{0,5} MiB/s: plain read {1:n2} s ({2} MiB/s), full cycle {3:n2} s less snapshot {4:n2} s = {5:n2} s: ratio {6}{7}" -f
            $rate, $row.PlainReadSeconds, $row.PlainReadMiBps, $row.CycleSeconds, $row.LabSnapshotSeconds, $row.CycleLessSnapshotSeconds, $row.Ratio, $(if ($row.KeepsUp) { ' (keeps up)' } else { '' }))
        Remove-Item (Split-Path $vault) -Recurse -Force -ErrorAction SilentlyContinue
    }
    $keptUp = @($rates | Where-Object { $_.KeepsUp } | ForEach-Object { $_.MiBps })
    $keepsUpAt = if ($keptUp) { ($keptUp | Measure-Object -Maximum).Maximum } else { 0 }

    $readMiB = $cpu.Cycle.Out.BytesRead / 1MB
    $full = $cpu.Cycle.Out.Duration
    $delta = $cpu.Delta.Out.Duration
    $deltaRatio = ($delta - $snapshotSeconds) / ($full - $snapshotSeconds)
    $result = [ordered]@{
        Benchmark                       = "First (full) cycle of a $DiskMiB MiB realistic disk from vcsim: module CPU vs its primitives; datastore rates; a $ChangePercent % delta"
        DiskMiB                         = $DiskMiB
        ChunksRead                      = $cpu.Cycle.Out.ChunksRead
        BytesReadMiB                    = [math]::Round($readMiB, 1)
        ModuleCpuSeconds                = [math]::Round($cpu.Cycle.CpuSeconds, 2)
        PrimitivesCpuSeconds            = [math]::Round($cpu.Primitives.CpuSeconds, 2)
        CpuRatio                        = [math]::Round($cpu.Cycle.CpuSeconds / $cpu.Primitives.CpuSeconds, 3)
        CpuRatioGoal                    = 1.15
        CpuRatioMet                     = $cpu.Cycle.CpuSeconds / $cpu.Primitives.CpuSeconds -le 1.15
        ModuleCpuMsPerMiB               = [math]::Round(1000 * $cpu.Cycle.CpuSeconds / $readMiB, 2)
        PrimitivesCpuMsPerMiB           = [math]::Round(1000 * $cpu.Primitives.CpuSeconds / $readMiB, 2)
        PrimitivesStageSeconds          = [ordered]@{ Read = [math]::Round($cpu.Primitives.Out.ReadSeconds, 2); Sha256 = [math]::Round($cpu.Primitives.Out.HashSeconds, 2); Zstd1 = [math]::Round($cpu.Primitives.Out.CompressSeconds, 2); AesGcm = [math]::Round($cpu.Primitives.Out.SealSeconds, 2) }
        ModuleCpuSecondsFirstInProcess  = [math]::Round($cpu.CycleFirst.CpuSeconds, 2)
        PrimitivesCpuSecondsFirstInProcess = [math]::Round($cpu.PrimitivesFirst.CpuSeconds, 2)
        CpuRatioFirstInProcess          = [math]::Round($cpu.CycleFirst.CpuSeconds / $cpu.PrimitivesFirst.CpuSeconds, 3)
        IdleCpuSecondsPerSecond         = [math]::Round($cpu.IdleCpuPerSecond, 4)
        CpuSecondsAfterStep             = [ordered]@{ Cycle = [math]::Round($cpu.Cycle.CpuSecondsRaw - $cpu.Cycle.CpuSecondsInStep, 2); Primitives = [math]::Round($cpu.Primitives.CpuSecondsRaw - $cpu.Primitives.CpuSecondsInStep, 2); CycleFirst = [math]::Round($cpu.CycleFirst.CpuSecondsRaw - $cpu.CycleFirst.CpuSecondsInStep, 2) }
        CpuSecondsPerPass               = @($cpu.Passes | ForEach-Object { [ordered]@{ Primitives = [math]::Round($_.Primitives.CpuSeconds, 2); Cycle = [math]::Round($_.Cycle.CpuSeconds, 2) } })
        AllStepsSettled                 = -not @('PrimitivesFirst', 'CycleFirst', 'Primitives', 'Cycle', 'Delta', 'NoChange', 'StoreWrites' | Where-Object { -not $cpu.$_.Settled })
        # Where the module's CPU beyond its primitives goes: a cycle's fixed cost (no change: SOAP, snapshot, vault),
        # the object store's writes of the sealed chunks, and the rest (parallel pipeline, copies, hashing of names...).
        ModuleOverCpuSeconds            = [ordered]@{
            Total         = [math]::Round($cpu.Cycle.CpuSeconds - $cpu.Primitives.CpuSeconds, 2)
            NoChangeCycle = [math]::Round($cpu.NoChange.CpuSeconds, 2)
            StoreWrites   = [math]::Round($cpu.StoreWrites.CpuSeconds, 2)
            Rest          = [math]::Round($cpu.Cycle.CpuSeconds - $cpu.Primitives.CpuSeconds - $cpu.NoChange.CpuSeconds - $cpu.StoreWrites.CpuSeconds, 2)
        }
        VcsimCpuSeconds                 = [ordered]@{ Cycle = [math]::Round($cpu.Cycle.VcsimCpuSeconds, 2); Primitives = [math]::Round($cpu.Primitives.VcsimCpuSeconds, 2) }
        CycleSeconds                    = [math]::Round($full, 2)
        PrimitivesSeconds               = [math]::Round($cpu.Primitives.Seconds, 2)
        StoredMiB                       = [math]::Round($cpu.Cycle.Out.BytesStored / 1MB, 1)
        PrimitivesSealedMiB             = [math]::Round($cpu.Primitives.Out.SealedBytes / 1MB, 1)
        KeepsUpAtMiBps                  = $keepsUpAt
        KeepsUpGoal                     = 238
        KeepsUpMet                      = $keepsUpAt -ge 238
        Rates                           = $rates
        DeltaRatio                      = [math]::Round($deltaRatio, 3)
        DeltaRatioGoal                  = 0.05
        DeltaRatioMet                   = $deltaRatio -le 0.05
        DeltaRatioWithSnapshot          = [math]::Round($delta / $full, 3)
        DeltaCycleSeconds               = [math]::Round($delta, 2)
        FullCycleSeconds                = [math]::Round($full, 2)
        LabSnapshotSeconds              = [math]::Round($snapshotSeconds, 2)
        ChangedMiB                      = $changedMiB
        DeltaBytesReadMiB               = [math]::Round($cpu.Delta.Out.BytesRead / 1MB, 1)
        DeltaChunksRead                 = $cpu.Delta.Out.ChunksRead
        DeltaCpuSeconds                 = [math]::Round($cpu.Delta.CpuSeconds, 2)
        NoChangeCycleSeconds            = [math]::Round($cpu.NoChange.Out.Duration, 2)
        NoChangeCycleCpuSeconds         = [math]::Round($cpu.NoChange.CpuSeconds, 2)
        CpuCount                        = [Environment]::ProcessorCount
        LoadAverage                     = (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' '
        Meaning                         = 'CPU seconds (user + sys) of the child pwsh from the start of each step until it is idle again (JIT tier-up after a step counted as the step''s; CpuSecondsAfterStep), less its idle floor; the primitives: plain HttpClient 4 MiB ranged GETs of the chunks the cycle read (non-zero), SHA-256, the module''s zstd-1 codec and AES-256-GCM seal, one thread; the cycle: Sync-VmReplication into a fresh vault; vcsim''s CPU in neither. The last of -Passes runs each is the steady state (CpuRatio), the first pays the JIT (...FirstInProcess). Rates: vcsim -datastore-mibps R, plain read of the same chunks vs the full cycle less the lab''s snapshot cost (CreateSnapshot + RemoveSnapshot alone: our CBT emulation hashes the disk, vSphere does not); kept up when the ratio >= 0.95. DeltaRatio: (delta cycle - lab snapshot cost) / (full cycle - lab snapshot cost), the delta after ChangedMiB MiB of scattered 1 MiB writes; each write makes the cycle read its whole 4 MiB chunk. NoChangeCycleSeconds: a cycle right after the delta with nothing changed (what every cycle costs besides reading).'
    }
    if ($compare) {
        $result.Compare = [ordered]@{
            Environment                    = $CompareEnvironment -join ' '
            ModuleCpuSeconds               = [math]::Round($compare.Cycle.CpuSeconds, 2)
            PrimitivesCpuSeconds           = [math]::Round($compare.Primitives.CpuSeconds, 2)
            CpuRatio                       = [math]::Round($compare.Cycle.CpuSeconds / $compare.Primitives.CpuSeconds, 3)
            ModuleCpuSecondsFirstInProcess = [math]::Round($compare.CycleFirst.CpuSeconds, 2)
            CpuRatioFirstInProcess         = [math]::Round($compare.CycleFirst.CpuSeconds / $compare.PrimitivesFirst.CpuSeconds, 3)
            CpuSecondsPerPass              = @($compare.Passes | ForEach-Object { [ordered]@{ Primitives = [math]::Round($_.Primitives.CpuSeconds, 2); Cycle = [math]::Round($_.Cycle.CpuSeconds, 2) } })
            CycleSeconds                   = [math]::Round($compare.Cycle.Out.Duration, 2)
        }
        Write-Host ("With {0}: CpuRatio {1} ({2} / {3} CPU s), first in process {4}" -f $result.Compare.Environment, $result.Compare.CpuRatio, $result.Compare.ModuleCpuSeconds, $result.Compare.PrimitivesCpuSeconds, $result.Compare.CpuRatioFirstInProcess)
    }
    $result | ConvertTo-Json -Depth 5 | Set-Content (Join-Path $OutFolder 'efficiency.json')
    Write-Host ("CpuRatio {0} (goal <= 1.15; {1} / {2} CPU s) | KeepsUpAtMiBps {3} (goal >= 238) | DeltaRatio {4} (goal <= 0.05; {5} MiB read)" -f
        $result.CpuRatio, $result.ModuleCpuSeconds, $result.PrimitivesCpuSeconds, $keepsUpAt, $result.DeltaRatio, $result.DeltaBytesReadMiB)
}
finally {
    if ($http) { $http.Dispose() }
    if ($lab) { $lab | Stop-TestVcsim }
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}
