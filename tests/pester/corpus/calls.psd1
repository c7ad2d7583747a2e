# Bad cmdlet calls found by fuzzing, each run in a child pwsh against a vault with sites, a policy,
# a group and a plan ($Vault), or against a vault path that does not exist ($Missing).
# Expect is the full error id; Missing = $true also checks that nothing was created at $Missing;
# Printable = $true checks that the message quotes no control character.
@{
    Calls = @(
        @{ Name = 'Get-DRSite, -Vault missing'; Command = 'Get-DRSite -Vault $Missing'; Expect = 'VaultNotFound,AzureSiteRecovery.DR.Sites.GetDRSiteCommand'; Missing = $true }
        @{ Name = 'Get-RecoveryPlan, -Vault missing'; Command = 'Get-RecoveryPlan -Vault $Missing'; Expect = 'VaultNotFound,AzureSiteRecovery.DR.Plans.GetRecoveryPlanCommand'; Missing = $true }
        @{ Name = 'Test-RecoveryPlan, -Vault missing'; Command = 'Test-RecoveryPlan -Vault $Missing -Name fuzz'; Expect = 'VaultNotFound,AzureSiteRecovery.DR.Plans.TestRecoveryPlanCommand'; Missing = $true }
        @{ Name = 'Export-RecoveryPlan, -Vault missing'; Command = 'Export-RecoveryPlan -Vault $Missing -Name fuzz'; Expect = 'VaultNotFound,AzureSiteRecovery.DR.Plans.ExportRecoveryPlanCommand'; Missing = $true }
        @{ Name = 'Get-DRJob, -Vault missing'; Command = 'Get-DRJob -Vault $Missing'; Expect = 'VaultNotFound,AzureSiteRecovery.DR.Jobs.GetDRJobCommand'; Missing = $true }
        @{ Name = 'Get-ProtectedVm, -Vault missing'; Command = 'Get-ProtectedVm -Vault $Missing'; Expect = 'VaultNotFound,AzureSiteRecovery.DR.Replication.GetProtectedVmCommand'; Missing = $true }
        @{ Name = 'Set-DRSite, -Vault missing'; Command = 'Set-DRSite -Vault $Missing -Name onprem -Description x'; Expect = 'VaultNotFound,AzureSiteRecovery.DR.Sites.SetDRSiteCommand'; Missing = $true }
        @{ Name = 'Start-TestFailover, -Vault missing'; Command = 'Start-TestFailover -Vault $Missing -RecoveryPlan fuzz'; Expect = 'VaultNotFound,AzureSiteRecovery.DR.Recovery.StartTestFailoverCommand'; Missing = $true }
        @{ Name = 'Start-TestFailover -VmId (at the end of the pipeline), -Vault missing'; Command = 'Start-TestFailover -Vault $Missing -VmId 0123 -Network DC0_DVPG1'; Expect = 'VaultNotFound,AzureSiteRecovery.DR.Recovery.StartTestFailoverCommand'; Missing = $true }
        @{ Name = 'Get-DRSite, -Vault a folder'; Command = 'Get-DRSite -Vault (Split-Path $Vault)'; Expect = 'VaultNotFound,AzureSiteRecovery.DR.Sites.GetDRSiteCommand' }
        @{ Name = 'New-ReplicationPolicy, -Vault a folder'; Command = 'New-ReplicationPolicy -Vault (Split-Path $Vault) -Name silver'; Expect = 'VaultUnreadable,AzureSiteRecovery.DR.Policies.NewReplicationPolicyCommand' }
        @{ Name = 'Get-DRSite, -Vault /dev/null'; Command = 'Get-DRSite -Vault /dev/null'; Expect = 'VaultUnreadable,AzureSiteRecovery.DR.Sites.GetDRSiteCommand' }
        @{ Name = 'New-ReplicationPolicy, -Vault /dev/zero'; Command = 'New-ReplicationPolicy -Vault /dev/zero -Name silver'; Expect = 'VaultUnreadable,AzureSiteRecovery.DR.Policies.NewReplicationPolicyCommand' }
        @{ Name = 'Get-DRSite, -Vault a text file'; Command = 'Get-DRSite -Vault "$Vault.key"'; Expect = 'VaultUnreadable,AzureSiteRecovery.DR.Sites.GetDRSiteCommand' }
        @{ Name = 'New-DRSite -Server with a path but no scheme'; Command = 'New-DRSite -Vault $Vault -Name vc -VSphere -Server vc01.example.test/sdk -Credential $Credential -Role Protected'; Expect = 'InvalidSiteSetting,AzureSiteRecovery.DR.Sites.NewDRSiteCommand' }
        @{ Name = 'New-DRSite, a NUL in the name'; Command = 'New-DRSite -Vault $Vault -Name "vc`0x" -VSphere -Server https://vc03.example.test/sdk -Credential $Credential -Role Protected -SkipConnectionTest'; Expect = 'InvalidSiteSetting,AzureSiteRecovery.DR.Sites.NewDRSiteCommand'; Printable = $true }
        @{ Name = 'New-DRSite -Azure, an http -ArmEndpoint'; Command = 'New-DRSite -Vault $Vault -Name az -Azure -SubscriptionId s -ResourceGroup rg -Location westeurope -ArmEndpoint http://127.0.0.1:1/ -Role Recovery -SkipConnectionTest'; Expect = 'InvalidSiteSetting,AzureSiteRecovery.DR.Sites.NewDRSiteCommand' }
        @{ Name = 'New-DRSite -Azure, an escape sequence in -Environment'; Command = 'New-DRSite -Vault $Vault -Name az -Azure -SubscriptionId s -ResourceGroup rg -Location westeurope -Environment "Azure`eCloud" -Role Recovery -SkipConnectionTest'; Expect = 'InvalidSiteSetting,AzureSiteRecovery.DR.Sites.NewDRSiteCommand'; Printable = $true }
        @{ Name = 'New-DRSite -Azure, a service principal without its secret'; Command = 'New-DRSite -Vault $Vault -Name az -Azure -SubscriptionId s -ResourceGroup rg -Location westeurope -Authentication ServicePrincipalSecret -TenantId t -ClientId app -Role Recovery -SkipConnectionTest'; Expect = 'InvalidSiteSetting,AzureSiteRecovery.DR.Sites.NewDRSiteCommand' }
        @{ Name = 'Get-DRSite, an escape sequence in the name'; Command = 'Get-DRSite -Vault $Vault -Name "on`eprem`a"'; Expect = 'SiteNotFound,AzureSiteRecovery.DR.Sites.GetDRSiteCommand'; Printable = $true }
        @{ Name = 'Get-DRSite, a bad wildcard pattern'; Command = 'Get-DRSite -Vault $Vault -Name "on[prem"'; Expect = 'InvalidWildcardPattern,AzureSiteRecovery.DR.Sites.GetDRSiteCommand' }
        @{ Name = 'Stop-TestFailover, an unknown job'; Command = 'Stop-TestFailover -Vault $Vault -JobId 00000000000000000000000000000000 -Confirm:$false'; Expect = 'DRJobNotFound,AzureSiteRecovery.DR.Recovery.StopTestFailoverCommand' }
        @{ Name = 'Start-TestFailover, an unknown plan'; Command = 'Start-TestFailover -Vault $Vault -RecoveryPlan nope'; Expect = 'RecoveryPlanNotFound,AzureSiteRecovery.DR.Recovery.StartTestFailoverCommand' }
        @{ Name = 'Start-TestFailover, a plan whose VMs are not protected'; Command = 'Start-TestFailover -Vault $Vault -RecoveryPlan fuzz'; Expect = 'RecoveryPlanNotReady,AzureSiteRecovery.DR.Recovery.StartTestFailoverCommand' }
        @{ Name = 'Import-RecoveryPlan /dev/zero'; Command = 'Import-RecoveryPlan -Vault $Vault -Path /dev/zero'; Expect = 'RecoveryPlanInvalid,AzureSiteRecovery.DR.Plans.ImportRecoveryPlanCommand' }
        @{ Name = 'Import-RecoveryPlan a folder'; Command = 'Import-RecoveryPlan -Vault $Vault -Path (Split-Path $Vault)'; Expect = 'RecoveryPlanInvalid,AzureSiteRecovery.DR.Plans.ImportRecoveryPlanCommand' }
        @{ Name = 'Resume-DRJob, an unknown job'; Command = 'Resume-DRJob -Vault $Vault -JobId nope -Confirm:$false'; Expect = 'DRJobNotFound,AzureSiteRecovery.DR.Jobs.ResumeDRJobCommand' }
        @{ Name = 'Export-DrillReport, an unknown job'; Command = 'Export-DrillReport -Vault $Vault -JobId nope -Path (Join-Path (Split-Path $Vault) r.html)'; Expect = 'DRJobNotFound,AzureSiteRecovery.DR.Reports.ExportDrillReportCommand' }
    )
}
