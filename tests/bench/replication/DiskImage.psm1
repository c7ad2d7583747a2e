# The replication benchmarks' disk content: the realistic image of the storage benchmarks
# (../storage/DiskContent.cs: 40 % zeros, 35 % text-like, 25 % random, 4 KiB-aligned runs; seed 42),
# written into a vcsim flat file, from a cached copy when there is one.

# Writes the image of $Size bytes to $Path, copied sparse from $CacheFolder/disk-<MiB>.img (the storage benchmark's
# file too), which is generated first when missing or older than DiskContent.cs.
function Write-DiskImage {
    param([Parameter(Mandatory)][string] $Path, [Parameter(Mandatory)][long] $Size, [Parameter(Mandatory)][string] $CacheFolder)
    $source = Join-Path $PSScriptRoot '../storage/DiskContent.cs'
    $cached = Join-Path $CacheFolder "disk-$($Size / 1MB).img"
    if (-not ((Test-Path $cached) -and (Get-Item $cached).Length -eq $Size -and (Get-Item $cached).LastWriteTimeUtc -gt (Get-Item $source).LastWriteTimeUtc)) {
        if (-not ('AzureSiteRecovery.DR.Bench.Storage.DiskContent' -as [type])) {
            Add-Type -TypeDefinition ((Get-Content -Raw $source) -replace 'internal static class DiskContent', 'public static class DiskContent')
        }
        New-Item -ItemType Directory -Force -Path $CacheFolder | Out-Null
        ([type]'AzureSiteRecovery.DR.Bench.Storage.DiskContent')::Write("$cached.tmp", $Size, 42)
        Move-Item -Force "$cached.tmp" $cached
    }
    & cp --sparse=always $cached $Path
    if ($LASTEXITCODE -ne 0) { throw "cp $cached $Path failed ($LASTEXITCODE)" }
}

# Bytes a sparse file really holds (the disk's non-zero runs).
function Get-AllocatedBytes([string] $Path) { $blocks, $size = "$(& stat -c '%b %B' $Path)".Split(' '); [long]$blocks * [long]$size }

Export-ModuleMember -Function Write-DiskImage, Get-AllocatedBytes
