<#
.SYNOPSIS
    Runs the Pester suites against the built module; called by build.ps1 -Task Test in a child pwsh.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $PesterPath,
    [Parameter(Mandatory)][string] $ModulePath,
    # The zip of build.ps1 -Task Package, which the runbook tests unzip and import as Azure Automation does.
    [string] $PackagePath = '',
    [Parameter(Mandatory)][string] $ResultPath,
    # Only these suites: file names without .Tests.ps1, comma-separated (build.ps1 -Task Test -Only).
    [string] $Name = ''
)

$ErrorActionPreference = 'Stop'
# Colour codes are not valid in the NUnit XML report, nor useful in CI logs.
$PSStyle.OutputRendering = 'PlainText'
Import-Module $PesterPath -Force

# The tests import the module from here (build.ps1 sets AZSR_DR_PWSH: how to start a child pwsh).
$env:AZSR_DR_TEST_MODULE = (Resolve-Path $ModulePath).Path
$env:AZSR_DR_TEST_PACKAGE = if ($PackagePath) { (Resolve-Path $PackagePath).Path } else { '' }

$configuration = New-PesterConfiguration
$configuration.Run.Path = if ($Name) { @($Name.Split(',') | ForEach-Object { Join-Path $PSScriptRoot "$($_.Trim()).Tests.ps1" }) } else { $PSScriptRoot }
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.TestResult.Enabled = $true
$configuration.TestResult.OutputFormat = 'NUnitXml'
$configuration.TestResult.OutputPath = $ResultPath
$result = Invoke-Pester -Configuration $configuration
if ($result.Result -ne 'Passed') { exit 1 }
