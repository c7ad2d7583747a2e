using System;
using System.Collections.Generic;
using System.Linq;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>The failover-type operations that run as jobs.</summary>
    public enum JobOperation
    {
        TestFailover,
        StopTestFailover,
        Failover,
        CompleteFailover,
        UndoFailover,
        Reprotect,
        Failback,
        Drill,
    }

    /// <summary>Where a job is in its life.</summary>
    public enum JobState
    {
        /// <summary>Recorded; no step has started.</summary>
        NotStarted,
        /// <summary>A process is running its steps.</summary>
        Running,
        /// <summary>Paused at a manual step; Resume-DRJob continues it.</summary>
        WaitingForUser,
        Succeeded,
        /// <summary>A step failed; Error says which and why.</summary>
        Failed,
        /// <summary>Stopped by Stop-DRJob or Ctrl+C; its cleanup steps ran.</summary>
        Cancelled,
        /// <summary>The process running it is gone (it was Running when it died); Resume-DRJob continues it. Never stored: observed on read.</summary>
        Interrupted,
    }

    /// <summary>Where a step of a job is.</summary>
    public enum JobStepState
    {
        Pending,
        Running,
        /// <summary>A manual step: done when the user resumes the job.</summary>
        WaitingForUser,
        Succeeded,
        Failed,
        /// <summary>Not run, because the job failed or was stopped before it.</summary>
        Skipped,
    }

    /// <summary>One recorded step of a job: what Get-DRJob shows in Steps.</summary>
    public sealed record JobStep
    {
        /// <summary>The step's place in the job, from 0; cleanup (Finally) steps come after the others.</summary>
        public int Index { get; init; }
        public string Name { get; init; } = "";
        /// <summary>The recovery plan group the step belongs to, if any.</summary>
        public string? Group { get; init; }
        /// <summary>The VM the step works on, if any.</summary>
        public string? Vm { get; init; }
        /// <summary>A cleanup step: it runs even when the job failed or was stopped.</summary>
        public bool IsFinally { get; init; }
        public JobStepState State { get; init; }
        public DateTimeOffset? Started { get; init; }
        public DateTimeOffset? Ended { get; init; }
        public string? Error { get; init; }
        /// <summary>What the step reported (for a manual step, what the user is asked to do).</summary>
        public string? Message { get; init; }
        /// <summary>
        /// What the step recorded for later steps and reports, such as the recovery point it chose
        /// or the VM it created; see <see cref="JobStepDetail"/> for the keys the product uses.
        /// </summary>
        public IReadOnlyDictionary<string, string> Details { get; init; } = EmptyDetails;

        internal static readonly IReadOnlyDictionary<string, string> EmptyDetails = new Dictionary<string, string>();

        /// <summary>How long the step ran (so far, while it runs); null before it starts.</summary>
        public TimeSpan? Duration => Started is DateTimeOffset started ? (Ended ?? DateTimeOffset.UtcNow) - started : (TimeSpan?)null;

        public override string ToString() => Name;
    }

    /// <summary>A failover-type operation persisted in the vault with its steps: what Get-DRJob shows.</summary>
    public sealed record DRJob
    {
        public string JobId { get; init; } = "";
        public JobOperation Operation { get; init; }
        /// <summary>What the operation works on, such as the recovery plan's name.</summary>
        public string Target { get; init; } = "";
        public JobState State { get; init; }
        /// <summary>The process that runs (or last ran) the job: machine/pid/guid.</summary>
        public string? Owner { get; init; }
        public DateTimeOffset Created { get; init; }
        public DateTimeOffset? Started { get; init; }
        public DateTimeOffset? Ended { get; init; }
        /// <summary>Why the job failed.</summary>
        public string? Error { get; init; }
        /// <summary>Set by Stop-DRJob; the process running the job stops the running step within about a second, then runs the cleanup steps.</summary>
        public bool StopRequested { get; init; }
        /// <summary>How the job was asked to run (such as which recovery point), so that a resumed job runs the same way.</summary>
        public IReadOnlyDictionary<string, string> Parameters { get; init; } = JobStep.EmptyDetails;
        /// <summary>The recovery plan's YAML as it was when the job was created: a resumed job and its cleanup use this copy, never the plan as the vault holds it now. Null for a job without a plan.</summary>
        public string? PlanYaml { get; init; }
        /// <summary>SHA-256 (lower-case hex) of <see cref="PlanYaml"/> as UTF-8: the plan file the job started with has this hash; a resume refuses a copy that no longer matches it.</summary>
        public string? PlanHash { get; init; }
        public IReadOnlyList<JobStep> Steps { get; init; } = Array.Empty<JobStep>();

        /// <summary>How long the job ran (so far, while it runs); null before it starts.</summary>
        public TimeSpan? Duration => Started is DateTimeOffset started ? (Ended ?? DateTimeOffset.UtcNow) - started : (TimeSpan?)null;

        /// <summary>The step running or waiting for the user; null when none is.</summary>
        public JobStep? CurrentStep => Steps.FirstOrDefault(s => s.State == JobStepState.Running || s.State == JobStepState.WaitingForUser);

        /// <summary>
        /// The steps counted by outcome, such as "2 ok, 1 failed, 5 skipped" (a count of zero is left out,
        /// except "0 ok"); steps not yet run count as "pending", a running or waiting step as "running".
        /// </summary>
        public string StepSummary
        {
            get
            {
                int Count(params JobStepState[] states) => Steps.Count(s => states.Contains(s.State));
                var parts = new List<string> { $"{Count(JobStepState.Succeeded)} ok" };
                void Add(int count, string label) { if (count > 0) parts.Add($"{count} {label}"); }
                Add(Count(JobStepState.Failed), "failed");
                Add(Count(JobStepState.Skipped), "skipped");
                Add(Count(JobStepState.Running, JobStepState.WaitingForUser), "running");
                Add(Count(JobStepState.Pending), "pending");
                return string.Join(", ", parts);
            }
        }

        /// <summary>Succeeded, Failed or Cancelled: nothing more will happen to the job.</summary>
        public static bool IsEnded(JobState state) => state == JobState.Succeeded || state == JobState.Failed || state == JobState.Cancelled;

        public override string ToString() => JobId;
    }

    /// <summary>The keys of <see cref="JobStep.Details"/> that recovery steps record and reports read.</summary>
    public static class JobStepDetail
    {
        /// <summary>What the step does in a recovery job: one of the <see cref="JobStepKind"/> values.</summary>
        public const string Kind = "kind";
        /// <summary>The protected VM's id.</summary>
        public const string VmId = "vmId";
        public const string RecoveryPointId = "recoveryPointId";
        /// <summary>The point's time, round-trip format ("o").</summary>
        public const string RecoveryPointTime = "recoveryPointTime";
        /// <summary>CrashConsistent or AppConsistent.</summary>
        public const string Consistency = "consistency";
        /// <summary>The site the VM was recovered to, and its moref and name there.</summary>
        public const string RecoveredSite = "recoveredSite";
        public const string RecoveredMoRef = "recoveredMoRef";
        public const string RecoveredName = "recoveredName";
        /// <summary>The guest's IP address once up.</summary>
        public const string IpAddress = "ipAddress";
        /// <summary>When the VM was up (round-trip format): its RTO is this less the job's start.</summary>
        public const string UpAt = "upAt";
        /// <summary>When the VM's power on was asked for (round-trip format): upAt less this is the time its guest took to come up, as we saw it.</summary>
        public const string PoweredOnAt = "poweredOnAt";
        /// <summary>How the guest was waited for: "WaitForUpdatesEx", or "Polling (why)" (AZSR_VSPHERE_WAIT=Polling, or a server without WaitForUpdatesEx).</summary>
        public const string GuestWait = "guestWait";
        /// <summary>Bytes and chunks written to the recovery site's disks.</summary>
        public const string BytesWritten = "bytesWritten";
        public const string ChunksWritten = "chunksWritten";
        /// <summary>How a failback wrote the original disks: "ranged" (only the changed chunks), "whole" (the site takes no ranged writes) or "none" (nothing differed).</summary>
        public const string WriteMode = "writeMode";
        /// <summary>A failed step's stable error id (such as RecoveredVmNotUp), when the failure was a known one.</summary>
        public const string ErrorId = "errorId";
        /// <summary>A validation's kind and target (such as "tcp 1433").</summary>
        public const string Validation = "validation";
        /// <summary>A recovered VM's targets ("c" TimeSpan text): its policy's RPO threshold, and the RTO its plan group (or plan) states.</summary>
        public const string RpoThreshold = "rpoThreshold";
        public const string RtoTarget = "rtoTarget";
        /// <summary>The plan's own RTO target, on the prepare step.</summary>
        public const string PlanRtoTarget = "planRtoTarget";
        /// <summary>
        /// The journal of a recovery step on a site that needs one (Azure): the ids of the resources it was about to
        /// create, one a line, written before each is created, so cleanup deletes them even after a crash.
        /// </summary>
        public const string Created = "created";
    }

    /// <summary>The values of <see cref="JobStepDetail.Kind"/>: how reports read a recovery job's steps.</summary>
    public static class JobStepKind
    {
        /// <summary>Work before the groups, such as choosing the recovery points.</summary>
        public const string Prepare = "prepare";
        /// <summary>A group's pre or post action (script, manual, wait); Group is set.</summary>
        public const string Action = "action";
        /// <summary>Recovering one VM (disks, VM, power on, wait until up); Group and Vm are set.</summary>
        public const string RecoverVm = "recoverVm";
        /// <summary>A check on a recovered VM (Details["validation"], such as "tcp 1433"); Group and Vm are set.</summary>
        public const string Validate = "validate";
        /// <summary>A Finally step that removes what the job created, such as a drill's test VMs.</summary>
        public const string Cleanup = "cleanup";
    }
}
