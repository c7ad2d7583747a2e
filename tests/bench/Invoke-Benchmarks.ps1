<#
.SYNOPSIS
    Benchmarks of the module, each side by side with its baseline in the same run, reported as ratios.
.DESCRIPTION
    ImportModule     pwsh -c 'Import-Module AzureSiteRecovery.DR'  vs  pwsh -c exit
    GetGroups10k     Get-ProtectionGroup over 10,000 groups         vs  a plain SQLite query of the same rows
                     (scripted in PowerShell, and compiled: the sqlite3 shell)
    GetDRVm10k       Get-DRVm over a vcsim of 10,000 VMs             vs  one call per VM over the same client
    Results go to the console and to out/bench/<name>.json. Timings are medians of several runs.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [int] $Runs = 7,
    [int] $GroupCount = 10000,
    [int] $VmCount = 10000,
    [ValidateSet('ImportModule', 'GetGroups10k', 'GetDRVm10k')]
    [string[]] $Only = @('ImportModule', 'GetGroups10k', 'GetDRVm10k')
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$PSStyle.OutputRendering = 'PlainText'
$outFolder = Join-Path $PSScriptRoot '../../out/bench'
New-Item -ItemType Directory -Force -Path $outFolder | Out-Null

# Measure-Command runs the block in this scope: the blocks must not assign $Count or $times.
function Measure-Median([scriptblock] $Action, [int] $Count = $Runs) {
    $times = @(1..$Count | ForEach-Object { (Measure-Command $Action).TotalMilliseconds } | Sort-Object)
    $times[[int][math]::Floor($Count / 2)]
}

function Write-Result([string] $Name, [hashtable] $Result) {
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
