using System;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using JobState = AzureSiteRecovery.DR.Core.Model.JobState;

namespace AzureSiteRecovery.DR.Jobs
{
    /// <summary>
    /// Shows a job's steps as progress, and runs a job off the pipeline thread while its progress
    /// records are queued and written on the pipeline thread (the only one that may call Write*).
    /// </summary>
    internal static class JobProgress
    {
        /// <summary>The progress record of <paramref name="job"/> as it stands: the step running or waiting, and how many are done.</summary>
        public static ProgressRecord Record(DRJob job, int activityId)
        {
            var activity = $"{job.Operation} of {job.Target} (job {job.JobId})";
            var finished = job.Steps.Count(s => s.State != JobStepState.Pending && s.State != JobStepState.Running && s.State != JobStepState.WaitingForUser);
            var current = job.CurrentStep;
            var status = current is null
                ? job.State.ToString()
                : $"Step {current.Index + 1} of {job.Steps.Count}: {current.Name}" + (current.Vm is null ? "" : $" ({current.Vm})") +
                  (current.State == JobStepState.WaitingForUser ? " - waiting for the user" : "");
            var record = new ProgressRecord(activityId, activity, status)
            {
                PercentComplete = job.Steps.Count == 0 ? 0 : Math.Min(100, finished * 100 / job.Steps.Count),
            };
            if (DRJob.IsEnded(job.State) || job.State == JobState.WaitingForUser || job.State == JobState.Interrupted)
            {
                record.RecordType = ProgressRecordType.Completed;
            }

            return record;
        }

        /// <summary>Runs <paramref name="work"/> on the thread pool; its progress reports become progress records written on the pipeline thread.</summary>
        public static DRJob Run(DRCmdlet cmdlet, int activityId, Func<IProgress<DRJob>, CancellationToken, Task<DRJob>> work)
        {
            using var dispatcher = new PipelineDispatcher();
            string? lastStep = null;
            var progress = new DispatchedProgress<DRJob>(dispatcher, job =>
            {
                var step = job.CurrentStep is JobStep current ? $"{current.Index}:{current.State}" : null;
                if (step != null && step != lastStep)
                {
                    cmdlet.WriteVerboseLine($"Job {job.JobId}: step {job.CurrentStep!.Index + 1} '{job.CurrentStep.Name}' {job.CurrentStep.State}.");
                }

                lastStep = step;
                cmdlet.WriteProgressRecord(Record(job, activityId));
            });
            return dispatcher.Run(() => work(progress, cmdlet.Cancellation));
        }
    }
}
