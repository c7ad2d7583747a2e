#Requires -Version 7.2
<#
.SYNOPSIS
    Builds, tests and packages the AzureSiteRecovery.DR module. The one entry point for README and CI.
.DESCRIPTION
    Build    lays out out/AzureSiteRecovery.DR/<version>/: manifest, cmdlet assembly, dependencies/
             (service library, third-party assemblies, native SQLite per platform), format and
             types files, en-US help (about topic and MAML generated from the source's doc comments).
    Test     Build, then the xunit suites, then Pester (6.2.0, restored from NuGet) in a child pwsh
             against the built module.
    Package  Build, then out/AzureSiteRecovery.DR-<version>.zip for Azure Automation.
    Bench    Build, then the benchmarks under tests/bench (ratios against their baselines).
    Demo     Build, then tests/demo/Invoke-Demo.ps1 in a child pwsh: a lab of two vCenter simulators,
             ten VMs protected and replicated, a DR drill of a three-tier plan, its report under
             out/demo/. Fails when the drill does not pass. -RecoverySite Azure: the same with Azure
             (the lab: Azurite, the lab ARM and its managed-identity endpoint) as the recovery site.
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 -Task Demo
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Demo -RecoverySite Azure
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 -Task Test
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Bench -Only Recovery
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Bench', 'Demo')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Bench: which benchmarks to run (the names tests/bench/Invoke-Benchmarks.ps1 -Only takes); all by default.
    # Test: only these Pester files (names without .Tests.ps1, e.g. Failover), and no lab or xunit suites.
    [string[]] $Only = @(),

    # Demo: the kind of recovery site the drill recovers to (the lab's vCenter simulator, or Azure in the lab).
    [ValidateSet('VSphere', 'Azure')]
    [string] $RecoverySite = 'VSphere'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

# From bash, `-Only Replication,Recovery` reaches the script as one string: split it into its names.
$Only = @($Only | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim() } | Where-Object { $_ })

$root = $PSScriptRoot
$moduleName = 'AzureSiteRecovery.DR'
$version = (Import-PowerShellDataFile (Join-Path $root "$moduleName.psd1")).ModuleVersion
$moduleOut = Join-Path $root "out/$moduleName/$version"
$cmdletProject = Join-Path $root "src/$moduleName/$moduleName.csproj"
$cmdletBin = Join-Path $root "src/$moduleName/bin/$Configuration/netstandard2.0"

# What ships in dependencies/: an explicit list, so a new transitive dependency is a conscious choice.
$dependencyAllowList = @(
    'AzureSiteRecovery.DR.Core.dll'
    # The vault: SQLite
    'Microsoft.Data.Sqlite.dll'
    'SQLitePCLRaw.batteries_v2.dll'
    'SQLitePCLRaw.core.dll'
    'SQLitePCLRaw.provider.e_sqlite3.dll'
    'System.Security.Cryptography.ProtectedData.dll'
    # The vault on Azure Table storage
    'Azure.Data.Tables.dll'
    # The chunk store: Azure Blob storage and Zstandard
    'Azure.Core.dll'
    'Azure.Storage.Blobs.dll'
    'Azure.Storage.Common.dll'
    'System.ClientModel.dll'
    'System.IO.Hashing.dll'
    'System.Memory.Data.dll'
    'System.Net.ServerSentEvents.dll'
    'ZstdSharp.dll'
    # Azure as a recovery site: Resource Manager, Compute, sign-in (Azure.Identity 1.21 forwards into Azure.Core 1.53, which brings MSAL)
    'Azure.Identity.dll'
    'Azure.ResourceManager.dll'
    'Azure.ResourceManager.Compute.dll'
    'Microsoft.Identity.Client.dll'
    'Microsoft.Identity.Client.Extensions.Msal.dll'
    'Microsoft.IdentityModel.Abstractions.dll'
    'Microsoft.Extensions.Configuration.Abstractions.dll'
    'Microsoft.Extensions.Diagnostics.Abstractions.dll'
    'Microsoft.Extensions.FileProviders.Abstractions.dll'
    'Microsoft.Extensions.Hosting.Abstractions.dll'
    'Microsoft.Extensions.Options.dll'
    'Microsoft.Extensions.Primitives.dll'
    'System.ComponentModel.Annotations.dll'
    'System.Formats.Asn1.dll'
    'System.IO.FileSystem.AccessControl.dll'
    'System.IO.Pipelines.dll'
    'System.Security.AccessControl.dll'
    'System.Security.Cryptography.Cng.dll'
    'System.Security.Principal.Windows.dll'
    # The vault key from a Key Vault secret (Connect-DRVault -KeySecretUri)
    'Azure.Security.KeyVault.Secrets.dll'
    # Recovery plans
    'YamlDotNet.dll'
    'Microsoft.Extensions.DependencyInjection.Abstractions.dll'
    'Microsoft.Extensions.Logging.Abstractions.dll'
    # netstandard2.0 back-ports (PowerShell 7 uses its own framework's copies)
    'Microsoft.Bcl.AsyncInterfaces.dll'
    'System.Buffers.dll'
    'System.Diagnostics.DiagnosticSource.dll'
    'System.Memory.dll'
    'System.Numerics.Vectors.dll'
    'System.Runtime.CompilerServices.Unsafe.dll'
    'System.Text.Encodings.Web.dll'
    'System.Text.Json.dll'
    'System.Threading.Tasks.Extensions.dll'
)
# Native SQLite for every platform PowerShell 7 and Azure Automation run on.
$nativeRuntimes = @('linux-x64', 'linux-arm64', 'linux-musl-x64', 'linux-musl-arm64', 'osx-x64', 'osx-arm64', 'win-x64', 'win-x86', 'win-arm64')

