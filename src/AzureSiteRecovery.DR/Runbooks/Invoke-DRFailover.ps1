<#
.SYNOPSIS
    Azure Automation runbook: fails a recovery plan over to Azure with nothing on-premises reachable.
.DESCRIPTION
    The disaster runbook. It needs only what lives in Azure: the vault, the replica page blobs of the
    plan's VMs in the Azure site's storage account, and the Azure site's sign-in (the Automation account's
    managed identity by default). Every vCenter may be down: the failover is unplanned (no final sync, no
    shutdown of the source VMs) and recovers each VM from its newest recovery point, or from the newest
    one at or before -PointInTime. The VMs are created group by group on the plan's recovery subnets,
    started, and validated as the plan says.

    Writes one summary line and a line per VM (its Azure name, IP address, RTO, the point's time and the
    validations); throws (the Automation job ends Failed) when the failover did not succeed. Afterwards,
    Complete-Failover commits it, or Undo-Failover deletes the Azure VMs and resumes protection.
.EXAMPLE
    .\Invoke-DRFailover.ps1 -RecoveryPlan erp-azure -Vault https://contosodr.table.core.windows.net/ -VaultKeySecretUri https://contoso-kv.vault.azure.net/secrets/dr-vault-key
.EXAMPLE
    .\Invoke-DRFailover.ps1 -RecoveryPlan erp-azure -PointInTime '2026-11-14T02:00:00Z' -Vault https://contosodr.table.core.windows.net/ -VaultKeyVariable DrVaultKey
#>
param(
    # The recovery plan to fail over; its recovery site is an Azure site.
    [Parameter(Mandatory = $true)]
    [string] $RecoveryPlan,

    # Recover each VM from its newest point at or before this time (before a ransomware hit, say); default: the newest point.
    [datetime] $PointInTime,

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

$failover = @{ RecoveryPlan = $RecoveryPlan; Confirm = $false }
if ($PSBoundParameters.ContainsKey('PointInTime')) { $failover['PointInTime'] = $PointInTime }
$job = Start-Failover @failover -ErrorAction Stop

# The job's report (per VM: where it came up, RTO, point, validations), read back from the vault.
$reportPath = Join-Path ([IO.Path]::GetTempPath()) ('azsr-dr-failover-' + [guid]::NewGuid().ToString('n') + '.json')
try {
    $report = Export-DrillReport -JobId $job.JobId -Path $reportPath -PassThru -Confirm:$false
}
finally {
    Remove-Item $reportPath -Force -ErrorAction SilentlyContinue
}

$seconds = 0
if ($report.Duration) { $seconds = $report.Duration.TotalSeconds }
Write-Output ('Failover of plan {0} {1} in {2:n1} s (job {3}): {4}/{5} VMs up' -f
    $RecoveryPlan, $job.State, $seconds, $job.JobId, @($report.Vms | Where-Object Passed).Count, @($report.Vms).Count)
foreach ($vm in $report.Vms) {
    $checks = @($vm.Validations)
    $rto = '-'
    if ($vm.Rto) { $rto = '{0:n1} s' -f $vm.Rto.TotalSeconds }
    $result = 'ok'
    if (-not $vm.Passed) { $result = 'FAILED: ' + $vm.Error }
    Write-Output ('  {0} -> {1} ({2}) at {3}, RTO {4}, point {5:u}, checks {6}/{7}: {8}' -f $vm.Name, $vm.RecoveredName, $vm.RecoveredSite, $vm.IpAddress,
        $rto, $vm.RecoveryPointTime, @($checks | Where-Object Passed).Count, $checks.Count, $result)
}
if ("$($job.State)" -ne 'Succeeded') {
    throw "The failover of recovery plan '$RecoveryPlan' ended $($job.State) (job $($job.JobId)): $($job.Error)"
}
