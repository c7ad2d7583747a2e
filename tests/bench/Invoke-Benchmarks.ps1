<#
.SYNOPSIS
    Benchmarks of the module, each side by side with its baseline in the same run, reported as ratios.
.DESCRIPTION
    ImportModule     pwsh -c 'Import-Module AzureSiteRecovery.DR'  vs  pwsh -c exit
    GetGroups10k     Get-ProtectionGroup over 10,000 groups         vs  a plain SQLite query of the same rows
                     (scripted in PowerShell, and compiled: the sqlite3 shell)
    GetDRVm10k       Get-DRVm over a vcsim of 10,000 VMs             vs  one call per VM over the same client
    Replication      first (full) cycle of a 2 GiB realistic disk    vs  a plain ranged GET of its flat file from the same vcsim
                     a cycle after 1 % of the disk changed           vs  the full cycle (time, bytes read, bytes stored)
                     store size of ten cloned VMs                    vs  the store size of one of them
    Recovery         a 100-VM test failover in three groups          vs  its critical path (each group's slowest VM)
                     (recovery/Measure-RecoveryPlan.ps1)                 and the same VMs recovered one after another
                     each VM's guest up seen - power on - boot (p95) vs  the same with AZSR_VSPHERE_WAIT=Polling (-CompareGuestWait)
    AzureRecovery    a 20-VM test failover to Azure (the lab)         vs  its critical path, as Recovery computes it
                     a cycle's bytes sent to the Azure replica       vs  the bytes of the chunks that changed
                     (recovery/Measure-RecoveryPlan.ps1 -RecoverySite Azure; out/bench/azure-recovery.json)
    Workers          4 replication workers on one vault, 40 VMs with guest writes, 10 minutes, one worker SIGKILLed at minute 4:
                     overlapping cycles, longest time without a point after the kill, idle-while-due time, cycles per
                     minute against 1 worker (workers/Measure-Workers.ps1; out/bench/workers.json; about 16 minutes)
    Rpo              20 VMs whose guests write 1 % of their disk a minute, one Sync-VmReplication -Continuous for 10 minutes:
                     the RPO users see (age of the oldest write not in a committed point) against the 30 s threshold
                     (rpo/Measure-Rpo.ps1; out/bench/rpo.json)
    Efficiency       the module's CPU seconds for a first cycle of a 2 GiB disk vs its primitives on the same chunks alone;
                     the highest datastore rate a full sync keeps up with; a delta cycle vs the full cycle
                     (replication/Measure-Efficiency.ps1; out/bench/efficiency.json)
    Faults           20 cycles of a 128 MiB disk through drfaultproxy cutting 0 %, 5 %, 10 % and 30 % of the connections:
                     SuccessRate per rate (goal 1.0) and the cycles' time against the fault-free run
                     (faults/Measure-Faults.ps1; out/bench/faults.json)
    Results go to the console and to out/bench/<name>.json. Timings are medians of several runs.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [int] $Runs = 7,
    [int] $GroupCount = 10000,
    [int] $VmCount = 10000,
    # Replication: disk of the full/delta sync, runs of it (median), the share changed for the delta, the clones' disk and count.
    [int] $ReplicationDiskMiB = 2048,
    [int] $ReplicationRuns = 3,
    [double] $ReplicationChangePercent = 1,
    [int] $CloneDiskMiB = 256,
    [int] $CloneCount = 10,
    # Names of the benchmarks to run; 'a,b' (one string, as bash passes a list) is split at the commas.
    [string[]] $Only = @(),
    # Print the benchmarks that would run, one per line, and run none.
    [switch] $ListOnly
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$known = @('ImportModule', 'GetGroups10k', 'GetDRVm10k', 'Replication', 'Recovery', 'AzureRecovery', 'Workers', 'Rpo', 'Efficiency', 'Faults')
$Only = @($Only | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim() } | Where-Object { $_ })
if (-not $Only) { $Only = $known }
$unknown = @($Only | Where-Object { $_ -notin $known })
if ($unknown) {
    throw "Unknown benchmark(s): $(($unknown | ForEach-Object { "'$_'" }) -join ', '). Known: $($known -join ', ')."
}
if ($ListOnly) { $Only; return }
$PSStyle.OutputRendering = 'PlainText'
$outFolder = Join-Path $PSScriptRoot '../../out/bench'
New-Item -ItemType Directory -Force -Path $outFolder | Out-Null

