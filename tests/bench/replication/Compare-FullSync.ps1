<#
.SYNOPSIS
    Two builds of the module side by side: the first (full) cycle of one realistic disk, each against the same plain ranged GET.
.DESCRIPTION
    The 'Replication' full-sync benchmark of ../Invoke-Benchmarks.ps1 for deciding a change: one vcsim with the
    realistic disk of ../storage/DiskContent.cs (seed 42), then per run, interleaved so the load of the shared
    machine falls on all alike: a plain ranged GET of the whole flat file (HttpClient into Stream.Null), and the
    first Sync-VmReplication of a fresh vault with each build, each in its own child pwsh (two builds of one
    assembly cannot share a process). Reports medians: CycleResult.Duration, ratio to the plain GET, CPU seconds
    of the child and of vcsim, stored MiB; and vcsim's CreateSnapshot + RemoveSnapshot (lab-only CBT hashing, inside
    every cycle) so the ratio less that cost can be read too. Cleans up its vcsim and temp folder.
.EXAMPLE
    dotnet pwsh -NoProfile -File tests/bench/replication/Compare-FullSync.ps1 -Baseline /tmp/before/out/AzureSiteRecovery.DR/0.1.0/AzureSiteRecovery.DR.psd1 -Candidate out/AzureSiteRecovery.DR/0.1.0/AzureSiteRecovery.DR.psd1
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $Candidate,
    [string] $Baseline,
    [int] $DiskMiB = 2048,
    [int] $Runs = 3
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$root = (Resolve-Path (Join-Path $PSScriptRoot '../../..')).Path
$lab = Join-Path $root 'tests/lab/lab.sh'
$work = Join-Path ([IO.Path]::GetTempPath()) "azsr-bench-compare-$([guid]::NewGuid().ToString('n'))"
$stateDir = Join-Path $work 'vcsim'
$capacity = [long]$DiskMiB * 1MB
$pwsh = if ($env:AZSR_DR_PWSH) { @(ConvertFrom-Json $env:AZSR_DR_PWSH) } else { @('dotnet', 'pwsh') }
$builds = [ordered]@{}
if ($Baseline) { $builds['baseline'] = (Resolve-Path $Baseline).Path }
$builds['candidate'] = (Resolve-Path $Candidate).Path

function Get-CpuSeconds([int] $ProcessId) { [Diagnostics.Process]::GetProcessById($ProcessId).TotalProcessorTime.TotalSeconds }
function Get-Median([double[]] $Values) { $sorted = @($Values | Sort-Object); $sorted[[int][math]::Floor($sorted.Length / 2)] }