function Invoke-Native {
    param([Parameter(Mandatory)][string] $FilePath, [string[]] $ArgumentList = @())
    Write-Verbose "$FilePath $($ArgumentList -join ' ')"
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) { throw "'$FilePath $($ArgumentList -join ' ')' failed with exit code $LASTEXITCODE." }
}

# The pwsh running this script, as a command line for child processes (a dotnet local tool runs as 'dotnet pwsh.dll').
function Get-PwshCommand {
    $processPath = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($processPath) -eq 'dotnet') {
        return @($processPath, (Join-Path $PSHOME 'pwsh.dll'))
    }
    return @($processPath)
}

function Invoke-Pwsh {
    param([Parameter(Mandatory)][string[]] $ArgumentList)
    $pwsh = @(Get-PwshCommand)
    Invoke-Native -FilePath $pwsh[0] -ArgumentList (@($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive') + $ArgumentList)
}

# Where a restored package sits: a referenced one (libraries) or a PackageDownload one (downloadDependencies).
function Get-PackageFolder {
    param([Parameter(Mandatory)][string] $AssetsFile, [Parameter(Mandatory)][string] $PackageId)
    $assets = Get-Content $AssetsFile -Raw | ConvertFrom-Json -AsHashtable
    $key = $assets.libraries.Keys | Where-Object { $_ -like "$PackageId/*" } | Select-Object -First 1
    $relative = if ($key) { $assets.libraries[$key].path }
    else {
        $download = $assets.project.frameworks.Values.downloadDependencies | Where-Object name -eq $PackageId | Select-Object -First 1
        if ($download) { "$($PackageId.ToLowerInvariant())/$($download.version.Trim('[]').Split(',')[0].Trim())" }
    }
    if (-not $relative) { throw "Package '$PackageId' is not in '$AssetsFile'; the build's dependency list is out of date." }
    foreach ($folder in $assets.packageFolders.Keys) {
        $path = Join-Path $folder $relative
        if (Test-Path $path) { return $path }
    }
    throw "Package folder of '$PackageId' ($relative) not found."
}

function Invoke-BuildTask {
    Write-Host "Building $moduleName $version ($Configuration)" -ForegroundColor Cyan
    Invoke-Native dotnet @('build', (Join-Path $root 'DR.sln'), '-c', $Configuration, "-p:Version=$version", '-nologo', '-clp:NoSummary;ErrorsOnly', '-v', 'q')

    if (Test-Path $moduleOut) { Remove-Item $moduleOut -Recurse -Force }
    $dependencies = Join-Path $moduleOut 'dependencies'
    New-Item -ItemType Directory -Force -Path $dependencies, (Join-Path $moduleOut 'en-US') | Out-Null

    Copy-Item (Join-Path $root "$moduleName.psd1") $moduleOut
    Copy-Item (Join-Path $cmdletBin "$moduleName.dll") $moduleOut
    Copy-Item (Join-Path $root "src/$moduleName.Loading/bin/$Configuration/netstandard2.0/$moduleName.Loading.dll") $moduleOut
    Copy-Item (Join-Path $root "src/$moduleName/*.ps1xml") $moduleOut
    Copy-Item (Join-Path $root 'en-US/*') (Join-Path $moduleOut 'en-US')
    # The commented example plan(s), for Import-RecoveryPlan and as a template.
    Copy-Item (Join-Path $root "src/$moduleName/Examples") (Join-Path $moduleOut 'Examples') -Recurse

    $built = Get-ChildItem $cmdletBin -Filter *.dll | Where-Object Name -ne "$moduleName.dll"
    $unlisted = $built | Where-Object Name -notin $dependencyAllowList
    if ($unlisted) { throw "Dependencies not in build.ps1's allow-list: $($unlisted.Name -join ', '). Add them to `$dependencyAllowList if they are meant to ship." }
    foreach ($name in $dependencyAllowList) {
        Copy-Item (Join-Path $cmdletBin $name) $dependencies
    }

    $nativePackage = Get-PackageFolder -AssetsFile (Join-Path $root "src/$moduleName/obj/project.assets.json") -PackageId 'SQLitePCLRaw.lib.e_sqlite3'
    foreach ($rid in $nativeRuntimes) {
        $source = Join-Path $nativePackage "runtimes/$rid/native"
        if (-not (Test-Path $source)) { throw "The SQLite package has no native library for $rid ($source)." }
        $target = Join-Path $dependencies "runtimes/$rid/native"
        New-Item -ItemType Directory -Force -Path $target | Out-Null
        Copy-Item (Join-Path $source '*') $target
    }

    # Cmdlet help: MAML generated from the cmdlets' doc comments, read from the built module in a child pwsh.
    Invoke-Pwsh @('-File', (Join-Path $root "src/$moduleName/Help/ConvertTo-MamlHelp.ps1"),
        '-ModulePath', (Join-Path $moduleOut "$moduleName.psd1"),
        '-DocumentationPath', (Join-Path $cmdletBin "$moduleName.xml"),
        '-OutputPath', (Join-Path $moduleOut "en-US/$moduleName.dll-Help.xml"))

    Write-Host "Module laid out in $moduleOut" -ForegroundColor Green
}

function Invoke-TestTask {
    Invoke-BuildTask
    $results = Join-Path $root 'out/test-results'
    if (Test-Path $results) { Remove-Item $results -Recurse -Force }
    $failed = @()

    $labOutput = @()
    if ($Only) {
        # A developer's quick run of some Pester files: the lab binary is built, its tests and xunit are not run.
        & bash (Join-Path $root 'tests/lab/vcsim/build.sh')
        if ($LASTEXITCODE -ne 0) { throw 'Building the lab vcsim failed.' }
    }
    else {
        # The lab's vCenter simulator, built once up front (installs Go and govmomi from Debian when
        # missing), and its own Go tests: our CBT and paging extensions against the real binary.
        Write-Host 'Lab: vcsim and its extensions' -ForegroundColor Cyan
        $labOutput = & bash (Join-Path $root 'tests/lab/vcsim/smoke.sh') 2>&1 | ForEach-Object { "$_" }
        $labOutput | Write-Host
        if ($LASTEXITCODE -ne 0) { $failed += 'lab (tests/lab/vcsim/smoke.sh)' }

        Write-Host 'xunit' -ForegroundColor Cyan
        & dotnet test (Join-Path $root 'DR.sln') -c $Configuration --no-build -nologo -v q `
            --logger 'console;verbosity=normal' --logger trx --results-directory $results
        if ($LASTEXITCODE -ne 0) { $failed += 'xunit' }
    }

    Write-Host 'Pester' -ForegroundColor Cyan
    $toolsProject = Join-Path $root 'tests/TestDependencies/TestDependencies.csproj'
    Invoke-Native dotnet @('restore', $toolsProject, '-nologo', '-v', 'q')
    $pester = Join-Path (Get-PackageFolder -AssetsFile (Join-Path $root 'tests/TestDependencies/obj/project.assets.json') -PackageId 'Pester') 'tools/Pester.psd1'
    $pesterResult = Join-Path $results 'pester.xml'
    $pesterArguments = @('-File', (Join-Path $root 'tests/pester/Invoke-PesterSuite.ps1'),
        '-PesterPath', $pester, '-ModulePath', (Join-Path $moduleOut "$moduleName.psd1"), '-ResultPath', $pesterResult)
    if ($Only) { $pesterArguments += @('-Name', ($Only -join ',')) }
    try {
        Invoke-Pwsh $pesterArguments
    }
    catch { $failed += 'Pester' }

    # One closing line over both runners, in the form CI reads.
    $counts = @{ passed = 0; failed = 0; skipped = 0 }
    $counts.passed += @($labOutput | Where-Object { $_ -match '^--- PASS' }).Count
    $counts.failed += @($labOutput | Where-Object { $_ -match '^--- FAIL' }).Count
    foreach ($trx in Get-ChildItem $results -Filter *.trx -Recurse) {
        $counters = ([xml](Get-Content $trx.FullName -Raw)).TestRun.ResultSummary.Counters
        $counts.passed += [int]$counters.passed
        $counts.failed += [int]$counters.failed + [int]$counters.error + [int]$counters.timeout
        $counts.skipped += [int]$counters.notExecuted
    }
    if (Test-Path $pesterResult) {
        $nunit = ([xml](Get-Content $pesterResult -Raw)).'test-results'
        $counts.passed += [int]$nunit.total - [int]$nunit.failures - [int]$nunit.errors - [int]$nunit.skipped - [int]$nunit.'not-run' - [int]$nunit.inconclusive - [int]$nunit.ignored
        $counts.failed += [int]$nunit.failures + [int]$nunit.errors
        $counts.skipped += [int]$nunit.skipped + [int]$nunit.'not-run' + [int]$nunit.ignored
    }
    Write-Host "Tests: $($counts.passed) passed, $($counts.failed) failed, $($counts.skipped) skipped"
    if ($failed) { throw "Failed: $($failed -join ', ')." }
}

function Invoke-PackageTask {
    Invoke-BuildTask
    # Azure Automation wants the module folder at the root of the zip, without a version folder.
    $staging = Join-Path $root 'out/package'
    if (Test-Path $staging) { Remove-Item $staging -Recurse -Force }
    $stagedModule = Join-Path $staging $moduleName
    New-Item -ItemType Directory -Force -Path $stagedModule | Out-Null
    Copy-Item (Join-Path $moduleOut '*') $stagedModule -Recurse
    $tooLong = Get-ChildItem $staging -Recurse -File | ForEach-Object { [IO.Path]::GetRelativePath($staging, $_.FullName) } | Where-Object Length -ge 140
    if ($tooLong) { throw "Paths of 140 characters or more break Azure Automation imports: $($tooLong -join ', ')" }
    $zip = Join-Path $root "out/$moduleName-$version.zip"
    if (Test-Path $zip) { Remove-Item $zip -Force }
    [IO.Compression.ZipFile]::CreateFromDirectory($staging, $zip)
    Write-Host "Package: $zip" -ForegroundColor Green
}

function Invoke-BenchTask {
    Invoke-BuildTask
    $script = Join-Path $root 'tests/bench/Invoke-Benchmarks.ps1'
    $module = Join-Path $moduleOut "$moduleName.psd1"
    if ($Only) {
        # -File would pass 'a,b' as one string: a command passes the list as a list.
        $list = ($Only | ForEach-Object { "'$($_ -replace "'", "''")'" }) -join ','
        Invoke-Pwsh @('-Command', "& '$script' -ModulePath '$module' -Only $list; exit `$LASTEXITCODE")
    }
    else {
        Invoke-Pwsh @('-File', $script, '-ModulePath', $module)
    }
}

function Invoke-DemoTask {
    Invoke-BuildTask
    Invoke-Pwsh @('-File', (Join-Path $root 'tests/demo/Invoke-Demo.ps1'), '-ModulePath', (Join-Path $moduleOut "$moduleName.psd1"), '-RecoverySite', $RecoverySite)
}

# Child scripts (tests, benchmarks) start their own pwsh processes the same way.
$env:AZSR_DR_PWSH = ConvertTo-Json -Compress @(Get-PwshCommand)

Push-Location $root
try {
    switch ($Task) {
        'Build' { Invoke-BuildTask }
        'Test' { Invoke-TestTask }
        'Package' { Invoke-PackageTask }
        'Bench' { Invoke-BenchTask }
        'Demo' { Invoke-DemoTask }
    }
}
finally {
    Pop-Location
}