# Measure-Command runs the block in this scope: the blocks must not assign $Count or $times.
function Measure-Median([scriptblock] $Action, [int] $Count = $Runs) {
    $times = @(1..$Count | ForEach-Object { (Measure-Command $Action).TotalMilliseconds } | Sort-Object)
    $times[[int][math]::Floor($Count / 2)]
}

function Write-Result([string] $Name, [Collections.IDictionary] $Result) {
    $Result | ConvertTo-Json | Set-Content (Join-Path $outFolder "$Name.json")
    [pscustomobject]$Result | Format-List | Out-String | Write-Host
}

# A child pwsh like this one, as build.ps1 starts it ('dotnet pwsh.dll' for the local tool).
if (-not $env:AZSR_DR_PWSH) { throw 'AZSR_DR_PWSH is not set: run the benchmarks through build.ps1 -Task Bench.' }
$pwsh = @(ConvertFrom-Json $env:AZSR_DR_PWSH)
$pwshArgs = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command')

if ('ImportModule' -in $Only) {
Write-Host "== Import-Module ($Runs runs each, median)" -ForegroundColor Cyan
$bare = Measure-Median { & $pwsh[0] @pwshArgs 'exit' }
$import = Measure-Median { & $pwsh[0] @pwshArgs "Import-Module '$ModulePath'; exit" }
Write-Result 'import-module' @{
    Benchmark         = 'Import-Module'
    BaselineMs        = [math]::Round($bare, 1)
    WithImportMs      = [math]::Round($import, 1)
    ImportOnlyMs      = [math]::Round($import - $bare, 1)
    Ratio             = [math]::Round($import / $bare, 2)
    Meaning           = 'pwsh start + Import-Module over a bare pwsh start'
}
}

Import-Module $ModulePath

if ('GetGroups10k' -in $Only) {
Write-Host "== Get-ProtectionGroup over $GroupCount groups" -ForegroundColor Cyan
$vault = Join-Path ([IO.Path]::GetTempPath()) "azsr-bench-$([guid]::NewGuid().ToString('n'))/vault.db"
try {
    $cred = [pscredential]::new('bench@vsphere.local', (ConvertTo-SecureString 'bench-only' -AsPlainText -Force))
    New-DRSite -Vault $vault -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest -WarningAction SilentlyContinue | Out-Null
    New-DRSite -Vault $vault -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest -WarningAction SilentlyContinue | Out-Null
    New-ReplicationPolicy -Vault $vault -Name gold | Out-Null
    $create = Measure-Command {
        foreach ($i in 1..$GroupCount) { New-ProtectionGroup -Vault $vault -Name "group-$i" -ProtectedSite onprem -RecoverySite dr -Policy gold -Description "benchmark group $i" | Out-Null }
    }

    # The baseline: the same rows through the same SQLite library, read into plain arrays.
    $sqlite = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Microsoft.Data.Sqlite' } | Select-Object -First 1
    $connectionType = $sqlite.GetType('Microsoft.Data.Sqlite.SqliteConnection')
    $plain = Measure-Median {
        $connection = [Activator]::CreateInstance($connectionType, @("Data Source=$vault;Mode=ReadOnly"))
        $connection.Open()
        $command = $connection.CreateCommand()
        $command.CommandText = 'SELECT g.*, (SELECT COUNT(*) FROM protected_vms v WHERE v.group_name = g.name) FROM protection_groups g'
        $reader = $command.ExecuteReader()
        $rows = [System.Collections.Generic.List[object[]]]::new()
        while ($reader.Read()) { $values = [object[]]::new($reader.FieldCount); [void]$reader.GetValues($values); $rows.Add($values) }
        $reader.Dispose(); $connection.Dispose()
        if ($rows.Count -ne $GroupCount) { throw "baseline read $($rows.Count) rows" }
    }
    # The same query in compiled code: the sqlite3 shell, less its own start-up (a query of nothing).
    if (-not (Get-Command sqlite3 -ErrorAction SilentlyContinue)) {
        Write-Host 'Installing sqlite3 (the compiled baseline) from Debian'
        & apt-get install -y -qq sqlite3 *> $null
    }
    $query = 'SELECT g.*, (SELECT COUNT(*) FROM protected_vms v WHERE v.group_name = g.name) FROM protection_groups g;'
    $shellQuery = Measure-Median { & sqlite3 -readonly $vault $query > $null }
    $shellStart = Measure-Median { & sqlite3 -readonly $vault 'SELECT 1;' > $null }
    $compiled = [math]::Max($shellQuery - $shellStart, 0.1)

    $cmdlet = Measure-Median {
        $listed = (Get-ProtectionGroup -Vault $vault | Measure-Object).Count
        if ($listed -ne $GroupCount) { throw "Get-ProtectionGroup returned $listed groups" }
    }
    $one = Measure-Median { Get-ProtectionGroup -Vault $vault -Name "group-$([int]($GroupCount / 2))" | Out-Null }
    Write-Result 'get-protectiongroup-10k' @{
        Benchmark            = "Get-ProtectionGroup, $GroupCount groups"
        ScriptedQueryMs      = [math]::Round($plain, 1)
        CompiledQueryMs      = [math]::Round($compiled, 1)
        CmdletMs             = [math]::Round($cmdlet, 1)
        RatioToScriptedQuery = [math]::Round($cmdlet / $plain, 2)
        RatioToCompiledQuery = [math]::Round($cmdlet / $compiled, 2)
        GroupsPerSecond      = [math]::Round($GroupCount / ($cmdlet / 1000))
        OneGroupByNameMs     = [math]::Round($one, 1)
        NewProtectionGroupMs = [math]::Round($create.TotalMilliseconds / $GroupCount, 2)
        Meaning              = 'Get-ProtectionGroup | Measure-Object over a plain SELECT of the same rows: scripted in PowerShell via Microsoft.Data.Sqlite, and in the sqlite3 shell less its start-up'
    }
}
finally {
    Remove-Item (Split-Path $vault) -Recurse -Force -ErrorAction SilentlyContinue
}
}

