using System.Management.Automation;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Recovery
{
    /// <summary>Undoes an uncommitted failover: deletes the recovered VMs and resumes protection of the sources.</summary>
    /// <remarks>
    /// Runs an UndoFailover job: for each failed-over VM of the plan, the VM the failover created on the recovery site (found by its tags) is destroyed with its files, a source a planned failover shut down is powered on again, and the VM goes back to the Protected state, so Sync-VmReplication replicates it again. A committed failover cannot be undone (FailoverCommitted): use Invoke-Reprotect and Invoke-Failback.
    /// </remarks>
    /// <example>
    /// <code>Undo-Failover -RecoveryPlan erp -Confirm:$false</code>
    /// <para>Goes back to the state before Start-Failover, without prompting.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Undo, "Failover", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(DRJob))]
    public sealed class UndoFailoverCommand : PlanJobCmdlet
    {
        protected override JobOperation Operation => JobOperation.UndoFailover;
    }
}
