using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Jobs;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;

namespace AzureSiteRecovery.DR.Jobs
{
    /// <summary>Continues a job paused at a manual step, or one whose process died.</summary>
    /// <remarks>
    /// Runs the rest of the job in this session and returns it when it ends or reaches the next
    /// manual step. A WaitingForUser job continues after its manual step (which counts as done);
    /// an Interrupted job runs again from the step that was running when its process died. Steps
    /// already done are not run again. A recovery job runs to its end with the copy of its plan it
    /// recorded when it started (PlanYaml, PlanHash), whatever the vault holds now; a copy that no
    /// longer matches its hash is refused (JobPlanDamaged). The steps are rebuilt from the job's operation and target:
    /// an operation this module version cannot run is reported (JobOperationUnavailable). A job
    /// another live process runs is refused (JobInProgress), and so is one that has ended
    /// (JobNotResumable). Write-Progress shows the step running; Ctrl+C stops the job (its cleanup
    /// steps still run).
    /// </remarks>
    /// <example>
    /// <code>Get-DRJob -State WaitingForUser | Resume-DRJob</code>
    /// <para>Continues every job waiting at a manual step, after the user did what it asked.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Resume, "DRJob", SupportsShouldProcess = true)]
    [OutputType(typeof(DRJob))]
    public sealed class ResumeDRJobCommand : DRCmdlet
    {
        /// <summary>The id of the job to continue (from Get-DRJob through the pipeline).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(DRJobIdCompleter))]
        public string JobId { get; set; } = "";

        protected override void ProcessItem()
        {
            ForItem(JobId, () =>
            {
                var runner = new JobRunner(OpenVault(), new RecoveryJobs(Recovery.RecoveryJobCmdlet.ServicesFor(OpenVault(), Connection)).Catalog());
                var job = Await(ct => runner.GetAsync(JobId, ct));
                var step = job.CurrentStep is JobStep current ? $" at step '{current.Name}'" : "";
                if (ShouldProcess($"Job '{job.JobId}' ({job.Operation} of {job.Target}, {job.State}{step})", "Resume"))
                {
                    WriteObject(JobProgress.Run(this, 1, (progress, ct) => runner.ResumeAsync(job.JobId, ct, progress)));
                }
            });
        }
    }
}
