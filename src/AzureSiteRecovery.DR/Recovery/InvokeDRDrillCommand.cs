using System;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;
using AzureSiteRecovery.DR.Core.Orchestration.Reports;

namespace AzureSiteRecovery.DR.Recovery
{
    /// <summary>Runs a DR drill of a recovery plan: a test failover, its validations and the clean-up as one job, and returns its report.</summary>
    /// <remarks>
    /// Runs a Drill job: the steps of Start-TestFailover, then the deletion of every test VM,
    /// which runs whatever happened before it (a failed step, Stop-DRJob, Ctrl+C). The drill passes
    /// when every VM came up, every validation passed and the clean-up succeeded. Returns a
    /// DrillReport (per-VM RTO, the RPO of the point used, every step with its time and result);
    /// Export-DrillReport writes it as HTML, JSON or JUnit XML. A manual step pauses the drill
    /// (Resume-DRJob continues it; the clean-up runs when it ends).
    /// </remarks>
    /// <example>
    /// <code>$r = Invoke-DRDrill -RecoveryPlan erp; $r | Export-DrillReport -Path ./drill.html</code>
    /// <para>Drills plan erp and writes the report as a web page.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Invoke, "DRDrill", SupportsShouldProcess = true)]
    [OutputType(typeof(DrillReport))]
    public sealed class InvokeDRDrillCommand : RecoveryJobCmdlet
    {
        /// <summary>The recovery plan to drill (Get-RecoveryPlan output binds by its Name).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("Name")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Plans.RecoveryPlanNameCompleter))]
        public string RecoveryPlan { get; set; } = "";

        /// <summary>Latest (default), LatestAppConsistent, or the id of a recovery point for its VM; the other VMs take their newest.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string RecoveryPoint { get; set; } = "Latest";

        /// <summary>Recover each VM from its newest point taken at or before this time.</summary>
        [Parameter]
        public DateTime? PointInTime { get; set; }

        /// <summary>The recovery site datastore for the test VMs' files; by default the one with the most free space.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Datastore { get; set; }

        protected override void ProcessItem()
        {
            ForItem(RecoveryPlan, () => StartRecoveryJob(JobOperation.Drill,
                RecoveryRequests.From(RecoveryPlan, Array.Empty<string>(), null, RecoveryPoint, PointInTime, Datastore),
                $"Recovery plan '{RecoveryPlan}'", (job, vault) => DrillReport.FromJob(job)));
        }
    }
}
