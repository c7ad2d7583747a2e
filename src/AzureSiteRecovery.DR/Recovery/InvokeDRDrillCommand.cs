using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
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
    /// (Resume-DRJob continues it; the clean-up runs when it ends). A drill that ends without
    /// passing also writes a non-terminating error (DrillFailed) after its report, so $? is false
    /// and -ErrorAction Stop ends a script.
    /// </remarks>
    /// <example>
    /// <code>$r = Invoke-DRDrill -RecoveryPlan erp; $r | Export-DrillReport -Path ./drill.html</code>
    /// <para>Drills plan erp and writes the report as a web page.</para>
    /// </example>
    /// <example>
    /// <code>$r = Invoke-DRDrill -RecoveryPlan erp -Confirm:$false -ErrorAction Stop</code>
    /// <para>In a runbook: a drill that fails stops the script (DrillFailed), after the report was returned.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Invoke, "DRDrill", SupportsShouldProcess = true)]
    [OutputType(typeof(DrillReport))]
    public sealed class InvokeDRDrillCommand : PointJobCmdlet
    {
        protected override JobOperation Operation => JobOperation.Drill;

        protected override object Output(DRJob job) => DrillReport.FromJob(job);

        protected override void OnJobEnded(DRJob job)
        {
            if (DrillReport.FromJob(job).Failure() is { } failure)
            {
                WriteError(DRCmdlet.ToErrorRecord(failure, job.JobId));
            }
        }
    }
}
