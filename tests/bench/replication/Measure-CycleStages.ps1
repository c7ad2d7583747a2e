<#
.SYNOPSIS
    Where the time of a full replication cycle goes: each stage alone, wall time and CPU seconds.
.DESCRIPTION
    The profile behind the 'Replication' section of ../Invoke-Benchmarks.ps1. On one vcsim with the
    realistic disk of ../storage/DiskContent.cs (seed 42), it times:
      - the module's datastore reader alone: 4 MiB ranged GETs of the whole disk (VSphereClient.OpenDiskReadAsync);
      - curl, one ranged GET of the whole disk (the compiled baseline);
      - the chunk store alone, from a local file (ChunkStore.WriteDiskAsync), zstd-1 / no compression / parallelism 2;
      - per-byte costs on one thread over the non-zero 4 MiB chunks: SHA-256, zstd-1 (ChunkPayloadCodec), Seal (AuthenticatedCipher, both formats);
      - vcsim's CreateSnapshot + RemoveSnapshot (our CBT emulation hashes the disk: a lab-only cost);
      - the full cycle (Sync-VmReplication), for comparison.
    CPU seconds are this process's and vcsim's (curl's own CPU is not counted). Reaches into internal
    types by reflection: a diagnostic, not a test. Cleans up its vcsim and temp folder.
.EXAMPLE
    dotnet pwsh -NoProfile -File tests/bench/replication/Measure-CycleStages.ps1 -ModulePath out/AzureSiteRecovery.DR/0.1.0/AzureSiteRecovery.DR.psd1
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [int] $DiskMiB = 2048
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
Import-Module (Resolve-Path $ModulePath).Path
$lab = Join-Path $PSScriptRoot '../../lab/lab.sh'
$work = Join-Path ([IO.Path]::GetTempPath()) "azsr-bench-stages-$([guid]::NewGuid().ToString('n'))"
$stateDir = Join-Path $work 'vcsim'
$capacity = [long]$DiskMiB * 1MB
$none = [Threading.CancellationToken]::None
$core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'AzureSiteRecovery.DR.Core' } | Select-Object -First 1
$anyInstance = [Reflection.BindingFlags]'Instance,Public,NonPublic'

function Get-CpuSeconds([int] $ProcessId) { [Diagnostics.Process]::GetProcessById($ProcessId).TotalProcessorTime.TotalSeconds }
function Measure-Stage([string] $Name, [double] $MiB, [scriptblock] $Action) {
    $cpu = Get-CpuSeconds $PID; $vcsim = Get-CpuSeconds $script:vcsimPid
    $seconds = (Measure-Command $Action).TotalSeconds
    $cpu = (Get-CpuSeconds $PID) - $cpu; $vcsim = (Get-CpuSeconds $script:vcsimPid) - $vcsim
    Write-Host ('{0,-58} {1,6:n2} s {2,7:n1} MiB/s   CPU s: {3,5:n2} here {4,5:n2} vcsim ({5,5:n2} ms/MiB here)   load {6}' -f $Name, $seconds, ($MiB / $seconds), $cpu, $vcsim, (1000 * $cpu / $MiB), (Get-Content /proc/loadavg).Split(' ')[0])
}

