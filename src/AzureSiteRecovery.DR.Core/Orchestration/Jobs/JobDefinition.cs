using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Orchestration.Jobs
{
    /// <summary>What a step's action reports when it returns.</summary>
    public sealed class StepOutcome
    {
        private StepOutcome(bool waitForUser, string? message, IReadOnlyDictionary<string, string>? details = null)
        {
            IsWaitForUser = waitForUser;
            Message = message;
            Details = details;
        }

        /// <summary>True for a manual step: the job pauses until Resume-DRJob.</summary>
        public bool IsWaitForUser { get; }
        public string? Message { get; }
        /// <summary>What the step records for later steps and reports (JobStep.Details); null keeps what it had.</summary>
        public IReadOnlyDictionary<string, string>? Details { get; }

        /// <summary>The step is done.</summary>
        public static StepOutcome Done(string? message = null, IReadOnlyDictionary<string, string>? details = null) => new StepOutcome(false, message, details);

        /// <summary>A manual step: the job waits for the user (who reads <paramref name="message"/>) to resume it.</summary>
        public static StepOutcome WaitForUser(string message) => new StepOutcome(true, message);
    }

    /// <summary>What a step's action knows about where it runs.</summary>
    public sealed class JobStepContext
    {
        internal JobStepContext(DRJob job, JobStep step)
        {
            Job = job;
            Step = step;
        }

        /// <summary>The job as stored when the step started.</summary>
        public DRJob Job { get; }
        /// <summary>The step as stored when it started.</summary>
        public JobStep Step { get; }
        public string JobId => Job.JobId;
        public string Target => Job.Target;
        /// <summary>
        /// True when an earlier run started this step and did not finish it (its process died, or it
        /// failed and the job is being run again): the action may find part of its work done.
        /// </summary>
        public bool IsRetry { get; internal set; }
    }

    /// <summary>
    /// One step of a job. The action must be idempotent: a step whose process died mid-way is run
    /// again from its start on resume (only steps recorded Succeeded are skipped), so it must cope
    /// with finding its work partly or wholly done (tag what it creates with the job id, look before
    /// creating).
    /// </summary>
    public sealed class JobStepDefinition
    {
        public JobStepDefinition(string name, Func<JobStepContext, CancellationToken, Task<StepOutcome>> action, string? group = null, string? vm = null)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new ArgumentException("A step needs a name.", nameof(name));
            }

            Name = name;
            Action = action ?? throw new ArgumentNullException(nameof(action));
            Group = group;
            Vm = vm;
        }

        public string Name { get; }
        public string? Group { get; }
        public string? Vm { get; }
        public Func<JobStepContext, CancellationToken, Task<StepOutcome>> Action { get; }
        /// <summary>A failure of this step is recorded on the step only; the job goes on with the next.</summary>
        public bool ContinueOnError { get; init; }
        /// <summary>
        /// Consecutive steps with the same batch run at the same time (the VMs of one recovery plan
        /// group); the job goes on when all of them have ended, and fails after the batch when one
        /// failed. Null: the step runs alone. Steps throttle their own heavy work.
        /// </summary>
        public string? Batch { get; init; }
    }

    /// <summary>
    /// The steps of a job in order, and the cleanup steps (<see cref="Finally"/>) that run after them
    /// whatever happened: success, a failed step, or a stop. A pause at a manual step is not an end,
    /// so cleanup waits for the job to be resumed.
    /// </summary>
    public sealed class JobDefinition
    {
        public JobDefinition(JobOperation operation, string target, IEnumerable<JobStepDefinition> steps, IEnumerable<JobStepDefinition>? @finally = null)
            : this(operation, target, steps, @finally, null)
        {
        }

        public JobDefinition(JobOperation operation, string target, IEnumerable<JobStepDefinition> steps, IEnumerable<JobStepDefinition>? @finally,
            IReadOnlyDictionary<string, string>? parameters)
        {
            Operation = operation;
            Target = target ?? throw new ArgumentNullException(nameof(target));
            Steps = steps.ToList();
            Finally = (@finally ?? Enumerable.Empty<JobStepDefinition>()).ToList();
            Parameters = parameters ?? new Dictionary<string, string>();
        }

        public JobOperation Operation { get; }
        public string Target { get; }
        /// <summary>How the job was asked to run; stored with the job so the catalog rebuilds the same steps on resume.</summary>
        public IReadOnlyDictionary<string, string> Parameters { get; }
        /// <summary>The plan's YAML the steps were built from, and its SHA-256 (hex): stored with the job so a resume builds from the same plan.</summary>
        public string? PlanYaml { get; init; }
        public string? PlanHash { get; init; }
        /// <summary>What the steps share while the job runs (site connections, the chunk store); the runner disposes it when the run returns.</summary>
        public IDisposable? Resources { get; init; }
        public IReadOnlyList<JobStepDefinition> Steps { get; }
        public IReadOnlyList<JobStepDefinition> Finally { get; }

        /// <summary>Every step in stored order: the steps, then the cleanup steps.</summary>
        internal IEnumerable<(JobStepDefinition Definition, bool IsFinally)> All =>
            Steps.Select(s => (s, false)).Concat(Finally.Select(s => (s, true)));

        /// <summary>The job as first recorded: NotStarted, every step Pending.</summary>
        internal DRJob NewJob(string jobId) => new DRJob
        {
            JobId = jobId,
            Operation = Operation,
            Target = Target,
            Parameters = Parameters,
            PlanYaml = PlanYaml,
            PlanHash = PlanHash,
            State = JobState.NotStarted,
            Created = DateTimeOffset.UtcNow,
            Steps = All.Select((s, i) => new JobStep
            {
                Index = i,
                Name = s.Definition.Name,
                Group = s.Definition.Group,
                Vm = s.Definition.Vm,
                IsFinally = s.IsFinally,
                State = JobStepState.Pending,
            }).ToList(),
        };
    }
}