if ('GetDRVm10k' -in $Only) {
Write-Host "== Get-DRVm over a vcsim of $VmCount VMs" -ForegroundColor Cyan
$lab = Join-Path $PSScriptRoot '../lab/lab.sh'
$stateDir = Join-Path ([IO.Path]::GetTempPath()) "azsr-bench-vcsim-$([guid]::NewGuid().ToString('n'))"
$vault = Join-Path $stateDir 'vault.db'
try {
    # The default model has two resource pools (a cluster and a standalone host): half the VMs in each.
    $env:LAB_START_TIMEOUT = 900
    $build = Measure-Command { $url = & bash $lab start-vcsim $stateDir -vm ([int][math]::Ceiling($VmCount / 2)) }
    Write-Host "vcsim built its $VmCount-VM inventory in $([int]$build.TotalSeconds) s"
    if ($LASTEXITCODE -ne 0) { throw "lab.sh start-vcsim failed: $url" }
    $cred = [pscredential]::new('bench@vsphere.local', (ConvertTo-SecureString 'bench-only' -AsPlainText -Force))
    New-DRSite -Vault $vault -Name bench -VSphere -Server "$url".Trim() -Credential $cred -Role Protected -SkipCertificateCheck -WarningAction SilentlyContinue | Out-Null

    [GC]::Collect()
    $allocatedBefore = [GC]::GetTotalAllocatedBytes($true)
    $cmdlet = Measure-Median -Count 3 {
        $listed = (Get-DRVm -Vault $vault -Site bench | Measure-Object).Count
        if ($listed -lt $VmCount) { throw "Get-DRVm returned $listed VMs" }
    }
    $allocatedPerRun = ([GC]::GetTotalAllocatedBytes($true) - $allocatedBefore) / 3
    $peakWorkingSet = (Get-Process -Id $PID).PeakWorkingSet64

    # The baseline: the same client, the VM references in one call, then one call per VM.
    # The service library lives in the module's own load context, out of reach of PowerShell's type names.
    $core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'AzureSiteRecovery.DR.Core' } | Select-Object -First 1
    $endpoint = [Activator]::CreateInstance($core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereEndpoint'),
        @([uri]"$url".Trim(), 'bench@vsphere.local', 'bench-only', $null, $true))
    $none = [Threading.CancellationToken]::None
    $client = $core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereClient')::ConnectAsync($endpoint, 'bench', $none).GetAwaiter().GetResult()
    try {
        $perVm = Measure-Median -Count 1 {
            $refs = $client.ListVmMoRefsAsync($none).GetAwaiter().GetResult()
            foreach ($ref in $refs) { [void]$client.GetVmAsync($ref, $none).GetAwaiter().GetResult() }
            if ($refs.Count -lt $VmCount) { throw "baseline saw $($refs.Count) VMs" }
        }
    }
    finally { $client.Dispose() }

    Write-Result 'get-drvm-10k' @{
        Benchmark              = "Get-DRVm, $VmCount VMs on vcsim"
        OneCallPerVmMs         = [math]::Round($perVm, 0)
        CmdletMs               = [math]::Round($cmdlet, 0)
        SpeedupOverOneCallPerVm = [math]::Round($perVm / $cmdlet, 1)
        VmsPerSecond           = [math]::Round($VmCount / ($cmdlet / 1000))
        AllocatedMBPerRun      = [math]::Round($allocatedPerRun / 1MB, 0)
        PeakWorkingSetMB       = [math]::Round($peakWorkingSet / 1MB, 0)
        Meaning                = 'Get-DRVm (one paged PropertyCollector query) against RetrievePropertiesEx per VM over the same client'
    }
}
finally {
    & bash $lab stop $stateDir | Out-Null
    Remove-Item $stateDir -Recurse -Force -ErrorAction SilentlyContinue
}
}

