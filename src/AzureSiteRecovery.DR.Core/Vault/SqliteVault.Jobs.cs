using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using Microsoft.Data.Sqlite;

namespace AzureSiteRecovery.DR.Core.Vault
{
    /// <summary>The jobs half of the vault: failover-type operations and their steps.</summary>
    public sealed partial class SqliteVault
    {
        private const string JobColumns =
            "j.id, j.operation, j.target, j.state, j.owner, j.stop_requested, j.error, j.created_unix_ms, j.started_unix_ms, j.ended_unix_ms, j.parameters, j.plan_yaml, j.plan_hash";
        private const string StepColumns =
            "s.job_id, s.step_index, s.name, s.group_name, s.vm, s.is_finally, s.state, s.started_unix_ms, s.ended_unix_ms, s.error, s.message, s.details";

        public Task<DRJob> AddJobAsync(DRJob job, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                if (FindJob(transaction, job.JobId) != null)
                {
                    throw new ObjectAlreadyExistsException("Job", job.JobId, "Give the job a new id.");
                }

                VaultRules.CheckStepsNumbered(job);

                Execute(transaction,
                    @"INSERT INTO jobs (id, operation, target, state, owner, stop_requested, error, created_unix_ms, started_unix_ms, ended_unix_ms, parameters, plan_yaml, plan_hash)
                      VALUES ($id, $operation, $target, $state, $owner, $stop, $error, $created, $started, $ended, $parameters, $planYaml, $planHash);",
                    ("$id", job.JobId), ("$operation", job.Operation.ToString()), ("$target", job.Target), ("$state", job.State.ToString()),
                    ("$owner", job.Owner), ("$stop", job.StopRequested ? 1 : 0), ("$error", job.Error), ("$created", ToUnixMs(job.Created == default ? Now() : job.Created)),
                    ("$started", ToNullableUnixMs(job.Started)), ("$ended", ToNullableUnixMs(job.Ended)), ("$parameters", StringMap.Write(job.Parameters)),
                    ("$planYaml", job.PlanYaml), ("$planHash", job.PlanHash));
                foreach (var step in job.Steps)
                {
                    Execute(transaction,
                        @"INSERT INTO job_steps (job_id, step_index, name, group_name, vm, is_finally, state, started_unix_ms, ended_unix_ms, error, message, details)
                          VALUES ($job, $index, $name, $group, $vm, $finally, $state, $started, $ended, $error, $message, $details);",
                        StepParameters(job.JobId, step));
                }

                return FindJob(transaction, job.JobId)!;
            }, cancellationToken);

        public Task<DRJob?> FindJobAsync(string jobId, CancellationToken cancellationToken) =>
            ReadAsync(() => FindJob(null, jobId), cancellationToken);

        public Task<IReadOnlyList<DRJob>> ListJobsAsync(JobState? state, CancellationToken cancellationToken) =>
            ReadAsync<IReadOnlyList<DRJob>>(() =>
            {
                var where = state is null ? "" : "WHERE j.state = $state";
                var jobs = ReadAll(null, $"SELECT {JobColumns} FROM jobs j {where} ORDER BY j.created_unix_ms DESC, j.rowid DESC;", ReadJob,
                    ("$state", state?.ToString()));
                var steps = ReadAll(null,
                        $"SELECT {StepColumns} FROM job_steps s JOIN jobs j ON j.id = s.job_id {where} ORDER BY s.job_id, s.step_index;",
                        reader => (JobId: reader.GetString(0), Step: ReadStep(reader)), ("$state", state?.ToString()))
                    .ToLookup(s => s.JobId, s => s.Step);
                return jobs.Select(job => job with { Steps = steps[job.JobId].ToArray() }).ToList();
            }, cancellationToken);

