<#
.SYNOPSIS
    Benchmarks of the module, each side by side with its baseline in the same run, reported as ratios.
.DESCRIPTION
    ImportModule     pwsh -c 'Import-Module AzureSiteRecovery.DR'  vs  pwsh -c exit
    GetGroups10k     Get-ProtectionGroup over 10,000 groups         vs  a plain SQLite query of the same rows
    Results go to the console and to out/bench/<name>.json. Timings are medians of several runs.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [int] $Runs = 7,
    [int] $GroupCount = 10000
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$PSStyle.OutputRendering = 'PlainText'
$outFolder = Join-Path $PSScriptRoot '../../out/bench'
New-Item -ItemType Directory -Force -Path $outFolder | Out-Null

function Measure-Median([scriptblock] $Action, [int] $Count = $Runs) {
    $times = foreach ($i in 1..$Count) { (Measure-Command $Action).TotalMilliseconds }
    ($times | Sort-Object)[[int][math]::Floor($Count / 2)]
}

function Write-Result([string] $Name, [hashtable] $Result) {
    $Result | ConvertTo-Json | Set-Content (Join-Path $outFolder "$Name.json")
    [pscustomobject]$Result | Format-List | Out-String | Write-Host
}

# A child pwsh like this one, as build.ps1 starts it ('dotnet pwsh.dll' for the local tool).
if (-not $env:AZSR_DR_PWSH) { throw 'AZSR_DR_PWSH is not set: run the benchmarks through build.ps1 -Task Bench.' }
$pwsh = @(ConvertFrom-Json $env:AZSR_DR_PWSH)
$pwshArgs = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command')

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

Write-Host "== Get-ProtectionGroup over $GroupCount groups" -ForegroundColor Cyan
Import-Module $ModulePath
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
    $cmdlet = Measure-Median {
        $count = (Get-ProtectionGroup -Vault $vault | Measure-Object).Count
        if ($count -ne $GroupCount) { throw "Get-ProtectionGroup returned $count groups" }
    }
    $one = Measure-Median { Get-ProtectionGroup -Vault $vault -Name "group-$([int]($GroupCount / 2))" | Out-Null }
    Write-Result 'get-protectiongroup-10k' @{
        Benchmark            = "Get-ProtectionGroup, $GroupCount groups"
        BaselineMs           = [math]::Round($plain, 1)
        CmdletMs             = [math]::Round($cmdlet, 1)
        Ratio                = [math]::Round($cmdlet / $plain, 2)
        GroupsPerSecond      = [math]::Round($GroupCount / ($cmdlet / 1000))
        OneGroupByNameMs     = [math]::Round($one, 1)
        NewProtectionGroupMs = [math]::Round($create.TotalMilliseconds / $GroupCount, 2)
        Meaning              = 'Get-ProtectionGroup | Measure-Object over a plain SELECT of the same rows via Microsoft.Data.Sqlite'
    }
}
finally {
    Remove-Item (Split-Path $vault) -Recurse -Force -ErrorAction SilentlyContinue
}
