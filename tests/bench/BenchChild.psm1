# What a benchmark script that starts child pwsh processes (workers, cycles) sets up first, as the Pester suites do.

<#
.SYNOPSIS
    Imports the built module here, has child processes import it (AZSR_DR_TEST_MODULE), and makes sure they know how to
    start pwsh (AZSR_DR_PWSH: build.ps1 sets it; a script run alone uses this pwsh's own command). Returns the module's full path.
#>
function Initialize-BenchChild([Parameter(Mandatory)][string] $ModulePath) {
    $full = (Resolve-Path $ModulePath).Path
    if (-not (Get-Module AzureSiteRecovery.DR)) { Import-Module $full -Global }
    $env:AZSR_DR_TEST_MODULE = $full
    if (-not $env:AZSR_DR_PWSH) {
        $self = [Environment]::ProcessPath
        $env:AZSR_DR_PWSH = ConvertTo-Json -Compress @($(if ([IO.Path]::GetFileNameWithoutExtension($self) -eq 'dotnet') { $self, (Join-Path $PSHOME 'pwsh.dll') } else { $self }))
    }
    $full
}

Export-ModuleMember -Function Initialize-BenchChild