        public Task<DRJob> UpdateJobAsync(string jobId, Func<DRJob, DRJob> change, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                var current = FindJob(transaction, jobId) ?? throw new ObjectNotFoundException("DRJob", jobId);
                var changed = change(current);
                VaultRules.CheckJobChange(jobId, current, changed);

                var state = VaultRules.StoredState(changed.State);
                Execute(transaction,
                    @"UPDATE jobs SET state = $state, owner = $owner, stop_requested = $stop, error = $error,
                          started_unix_ms = $started, ended_unix_ms = $ended
                      WHERE id = $id;",
                    ("$id", jobId), ("$state", state.ToString()), ("$owner", changed.Owner), ("$stop", changed.StopRequested ? 1 : 0),
                    ("$error", changed.Error), ("$started", ToNullableUnixMs(changed.Started)), ("$ended", ToNullableUnixMs(changed.Ended)));
                return FindJob(transaction, jobId)!;
            }, cancellationToken);

        public Task<DRJob> UpdateJobStepAsync(string jobId, int index, Func<JobStep, JobStep> change, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                var job = FindJob(transaction, jobId) ?? throw new ObjectNotFoundException("DRJob", jobId);
                var current = job.Steps.FirstOrDefault(s => s.Index == index)
                    ?? throw VaultRules.StepNotFound(job, index);
                var changed = change(current);
                VaultRules.CheckStepChange(jobId, index, current, changed);

                Execute(transaction,
                    @"UPDATE job_steps SET group_name = $group, vm = $vm, state = $state, started_unix_ms = $started, ended_unix_ms = $ended,
                          error = $error, message = $message, details = $details
                      WHERE job_id = $job AND step_index = $index;",
                    StepParameters(jobId, changed));
                return FindJob(transaction, jobId)!;
            }, cancellationToken);

        private DRJob? FindJob(SqliteTransaction? transaction, string jobId)
        {
            var job = ReadAll(transaction, $"SELECT {JobColumns} FROM jobs j WHERE j.id = $id;", ReadJob, ("$id", jobId)).FirstOrDefault();
            if (job is null)
            {
                return null;
            }

            var steps = ReadAll(transaction, $"SELECT {StepColumns} FROM job_steps s WHERE s.job_id = $id ORDER BY s.step_index;", ReadStep, ("$id", jobId));
            return job with { Steps = steps };
        }

        private static (string, object?)[] StepParameters(string jobId, JobStep step) => new (string, object?)[]
        {
            ("$job", jobId), ("$index", step.Index), ("$name", step.Name), ("$group", step.Group), ("$vm", step.Vm), ("$finally", step.IsFinally ? 1 : 0),
            ("$state", step.State.ToString()), ("$started", ToNullableUnixMs(step.Started)), ("$ended", ToNullableUnixMs(step.Ended)),
            ("$error", step.Error), ("$message", step.Message), ("$details", StringMap.Write(step.Details)),
        };

        private static DRJob ReadJob(SqliteDataReader reader) => new DRJob
        {
            JobId = reader.GetString(0),
            Operation = ParseEnum<JobOperation>(reader.GetString(1)),
            Target = reader.GetString(2),
            State = ParseEnum<JobState>(reader.GetString(3)),
            Owner = NullableString(reader, 4),
            StopRequested = reader.GetInt64(5) != 0,
            Error = NullableString(reader, 6),
            Created = FromUnixMs(reader.GetInt64(7)),
            Started = NullableTime(reader, 8),
            Ended = NullableTime(reader, 9),
            Parameters = StringMap.Read(NullableString(reader, 10)),
            PlanYaml = NullableString(reader, 11),
            PlanHash = NullableString(reader, 12),
        };

        private static JobStep ReadStep(SqliteDataReader reader) => new JobStep
        {
            Index = reader.GetInt32(1),
            Name = reader.GetString(2),
            Group = NullableString(reader, 3),
            Vm = NullableString(reader, 4),
            IsFinally = reader.GetInt64(5) != 0,
            State = ParseEnum<JobStepState>(reader.GetString(6)),
            Started = NullableTime(reader, 7),
            Ended = NullableTime(reader, 8),
            Error = NullableString(reader, 9),
            Message = NullableString(reader, 10),
            Details = StringMap.Read(NullableString(reader, 11)),
        };
    }
}
