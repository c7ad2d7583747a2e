using System;
using System.Diagnostics;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Jobs;
using JobState = AzureSiteRecovery.DR.Core.Model.JobState;

namespace AzureSiteRecovery.DR.Jobs
{
    /// <summary>Waits for jobs to end or to need the user, showing their steps as progress.</summary>
    /// <remarks>
    /// Follows each job in the vault (run by this or any other process) and returns it when it is
    /// Succeeded, Failed, Cancelled, WaitingForUser (a manual step: read CurrentStep.Message, then
    /// Resume-DRJob), or Interrupted (its process died: Resume-DRJob). Write-Progress shows the
    /// step running. With -Timeout, a job still running when the time is up is reported
    /// (WaitDRJobTimeout) and not returned. Ctrl+C stops the waiting, not the job (Stop-DRJob
    /// does that).
    /// </remarks>
    /// <example>
    /// <code>Get-DRJob -State Running | Wait-DRJob</code>
    /// <para>Waits for every running job and returns each as it ends.</para>
    /// </example>
    /// <example>
    /// <code>Wait-DRJob -JobId $job.JobId -Timeout (New-TimeSpan -Hours 1)</code>
    /// <para>Waits at most an hour for one job.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Wait, "DRJob")]
    [OutputType(typeof(DRJob))]
    public sealed class WaitDRJobCommand : DRCmdlet
    {
        private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);
        private int activityId;

        /// <summary>Ids of the jobs to wait for (from Get-DRJob or a cmdlet that starts a job, through the pipeline).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(DRJobIdCompleter))]
        public string[] JobId { get; set; } = Array.Empty<string>();

        /// <summary>How long to wait for each job at most, such as (New-TimeSpan -Minutes 30) or '00:30:00'. Default: no limit.</summary>
        [Parameter]
        [ValidateNotNull]
        public TimeSpan? Timeout { get; set; }

        protected override void ProcessItem()
        {
            foreach (var id in JobId)
            {
                ForItem(id, () => WaitFor(id));
            }
        }

        private void WaitFor(string id)
        {
            var runner = new JobRunner(OpenVault(), new JobCatalog());
            var activity = ++activityId;
            var watch = Stopwatch.StartNew();
            while (true)
            {
                var job = Await(ct => runner.GetAsync(id, ct));
                WriteProgress(JobProgress.Record(job, activity));
                if (DRJob.IsEnded(job.State) || job.State == JobState.WaitingForUser || job.State == JobState.Interrupted)
                {
                    WriteObject(job);
                    return;
                }

                if (Timeout is TimeSpan limit && watch.Elapsed >= limit)
                {
                    WriteProgress(new ProgressRecord(activity, JobProgress.Record(job, activity).Activity, "Timed out") { RecordType = ProgressRecordType.Completed });
                    WriteError(new ErrorRecord(new TimeoutException($"Job '{job.JobId}' is still {job.State} after {limit}."),
                        "WaitDRJobTimeout", ErrorCategory.OperationTimeout, job.JobId));
                    return;
                }

                if (CancellationToken.WaitHandle.WaitOne(PollInterval))
                {
                    throw new OperationCanceledException(CancellationToken);
                }
            }
        }
    }
}
