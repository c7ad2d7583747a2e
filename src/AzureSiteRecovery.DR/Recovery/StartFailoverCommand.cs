using System;
using System.Management.Automation;
using AzureSiteRecovery.DR.Core.Model;

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
    public sealed class StartFailoverCommand : RecoveryJobCmdlet
    {
        /// <summary>The recovery plan to fail over (Get-RecoveryPlan output binds by its Name).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("Name")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Plans.RecoveryPlanNameCompleter))]
        public string RecoveryPlan { get; set; } = "";

        /// <summary>Shut the source VMs down and replicate them one last time before recovering them: no data is lost. Needs the protected site.</summary>
        [Parameter]
        public SwitchParameter Planned { get; set; }

        /// <summary>Unplanned only: Latest (default), LatestAppConsistent, or the id of a recovery point for its VM.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string RecoveryPoint { get; set; } = "Latest";

        /// <summary>Unplanned only: recover each VM from its newest point taken at or before this time.</summary>
        [Parameter]
        public DateTime? PointInTime { get; set; }

        /// <summary>The recovery site datastore for the VMs' files; by default the one with the most free space.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Datastore { get; set; }

        protected override void ProcessItem()
        {
            if (Planned && (PointInTime != null || MyInvocation.BoundParameters.ContainsKey(nameof(RecoveryPoint))))
            {
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("A planned failover always recovers from the final sync's point: leave out -RecoveryPoint and -PointInTime, or leave out -Planned."),
                    "PlannedFailoverPointGiven", ErrorCategory.InvalidArgument, RecoveryPlan));
            }

            var request = RecoveryRequests.From(RecoveryPlan, Array.Empty<string>(), null, RecoveryPoint, PointInTime, Datastore) with { Planned = Planned };
            ForItem(RecoveryPlan, () => StartRecoveryJob(JobOperation.Failover, request,
                $"Recovery plan '{RecoveryPlan}' ({(Planned ? "planned: the source VMs are shut down" : "unplanned")})", (job, vault) => job));
        }
    }
}
