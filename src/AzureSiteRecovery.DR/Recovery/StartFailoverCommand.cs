using System;
using System.Management.Automation;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;

namespace AzureSiteRecovery.DR.Recovery
{
    /// <summary>Fails a recovery plan over to its recovery site for real: planned (nothing lost) or unplanned (from the chosen points).</summary>
    /// <remarks>
    /// Runs a Failover job. With -Planned the source VMs are shut down (guest shutdown, or power
    /// off without VMware Tools) and replicated one last time, so the recovery point holds every
    /// write; without it the source site may be gone and each VM comes back from the point chosen
    /// by -RecoveryPoint or -PointInTime. The VMs are then marked failed over (their replication
    /// pauses) and recovered group by group on the RECOVERY network of each network mapping, under
    /// their own names, with pre/post actions and validations as in a drill. Complete-Failover
    /// commits it; Undo-Failover deletes the recovered VMs and resumes protection (a planned
    /// failover's sources are powered on again). A job whose process died continues with
    /// Resume-DRJob; no VM is recovered twice.
    /// </remarks>
    /// <example>
    /// <code>Start-Failover -RecoveryPlan erp -Planned -Confirm:$false</code>
    /// <para>A planned migration of plan erp to its recovery site, without prompting (runbooks).</para>
    /// </example>
    /// <example>
    /// <code>Start-Failover -RecoveryPlan erp -PointInTime (Get-Date).AddMinutes(-30)</code>
    /// <para>Disaster recovery from each VM's newest point at least 30 minutes old (before a ransomware hit, say).</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Start, "Failover", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    [OutputType(typeof(DRJob))]
    public sealed class StartFailoverCommand : PointJobCmdlet
    {
        /// <summary>Shut the source VMs down and replicate them one last time before recovering them: no data is lost. Needs the protected site; -RecoveryPoint and -PointInTime do not go with it.</summary>
        [Parameter]
        public SwitchParameter Planned { get; set; }

        protected override JobOperation Operation => JobOperation.Failover;

        protected override string Description => $"Recovery plan '{RecoveryPlan}' ({(Planned ? "planned: the source VMs are shut down" : "unplanned")})";

        internal override RecoveryRequest Request() => base.Request() with { Planned = Planned };

        protected override void ProcessItem()
        {
            if (Planned && (PointInTime != null || MyInvocation.BoundParameters.ContainsKey(nameof(RecoveryPoint))))
            {
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("A planned failover always recovers from the final sync's point: leave out -RecoveryPoint and -PointInTime, or leave out -Planned."),
                    "PlannedFailoverPointGiven", ErrorCategory.InvalidArgument, RecoveryPlan));
            }

            base.ProcessItem();
        }
    }
}
