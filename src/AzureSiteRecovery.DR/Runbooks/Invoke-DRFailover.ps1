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
    .\Invoke-DRFailover.ps1 -RecoveryPlan erp-azure -Vault /mnt/dr/vault.db
.EXAMPLE
    .\Invoke-DRFailover.ps1 -RecoveryPlan erp-azure -PointInTime '2026-11-14T02:00:00Z'
#>
param(
    # The recovery plan to fail over; its recovery site is an Azure site.
    [Parameter(Mandatory = $true)]
    [string] $RecoveryPlan,

    # Recover each VM from its newest point at or before this time (before a ransomware hit, say); default: the newest point.
    [datetime] $PointInTime,

    # The vault: a vault file path (default: the AZSR_DR_VAULT environment variable).
    [string] $Vault
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module AzureSiteRecovery.DR -ErrorAction Stop
if ($Vault) { $PSDefaultParameterValues['*:Vault'] = $Vault }

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
