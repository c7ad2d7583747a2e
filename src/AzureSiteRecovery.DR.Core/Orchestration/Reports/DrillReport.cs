using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Orchestration.Reports
{
    /// <summary>
    /// What a drill (or any recovery job) showed, read from its recorded steps: pass or fail, each
    /// group's and VM's timing, the recovery point and RPO/RTO of every VM, every validation and
    /// every step. Built by <see cref="FromJob(DRJob)"/> for a job in any state: details a step has
    /// not recorded (yet) are null.
    /// </summary>
    public sealed record DrillReport
    {
        /// <summary>The recovery plan (the job's target).</summary>
        public string Plan { get; init; } = "";
        public string JobId { get; init; } = "";
        public JobOperation Operation { get; init; }
        /// <summary>The job's state when the report was built.</summary>
        public JobState State { get; init; }
        /// <summary>When the report was built: the end of the running steps' durations.</summary>
        public DateTimeOffset Generated { get; init; }
        public DateTimeOffset? Started { get; init; }
        public DateTimeOffset? Ended { get; init; }
        public TimeSpan? Duration { get; init; }
        public double? DurationSeconds => Duration?.TotalSeconds;
        /// <summary>The job succeeded and none of its steps failed, cleanup included.</summary>
        public bool Passed { get; init; }
        /// <summary>Why the job failed.</summary>
        public string? Error { get; init; }
        /// <summary>Every cleanup (Finally) step succeeded; true when the job has none.</summary>
        public bool CleanupPassed { get; init; }
        /// <summary>The plan's groups in the order the job reached them.</summary>
        public IReadOnlyList<DrillReportGroup> Groups { get; init; } = Array.Empty<DrillReportGroup>();
        /// <summary>The VMs in the order the job reached them.</summary>
        public IReadOnlyList<DrillReportVm> Vms { get; init; } = Array.Empty<DrillReportVm>();
        /// <summary>Every step of the job, cleanup last.</summary>
        public IReadOnlyList<DrillReportStep> Steps { get; init; } = Array.Empty<DrillReportStep>();

        /// <summary>The plan's RTO target (rtoTarget in the plan), as the job recorded it; null when the plan states none.</summary>
        public TimeSpan? RtoTarget { get; init; }
        public double? RtoTargetSeconds => RtoTarget?.TotalSeconds;
        /// <summary>The plan's RTO: from the job's start until its last VM was up; null when no VM came up.</summary>
        public TimeSpan? Rto => Vms.Select(v => v.Rto).Where(r => r != null).DefaultIfEmpty(null).Max();
        public double? RtoSeconds => Rto?.TotalSeconds;
        /// <summary>Every VM came up within its RTO target and the plan within its own; null when no target was stated.</summary>
        public bool? RtoMet => Combine(Vms.Select(v => v.RtoMet).Append(TargetMet(Rto, RtoTarget, Vms.Count > 0 && Vms.All(v => v.Rto != null))));
        /// <summary>Every VM's recovery point was within its replication policy's RPO threshold; null when no threshold was recorded.</summary>
        public bool? RpoMet => Combine(Vms.Select(v => v.RpoMet));

        public int FailedVmCount => Vms.Count(v => !v.Passed);
        public int FailedStepCount => Steps.Count(s => s.State == JobStepState.Failed);

        public override string ToString() => $"{Plan} ({JobId})";

        /// <summary>DrillFailed for a drill that ended without passing; null while it runs or waits, and when it passed.</summary>
        public Recovery.RecoveryException? Failure() => Passed || !DRJob.IsEnded(State) ? null
            : new Recovery.RecoveryException("DrillFailed", Errors.FailureKind.Failed, JobId,
                $"The drill of recovery plan '{Plan}' (job {JobId}) {(State == JobState.Cancelled ? "was stopped" : "failed")}: " +
                $"{Error?.TrimEnd('.') ?? (CleanupPassed ? $"{FailedVmCount} VM(s) did not pass" : "its cleanup failed")}. " +
                $"The report returned says which step and VM; Export-DrillReport writes it, Get-DRJob -JobId {JobId} shows every step.");

        /// <summary>Whether a measured time is within its target: null without a target; false when the time is missing but the work ended (<paramref name="complete"/> false).</summary>
        internal static bool? TargetMet(TimeSpan? measured, TimeSpan? target, bool complete) =>
            target is TimeSpan limit ? (measured is TimeSpan value && complete ? value <= limit : false) : (bool?)null;

        /// <summary>False when any is false, true when some are true and none false, null when all are null.</summary>
        internal static bool? Combine(IEnumerable<bool?> results)
        {
            var known = results.Where(r => r != null).Select(r => r!.Value).ToList();
            return known.Count == 0 ? null : known.All(r => r);
        }

        /// <summary>The report of <paramref name="job"/> as it is now.</summary>
        public static DrillReport FromJob(DRJob job) => FromJob(job, DateTimeOffset.UtcNow);

        /// <summary>The report of <paramref name="job"/>; steps still running are measured up to <paramref name="asOf"/>.</summary>
        public static DrillReport FromJob(DRJob job, DateTimeOffset asOf)
        {
            if (job is null) throw new ArgumentNullException(nameof(job));

            var steps = job.Steps.OrderBy(s => s.Index).Select(s => DrillReportStep.FromStep(s, asOf)).ToList();
            var main = steps.Where(s => !s.IsFinally).ToList();
            var cleanup = steps.Where(s => s.IsFinally).ToList();

            var groups = main.Where(s => s.Group != null)
                .GroupBy(s => s.Group!, StringComparer.Ordinal)
                .Select(g =>
                {
                    var (started, ended) = Extent(g.ToList());
                    return new DrillReportGroup
                    {
                        Name = g.Key,
                        Started = started,
                        Ended = ended,
                        Duration = Span(started, ended ?? (IsOpen(g) ? asOf : (DateTimeOffset?)null)),
                        Passed = g.All(s => s.State == JobStepState.Succeeded),
                    };
                })
                .ToList();

            var byIndex = job.Steps.GroupBy(s => s.Index).ToDictionary(g => g.Key, g => g.First());
            var vms = main.Where(s => s.Vm != null)
                .GroupBy(s => s.Vm!, StringComparer.Ordinal)
                .Select(g => DrillReportVm.FromSteps(g.Key, g.ToList(), byIndex, job.Started))
                .ToList();

            return new DrillReport
            {
                Plan = job.Target,
                JobId = job.JobId,
                Operation = job.Operation,
                State = job.State,
                Generated = asOf,
                Started = job.Started,
                Ended = job.Ended,
                Duration = Span(job.Started, job.Ended ?? asOf),
                Passed = job.State == JobState.Succeeded && steps.All(s => s.State != JobStepState.Failed),
                Error = job.Error,
                CleanupPassed = cleanup.All(s => s.State == JobStepState.Succeeded),
                Groups = groups,
                Vms = vms,
                Steps = steps,
                RtoTarget = job.Steps.Select(s => DrillReportVm.Target(s.Details, JobStepDetail.PlanRtoTarget)).FirstOrDefault(t => t != null),
            };
        }

        /// <summary>The first start and the last end of some steps; no end while one of them runs.</summary>
        internal static (DateTimeOffset? Started, DateTimeOffset? Ended) Extent(IReadOnlyList<DrillReportStep> steps) =>
            (Earliest(steps.Select(s => s.Started)), IsOpen(steps) ? null : Latest(steps.Select(s => s.Ended)));

        /// <summary>A step has started and not ended (running, or waiting for the user).</summary>
        internal static bool IsOpen(IEnumerable<DrillReportStep> steps) => steps.Any(s => s.Started != null && s.Ended == null);

        internal static TimeSpan? Span(DateTimeOffset? from, DateTimeOffset? to) =>
            from is DateTimeOffset start && to is DateTimeOffset end ? end - start : (TimeSpan?)null;

        internal static DateTimeOffset? Earliest(IEnumerable<DateTimeOffset?> times)
        {
            var known = times.Where(t => t != null).ToList();
            return known.Count == 0 ? null : known.Min();
        }

        internal static DateTimeOffset? Latest(IEnumerable<DateTimeOffset?> times)
        {
            var known = times.Where(t => t != null).ToList();
            return known.Count == 0 ? null : known.Max();
        }
    }

    /// <summary>One group of the plan: from its first step's start to its last step's end.</summary>
    public sealed record DrillReportGroup
    {
        public string Name { get; init; } = "";
        public DateTimeOffset? Started { get; init; }
        /// <summary>Null while a step of the group has not ended.</summary>
        public DateTimeOffset? Ended { get; init; }
        public TimeSpan? Duration { get; init; }
        public double? DurationSeconds => Duration?.TotalSeconds;
        /// <summary>Every step of the group succeeded.</summary>
        public bool Passed { get; init; }

        public override string ToString() => Name;
    }

    /// <summary>One recovered VM: where it came up, from which point, how fast, and its validations.</summary>
    public sealed record DrillReportVm
    {
        public string Name { get; init; } = "";
        public string? Group { get; init; }
        /// <summary>The protected VM's id.</summary>
        public string? VmId { get; init; }
        public string? RecoveredSite { get; init; }
        public string? RecoveredName { get; init; }
        public string? RecoveredMoRef { get; init; }
        public string? RecoveryPointId { get; init; }
        public DateTimeOffset? RecoveryPointTime { get; init; }
        public PointConsistency? Consistency { get; init; }
        /// <summary>The data the recovery point lacked: the job's start less the point's time.</summary>
        public TimeSpan? Rpo { get; init; }
        public double? RpoSeconds => Rpo?.TotalSeconds;
        /// <summary>When the VM was up, less the job's start.</summary>
        public TimeSpan? Rto { get; init; }
        public double? RtoSeconds => Rto?.TotalSeconds;
        /// <summary>Its replication policy's RPO threshold when it was recovered.</summary>
        public TimeSpan? RpoTarget { get; init; }
        public double? RpoTargetSeconds => RpoTarget?.TotalSeconds;
        /// <summary>The RPO was within <see cref="RpoTarget"/>; null without a target.</summary>
        public bool? RpoMet => DrillReport.TargetMet(Rpo, RpoTarget, Rpo != null);
        /// <summary>The RTO its plan group (or the plan) states.</summary>
        public TimeSpan? RtoTarget { get; init; }
        public double? RtoTargetSeconds => RtoTarget?.TotalSeconds;
        /// <summary>It was up within <see cref="RtoTarget"/>; false when it never came up; null without a target.</summary>
        public bool? RtoMet => DrillReport.TargetMet(Rto, RtoTarget, Rto != null);
        public DateTimeOffset? UpAt { get; init; }
        public string? IpAddress { get; init; }
        public long? BytesWritten { get; init; }
        public long? ChunksWritten { get; init; }
        /// <summary>The start of its recovery (or of its first step) and the end of its last step.</summary>
        public DateTimeOffset? Started { get; init; }
        public DateTimeOffset? Ended { get; init; }
        /// <summary>Every step for the VM (recovery and validations) succeeded.</summary>
        public bool Passed { get; init; }
        /// <summary>The first error of its steps.</summary>
        public string? Error { get; init; }
        public IReadOnlyList<DrillReportValidation> Validations { get; init; } = Array.Empty<DrillReportValidation>();

        public override string ToString() => Name;

        internal static TimeSpan? Target(IReadOnlyDictionary<string, string>? details, string key) =>
            details != null && details.TryGetValue(key, out var text) &&
            TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out var value) ? value : (TimeSpan?)null;

        internal static DrillReportVm FromSteps(string name, IReadOnlyList<DrillReportStep> steps, IReadOnlyDictionary<int, JobStep> jobSteps, DateTimeOffset? jobStarted)
        {
            var recovery = steps.Where(s => s.Kind == JobStepKind.RecoverVm).ToList();
            // Several recoverVm steps (disks, create, power on, ...) add to one another's details, later ones winning.
            var details = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var step in recovery)
            {
                foreach (var pair in jobSteps[step.Index].Details ?? JobStep.EmptyDetails)
                {
                    details[pair.Key] = pair.Value;
                }
            }

            string? Text(string key) => details.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value) ? value : null;
            DateTimeOffset? Time(string key) => Text(key) is string value &&
                DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time : (DateTimeOffset?)null;
            long? Number(string key) => Text(key) is string value && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) ? number : (long?)null;

            var pointTime = Time(JobStepDetail.RecoveryPointTime);
            var upAt = Time(JobStepDetail.UpAt);
            var (_, ended) = DrillReport.Extent(steps);
            return new DrillReportVm
            {
                Name = name,
                Group = steps.Select(s => s.Group).FirstOrDefault(g => g != null),
                VmId = Text(JobStepDetail.VmId),
                RecoveredSite = Text(JobStepDetail.RecoveredSite),
                RecoveredName = Text(JobStepDetail.RecoveredName),
                RecoveredMoRef = Text(JobStepDetail.RecoveredMoRef),
                RecoveryPointId = Text(JobStepDetail.RecoveryPointId),
                RecoveryPointTime = pointTime,
                Consistency = Text(JobStepDetail.Consistency) is string consistency && Enum.TryParse<PointConsistency>(consistency, true, out var parsed) ? parsed : (PointConsistency?)null,
                Rpo = DrillReport.Span(pointTime, jobStarted),
                Rto = DrillReport.Span(jobStarted, upAt),
                UpAt = upAt,
                RpoTarget = Target(details, JobStepDetail.RpoThreshold),
                RtoTarget = Target(details, JobStepDetail.RtoTarget),
                IpAddress = Text(JobStepDetail.IpAddress),
                BytesWritten = Number(JobStepDetail.BytesWritten),
                ChunksWritten = Number(JobStepDetail.ChunksWritten),
                Started = DrillReport.Earliest((recovery.Count > 0 ? recovery : steps).Select(s => s.Started)),
                Ended = ended,
                Passed = steps.All(s => s.State == JobStepState.Succeeded),
                Error = steps.Select(s => s.Error).FirstOrDefault(e => !string.IsNullOrEmpty(e)),
                Validations = steps.Where(s => s.Kind == JobStepKind.Validate).Select(s => new DrillReportValidation
                {
                    Name = s.Name,
                    Validation = s.Validation,
                    State = s.State,
                    Passed = s.State == JobStepState.Succeeded,
                    Started = s.Started,
                    Ended = s.Ended,
                    Duration = s.Duration,
                    Error = s.Error,
                }).ToList(),
            };
        }
    }

    /// <summary>One check on a recovered VM.</summary>
    public sealed record DrillReportValidation
    {
        /// <summary>The step's name, such as "Validate erp-db01: tcp 1433".</summary>
        public string Name { get; init; } = "";
        /// <summary>The check's kind and target, such as "tcp 1433".</summary>
        public string? Validation { get; init; }
        public JobStepState State { get; init; }
        public bool Passed { get; init; }
        public DateTimeOffset? Started { get; init; }
        public DateTimeOffset? Ended { get; init; }
        public TimeSpan? Duration { get; init; }
        public double? DurationSeconds => Duration?.TotalSeconds;
        public string? Error { get; init; }

        public override string ToString() => Name;
    }

    /// <summary>One step of the job as the report shows it.</summary>
    public sealed record DrillReportStep
    {
        public int Index { get; init; }
        public string Name { get; init; } = "";
        public string? Group { get; init; }
        public string? Vm { get; init; }
        /// <summary>A <see cref="JobStepKind"/> value; cleanup for a Finally step that recorded none; null when unknown.</summary>
        public string? Kind { get; init; }
        /// <summary>A validation step's check, such as "tcp 1433".</summary>
        public string? Validation { get; init; }
        public bool IsFinally { get; init; }
        public JobStepState State { get; init; }
        public DateTimeOffset? Started { get; init; }
        public DateTimeOffset? Ended { get; init; }
        /// <summary>How long it ran; up to the report's time for a step still running.</summary>
        public TimeSpan? Duration { get; init; }
        public double? DurationSeconds => Duration?.TotalSeconds;
        public string? Error { get; init; }
        public string? Message { get; init; }

        public override string ToString() => Name;

        internal static DrillReportStep FromStep(JobStep step, DateTimeOffset asOf)
        {
            var details = step.Details ?? JobStep.EmptyDetails;
            var kind = details.TryGetValue(JobStepDetail.Kind, out var recorded) && !string.IsNullOrWhiteSpace(recorded) ? recorded
                : step.IsFinally ? JobStepKind.Cleanup
                : details.ContainsKey(JobStepDetail.Validation) ? JobStepKind.Validate
                : null;
            return new DrillReportStep
            {
                Index = step.Index,
                Name = step.Name,
                Group = string.IsNullOrEmpty(step.Group) ? null : step.Group,
                Vm = string.IsNullOrEmpty(step.Vm) ? null : step.Vm,
                Kind = kind,
                Validation = details.TryGetValue(JobStepDetail.Validation, out var validation) ? validation : null,
                IsFinally = step.IsFinally,
                State = step.State,
                Started = step.Started,
                Ended = step.Ended,
                Duration = DrillReport.Span(step.Started, step.Ended ?? (step.Started is null ? (DateTimeOffset?)null : asOf)),
                Error = step.Error,
                Message = step.Message,
            };
        }
    }
}
