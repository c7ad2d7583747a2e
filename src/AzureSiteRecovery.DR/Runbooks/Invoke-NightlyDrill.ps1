<#
.SYNOPSIS
    Azure Automation runbook: a nightly DR drill of one recovery plan, its report uploaded to a blob container.
.DESCRIPTION
    Runs Invoke-DRDrill on the plan (a test failover on the plan's test networks, its validations and the
    clean-up), writes the report as HTML and JSON and uploads both to -ReportContainerUrl as
    <plan>/<yyyyMMdd-HHmmss>-<job id>.html and .json, then writes one summary line. Throws (the Automation
    job ends Failed) when the drill did not pass, after the report is uploaded.

    Upload: with the Automation account's managed identity (it needs the role Storage Blob Data
    Contributor on the container), or with a SAS (create and write on the container) kept in the
    encrypted Automation variable named by -ReportSasVariable.

    Schedule it (New-AzAutomationSchedule -DayInterval 1, Register-AzAutomationScheduledRunbook) with
    the module AzureSiteRecovery.DR imported into the account (build.ps1 -Task Package).
.EXAMPLE
    .\Invoke-NightlyDrill.ps1 -RecoveryPlan erp -ReportContainerUrl https://drreports.blob.core.windows.net/drills -Vault https://contosodr.table.core.windows.net/ -VaultKeySecretUri https://contoso-kv.vault.azure.net/secrets/dr-vault-key