try {
    $env:LAB_START_TIMEOUT = 120
    $url = "$(& bash $lab start-vcsim $stateDir -vm 1 -disk-mb $DiskMiB)".Trim()
    if ($LASTEXITCODE -ne 0) { throw "lab.sh start-vcsim failed: $url" }
    $script:vcsimPid = [int](Get-Content (Join-Path $stateDir 'vcsim.pid'))
    $flat = Get-ChildItem (Join-Path $stateDir 'tmp') -Recurse -Filter 'disk1-flat.vmdk' | Where-Object { $_.Directory.Name -eq 'DC0_H0_VM0' } | Select-Object -First 1 -ExpandProperty FullName
    Add-Type -TypeDefinition ((Get-Content -Raw (Join-Path $PSScriptRoot '../storage/DiskContent.cs')) -replace 'internal static class DiskContent', 'public static class DiskContent')
    ([type]'AzureSiteRecovery.DR.Bench.Storage.DiskContent')::Write($flat, $capacity, 42)

    $endpoint = [Activator]::CreateInstance($core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereEndpoint'), @([uri]$url, 'bench@vsphere.local', 'bench-only', $null, $true))
    $client = $core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereClient')::ConnectAsync($endpoint, 'bench', $none).GetAwaiter().GetResult()
    try {
        Measure-Stage 'module reader: 4 MiB ranged GETs, whole disk' $DiskMiB {
            for ($at = 0L; $at -lt $capacity; $at += 4MB) {
                $stream = $client.OpenDiskReadAsync('[LocalDS_0] DC0_H0_VM0/disk1-flat.vmdk', 'DC0', $at, 4MB, $none).GetAwaiter().GetResult()
                $stream.CopyTo([IO.Stream]::Null, 1MB); $stream.Dispose()
            }
        }
        $fileUrl = [uri]::new([uri]$url, '/folder/DC0_H0_VM0/disk1-flat.vmdk?dcPath=DC0&dsName=LocalDS_0')
        Measure-Stage 'curl: one ranged GET, whole disk' $DiskMiB { & curl -k -s -f -r "0-$($capacity - 1)" -o /dev/null "$fileUrl" }

        # The non-zero 4 MiB chunks, in memory: what CBT "*" makes a first cycle read and store.
        $isZero = $core.GetType('AzureSiteRecovery.DR.Core.Storage.ChunkStore').GetMethod('IsAllZero', [Reflection.BindingFlags]'Static,NonPublic')
        $chunks = [Collections.Generic.List[byte[]]]::new()
        $file = [IO.File]::OpenRead($flat)
        for ($at = 0L; $at -lt $capacity; $at += 4MB) { $buffer = [byte[]]::new(4MB); [void]$file.ReadAtLeast($buffer, 4MB, $false); if (-not $isZero.Invoke($null, @($buffer, 4MB))) { $chunks.Add($buffer) } }
        $file.Dispose()
        $nonZeroMiB = $chunks.Count * 4
        Write-Host "non-zero 4 MiB chunks: $($chunks.Count) ($nonZeroMiB MiB); per-byte costs on one thread:"
        Measure-Stage '  SHA-256' $nonZeroMiB { foreach ($chunk in $chunks) { [void][Security.Cryptography.SHA256]::HashData($chunk) } }
        $compression = $core.GetType('AzureSiteRecovery.DR.Core.Storage.ChunkCompression')
        $codecType = $core.GetType('AzureSiteRecovery.DR.Core.Storage.ChunkPayloadCodec')
        $codec = [Activator]::CreateInstance($codecType, $anyInstance, $null, @([Enum]::ToObject($compression, 3), 1), $null)
        $encode = $codecType.GetMethod('Encode', $anyInstance)
        $payloads = [Collections.Generic.List[object]]::new() # ArraySegment<byte>: kept as is (a conversion to byte[] would copy element by element)
        Measure-Stage '  zstd-1 (ChunkPayloadCodec.Encode)' $nonZeroMiB { foreach ($chunk in $chunks) { $payloads.Add($encode.Invoke($codec, @($chunk, 4MB))) } }
        $hashBytes = [ArraySegment[byte]]::new([byte[]]::new(32))
        $sealing = $core.GetType('AzureSiteRecovery.DR.Core.Secrets.SealingFormat')
        foreach ($format in @(@{ Name = 'AES-256-CBC + HMAC-SHA256 (format 1)'; Value = 1 }, @{ Name = 'AES-256-GCM (format 2, default)'; Value = 2 })) {
            $cipher = [Activator]::CreateInstance($core.GetType('AzureSiteRecovery.DR.Core.Secrets.AuthenticatedCipher'), @([byte[]]::new(32), 'chunk', [Enum]::ToObject($sealing, $format.Value)))
            Measure-Stage "  Seal, $($format.Name), of the zstd payloads" $nonZeroMiB { foreach ($payload in $payloads) { [void]$cipher.Seal($payload, $hashBytes) } }
            $cipher.Dispose()
        }
        $payloadBytes = 0L; foreach ($payload in $payloads) { $payloadBytes += $payload.Count }
        Write-Host ('  (zstd payloads: {0:n1} MiB)' -f ($payloadBytes / 1MB))
        $chunks = $null; $payloads = $null; [GC]::Collect()

        $storeType = $core.GetType('AzureSiteRecovery.DR.Core.Replication.ReplicationStore')
        $optionsType = $core.GetType('AzureSiteRecovery.DR.Core.Storage.ChunkStoreOptions')
        foreach ($variant in @(@{ Name = 'zstd-1, parallelism 4 (default)'; Compression = 3; Parallelism = 4 },
                               @{ Name = 'no compression, parallelism 4'; Compression = 0; Parallelism = 4 },
                               @{ Name = 'zstd-1, parallelism 2'; Compression = 3; Parallelism = 2 })) {
            $vault = Join-Path $work "store-$($variant.Compression)-$($variant.Parallelism)/vault.db"
            New-Item -ItemType Directory -Force (Split-Path $vault) | Out-Null
            $options = [Activator]::CreateInstance($optionsType)
            $options.Compression = [Enum]::ToObject($compression, $variant.Compression); $options.MaxParallelism = $variant.Parallelism
            $store = $storeType::OpenLocal($vault, $options)
            try {
                Measure-Stage "chunk store alone (local file), $($variant.Name)" $DiskMiB {
                    $source = [IO.FileStream]::new($flat, 'Open', 'Read', 'Read', 1MB)
                    try { [void]$store.Chunks.WriteDiskAsync('2000', $source, $capacity, $none, $null).GetAwaiter().GetResult() } finally { $source.Dispose() }
                }
            }
            finally { $store.Dispose(); Remove-Item (Split-Path $vault) -Recurse -Force }
        }

        $cred = [pscredential]::new('bench@vsphere.local', (ConvertTo-SecureString 'bench-only' -AsPlainText -Force))
        $vault = Join-Path $work 'cycle/vault.db'
        New-DRSite -Vault $vault -Name onprem -VSphere -Server $url -Credential $cred -Role Protected -SkipCertificateCheck -WarningAction SilentlyContinue | Out-Null
        New-DRSite -Vault $vault -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest -WarningAction SilentlyContinue | Out-Null
        New-ReplicationPolicy -Vault $vault -Name gold -AppConsistentFrequency 0 | Out-Null
        New-ProtectionGroup -Vault $vault -Name bench -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        Get-DRVm -Vault $vault -Site onprem -Name DC0_H0_VM0 | Enable-VmProtection -Vault $vault -ProtectionGroup bench -NoWait | Out-Null
        Measure-Stage 'vcsim CreateSnapshot + RemoveSnapshot (CBT hashing)' $DiskMiB {
            $vmRef = (Get-ProtectedVm -Vault $vault -ProtectionGroup bench).MoRef
            $snapshot = $client.CreateSnapshotAsync($vmRef, 'stages', $null, $false, $false, $none).GetAwaiter().GetResult()
            $client.RemoveSnapshotAsync($snapshot, $none).GetAwaiter().GetResult()
        }
        Measure-Stage 'full cycle (Sync-VmReplication)' $DiskMiB { $script:cycle = Sync-VmReplication -Vault $vault -ProtectionGroup bench -ProgressAction SilentlyContinue }
        Write-Host ('  cycle: mode {0}, {1:n0} MiB read, {2} chunks, {3:n1} MiB stored, Duration {4:n2} s' -f $script:cycle.Mode, ($script:cycle.BytesRead / 1MB), $script:cycle.ChunksStored, ($script:cycle.BytesStored / 1MB), $script:cycle.Duration.TotalSeconds)
    }
    finally { $client.Dispose() }
}
finally {
    & bash $lab stop $stateDir | Out-Null
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}
