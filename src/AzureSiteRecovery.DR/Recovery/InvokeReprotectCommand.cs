using System.Management.Automation;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Recovery
{
    /// <summary>Replicates the recovered VMs of a committed failover back into the chunk store, so the original site can be recovered to.</summary>
    /// <remarks>
    /// Runs a Reprotect job: for each FailoverCommitted VM of the plan, change block tracking is turned on for the recovered VM on the recovery site, the VM's record now replicates that VM (state Reprotected), and a first cycle takes a point from it. Chunks already in the store are not stored again, so only what changed since the failover is sent. Sync-VmReplication keeps it current until Invoke-Failback.
    /// </remarks>
    /// <example>
    /// <code>Invoke-Reprotect -RecoveryPlan erp</code>
    /// <para>Starts replicating plan erp's recovered VMs back.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Invoke, "Reprotect", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(DRJob))]
    public sealed class InvokeReprotectCommand : PlanJobCmdlet
    {
        protected override JobOperation Operation => JobOperation.Reprotect;
    }
}
