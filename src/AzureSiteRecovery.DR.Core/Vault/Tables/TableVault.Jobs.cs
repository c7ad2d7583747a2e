using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Azure.Data.Tables;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Vault.Tables
{
    /// <summary>
    /// Jobs: one partition per job, a "job" row and its steps packed <see cref="StepsPerRow"/> to a "steps|nnnn" row, so a job
    /// with up to 99 step rows (1980 steps) is added in one batch, and a step changes by replacing its row If-Match.
    /// </summary>
    public sealed partial class TableVault
    {
        private const string JobRow = "job";
        private const string StepsPrefix = "steps|";
        private const int StepsPerRow = 20;

        private static string StepsRow(int index) => StepsPrefix + (index / StepsPerRow).ToString("D4");

        public Task<DRJob> AddJobAsync(DRJob job, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var partition = Key(job.JobId);
                if (await FindAsync(jobs, partition, JobRow, cancellationToken).ConfigureAwait(false) != null)
                {
                    throw new ObjectAlreadyExistsException("Job", job.JobId, "Give the job a new id.");
                }
                VaultRules.CheckStepsNumbered(job);
                if ((job.Steps.Count + StepsPerRow - 1) / StepsPerRow > 99)
                {
                    throw new InvalidSettingException("Job", job.JobId, nameof(DRJob.Steps),
                        $"Job '{job.JobId}' has {job.Steps.Count} steps; a table vault holds up to {99 * StepsPerRow} per job. Split its plan into smaller ones.");
                }

                var stored = job with { Created = job.Created == default ? Now() : job.Created, State = job.State };
                // Rows left by an add that crashed before its batch cannot exist: the batch is all or nothing. Leftover step rows of
                // nothing (none are written outside the batch) are replaced by upserts.
                var actions = new List<TableTransactionAction> { Insert(JobEntity(partition, stored, DateTime.UtcNow.Ticks)) };
                actions.AddRange(stored.Steps.GroupBy(s => StepsRow(s.Index))
                    .Select(g => new TableTransactionAction(TableTransactionActionType.UpsertReplace, StepsEntity(partition, g.Key, g.ToList(), job.JobId))));
                await SubmitAsync(jobs, actions, cancellationToken).ConfigureAwait(false);
                return (await FindJobAsync(jobs, partition, cancellationToken).ConfigureAwait(false))!.Value.Job;
            }, cancellationToken));

        public Task<DRJob?> FindJobAsync(string jobId, CancellationToken cancellationToken) =>
            Run(async () => (await FindJobAsync(jobs, Key(jobId), cancellationToken).ConfigureAwait(false))?.Job);

        public Task<IReadOnlyList<DRJob>> ListJobsAsync(JobState? state, CancellationToken cancellationToken) =>
            Run<IReadOnlyList<DRJob>>(async () =>
            {
                var rows = await QueryAsync(jobs, null, cancellationToken).ConfigureAwait(false);
                return rows.GroupBy(r => r.PartitionKey)
                    .Select(g => ReadJob(g.ToList()))
                    .Where(j => j != null && (state is null || j.Value.Job.State == state))
                    .OrderByDescending(j => j!.Value.Job.Created.ToUnixTimeMilliseconds()).ThenByDescending(j => j!.Value.Added)
                    .Select(j => j!.Value.Job).ToList();
            });

        public Task<DRJob> UpdateJobAsync(string jobId, Func<DRJob, DRJob> change, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var partition = Key(jobId);
                var (current, row, _) = await FindJobAsync(jobs, partition, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("DRJob", jobId);
                var changed = change(current);
                VaultRules.CheckJobChange(jobId, current, changed);
                // As SqliteVault: only the job's own state changes here, never its steps, parameters or plan.
                var stored = current with
                {
                    State = VaultRules.StoredState(changed.State), Owner = changed.Owner, StopRequested = changed.StopRequested, Error = changed.Error,
                    Started = changed.Started, Ended = changed.Ended,
                };
                await jobs.UpdateEntityAsync(JobEntity(partition, stored, row.GetInt64("Added") ?? 0), row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return stored;
            }, cancellationToken));

        public Task<DRJob> UpdateJobStepAsync(string jobId, int index, Func<JobStep, JobStep> change, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var partition = Key(jobId);
                var (job, _, stepRows) = await FindJobAsync(jobs, partition, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("DRJob", jobId);
                var current = job.Steps.FirstOrDefault(s => s.Index == index) ?? throw VaultRules.StepNotFound(job, index);
                var changed = change(current);
                VaultRules.CheckStepChange(jobId, index, current, changed);
                var rowKey = StepsRow(index);
                var steps = job.Steps.Where(s => StepsRow(s.Index) == rowKey).Select(s => s.Index == index ? changed : s).ToList();
                await jobs.UpdateEntityAsync(StepsEntity(partition, rowKey, steps, jobId), stepRows[rowKey].ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return job with { Steps = job.Steps.Select(s => s.Index == index ? changed : s).ToList() };
            }, cancellationToken));

        private static async Task<(DRJob Job, TableEntity Row, Dictionary<string, TableEntity> StepRows)?> FindJobAsync(TableClient table, string partition, CancellationToken cancellationToken)
        {
            var rows = await PartitionAsync(table, partition, null, cancellationToken).ConfigureAwait(false);
            var job = ReadJob(rows);
            return job is null ? null : (job.Value.Job, rows.First(r => r.RowKey == JobRow), rows.Where(r => r.RowKey.StartsWith(StepsPrefix, StringComparison.Ordinal)).ToDictionary(r => r.RowKey));
        }

        private static (DRJob Job, long Added)? ReadJob(IReadOnlyList<TableEntity> rows)
        {
            var jobRow = rows.FirstOrDefault(r => r.RowKey == JobRow);
            if (jobRow is null) return null;
            // Empty maps read back as the shared empty map, as SqliteVault's do.
            var steps = rows.Where(r => r.RowKey.StartsWith(StepsPrefix, StringComparison.Ordinal)).SelectMany(Doc<List<JobStep>>)
                .Select(s => s.Details.Count == 0 ? s with { Details = JobStep.EmptyDetails } : s).OrderBy(s => s.Index).ToList();
            var job = Doc<DRJob>(jobRow);
            return (job with { Steps = steps, Parameters = job.Parameters.Count == 0 ? JobStep.EmptyDetails : job.Parameters }, jobRow.GetInt64("Added") ?? 0);
        }

        private static TableEntity JobEntity(string partition, DRJob job, long added) =>
            WithDoc(new TableEntity(partition, JobRow) { ["Added"] = added, ["State"] = job.State.ToString() }, job with { Steps = Array.Empty<JobStep>() }, "Job", job.JobId);

        private static TableEntity StepsEntity(string partition, string rowKey, IReadOnlyList<JobStep> steps, string jobId) =>
            WithDoc(new TableEntity(partition, rowKey), steps, "Job", jobId);
    }
}
