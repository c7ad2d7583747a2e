using System.Management.Automation;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Recovery
{
    /// <summary>Fails a reprotected recovery plan back to its original site, onto the original VMs, writing only the chunks that changed.</summary>
    /// <remarks>
    /// Runs a Failback job, a planned failover in the reverse direction: the recovered VMs are shut down and replicated one last time; then, group by group in the plan's order, each original VM's disks are compared chunk by chunk with that final point and only the chunks that differ are written (the step's message and details give the count), and the original VM is started and waited for. Finally the recovered VMs are deleted and the VMs are protected forward again (a first cycle from the original VM). Writing into an existing disk uses ranged writes on the datastore file interface.
    /// </remarks>
    /// <example>
    /// <code>Invoke-Failback -RecoveryPlan erp -Confirm:$false</code>
    /// <para>Brings plan erp's VMs home, without prompting.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Invoke, "Failback", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    [OutputType(typeof(DRJob))]
    public sealed class InvokeFailbackCommand : PlanJobCmdlet
    {
        protected override JobOperation Operation => JobOperation.Failback;
    }
}
