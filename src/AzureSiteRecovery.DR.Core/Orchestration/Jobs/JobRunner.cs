using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Orchestration.Jobs
{
    /// <summary>
    /// Runs a job's steps in order and records each one's start, end and result in the vault, so
    /// the job can be followed from any process and resumed after a manual step or a crash. Steps
    /// recorded Succeeded are never run again; a step that was running when its process died runs
    /// again from its start (step actions must be idempotent). A stop (the token, or Stop-DRJob
    /// setting StopRequested from another process, polled every second) cancels the running
    /// steps; the cleanup (Finally) steps then run, as they do after a failed step.
    /// </summary>
    public sealed class JobRunner
    {
        private readonly IVault vault;
        private readonly JobCatalog catalog;

        public JobRunner(IVault vault, JobCatalog catalog)
        {
            this.vault = vault;
            this.catalog = catalog;
            Owner = ProcessOwner.NewId();
        }

        /// <summary>This runner's owner id, written into the jobs it runs.</summary>
        public string Owner { get; }

        /// <summary>The job as users see it: a Running job whose process is gone is Interrupted.</summary>
        public static DRJob Observe(DRJob job) =>
            job.State == JobState.Running && ProcessOwner.IsGone(job.Owner) ? job with { State = JobState.Interrupted } : job;

        /// <summary>The observed job; fails with DRJobNotFound.</summary>
        public async Task<DRJob> GetAsync(string jobId, CancellationToken cancellationToken) =>
            Observe(await vault.FindJobAsync(jobId, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("DRJob", jobId));

        /// <summary>Records a new job for <paramref name="definition"/>, NotStarted with every step Pending.</summary>
        public Task<DRJob> CreateAsync(JobDefinition definition, CancellationToken cancellationToken) =>
            vault.AddJobAsync(definition.NewJob(Guid.NewGuid().ToString("N")), cancellationToken);

        /// <summary>
        /// Continues a job that waits for the user, was interrupted, or never started, with the steps
        /// the catalog builds for its operation (JobOperationUnavailable when it has none).
        /// </summary>
        public async Task<DRJob> ResumeAsync(string jobId, CancellationToken cancellationToken, IProgress<DRJob>? progress = null)
        {
            var job = await GetAsync(jobId, cancellationToken).ConfigureAwait(false);
            RefuseUnlessRunnable(job);
            var definition = await catalog.BuildAsync(job, cancellationToken).ConfigureAwait(false);
            return await RunAsync(jobId, definition, cancellationToken, progress).ConfigureAwait(false);
        }

        /// <summary>
        /// Runs (or continues) the job with <paramref name="definition"/>, which must have the steps
        /// the job was created with. Returns the job when it ends or waits for the user.
        /// <paramref name="progress"/> gets the job after each recorded change.
        /// </summary>
        public async Task<DRJob> RunAsync(string jobId, JobDefinition definition, CancellationToken cancellationToken, IProgress<DRJob>? progress = null)
        {
            // Stop-DRJob from any process also stops a step that is running (a wait, a validation, a script), not only the next one.
            using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var watched = new CancellationTokenSource();
            var watcher = WatchForStopAsync(jobId, stopping, watched.Token);
            try
            {
                return await RunStepsAsync(jobId, definition, stopping.Token, progress).ConfigureAwait(false);
            }
            finally
            {
                watched.Cancel();
                await watcher.ConfigureAwait(false);
                definition.Resources?.Dispose();
            }
        }

        /// <summary>How often a running job looks for a stop asked by another process.</summary>
        public static TimeSpan StopPollInterval { get; set; } = TimeSpan.FromSeconds(1);

        private async Task WatchForStopAsync(string jobId, CancellationTokenSource stopping, CancellationToken done)
        {
            try
            {
                while (!done.IsCancellationRequested && !stopping.IsCancellationRequested)
                {
                    await Task.Delay(StopPollInterval, done).ConfigureAwait(false);
                    if (await IsStopRequestedAsync(jobId).ConfigureAwait(false))
                    {
                        stopping.Cancel();
                    }
                }
            }
            catch (OperationCanceledException) when (done.IsCancellationRequested)
            {
            }
            catch (DRException)
            {
                // The vault could not be read: the job goes on; a stop is still seen between steps.
            }
        }

        private async Task<DRJob> RunStepsAsync(string jobId, JobDefinition definition, CancellationToken cancellationToken, IProgress<DRJob>? progress)
        {
            var job = await ClaimAsync(jobId, definition, cancellationToken).ConfigureAwait(false);
            progress?.Report(job);
            var steps = definition.All.ToList();
            var main = definition.Steps.Count;

            // A run that ended its main steps (a failure or a stop) and died during cleanup goes straight back to cleanup.
            var abandoned = job.Steps.Take(main).Any(s => s.State == JobStepState.Skipped || (s.State == JobStepState.Failed && !steps[s.Index].Definition.ContinueOnError));
            var error = abandoned ? job.Error : null;
            var cancelled = abandoned && job.Error is null;

            for (var i = 0; i < main && !abandoned;)
            {
                // Consecutive steps of one batch run together; any other step runs alone.
                var batch = steps[i].Definition.Batch;
                var end = i + 1;
                while (batch != null && end < main && steps[end].Definition.Batch == batch) end++;
                var first = i;
                i = end;

                var todo = Enumerable.Range(first, end - first).Where(k =>
                    job.Steps[k].State != JobStepState.Succeeded && job.Steps[k].State != JobStepState.Skipped && job.Steps[k].State != JobStepState.Failed).ToList();
                if (todo.Count == 0)
                {
                    continue;
                }

                if (cancellationToken.IsCancellationRequested || await IsStopRequestedAsync(jobId).ConfigureAwait(false))
                {
                    cancelled = true;
                    break;
                }

                var resumed = todo.Where(k => job.Steps[k].State == JobStepState.WaitingForUser).ToList();
                foreach (var k in resumed)
                {
                    // The user resumed the job: the manual step is done.
                    job = await UpdateStepAsync(jobId, k, s => s with { State = JobStepState.Succeeded, Ended = DateTimeOffset.UtcNow }, progress).ConfigureAwait(false);
                }

                var snapshot = job;
                var results = await Task.WhenAll(todo.Except(resumed).Select(k =>
                    RunStepAsync(snapshot, k, steps[k].Definition, cancellationToken, progress))).ConfigureAwait(false);
                job = await vault.FindJobAsync(jobId, CancellationToken.None).ConfigureAwait(false) ?? throw new ObjectNotFoundException("DRJob", jobId);
                if (results.Any(r => r.Failure is OperationCanceledException) && cancellationToken.IsCancellationRequested)
                {
                    cancelled = true;
                    break;
                }

                var failed = todo.Except(resumed).Zip(results, (k, r) => (Index: k, r.Outcome, r.Failure))
                    .FirstOrDefault(r => r.Failure != null && !steps[r.Index].Definition.ContinueOnError);
                if (failed.Failure != null)
                {
                    error = $"Step '{steps[failed.Index].Definition.Name}' failed: {failed.Failure.Message}";
                    break;
                }

                if (results.Any(r => r.Outcome?.IsWaitForUser == true))
                {
                    job = await vault.UpdateJobAsync(jobId, j => j with { State = JobState.WaitingForUser }, CancellationToken.None).ConfigureAwait(false);
                    progress?.Report(job);
                    return job;
                }
            }

            if (cancelled || error != null)
            {
                foreach (var pending in job.Steps.Take(main).Where(s => s.State == JobStepState.Pending || s.State == JobStepState.WaitingForUser))
                {
                    job = await UpdateStepAsync(jobId, pending.Index, s => s with { State = JobStepState.Skipped, Ended = s.Started is null ? (DateTimeOffset?)null : DateTimeOffset.UtcNow }, progress).ConfigureAwait(false);
                }

                var mainError = error;
                job = await vault.UpdateJobAsync(jobId, j => j with { Error = mainError }, CancellationToken.None).ConfigureAwait(false);
            }

            // Cleanup runs to its end even after Ctrl+C: that is its point.
            string? cleanupError = null;
            for (var i = main; i < steps.Count; i++)
            {
                if (job.Steps[i].State == JobStepState.Succeeded)
                {
                    continue;
                }

                var (_, failure) = await RunStepAsync(job, i, steps[i].Definition, CancellationToken.None, progress).ConfigureAwait(false);
                job = await vault.FindJobAsync(jobId, CancellationToken.None).ConfigureAwait(false) ?? throw new ObjectNotFoundException("DRJob", jobId);
                if (failure != null)
                {
                    cleanupError ??= $"Cleanup step '{steps[i].Definition.Name}' failed: {failure.Message}";
                }
            }

            var state = cancelled ? JobState.Cancelled : error != null || cleanupError != null ? JobState.Failed : JobState.Succeeded;
            var finalError = error is null ? cleanupError : cleanupError is null ? error : error + " " + cleanupError;
            job = await vault.UpdateJobAsync(jobId, j => j with { State = state, Error = finalError, Ended = DateTimeOffset.UtcNow }, CancellationToken.None).ConfigureAwait(false);
            progress?.Report(job);
            return job;
        }

        private async Task<DRJob> ClaimAsync(string jobId, JobDefinition definition, CancellationToken cancellationToken)
        {
            var job = await vault.UpdateJobAsync(jobId, current =>
            {
                RefuseUnlessRunnable(Observe(current));
                var expected = definition.All.Select(s => (s.Definition.Name, s.IsFinally));
                if (current.Operation != definition.Operation || !current.Steps.Select(s => (s.Name, s.IsFinally)).SequenceEqual(expected))
                {
                    throw new JobException("JobDefinitionChanged", FailureKind.InvalidData, jobId,
                        $"Job '{jobId}' ({current.Operation} of '{current.Target}') was created with other steps than this module version builds for it; " +
                        "resume it with the module version that started it.");
                }

                return current with { State = JobState.Running, Owner = Owner, Started = current.Started ?? DateTimeOffset.UtcNow, Ended = null };
            }, cancellationToken).ConfigureAwait(false);
            return job;
        }

        private static void RefuseUnlessRunnable(DRJob job)
        {
            if (DRJob.IsEnded(job.State))
            {
                throw new JobException("JobNotResumable", FailureKind.InvalidArgument, job.JobId,
                    $"Job '{job.JobId}' has ended ({job.State}); start the operation again for a new job.");
            }

            if (job.State == JobState.Running)
            {
                throw new JobException("JobInProgress", FailureKind.InUse, job.JobId,
                    $"Job '{job.JobId}' is being run by {job.Owner}; wait for it with Wait-DRJob, or stop it with Stop-DRJob.");
            }
        }

        private async Task<(StepOutcome? Outcome, Exception? Failure)> RunStepAsync(DRJob job, int index, JobStepDefinition definition,
            CancellationToken cancellationToken, IProgress<DRJob>? progress)
        {
            var retry = job.Steps[index].Started != null;
            var started = await UpdateStepAsync(job.JobId, index,
                s => s with { State = JobStepState.Running, Started = DateTimeOffset.UtcNow, Ended = null, Error = null, Message = null }, progress).ConfigureAwait(false);
            try
            {
                var context = new JobStepContext(started, started.Steps[index]) { IsRetry = retry };
                var outcome = await definition.Action(context, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"The action of step '{definition.Name}' returned no outcome.");
                // A manual step among the cleanup steps cannot pause: there is nothing left to resume into.
                var waits = outcome.IsWaitForUser && index < job.Steps.Count && !job.Steps[index].IsFinally;
                await UpdateStepAsync(job.JobId, index, s => s with
                {
                    State = waits ? JobStepState.WaitingForUser : JobStepState.Succeeded,
                    Ended = waits ? (DateTimeOffset?)null : DateTimeOffset.UtcNow,
                    Message = outcome.Message,
                    Details = outcome.Details ?? s.Details,
                }, progress).ConfigureAwait(false);
                return (waits ? outcome : StepOutcome.Done(outcome.Message, outcome.Details), null);
            }
            catch (Exception ex)
            {
                var message = ex is OperationCanceledException && cancellationToken.IsCancellationRequested ? "Stopped before it finished." : ex.Message;
                // A known failure keeps its stable id beside the message, for scripts and reports; what the step
                // recorded while it ran (a journal of what it created) stays.
                await UpdateStepAsync(job.JobId, index, s => s with
                {
                    State = JobStepState.Failed,
                    Ended = DateTimeOffset.UtcNow,
                    Error = message,
                    Details = ex is DRException known
                        ? new Dictionary<string, string>(s.Details.ToDictionary(p => p.Key, p => p.Value)) { [JobStepDetail.ErrorId] = known.ErrorId }
                        : s.Details,
                }, progress).ConfigureAwait(false);
                return (null, ex);
            }
        }

        private async Task<DRJob> UpdateStepAsync(string jobId, int index, Func<JobStep, JobStep> change, IProgress<DRJob>? progress)
        {
            // Records survive a stop: the vault writes never take the job's token.
            var job = await vault.UpdateJobStepAsync(jobId, index, change, CancellationToken.None).ConfigureAwait(false);
            progress?.Report(job);
            return job;
        }

        private async Task<bool> IsStopRequestedAsync(string jobId) =>
            (await vault.FindJobAsync(jobId, CancellationToken.None).ConfigureAwait(false))?.StopRequested ?? false;
    }
}
