<#
.SYNOPSIS
    Azure Automation runbook for a Hybrid Runbook Worker: a replication worker (process server) for a while.
.DESCRIPTION
    Runs Sync-VmReplication -Continuous against the vault for -Duration, then stops it: each protected VM
    that is due is cycled at its policy's interval. Several workers (this runbook on several Hybrid
    Runbook Workers, or other machines) share one vault: each cycle holds a lease on its VM, and a worker
    that dies hands its VMs to the others once its leases expire. -WorkerName names this worker in
    Get-DRWorker (default: the machine name). Run it on a Hybrid Runbook Worker in the protected site's
    network: it reads the VMs' disks from vCenter. Schedule it again before -Duration ends, or give
    a long one.

    Writes a line per cycle and a summary; throws (the job ends Failed) when the worker itself failed or
    every cycle failed.
.EXAMPLE
    .\Start-DRReplicationWorker.ps1 -WorkerName hrw-01 -Duration 04:00:00 -Vault https://contosodr.table.core.windows.net/ -VaultKeyVariable DrVaultKey
#>
param(
    # The worker's name in Get-DRWorker (default: the machine name); give each worker of a shared host its own.
    [string] $WorkerName,

    # How long to run before stopping (hh:mm:ss). Default: one hour.
    [timespan] $Duration = '01:00:00',

    # Only the VMs of this protection group; default: every group's.
    [string] $ProtectionGroup,

    # How long a cycle's lease on its VM lasts unless renewed (the time a dead worker's VMs wait). Default: the module's (2 minutes).
    [timespan] $LeaseDuration,

    # How many VMs this worker replicates at once.
    [ValidateRange(1, 64)]
    [int] $ThrottleLimit = 4,

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
# A Hybrid Runbook Worker runs each job in its own process: the name is this worker's alone.
if ($WorkerName) { $env:AZSR_DR_WORKER_NAME = $WorkerName }

$sync = @{ Continuous = $true; ThrottleLimit = $ThrottleLimit; AsJob = $true; Confirm = $false }
if ($ProtectionGroup) { $sync['ProtectionGroup'] = $ProtectionGroup }
if ($PSBoundParameters.ContainsKey('LeaseDuration')) { $sync['LeaseDuration'] = $LeaseDuration }
$job = Sync-VmReplication @sync -ErrorAction Stop

$cycles = 0
$failures = 0
$vms = @{}
# Each cycle as it ends: a line for the job's output stream, a warning for a failed one.
function Receive-Cycle {
    foreach ($result in @(Receive-Job $job -ErrorAction SilentlyContinue -ErrorVariable cycleErrors)) {
        $script:cycles++
        $script:vms[$result.Vm.Name] = $true
        Write-Output ('{0:u} {1}: point {2} ({3}, {4:n1} s)' -f [DateTime]::UtcNow, $result.Vm.Name, $result.Point.RecoveryPointId, $result.Mode, $result.Duration.TotalSeconds)
    }
    foreach ($cycleError in $cycleErrors) {
        $script:failures++
        Write-Warning "A replication cycle failed: $cycleError"
    }
}

$deadline = [DateTime]::UtcNow + $Duration
try {
    while ([DateTime]::UtcNow -lt $deadline -and $job.State -eq 'Running') {
        $left = [int][Math]::Ceiling(($deadline - [DateTime]::UtcNow).TotalSeconds)
        Wait-Job $job -Timeout ([Math]::Max(1, [Math]::Min(5, $left))) | Out-Null
        Receive-Cycle
    }
}
finally {
    if ($job.State -eq 'Running') { Stop-Job $job }
}
Receive-Cycle
$state = "$($job.State)"
$reason = $job.JobStateInfo.Reason
Remove-Job $job -Force

$name = $env:AZSR_DR_WORKER_NAME
if (-not $name) { $name = [Environment]::MachineName }
Write-Output ('Replication worker {0} ran {1}: {2} cycle(s) of {3} VM(s), {4} failed' -f $name, $Duration, $cycles, $vms.Count, $failures)
if ($state -eq 'Failed') { throw "The replication worker $name stopped with an error: $reason" }
if ($failures -gt 0 -and $cycles -eq 0) { throw "Every replication cycle of worker $name failed ($failures); see the warnings." }