# One child pwsh: a fresh vault, protect the VM, one full cycle, then a snapshot alone; prints one JSON line.
$child = @'
param($Module, $Url, $Vault)
$ErrorActionPreference = 'Stop'
Import-Module $Module
$cred = [pscredential]::new('bench@vsphere.local', (ConvertTo-SecureString 'bench-only' -AsPlainText -Force))
New-DRSite -Vault $Vault -Name onprem -VSphere -Server $Url -Credential $cred -Role Protected -SkipCertificateCheck -WarningAction SilentlyContinue | Out-Null
New-DRSite -Vault $Vault -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest -WarningAction SilentlyContinue | Out-Null
New-ReplicationPolicy -Vault $Vault -Name gold -AppConsistentFrequency 0 | Out-Null
New-ProtectionGroup -Vault $Vault -Name bench -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
Get-DRVm -Vault $Vault -Site onprem -Name DC0_H0_VM0 | Enable-VmProtection -Vault $Vault -ProtectionGroup bench -NoWait | Out-Null
$cpu = [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalSeconds
$cycle = Sync-VmReplication -Vault $Vault -ProtectionGroup bench -ProgressAction SilentlyContinue
$cpu = [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalSeconds - $cpu
if ($cycle.Mode -ne 'Full') { throw "the first cycle ran in mode $($cycle.Mode)" }
$core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'AzureSiteRecovery.DR.Core' } | Select-Object -First 1
$endpoint = [Activator]::CreateInstance($core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereEndpoint'), @([uri]$Url, 'bench@vsphere.local', 'bench-only', $null, $true))
$none = [Threading.CancellationToken]::None
$client = $core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereClient')::ConnectAsync($endpoint, 'bench', $none).GetAwaiter().GetResult()
$snapshotMs = (Measure-Command {
    $snapshot = $client.CreateSnapshotAsync($cycle.Vm.MoRef, 'bench', $null, $false, $false, $none).GetAwaiter().GetResult()
    $client.RemoveSnapshotAsync($snapshot, $none).GetAwaiter().GetResult()
}).TotalMilliseconds
$client.Dispose()
[ordered]@{ Ms = $cycle.Duration.TotalMilliseconds; Cpu = $cpu; StoredMiB = $cycle.BytesStored / 1MB; ReadMiB = $cycle.BytesRead / 1MB; SnapshotMs = $snapshotMs } | ConvertTo-Json -Compress
'@

$reader = $null
try {
    $env:LAB_START_TIMEOUT = 120
    $url = "$(& bash $lab start-vcsim $stateDir -vm 1 -disk-mb $DiskMiB)".Trim()
    if ($LASTEXITCODE -ne 0) { throw "lab.sh start-vcsim failed: $url" }
    $vcsimPid = [int](Get-Content (Join-Path $stateDir 'vcsim.pid'))
    $flat = Get-ChildItem (Join-Path $stateDir 'tmp') -Recurse -Filter 'disk1-flat.vmdk' | Where-Object { $_.Directory.Name -eq 'DC0_H0_VM0' } | Select-Object -First 1 -ExpandProperty FullName
    $cached = Join-Path $root "out/bench/storage/disk-$DiskMiB.img"
    if (Test-Path $cached) { & cp --sparse=always $cached $flat }
    else {
        Add-Type -TypeDefinition ((Get-Content -Raw (Join-Path $PSScriptRoot '../storage/DiskContent.cs')) -replace 'internal static class DiskContent', 'public static class DiskContent')
        ([type]'AzureSiteRecovery.DR.Bench.Storage.DiskContent')::Write($flat, $capacity, 42)
    }
    $childScript = Join-Path $work 'cycle.ps1'
    Set-Content $childScript $child

    Import-Module (Join-Path $PSScriptRoot 'PlainRead.psm1') -Force
    $reader = New-PlainReader -SdkUrl $url -VmName DC0_H0_VM0
    function Read-Range([long] $From, [long] $To) { Read-PlainRange $reader $From $To }

    $plainMs = @(); $results = @{}
    foreach ($name in $builds.Keys) { $results[$name] = [Collections.Generic.List[object]]::new() }
    foreach ($run in 1..$Runs) {
        $plainMs += (Measure-Command { Read-Range 0 ($capacity - 1) }).TotalMilliseconds
        $line = "run ${run}: plain GET {0:n2} s" -f ($plainMs[-1] / 1000)
        foreach ($name in $builds.Keys) {
            $vault = Join-Path $work "$run-$($name -replace '[^a-z0-9]', '_')/vault.db"
            $vcsimBefore = Get-CpuSeconds $vcsimPid
            $json = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File $childScript $builds[$name] $url $vault
            if ($LASTEXITCODE -ne 0) { throw "the $name cycle failed: $json" }
            $r = ($json | Select-Object -Last 1) | ConvertFrom-Json
            # vcsim CPU of the cycle and of the extra snapshot after it.
            $r | Add-Member VcsimCpu ((Get-CpuSeconds $vcsimPid) - $vcsimBefore)
            $results[$name].Add($r)
            $line += ", {0} {1:n2} s" -f $name, ($r.Ms / 1000)
            Remove-Item (Split-Path $vault) -Recurse -Force -ErrorAction SilentlyContinue
        }
        Write-Host "$line   (load $((Get-Content /proc/loadavg).Split(' ')[0]))"
    }

    $plain = Get-Median $plainMs
    $summary = foreach ($name in $builds.Keys) {
        $r = $results[$name]
        $ms = Get-Median @($r | ForEach-Object Ms)
        [pscustomobject]@{
            Build         = $name
            PlainGetMs    = [math]::Round($plain)
            CycleMs       = [math]::Round($ms)
            Runs          = ($r | ForEach-Object { [math]::Round($_.Ms / 1000, 2) }) -join ' / '
            Ratio         = [math]::Round($plain / $ms, 3)
            # vcsim's CreateSnapshot hashes the disk for our CBT emulation (vSphere does not): the cycle without it.
            SnapshotMs    = [math]::Round((Get-Median @($r | ForEach-Object SnapshotMs)))
            RatioLessSnap = [math]::Round($plain / ($ms - (Get-Median @($r | ForEach-Object SnapshotMs))), 3)
            CycleMiBps    = [math]::Round($DiskMiB / ($ms / 1000), 1)
            CpuModule     = [math]::Round((Get-Median @($r | ForEach-Object Cpu)), 2)
            CpuVcsimWithSnapshot = [math]::Round((Get-Median @($r | ForEach-Object VcsimCpu)), 2)
            ReadMiB       = [math]::Round($r[0].ReadMiB, 1)
            StoredMiB     = [math]::Round($r[0].StoredMiB, 1)
        }
    }
    $summary | Format-Table -AutoSize | Out-String -Width 200 | Write-Host
    Write-Host "load average: $(Get-Content /proc/loadavg)"
}
finally {
    if ($reader) { $reader.Http.Dispose() }
    & bash $lab stop $stateDir | Out-Null
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}
