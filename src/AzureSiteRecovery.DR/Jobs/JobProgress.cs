using System;
using System.Collections.Generic;
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

        /// <summary>
        /// Child records of the job's record (<paramref name="activityId"/>), one per VM its steps work on
        /// (activity id <paramref name="activityId"/> + 1 + the VM's place in the job): "VM i of N" and the
        /// VM's own step, its percent the share of its steps ended; a VM whose steps have all ended is
        /// Completed. Only VMs whose record changed since <paramref name="written"/> are returned.
        /// </summary>
        internal static IEnumerable<ProgressRecord> VmRecords(DRJob job, int activityId, IDictionary<string, string> written)
        {
            var vms = job.Steps.Where(s => s.Vm != null).Select(s => s.Vm!).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            for (var i = 0; i < vms.Count; i++)
            {
                var steps = job.Steps.Where(s => string.Equals(s.Vm, vms[i], StringComparison.OrdinalIgnoreCase)).ToList();
                var ended = steps.Count(s => s.State != JobStepState.Pending && s.State != JobStepState.Running && s.State != JobStepState.WaitingForUser);
                var current = steps.FirstOrDefault(s => s.State == JobStepState.Running || s.State == JobStepState.WaitingForUser);
                var done = ended == steps.Count || DRJob.IsEnded(job.State);
                if (!done && current is null && ended == 0)
                {
                    continue; // not reached yet
                }

                var status = done ? "Done" : current is null ? $"VM {i + 1} of {vms.Count}" : $"VM {i + 1} of {vms.Count}: {current.Name}";
                var signature = $"{ended}|{status}";
                if (written.TryGetValue(vms[i], out var last) && (last == signature || last == "Done"))
                {
                    continue;
                }

                written[vms[i]] = done ? "Done" : signature;
                yield return new ProgressRecord(activityId + 1 + i, $"{vms[i]}", status)
                {
                    ParentActivityId = activityId,
                    PercentComplete = Math.Min(100, ended * 100 / steps.Count),
                    RecordType = done ? ProgressRecordType.Completed : ProgressRecordType.Processing,
                };
            }
        }

        /// <summary>Runs <paramref name="work"/> on the thread pool; its progress reports become progress records written on the pipeline thread.</summary>
        public static DRJob Run(DRCmdlet cmdlet, int activityId, Func<IProgress<DRJob>, CancellationToken, Task<DRJob>> work)
        {
            using var dispatcher = new PipelineDispatcher();
            var vmsWritten = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            string? lastStep = null;
            var progress = new DispatchedProgress<DRJob>(dispatcher, job =>
            {
                var step = job.CurrentStep is JobStep current ? $"{current.Index}:{current.State}" : null;
                if (step != null && step != lastStep)
                {
                    cmdlet.WriteVerboseLine($"Job {job.JobId}: step {job.CurrentStep!.Index + 1} '{job.CurrentStep.Name}' {job.CurrentStep.State}.");
                }

                lastStep = step;
                var parent = Record(job, activityId);
                if (parent.RecordType != ProgressRecordType.Completed)
                {
                    cmdlet.WriteProgressRecord(parent);
                }

                foreach (var child in VmRecords(job, activityId, vmsWritten))
                {
                    cmdlet.WriteProgressRecord(child);
                }

                if (parent.RecordType == ProgressRecordType.Completed)
                {
                    cmdlet.WriteProgressRecord(parent);
                }
            });
            return dispatcher.Run(() => work(progress, cmdlet.Cancellation));
        }
    }
}
