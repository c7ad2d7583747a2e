@{
    RootModule           = 'AzureSiteRecovery.DR.dll'
    # Imported before the root module: it makes dependencies/ loadable (its own load context on PowerShell 7).
    NestedModules        = @('AzureSiteRecovery.DR.Loading.dll')
    ModuleVersion        = '0.1.0'
    GUID                 = '5d1f7c3e-8a42-4c1b-9d3e-2f6b7a9c4e10'
    Author               = 'AzureSiteRecovery.DR contributors'
    CompanyName          = 'AzureSiteRecovery.DR contributors'
    Copyright            = '(c) AzureSiteRecovery.DR contributors. MIT License.'
    Description          = 'Scripted disaster recovery of VMware vSphere virtual machines to Azure or to a second vSphere site: protection groups, agentless replication, recovery plans, drills that clean up and report, failover and failback.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    DotNetFrameworkVersion = '4.7.2'
    FormatsToProcess     = @('AzureSiteRecovery.DR.Format.ps1xml')
    TypesToProcess       = @('AzureSiteRecovery.DR.Types.ps1xml')
    FunctionsToExport    = @()
    CmdletsToExport      = @(
        'New-DRSite', 'Get-DRSite', 'Set-DRSite', 'Remove-DRSite', 'Test-DRSite', 'Get-DRVm', 'Get-DRNetwork', 'Get-DRDatastore',
        'New-ReplicationPolicy', 'Get-ReplicationPolicy', 'Set-ReplicationPolicy', 'Remove-ReplicationPolicy',
        'New-ProtectionGroup', 'Get-ProtectionGroup', 'Set-ProtectionGroup', 'Remove-ProtectionGroup',
        'Enable-VmProtection', 'Disable-VmProtection', 'Get-ProtectedVm', 'Sync-VmReplication',
        'Get-RecoveryPoint', 'Test-RecoveryPoint', 'Export-RecoveryPoint', 'Set-DRChunkStore', 'Get-DRChunkStore',
        'Connect-DRVault', 'Disconnect-DRVault', 'Get-DRVault', 'Copy-DRVault',
        'Import-RecoveryPlan', 'Export-RecoveryPlan', 'Get-RecoveryPlan', 'Remove-RecoveryPlan', 'Test-RecoveryPlan',
        'Get-DRJob', 'Wait-DRJob', 'Stop-DRJob', 'Resume-DRJob', 'Get-DRWorker', 'Get-DREvent',
        'Start-TestFailover', 'Stop-TestFailover', 'Invoke-DRDrill', 'Export-DrillReport',
        'Start-Failover', 'Complete-Failover', 'Undo-Failover', 'Invoke-Reprotect', 'Invoke-Failback'
    )
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('DisasterRecovery', 'DR', 'VMware', 'vSphere', 'Azure', 'SiteRecovery', 'Replication', 'Failover')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
    }
}
