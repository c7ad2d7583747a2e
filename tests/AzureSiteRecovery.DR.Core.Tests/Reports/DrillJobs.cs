using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Tests.Reports
{
    /// <summary>Recovery jobs written by hand the way recovery steps record them (kinds and details), for the report tests.</summary>
    internal sealed class DrillJobs
    {
        /// <summary>When the sample jobs start.</summary>
        public static readonly DateTimeOffset T0 = new DateTimeOffset(2025, 3, 1, 10, 0, 0, TimeSpan.Zero);

        private readonly List<JobStep> steps = new List<JobStep>();

        public static DateTimeOffset At(double seconds) => T0.AddSeconds(seconds);

        public DrillJobs Add(string name, string kind, string? group, string? vm, double? start, double? end,
            JobStepState state = JobStepState.Succeeded, string? error = null, string? message = null, IDictionary<string, string>? details = null)
        {
            var all = new Dictionary<string, string>(details ?? new Dictionary<string, string>()) { [JobStepDetail.Kind] = kind };
            steps.Add(new JobStep
            {
                Index = steps.Count,
                Name = name,
                Group = group,
                Vm = vm,
                IsFinally = kind == JobStepKind.Cleanup,
                State = state,
                Started = start is double s ? At(s) : null,
                Ended = end is double e ? At(e) : null,
                Error = error,
                Message = message,
                Details = all,
            });
            return this;
        }

        /// <summary>A VM's recovery: point taken <paramref name="pointAge"/> seconds before the job, up at <paramref name="up"/>.</summary>
        public DrillJobs Recover(string group, string vm, double start, double up, double pointAge = 300, JobStepState state = JobStepState.Succeeded, string? error = null,
            IDictionary<string, string>? details = null)
        {
            var given = details;
            details = new Dictionary<string, string>
            {
                [JobStepDetail.VmId] = "vm-id-" + vm,
                [JobStepDetail.RecoveryPointId] = "rp-" + vm,
                [JobStepDetail.RecoveryPointTime] = At(-pointAge).ToString("o", CultureInfo.InvariantCulture),
                [JobStepDetail.Consistency] = "AppConsistent",
                [JobStepDetail.RecoveredSite] = "dr",
                [JobStepDetail.RecoveredMoRef] = "vm-" + (100 + steps.Count).ToString(CultureInfo.InvariantCulture),
                [JobStepDetail.RecoveredName] = vm + "-drill",
                [JobStepDetail.BytesWritten] = "1073741824",
                [JobStepDetail.ChunksWritten] = "256",
            };
            // What the caller gives wins over the defaults above.
            foreach (var detail in given ?? new Dictionary<string, string>()) details[detail.Key] = detail.Value;
            if (state == JobStepState.Succeeded)
            {
                details[JobStepDetail.IpAddress] = "10.0.0." + (10 + steps.Count).ToString(CultureInfo.InvariantCulture);
                details[JobStepDetail.UpAt] = At(up).ToString("o", CultureInfo.InvariantCulture);
            }
            var ran = state != JobStepState.Skipped && state != JobStepState.Pending;
            return Add($"Recover {vm}", JobStepKind.RecoverVm, group, vm, ran ? start : null, ran && state != JobStepState.Running ? up : null, state, error,
                details: ran ? details : null);
        }

        public DrillJobs Validate(string group, string vm, string check, double start, double end, JobStepState state = JobStepState.Succeeded, string? error = null) =>
            Add($"Validate {vm}: {check}", JobStepKind.Validate, group, vm, start, end, state, error,
                details: new Dictionary<string, string> { [JobStepDetail.Validation] = check });

        public DRJob Job(JobState state, double? end, string? error = null, string plan = "erp", JobOperation operation = JobOperation.Drill) => new DRJob
        {
            JobId = "job-" + plan,
            Operation = operation,
            Target = plan,
            State = state,
            Created = T0.AddSeconds(-1),
            Started = T0,
            Ended = end is double e ? At(e) : null,
            Error = error,
            Steps = steps.ToList(),
        };

        /// <summary>
        /// A drill of three groups (db, app, web) of two VMs each, every step passed. db01 recovers from
        /// a point 5 minutes old and is up 2 minutes after the start.
        /// </summary>
        public static DRJob PassingDrill() =>
            new DrillJobs()
                .Add("Choose recovery points", JobStepKind.Prepare, null, null, 0, 5)
                .Recover("db", "db01", 5, 120)
                .Recover("db", "db02", 5, 130, pointAge: 600)
                .Validate("db", "db01", "tcp 1433", 130, 132)
                .Validate("db", "db02", "tcp 1433", 132, 133)
                .Add("Wait 30s after db", JobStepKind.Action, "db", null, 133, 163, message: "Waited 30s.")
                .Recover("app", "app01", 163, 240)
                .Recover("app", "app02", 163, 250)
                .Validate("app", "app01", "http https://app01/health", 250, 251)
                .Validate("app", "app02", "http https://app02/health", 251, 252)
                .Recover("web", "web01", 252, 300)
                .Recover("web", "web02", 252, 310)
                .Validate("web", "web01", "tcp 443", 310, 311)
                .Validate("web", "web02", "tcp 443", 311, 312)
                .Add("Delete the test VMs", JobStepKind.Cleanup, null, null, 312, 330)
                .Job(JobState.Succeeded, 330);

        /// <summary>db01's SQL port never answers: the drill fails there, app and web are skipped, cleanup runs.</summary>
        public static DRJob FailedValidation() =>
            new DrillJobs()
                .Add("Choose recovery points", JobStepKind.Prepare, null, null, 0, 5)
                .Recover("db", "db01", 5, 120)
                .Recover("db", "db02", 5, 130)
                .Validate("db", "db01", "tcp 1433", 130, 190, JobStepState.Failed, "db01 (10.0.0.11) did not answer on TCP 1433 within 60s.")
                .Validate("db", "db02", "tcp 1433", 190, 191)
                .Recover("app", "app01", 0, 0, state: JobStepState.Skipped)
                .Add("Delete the test VMs", JobStepKind.Cleanup, null, null, 191, 200)
                .Job(JobState.Failed, 200, "Step 'Validate db01: tcp 1433' failed: db01 (10.0.0.11) did not answer on TCP 1433 within 60s.");
    }
}