#>
param(
    # The recovery plan to drill (Get-RecoveryPlan lists them).
    [Parameter(Mandatory = $true)]
    [string] $RecoveryPlan,

    # The blob container the reports go to, without a SAS: https://<account>.blob.core.windows.net/<container>.
    [Parameter(Mandatory = $true)]
    [string] $ReportContainerUrl,

    # The name of an encrypted Automation variable holding a SAS for the container; without it the managed identity signs in.
    [string] $ReportSasVariable,

    # The vault: a table endpoint URL (https://<account>.table.core.windows.net/) or a vault file path; without it, the AZSR_DR_VAULT* environment variables.
    [string] $Vault,

    # The prefix of the Table vault's table names. Default: drvault.
    [string] $VaultTablePrefix,

    # The Key Vault secret holding the vault key, read with the managed identity: https://<key vault>.vault.azure.net/secrets/<name>.
    [string] $VaultKeySecretUri,

    # Or the name of an encrypted Automation variable holding the vault key (the base64 of 32 random bytes).
    [string] $VaultKeyVariable,

    # How the runbook signs in to the Table vault: the managed identity, or the account key or a SAS held in the encrypted Automation variable -VaultSecretVariable.
    [ValidateSet('ManagedIdentity', 'SharedKey', 'Sas')]
    [string] $VaultAuthentication = 'ManagedIdentity',

    [string] $VaultSecretVariable,

    # The SHA-256 thumbprint of a self-signed certificate to trust for the tables and Key Vault (a lab only).
    [string] $VaultCertificateThumbprint
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module AzureSiteRecovery.DR -ErrorAction Stop
# The vault, as Connect-DRVault names it (its secrets from encrypted Automation variables); without -Vault, the AZSR_DR_VAULT* environment.
if ($Vault) {
    $connect = @{ Vault = $Vault; Confirm = $false }
    if ($VaultTablePrefix) { $connect['TablePrefix'] = $VaultTablePrefix }
    if ($VaultAuthentication -ne 'ManagedIdentity') {
        $secret = ConvertTo-SecureString (Get-AutomationVariable -Name $VaultSecretVariable) -AsPlainText -Force
        if ($VaultAuthentication -eq 'Sas') { $connect['SasToken'] = $secret } else { $connect['AccountKey'] = $secret }
    }
    if ($VaultKeySecretUri) { $connect['KeySecretUri'] = $VaultKeySecretUri }
    if ($VaultKeyVariable) { $connect['Key'] = Get-AutomationVariable -Name $VaultKeyVariable }
    if ($VaultCertificateThumbprint) { $connect['CertificateThumbprint'] = $VaultCertificateThumbprint }
    Connect-DRVault @connect | Out-Null
}

# A token for Azure Storage from the managed identity, as Azure Automation offers it (IDENTITY_ENDPOINT, IDENTITY_HEADER).
function Get-StorageToken {
    if (-not $env:IDENTITY_ENDPOINT -or -not $env:IDENTITY_HEADER) {
        throw 'No managed identity here (IDENTITY_ENDPOINT and IDENTITY_HEADER are not set): enable the Automation account''s identity, or give -ReportSasVariable.'
    }
    $uri = $env:IDENTITY_ENDPOINT + '?api-version=2019-08-01&resource=' + [uri]::EscapeDataString('https://storage.azure.com/')
    (Invoke-RestMethod -Uri $uri -Headers @{ 'X-IDENTITY-HEADER' = $env:IDENTITY_HEADER; Metadata = 'True' } -UseBasicParsing).access_token
}

# Puts a file as a block blob into the report container; returns the blob's URL (without the SAS).
function Send-ReportBlob([string] $Path, [string] $BlobName, [string] $ContentType, [string] $Sas) {
    $blobUrl = $ReportContainerUrl.TrimEnd('/') + '/' + $BlobName
    $headers = @{ 'x-ms-blob-type' = 'BlockBlob'; 'x-ms-version' = '2021-08-06' }
    $uri = $blobUrl
    if ($Sas) { $uri = $blobUrl + '?' + $Sas.TrimStart('?') }
    else { $headers['Authorization'] = 'Bearer ' + (Get-StorageToken) }
    try {
        Invoke-RestMethod -Method Put -Uri $uri -Headers $headers -InFile $Path -ContentType $ContentType -UseBasicParsing | Out-Null
    }
    catch {
        # The message names the blob, never the SAS.
        throw "Uploading the drill report to $blobUrl failed: $($_.Exception.Message)"
    }
    $blobUrl
}

$sas = $null
if ($ReportSasVariable) { $sas = Get-AutomationVariable -Name $ReportSasVariable }

$drillErrors = @()
$report = Invoke-DRDrill -RecoveryPlan $RecoveryPlan -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable drillErrors
if (-not $report) {
    $reason = 'no report'
    if ($drillErrors) { $reason = $drillErrors[0].ToString() }
    throw "The drill of recovery plan '$RecoveryPlan' did not run: $reason"
}

$folder = Join-Path ([IO.Path]::GetTempPath()) ('azsr-dr-drill-' + [guid]::NewGuid().ToString('n'))
New-Item -ItemType Directory -Path $folder -Force | Out-Null
try {
    $stem = '{0}/{1:yyyyMMdd-HHmmss}-{2}' -f $RecoveryPlan, [DateTime]::UtcNow, $report.JobId
    $urls = @()
    foreach ($format in @(@{ Extension = 'html'; ContentType = 'text/html; charset=utf-8' }, @{ Extension = 'json'; ContentType = 'application/json' })) {
        $path = Join-Path $folder ('report.' + $format.Extension)
        $report | Export-DrillReport -Path $path -Force -Confirm:$false | Out-Null
        $urls += Send-ReportBlob -Path $path -BlobName ($stem + '.' + $format.Extension) -ContentType $format.ContentType -Sas $sas
    }
}
finally {
    Remove-Item $folder -Recurse -Force -ErrorAction SilentlyContinue
}

$validations = @($report.Vms | ForEach-Object { $_.Validations })
$verdict = 'FAILED'
if ($report.Passed) { $verdict = 'PASSED' }
$cleanup = 'FAILED'
if ($report.CleanupPassed) { $cleanup = 'done' }
$seconds = 0
if ($report.Duration) { $seconds = $report.Duration.TotalSeconds }
Write-Output ('Drill of plan {0} {1} in {2:n1} s (job {3}): {4}/{5} VMs up, {6}/{7} checks passed, clean-up {8}; report {9}' -f
    $RecoveryPlan, $verdict, $seconds, $report.JobId, @($report.Vms | Where-Object Passed).Count, @($report.Vms).Count,
    @($validations | Where-Object Passed).Count, $validations.Count, $cleanup, $urls[0])
if (-not $report.Passed) {
    $reason = $report.Error
    if (-not $reason -and $drillErrors) { $reason = $drillErrors[0].ToString() }
    throw "The drill of recovery plan '$RecoveryPlan' failed (job $($report.JobId)): $reason"
}
