using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Orchestration.Plans;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;

namespace AzureSiteRecovery.DR.Plans
{
    /// <summary>Checks that a recovery plan can run: the pre-flight of a drill or failover.</summary>
    /// <remarks>
    /// Checks the plan against the vault, then the recovery site itself. In the vault: its protected and recovery
    /// sites exist with the right roles; every VM it names (and every VM of the protection groups
    /// it names) is protected from the plan's protected site to its recovery site and has a
    /// recovery point; no VM is in two groups; there are network mappings, and no test network is
    /// also a production recovery network; limits hold (at most 100 groups and 1000 VMs, boot
    /// delays up to 1 hour, start timeouts from 10 seconds to 4 hours, validation timeouts up to
    /// 1 hour, actions up to 24 hours). Writes one finding per problem (Severity Error, Warning or
    /// Information, a stable Check name, the plan's line:column), then a summary whose Passed is
    /// true when no finding is an error. A VM whose networks the vault does not know yet (no cycle
    /// since it was protected) is a warning to check by hand. A plan that recovers to Azure: each
    /// recoveryNetwork and testNetwork names a subnet, as vnet/subnet or a subnet's resource id
    /// (AzureNetworkMappingInvalid), a test subnet is not a recovery subnet and not in a recovery
    /// virtual network (TestNetworkNotIsolated), every disk is at most 32 TiB (DiskTooLargeForAzure)
    /// and every VM's firmware is known as bios or efi, which picks its generation (FirmwareUnknown,
    /// FirmwareNotSupported); a plan that recovers to vSphere has no 'azure:' block
    /// (AzureSettingsOnVSphere). On the recovery site (it is
    /// connected to): it is a vSphere site (an Azure recovery site is RecoverySiteNotSupported:
    /// not supported yet), it answers (RecoverySiteUnreachable), every recovery and test network
    /// of the mappings exists there (RecoveryNetworkNotFound, TestNetworkNotFound), and the
    /// datastore the VMs would go to (-Datastore, else the one with the most free space) has room
    /// for their disks at their newest points (DatastoreTooSmall). Drills, test failovers and
    /// failovers run the same checks before they record a job. -SkipSiteCheck checks the vault only.
    /// </remarks>
    /// <example>
    /// <code>Test-RecoveryPlan erp</code>
    /// <para>Shows the findings and the summary of the plan 'erp'.</para>
    /// </example>
    /// <example>
    /// <code>$summary = Test-RecoveryPlan erp | Select-Object -Last 1; if (-not $summary.Passed) { throw 'The ERP plan is not ready.' }</code>
    /// <para>Stops a runbook when the plan would fail.</para>
    /// </example>
    /// <example>
    /// <code>Test-RecoveryPlan erp -Datastore ssd01 | Where-Object Severity -eq Error</code>
    /// <para>Lists only the problems, checking the datastore ssd01 for room.</para>
    /// </example>
    [Cmdlet(VerbsDiagnostic.Test, "RecoveryPlan")]
    [OutputType(typeof(RecoveryPlanFinding), typeof(RecoveryPlanTestResult))]
    public sealed class TestRecoveryPlanCommand : DRCmdlet
    {
        /// <summary>The name of the plan to check.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("RecoveryPlan")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(RecoveryPlanNameCompleter))]
        public string Name { get; set; } = "";

        /// <summary>The recovery site datastore to check for room, as the -Datastore of a drill or failover; by default the one with the most free space.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Datastore { get; set; }

        /// <summary>Checks against the vault only, without connecting to the recovery site.</summary>
        [Parameter]
        public SwitchParameter SkipSiteCheck { get; set; }

        protected override void ProcessItem()
        {
            ForItem(Name, () =>
            {
                var vault = OpenVault();
                var plan = Await(ct => new RecoveryPlanCatalog(vault).FindAsync(Name, ct)) ?? throw new ObjectNotFoundException("RecoveryPlan", Name);
                WriteVerbose($"Checking recovery plan '{plan.Name}' ({plan.GroupCount} groups) against the vault{(SkipSiteCheck ? "" : $" and recovery site '{plan.RecoverySite}'")}.");
                var result = Await(ct => new RecoveryPreflight(vault).CheckAsync(plan, PreflightPurpose.Any, RecoveryPointChoice.Latest, Datastore, !SkipSiteCheck, ct));
                foreach (var finding in result.Findings)
                {
                    WriteObject(finding);
                }
                WriteObject(result);
            });
        }
    }
}
