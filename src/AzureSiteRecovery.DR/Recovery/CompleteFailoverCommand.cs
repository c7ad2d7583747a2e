using System.Management.Automation;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Recovery
{
    /// <summary>Commits the failover of a recovery plan: its VMs now run on the recovery site for good.</summary>
    /// <remarks>
    /// Runs a CompleteFailover job that marks each failed-over VM of the plan FailoverCommitted. After that, Undo-Failover is no longer possible; Invoke-Reprotect replicates the recovered VMs back to the chunk store, and Invoke-Failback later brings them home. VMs already committed are left as they are. It cannot be undone, so it asks for confirmation; in a runbook or pwsh -NonInteractive give -Confirm:$false (without it the command fails with ConfirmationRequired and changes nothing).
    /// </remarks>
    /// <example>
    /// <code>Complete-Failover -RecoveryPlan erp</code>
    /// <para>Commits the failover of plan erp, after asking.</para>
    /// </example>
    /// <example>
    /// <code>Complete-Failover -RecoveryPlan erp -Confirm:$false</code>
    /// <para>Commits without a prompt, as a runbook must.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Complete, "Failover", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    [OutputType(typeof(DRJob))]
    public sealed class CompleteFailoverCommand : PlanJobCmdlet
    {
        protected override JobOperation Operation => JobOperation.CompleteFailover;
    }
}