if ('Replication' -in $Only) {
Write-Host "== Replication on vcsim: full cycle of a $ReplicationDiskMiB MiB disk ($ReplicationRuns runs, median), a $ReplicationChangePercent % delta, $CloneCount clones of $CloneDiskMiB MiB" -ForegroundColor Cyan
$lab = Join-Path $PSScriptRoot '../lab/lab.sh'
$work = Join-Path ([IO.Path]::GetTempPath()) "azsr-bench-replication-$([guid]::NewGuid().ToString('n'))"
$stateDir = Join-Path $work 'vcsim'
$cloneStateDir = Join-Path $work 'vcsim-clones'
$reader = $null
try {
    $cred = [pscredential]::new('bench@vsphere.local', (ConvertTo-SecureString 'bench-only' -AsPlainText -Force))
    function Get-Median([double[]] $Values) { $sorted = @($Values | Sort-Object); $sorted[[int][math]::Floor($sorted.Length / 2)] }
    function Get-FlatFile([string] $StateDir, [string] $Vm) {
        Get-ChildItem (Join-Path $StateDir 'tmp') -Recurse -Filter 'disk1-flat.vmdk' | Where-Object { $_.Directory.Name -eq $Vm } | Select-Object -First 1 -ExpandProperty FullName
    }
    function Get-FolderBytes([string] $Path) {
        [long](Get-ChildItem $Path -Recurse -File -ErrorAction SilentlyContinue | Measure-Object Length -Sum).Sum
    }
    # A guest's writes: random bytes of its own, straight into the flat file.
    function Write-DiskBytes([string] $Path, [long] $Offset, [int] $Length, [int] $Seed) {
        $bytes = [byte[]]::new($Length)
        [Random]::new($Seed).NextBytes($bytes)
        $stream = [IO.File]::Open($Path, 'Open', 'Write')
        try { [void]$stream.Seek($Offset, 'Begin'); $stream.Write($bytes, 0, $Length) } finally { $stream.Dispose() }
    }
    # The realistic disk content of the storage benchmarks (seed 42), shared with replication/Measure-Efficiency.ps1.
    Import-Module (Join-Path $PSScriptRoot 'replication/DiskImage.psm1') -Force
    $imageCache = Join-Path $outFolder 'storage'
    function Get-CpuSeconds([int] $ProcessId) { [Diagnostics.Process]::GetProcessById($ProcessId).TotalProcessorTime.TotalSeconds }

    # ---- 1. Full cycle vs a plain ranged GET of the same flat file ----
    $env:LAB_START_TIMEOUT = 120
    $url = "$(& bash $lab start-vcsim $stateDir -vm 1 -disk-mb $ReplicationDiskMiB)".Trim()
    if ($LASTEXITCODE -ne 0) { throw "lab.sh start-vcsim failed: $url" }
    $vcsimPid = [int](Get-Content (Join-Path $stateDir 'vcsim.pid'))
    $vmName = 'DC0_H0_VM0'
    $capacity = [long]$ReplicationDiskMiB * 1MB
    $flat = Get-FlatFile $stateDir $vmName
    $generate = Measure-Command { Write-DiskImage $flat $capacity $imageCache }
    $allocated = Get-AllocatedBytes $flat
    Write-Host ("disk content: {0} MiB, {1} MiB non-zero, written in {2:n1} s" -f $ReplicationDiskMiB, [math]::Round($allocated / 1MB), $generate.TotalSeconds)

    Import-Module (Join-Path $PSScriptRoot 'replication/PlainRead.psm1') -Force
    $reader = New-PlainReader -SdkUrl $url -VmName $vmName
    function Read-Range([long] $From, [long] $To) { Read-PlainRange $reader $From $To }

    $plainMs = @(); $plainPwshCpu = @(); $plainVcsimCpu = @(); $curlMs = @(); $chunkedMs = @(); $fullMs = @(); $fullWallMs = @(); $pwshCpu = @(); $vcsimCpu = @()
    $full = $null; $vault = $null
    # Interleaved, so the load of the shared machine falls on both sides alike.
    foreach ($run in 1..$ReplicationRuns) {
        $cpuBefore = Get-CpuSeconds $PID; $vcsimBefore = Get-CpuSeconds $vcsimPid
        $plainMs += (Measure-Command { Read-Range 0 ($capacity - 1) }).TotalMilliseconds
        $plainPwshCpu += (Get-CpuSeconds $PID) - $cpuBefore; $plainVcsimCpu += (Get-CpuSeconds $vcsimPid) - $vcsimBefore
        $curlMs += (Measure-Command { & curl -k -s -f -r "0-$($capacity - 1)" -o /dev/null "$($reader.Url)"; if ($LASTEXITCODE -ne 0) { throw "curl failed ($LASTEXITCODE)" } }).TotalMilliseconds
        # The module's access pattern without its work: one 4 MiB ranged GET after the other.
        $chunkedMs += (Measure-Command { for ($at = 0L; $at -lt $capacity; $at += 4MB) { Read-Range $at ([math]::Min($at + 4MB, $capacity) - 1) } }).TotalMilliseconds

        # A fresh vault (and so a fresh store and key) per run: every run is a first, full copy.
        if ($vault) { Remove-Item (Split-Path $vault) -Recurse -Force -ErrorAction SilentlyContinue }
        $vault = Join-Path $work "run-$run/vault.db"
        New-DRSite -Vault $vault -Name onprem -VSphere -Server $url -Credential $cred -Role Protected -SkipCertificateCheck -WarningAction SilentlyContinue | Out-Null
        New-DRSite -Vault $vault -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest -WarningAction SilentlyContinue | Out-Null
        New-ReplicationPolicy -Vault $vault -Name gold -AppConsistentFrequency 0 | Out-Null
        New-ProtectionGroup -Vault $vault -Name bench -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        Get-DRVm -Vault $vault -Site onprem -Name $vmName | Enable-VmProtection -Vault $vault -ProtectionGroup bench -NoWait | Out-Null
        $cpuBefore = Get-CpuSeconds $PID; $vcsimBefore = Get-CpuSeconds $vcsimPid
        $fullWallMs += (Measure-Command { $full = Sync-VmReplication -Vault $vault -ProtectionGroup bench -ProgressAction SilentlyContinue }).TotalMilliseconds
        $pwshCpu += (Get-CpuSeconds $PID) - $cpuBefore; $vcsimCpu += (Get-CpuSeconds $vcsimPid) - $vcsimBefore
        if ($full.Mode -ne 'Full') { throw "the first cycle ran in mode $($full.Mode)" }
        $fullMs += $full.Duration.TotalMilliseconds
        Write-Host ("run {0}: plain GET {1:n2} s, curl {2:n2} s, 4 MiB GETs {3:n2} s, full cycle {4:n2} s" -f $run, ($plainMs[-1] / 1000), ($curlMs[-1] / 1000), ($chunkedMs[-1] / 1000), ($fullMs[-1] / 1000))
    }
    $store = [IO.Path]::ChangeExtension($vault, '.store')
    $fullStoreBytes = Get-FolderBytes $store

    # What vcsim itself spends per cycle: CreateSnapshot hashes every written 64 KiB block (our CBT), then the removal.
    $core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'AzureSiteRecovery.DR.Core' } | Select-Object -First 1
    $endpoint = [Activator]::CreateInstance($core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereEndpoint'), @([uri]$url, 'bench@vsphere.local', 'bench-only', $null, $true))
    $none = [Threading.CancellationToken]::None
    $client = $core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereClient')::ConnectAsync($endpoint, 'bench', $none).GetAwaiter().GetResult()
    try {
        $snapshotMs = Get-Median @(1..$ReplicationRuns | ForEach-Object {
            (Measure-Command {
                $snapshot = $client.CreateSnapshotAsync($full.Vm.MoRef, "bench-$_", $null, $false, $false, $none).GetAwaiter().GetResult()
                $client.RemoveSnapshotAsync($snapshot, $none).GetAwaiter().GetResult()
            }).TotalMilliseconds })
    }
    finally { $client.Dispose() }

    $plain = Get-Median $plainMs; $curl = Get-Median $curlMs; $chunked = Get-Median $chunkedMs; $cycle = Get-Median $fullMs
    $mibPerSecond = { param($ms) [math]::Round($ReplicationDiskMiB / ($ms / 1000), 1) }
    $result = [ordered]@{
        Benchmark                   = "First (full) cycle of a $ReplicationDiskMiB MiB disk from vcsim into the local store"
        DiskMiB                     = $ReplicationDiskMiB
        NonZeroMiB                  = [math]::Round($allocated / 1MB, 1)
        PlainGetMs                  = [math]::Round($plain, 0)
        PlainGetMiBps               = & $mibPerSecond $plain
        CurlGetMs                   = [math]::Round($curl, 0)
        CurlGetMiBps                = & $mibPerSecond $curl
        Chunked4MiBGetMs            = [math]::Round($chunked, 0)
        Chunked4MiBGetMiBps         = & $mibPerSecond $chunked
        FullCycleMs                 = [math]::Round($cycle, 0)
        FullCycleMiBps              = & $mibPerSecond $cycle
        FullCycleCmdletMs           = [math]::Round((Get-Median $fullWallMs), 0)
        FullCycleRuns               = ($fullMs | ForEach-Object { [math]::Round($_ / 1000, 2) }) -join ' / '
        RatioToPlainGet             = [math]::Round($plain / $cycle, 3)
        RatioToCurl                 = [math]::Round($curl / $cycle, 3)
        RatioToChunkedGets          = [math]::Round($chunked / $cycle, 3)
        Goal                        = 'RatioToPlainGet >= 0.8'
        BytesReadMiB                = [math]::Round($full.BytesRead / 1MB, 1)
        ChunksStored                = $full.ChunksStored
        StoredMiB                   = [math]::Round($full.BytesStored / 1MB, 1)
        StoreFolderMiB              = [math]::Round($fullStoreBytes / 1MB, 1)
        # CPU seconds are steadier than wall times on a loaded machine: the work each side costs.
        PlainGetCpuSeconds          = "$([math]::Round((Get-Median $plainPwshCpu), 2)) client + $([math]::Round((Get-Median $plainVcsimCpu), 2)) vcsim"
        FullCycleCpuSeconds         = "$([math]::Round((Get-Median $pwshCpu), 2)) module + $([math]::Round((Get-Median $vcsimCpu), 2)) vcsim"
        CpuRatio                    = [math]::Round(((Get-Median $plainPwshCpu) + (Get-Median $plainVcsimCpu)) / ((Get-Median $pwshCpu) + (Get-Median $vcsimCpu)), 3)
        # vcsim's CreateSnapshot hashes the disk for our CBT emulation (vSphere does not): the cycle without it, estimated.
        VcsimSnapshotMs             = [math]::Round($snapshotMs, 0)
        RatioToPlainGetLessSnapshot = [math]::Round($plain / ($cycle - $snapshotMs), 3)
        LoadAverage                 = (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' '
        Meaning                     = 'CycleResult.Duration of the first Sync-VmReplication (snapshot, CBT "*", read + chunk + hash + zstd + seal + fsync, commit) against one ranged GET of the whole flat file into Stream.Null (HttpClient; curl; 4 MiB GETs one after the other), same vcsim, same https URL; MiB/s of disk capacity; ratios = baseline time / cycle time; CpuRatio = CPU seconds of the plain GET / of the cycle (both processes)'
    }
    Write-Result 'replication-full-sync' $result

    # ---- 2. A cycle after ~1 % of the disk changed, in scattered 1 MiB writes ----
    $changedMiB = [int][math]::Max(1, [math]::Round($ReplicationDiskMiB * $ReplicationChangePercent / 100))
    $random = [Random]::new(7)
    $offsets = [Collections.Generic.HashSet[long]]::new()
    while ($offsets.Count -lt $changedMiB) { [void]$offsets.Add([long]$random.Next(0, $ReplicationDiskMiB) * 1MB) }
    $seed = 100
    foreach ($offset in $offsets) { Write-DiskBytes $flat $offset 1MB ($seed++) }
    $deltaWallMs = (Measure-Command { $delta = Sync-VmReplication -Vault $vault -ProtectionGroup bench -ProgressAction SilentlyContinue }).TotalMilliseconds
    if ($delta.Mode -ne 'ChangedBlockTracking') { throw "the delta cycle ran in mode $($delta.Mode)" }
    $result = [ordered]@{
        Benchmark             = "Cycle after $changedMiB MiB ($ReplicationChangePercent %) of the $ReplicationDiskMiB MiB disk changed in 1 MiB writes"
        Mode                  = $delta.Mode
        DeltaCycleMs          = [math]::Round($delta.Duration.TotalMilliseconds, 0)
        DeltaCycleCmdletMs    = [math]::Round($deltaWallMs, 0)
        FullCycleMs           = [math]::Round($full.Duration.TotalMilliseconds, 0)
        TimeRatioToFull       = [math]::Round($delta.Duration.TotalMilliseconds / $full.Duration.TotalMilliseconds, 3)
        ChangedMiB            = $changedMiB
        BytesReadMiB          = [math]::Round($delta.BytesRead / 1MB, 1)
        FullBytesReadMiB      = [math]::Round($full.BytesRead / 1MB, 1)
        ReadRatioToFull       = [math]::Round($delta.BytesRead / $full.BytesRead, 4)
        ChunksStored          = $delta.ChunksStored
        BytesStoredMiB        = [math]::Round($delta.BytesStored / 1MB, 2)
        FullBytesStoredMiB    = [math]::Round($full.BytesStored / 1MB, 1)
        StoredRatioToFull     = [math]::Round($delta.BytesStored / $full.BytesStored, 4)
        VcsimSnapshotMs       = [math]::Round($snapshotMs, 0)
        TimeRatioLessSnapshot = [math]::Round(($delta.Duration.TotalMilliseconds - $snapshotMs) / ($full.Duration.TotalMilliseconds - $snapshotMs), 3)
        Meaning               = 'CycleResult of the CBT cycle after the writes against the full cycle of the same vault (its last run); reads are whole 4 MiB chunks around each changed extent'
    }
    Write-Result 'replication-delta' $result
    & bash $lab stop $stateDir | Out-Null
    Remove-Item (Split-Path $vault) -Recurse -Force -ErrorAction SilentlyContinue

    # ---- 3. Ten clones of one VM: store size against one VM ----
    $url = "$(& bash $lab start-vcsim $cloneStateDir -vm ([int][math]::Ceiling($CloneCount / 2)) -disk-mb $CloneDiskMiB)".Trim()
    if ($LASTEXITCODE -ne 0) { throw "lab.sh start-vcsim failed: $url" }
    $vault = Join-Path $work 'clones/vault.db'
    New-DRSite -Vault $vault -Name onprem -VSphere -Server $url -Credential $cred -Role Protected -SkipCertificateCheck -WarningAction SilentlyContinue | Out-Null
    New-DRSite -Vault $vault -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest -WarningAction SilentlyContinue | Out-Null
    New-ReplicationPolicy -Vault $vault -Name gold -AppConsistentFrequency 0 | Out-Null
    New-ProtectionGroup -Vault $vault -Name clones -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
    $vms = @(Get-DRVm -Vault $vault -Site onprem | Sort-Object Name | Select-Object -First $CloneCount)
    if ($vms.Count -lt $CloneCount) { throw "vcsim has $($vms.Count) VMs, not $CloneCount" }
    $cloneCapacity = [long]$CloneDiskMiB * 1MB
    $first = Get-FlatFile $cloneStateDir $vms[0].Name
    Write-DiskImage $first $cloneCapacity $imageCache
    foreach ($vm in $vms | Select-Object -Skip 1) {
        & cp --sparse=always $first (Get-FlatFile $cloneStateDir $vm.Name)
        if ($LASTEXITCODE -ne 0) { throw "cp to $($vm.Name) failed" }
    }
    # Each clone's own bytes: 16 writes of 64 KiB (hostname, logs, machine ids), as in the storage benchmark.
    for ($i = 0; $i -lt $vms.Count; $i++) {
        $random = [Random]::new(1000 + $i)
        foreach ($w in 1..16) { Write-DiskBytes (Get-FlatFile $cloneStateDir $vms[$i].Name) ([long]$random.Next(0, $CloneDiskMiB * 256 - 16) * 4KB) 64KB ($i * 100 + $w) }
    }
    $store = [IO.Path]::ChangeExtension($vault, '.store')
    $oneMs = (Measure-Command { $vms[0] | Enable-VmProtection -Vault $vault -ProtectionGroup clones -ProgressAction SilentlyContinue | Out-Null }).TotalMilliseconds
    $oneVm = Get-FolderBytes $store
    $vms | Select-Object -Skip 1 | Enable-VmProtection -Vault $vault -ProtectionGroup clones -NoWait | Out-Null
    $restMs = (Measure-Command {
        $cycles = @(Get-ProtectedVm -Vault $vault -ProtectionGroup clones | Where-Object Name -ne $vms[0].Name | Sync-VmReplication -Vault $vault -ProgressAction SilentlyContinue)
    }).TotalMilliseconds
    if ($cycles.Count -ne $CloneCount - 1) { throw "$($cycles.Count) clone cycles" }
    $allVms = Get-FolderBytes $store
    $result = [ordered]@{
        Benchmark          = "$CloneCount clones of one $CloneDiskMiB MiB VM, each with 16 writes of 64 KiB of its own"
        OneVmStoreMiB      = [math]::Round($oneVm / 1MB, 1)
        AllVmsStoreMiB     = [math]::Round($allVms / 1MB, 1)
        Ratio              = [math]::Round($allVms / $oneVm, 2)
        RawDisksMiB        = [math]::Round($CloneCount * $CloneDiskMiB, 0)
        NonZeroPerDiskMiB  = [math]::Round((Get-AllocatedBytes $first) / 1MB, 1)
        ChunksStoredByRest = ($cycles | Measure-Object ChunksStored -Sum).Sum
        FirstVmMs          = [math]::Round($oneMs, 0)
        OtherVmsMs         = [math]::Round($restMs, 0)
        Meaning            = "sum of the file sizes under the .store folder after protecting all $CloneCount VMs, over that after protecting the first one"
    }
    Write-Result 'replication-clones' $result
}
finally {
    if ($reader) { $reader.Http.Dispose() }
    & bash $lab stop $stateDir | Out-Null
    & bash $lab stop $cloneStateDir | Out-Null
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}
}

if ('Recovery' -in $Only) {
    # Its own script (it also runs alone); writes out/bench/recovery.json.
    & (Join-Path $PSScriptRoot 'recovery/Measure-RecoveryPlan.ps1') -ModulePath $ModulePath -OutFolder $outFolder -CompareGuestWait
}

if ('AzureRecovery' -in $Only) {
    # The same script with Azure (the lab) as the recovery site; writes out/bench/azure-recovery.json.
    & (Join-Path $PSScriptRoot 'recovery/Measure-RecoveryPlan.ps1') -ModulePath $ModulePath -OutFolder $outFolder -RecoverySite Azure -GroupSizes 4, 8, 8 -DiskMiB 16
}

if ('Workers' -in $Only) {
    # Its own script (it also runs alone, with shorter runs for a try); writes out/bench/workers.json.
    & (Join-Path $PSScriptRoot 'workers/Measure-Workers.ps1') -ModulePath $ModulePath -OutFolder $outFolder
}

if ('Rpo' -in $Only) {
    # Its own script (it also runs alone, with shorter runs for a try); writes out/bench/rpo.json.
    & (Join-Path $PSScriptRoot 'rpo/Measure-Rpo.ps1') -ModulePath $ModulePath -OutFolder $outFolder
}

if ('Faults' -in $Only) {
    # Its own script (it also runs alone, with fewer cycles for a try); writes out/bench/faults.json.
    & (Join-Path $PSScriptRoot 'faults/Measure-Faults.ps1') -ModulePath $ModulePath -OutFolder $outFolder
}

if ('Efficiency' -in $Only) {
    # Its own script (it also runs alone, on a smaller disk for a try); writes out/bench/efficiency.json.
    & (Join-Path $PSScriptRoot 'replication/Measure-Efficiency.ps1') -ModulePath $ModulePath -OutFolder $outFolder
}
