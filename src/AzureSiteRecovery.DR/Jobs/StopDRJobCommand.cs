using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Jobs;

namespace AzureSiteRecovery.DR.Jobs
{
    /// <summary>Asks a job to stop.</summary>
    /// <remarks>
    /// Records the request in the vault; the process running the job (this or another one) sees it
    /// within about a second, stops the step that is running (a wait, a validation, a script, a
    /// VM being recovered), runs its cleanup steps and ends it as Cancelled. A job that waits
    /// for the user or was interrupted stops the same way when Resume-DRJob runs it. A job that
    /// has ended cannot be stopped (JobAlreadyEnded). Follow the stop with Wait-DRJob.
    /// </remarks>
    /// <example>
    /// <code>Stop-DRJob -JobId $job.JobId -PassThru | Wait-DRJob</code>
    /// <para>Stops a job and waits until its cleanup has run.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Stop, "DRJob", SupportsShouldProcess = true)]
    [OutputType(typeof(DRJob))]
    public sealed class StopDRJobCommand : DRCmdlet
    {
        /// <summary>The id of the job to stop (from Get-DRJob through the pipeline).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(DRJobIdCompleter))]
        public string JobId { get; set; } = "";

        /// <summary>Returns the job after the stop was requested.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessItem()
        {
            ForItem(JobId, () =>
            {
                var runner = new JobRunner(OpenVault(), new JobCatalog());
                var job = Await(ct => runner.GetAsync(JobId, ct));
                RefuseIfEnded(job);
                if (!ShouldProcess($"Job '{job.JobId}' ({job.Operation} of {job.Target}, {job.State})", "Stop"))
                {
                    return;
                }

                var stopped = Await(ct => OpenVault().UpdateJobAsync(job.JobId, j =>
                {
                    RefuseIfEnded(j);
                    return j with { StopRequested = true };
                }, ct));
                WriteVerbose($"Stop requested for job '{job.JobId}'.");
                if (PassThru)
                {
                    WriteObject(JobRunner.Observe(stopped));
                }
            });
        }

        private static void RefuseIfEnded(DRJob job)
        {
            if (DRJob.IsEnded(job.State))
            {
                throw new JobException("JobAlreadyEnded", FailureKind.InvalidArgument, job.JobId, $"Job '{job.JobId}' has ended ({job.State}); there is nothing to stop.");
            }
        }
    }
}
