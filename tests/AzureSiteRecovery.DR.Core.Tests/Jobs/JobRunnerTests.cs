using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Jobs;
using AzureSiteRecovery.DR.Core.Vault;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Jobs
{
    public sealed class JobRunnerTests : VaultTest
    {
        /// <summary>What the steps did, in order, across runs (a resume appends).</summary>
        private readonly ConcurrentQueue<string> ran = new ConcurrentQueue<string>();

        private JobStepDefinition Step(string name, Func<JobStepContext, StepOutcome>? act = null, string? group = null) =>
            new JobStepDefinition(name, (context, _) =>
            {
                ran.Enqueue(name);
                return Task.FromResult(act?.Invoke(context) ?? StepOutcome.Done($"{name} done"));
            }, group, vm: group is null ? null : group + "-vm");

        private JobDefinition Drill(params JobStepDefinition[] steps) =>
            new JobDefinition(JobOperation.Drill, "erp", steps, new[] { Step("cleanup") });

        private JobRunner Runner(JobDefinition definition) =>
            new JobRunner(vault, new JobCatalog().Register(definition.Operation, (_, _) => Task.FromResult(definition)));

        [Fact]
        public async Task Steps_run_in_order_and_each_start_end_and_result_is_recorded()
        {
            var definition = Drill(Step("boot web", group: "web"), Step("boot db", group: "db"), Step("validate"));
            var runner = Runner(definition);
            var created = await runner.CreateAsync(definition, none);
            Assert.Equal(JobState.NotStarted, created.State);
            Assert.All(created.Steps, s => Assert.Equal(JobStepState.Pending, s.State));

            var seen = new List<DRJob>();
            var done = await runner.RunAsync(created.JobId, definition, none, new SynchronousProgress(seen));

            Assert.Equal(new[] { "boot web", "boot db", "validate", "cleanup" }, ran);
            using var other = SqliteVault.Open(folder.VaultPath);
            var stored = (await other.FindJobAsync(created.JobId, none))!;
            Assert.Equal(done with { Steps = stored.Steps }, stored);
            Assert.Equal(done.Steps, stored.Steps);
            Assert.Equal((JobState.Succeeded, runner.Owner, (string?)null), (stored.State, stored.Owner, stored.Error));
            Assert.NotNull(stored.Started);
            Assert.NotNull(stored.Ended);
            Assert.Equal(new[] { "boot web", "boot db", "validate", "cleanup" }, stored.Steps.Select(s => s.Name));
            Assert.Equal(new[] { false, false, false, true }, stored.Steps.Select(s => s.IsFinally));
            Assert.Equal(("web", "web-vm", "boot web done"), (stored.Steps[0].Group, stored.Steps[0].Vm, stored.Steps[0].Message));
            Assert.All(stored.Steps, s =>
            {
                Assert.Equal(JobStepState.Succeeded, s.State);
                Assert.True(s.Started <= s.Ended);
            });
            for (var i = 1; i < stored.Steps.Count; i++)
            {
                Assert.True(stored.Steps[i - 1].Ended <= stored.Steps[i].Started);
            }

            Assert.Contains(seen, j => j.CurrentStep?.Name == "boot db" && j.CurrentStep.State == JobStepState.Running);
            Assert.Null(stored.CurrentStep);
        }

        [Fact]
        public async Task A_failing_step_fails_the_job_skips_the_rest_and_runs_the_cleanup()
        {
            var definition = Drill(Step("boot"), Step("validate", _ => throw new InvalidOperationException("port 443 closed")), Step("report"));
            var runner = Runner(definition);
            var job = await runner.CreateAsync(definition, none);

            var done = await runner.RunAsync(job.JobId, definition, none);

            Assert.Equal(new[] { "boot", "validate", "cleanup" }, ran);
            Assert.Equal(JobState.Failed, done.State);
            Assert.Equal("Step 'validate' failed: port 443 closed", done.Error);
            Assert.Equal(new[] { JobStepState.Succeeded, JobStepState.Failed, JobStepState.Skipped, JobStepState.Succeeded }, done.Steps.Select(s => s.State));
            Assert.Equal("port 443 closed", done.Steps[1].Error);
            await Assert.ThrowsAsync<JobException>(() => runner.ResumeAsync(job.JobId, none));
        }

        [Fact]
        public async Task A_step_marked_continue_on_error_fails_alone()
        {
            var flaky = new JobStepDefinition("optional check", (_, _) => throw new TimeoutException("no answer")) { ContinueOnError = true };
            var definition = Drill(Step("boot"), flaky, Step("report"));
            var runner = Runner(definition);
            var job = await runner.CreateAsync(definition, none);

            var done = await runner.RunAsync(job.JobId, definition, none);

            Assert.Equal(JobState.Succeeded, done.State);
            Assert.Equal(new[] { JobStepState.Succeeded, JobStepState.Failed, JobStepState.Succeeded, JobStepState.Succeeded }, done.Steps.Select(s => s.State));
            Assert.Equal("no answer", done.Steps[1].Error);
        }

        [Fact]
        public async Task A_manual_step_pauses_the_job_and_resume_continues_without_redoing_done_steps()
        {
            var definition = Drill(Step("boot"), Step("check the app", _ => StepOutcome.WaitForUser("Log on to the ERP and post a test order.")), Step("report"));
            var runner = Runner(definition);
            var job = await runner.CreateAsync(definition, none);

            var paused = await runner.RunAsync(job.JobId, definition, none);

            Assert.Equal(JobState.WaitingForUser, paused.State);
            Assert.Equal(new[] { "boot", "check the app" }, ran);
            Assert.Equal((JobStepState.WaitingForUser, "Log on to the ERP and post a test order."), (paused.CurrentStep!.State, paused.CurrentStep.Message));
            Assert.Equal(JobStepState.Pending, paused.Steps[3].State);

            // Another process (a new runner on its own vault handle) resumes it.
            using var other = SqliteVault.Open(folder.VaultPath);
            var resumed = await new JobRunner(other, new JobCatalog().Register(JobOperation.Drill, (stored, _) =>
            {
                Assert.Equal("erp", stored.Target);
                return Task.FromResult(definition);
            })).ResumeAsync(job.JobId, none);

            Assert.Equal(JobState.Succeeded, resumed.State);
            Assert.Equal(new[] { "boot", "check the app", "report", "cleanup" }, ran);
            Assert.All(resumed.Steps, s => Assert.Equal(JobStepState.Succeeded, s.State));
            Assert.Equal(paused.Steps[0], resumed.Steps[0]);
        }

        [Fact]
        public async Task A_stop_requested_through_another_vault_cancels_between_steps_and_runs_the_cleanup()
        {
            using var other = SqliteVault.Open(folder.VaultPath);
            string? jobId = null;
            var definition = Drill(
                Step("boot"),
                new JobStepDefinition("wait for heartbeat", async (context, _) =>
                {
                    ran.Enqueue("wait for heartbeat");
                    await other.UpdateJobAsync(context.JobId, j => j with { StopRequested = true }, none);
                    return StepOutcome.Done();
                }),
                Step("validate"));
            var runner = Runner(definition);
            jobId = (await runner.CreateAsync(definition, none)).JobId;

            var done = await runner.RunAsync(jobId, definition, none);

            Assert.Equal(new[] { "boot", "wait for heartbeat", "cleanup" }, ran);
            Assert.Equal((JobState.Cancelled, true, (string?)null), (done.State, done.StopRequested, done.Error));
            Assert.Equal(new[] { JobStepState.Succeeded, JobStepState.Succeeded, JobStepState.Skipped, JobStepState.Succeeded }, done.Steps.Select(s => s.State));
        }

        [Fact]
        public async Task A_stop_requested_through_another_vault_also_stops_a_step_that_is_running()
        {
            using var other = SqliteVault.Open(folder.VaultPath);
            var definition = Drill(
                new JobStepDefinition("wait 2m", async (context, token) =>
                {
                    ran.Enqueue("wait 2m");
                    await other.UpdateJobAsync(context.JobId, j => j with { StopRequested = true }, none);
                    await Task.Delay(TimeSpan.FromMinutes(2), token);
                    return StepOutcome.Done();
                }),
                Step("validate"));
            var runner = Runner(definition);
            var job = await runner.CreateAsync(definition, none);
            var watch = Stopwatch.StartNew();

            var done = await runner.RunAsync(job.JobId, definition, none);

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"the running step was stopped after {watch.Elapsed}");
            Assert.Equal(new[] { "wait 2m", "cleanup" }, ran);
            Assert.Equal(JobState.Cancelled, done.State);
            Assert.Equal((JobStepState.Failed, "Stopped before it finished."), (done.Steps[0].State, done.Steps[0].Error));
            Assert.Equal(new[] { JobStepState.Skipped, JobStepState.Succeeded }, done.Steps.Skip(1).Select(s => s.State));
        }

        [Fact]
        public async Task Cancelling_the_token_mid_step_cancels_the_job_and_still_runs_the_cleanup()
        {
            using var cancellation = new CancellationTokenSource();
            var definition = Drill(
                Step("boot"),
                new JobStepDefinition("copy disks", async (_, token) =>
                {
                    ran.Enqueue("copy disks");
                    cancellation.Cancel();
                    await Task.Delay(Timeout.Infinite, token);
                    return StepOutcome.Done();
                }),
                Step("validate"));
            var runner = Runner(definition);
            var job = await runner.CreateAsync(definition, none);

            var done = await runner.RunAsync(job.JobId, definition, cancellation.Token);

            Assert.Equal(new[] { "boot", "copy disks", "cleanup" }, ran);
            Assert.Equal(JobState.Cancelled, done.State);
            Assert.Equal((JobStepState.Failed, "Stopped before it finished."), (done.Steps[1].State, done.Steps[1].Error));
            Assert.Equal(JobStepState.Skipped, done.Steps[2].State);
            Assert.Equal(JobStepState.Succeeded, done.Steps[3].State);
        }

        [Fact]
        public async Task A_job_whose_process_died_mid_step_is_interrupted_and_resumes_from_that_step()
        {
            var definition = Drill(Step("boot"), Step("copy disks", c => StepOutcome.Done(c.IsRetry ? "retried" : "first run")), Step("validate"));
            var runner = Runner(definition);
            var job = await runner.CreateAsync(definition, none);
            // The state a killed process leaves: Running, owned by a pid that is gone, step 0 done and step 1 started.
            var dead = DeadOwner();
            await vault.UpdateJobAsync(job.JobId, j => j with { State = JobState.Running, Owner = dead, Started = DateTimeOffset.UtcNow }, none);
            await vault.UpdateJobStepAsync(job.JobId, 0, s => s with { State = JobStepState.Succeeded, Started = DateTimeOffset.UtcNow, Ended = DateTimeOffset.UtcNow }, none);
            await vault.UpdateJobStepAsync(job.JobId, 1, s => s with { State = JobStepState.Running, Started = DateTimeOffset.UtcNow }, none);

            var observed = await runner.GetAsync(job.JobId, none);
            Assert.Equal(JobState.Interrupted, observed.State);
            Assert.Equal("copy disks", observed.CurrentStep!.Name);
            Assert.Equal(JobState.Running, (await vault.FindJobAsync(job.JobId, none))!.State);

            var resumed = await runner.ResumeAsync(job.JobId, none);

            Assert.Equal(new[] { "copy disks", "validate", "cleanup" }, ran);
            Assert.Equal((JobState.Succeeded, runner.Owner), (resumed.State, resumed.Owner));
            Assert.Equal("retried", resumed.Steps[1].Message);
        }

        [Fact]
        public async Task A_process_that_died_during_the_cleanup_of_a_failed_job_resumes_with_the_cleanup_only()
        {
            var definition = new JobDefinition(JobOperation.Drill, "erp", new[] { Step("boot"), Step("validate") }, new[] { Step("delete vms"), Step("delete disks") });
            var runner = Runner(definition);
            var job = await runner.CreateAsync(definition, none);
            await vault.UpdateJobAsync(job.JobId, j => j with { State = JobState.Running, Owner = DeadOwner(), Error = "Step 'validate' failed: port closed" }, none);
            await vault.UpdateJobStepAsync(job.JobId, 0, s => s with { State = JobStepState.Succeeded }, none);
            await vault.UpdateJobStepAsync(job.JobId, 1, s => s with { State = JobStepState.Failed, Error = "port closed" }, none);
            await vault.UpdateJobStepAsync(job.JobId, 2, s => s with { State = JobStepState.Succeeded }, none);
            await vault.UpdateJobStepAsync(job.JobId, 3, s => s with { State = JobStepState.Running, Started = DateTimeOffset.UtcNow }, none);

            var resumed = await runner.ResumeAsync(job.JobId, none);

            Assert.Equal(new[] { "delete disks" }, ran);
            Assert.Equal((JobState.Failed, "Step 'validate' failed: port closed"), (resumed.State, resumed.Error));
            Assert.Equal(JobStepState.Succeeded, resumed.Steps[3].State);
        }

        [Fact]
        public async Task A_failing_cleanup_step_fails_the_job_and_the_other_cleanup_steps_still_run()
        {
            var definition = new JobDefinition(JobOperation.Drill, "erp", new[] { Step("boot") },
                new[] { Step("delete vms", _ => throw new InvalidOperationException("vCenter unreachable")), Step("delete disks") });
            var runner = Runner(definition);
            var job = await runner.CreateAsync(definition, none);

            var done = await runner.RunAsync(job.JobId, definition, none);

            Assert.Equal(new[] { "boot", "delete vms", "delete disks" }, ran);
            Assert.Equal((JobState.Failed, "Cleanup step 'delete vms' failed: vCenter unreachable"), (done.State, done.Error));
        }

        [Fact]
        public async Task A_job_run_by_a_live_process_is_not_resumed_by_another()
        {
            var definition = Drill(Step("boot"));
            var runner = Runner(definition);
            var job = await runner.CreateAsync(definition, none);
            await vault.UpdateJobAsync(job.JobId, j => j with { State = JobState.Running, Owner = ProcessOwner.NewId() }, none);

            var ex = await Assert.ThrowsAsync<JobException>(() => runner.ResumeAsync(job.JobId, none));

            Assert.Equal(("JobInProgress", FailureKind.InUse), (ex.ErrorId, ex.Kind));
            Assert.Empty(ran);
        }

        [Fact]
        public async Task An_operation_without_a_definition_cannot_be_resumed()
        {
            var definition = Drill(Step("boot"));
            var job = await new JobRunner(vault, new JobCatalog()).CreateAsync(definition, none);

            var ex = await Assert.ThrowsAsync<JobException>(() => new JobRunner(vault, new JobCatalog()).ResumeAsync(job.JobId, none));

            Assert.Equal(("JobOperationUnavailable", job.JobId), (ex.ErrorId, ex.Target));
        }

        [Fact]
        public async Task Steps_that_differ_from_the_recorded_ones_are_refused()
        {
            var job = await new JobRunner(vault, new JobCatalog()).CreateAsync(Drill(Step("boot")), none);

            var ex = await Assert.ThrowsAsync<JobException>(() => Runner(Drill(Step("other"))).RunAsync(job.JobId, Drill(Step("other")), none));

            Assert.Equal("JobDefinitionChanged", ex.ErrorId);
            Assert.Equal(JobState.NotStarted, (await vault.FindJobAsync(job.JobId, none))!.State);
        }

        /// <summary>An owner id naming a process of this machine that has exited.</summary>
        [Fact]
        public async Task Steps_of_one_batch_run_at_the_same_time_and_the_job_goes_on_when_all_ended()
        {
            // Three steps that each wait until all three have started: they can only finish if they run together.
            var started = new CountdownEvent(3);
            JobStepDefinition Together(string name) => new JobStepDefinition(name, async (context, ct) =>
            {
                started.Signal();
                await Task.Run(() => started.Wait(TimeSpan.FromSeconds(10)), ct);
                ran.Enqueue(name);
                return StepOutcome.Done(name, new Dictionary<string, string> { ["started together"] = started.IsSet.ToString() });
            }, "web") { Batch = "web" };
            var definition = Drill(Step("prepare"), Together("boot web01"), Together("boot web02"), Together("boot web03"), Step("validate"));
            var runner = Runner(definition);
            var job = await runner.CreateAsync(definition, none);

            var done = await runner.RunAsync(job.JobId, definition, none);

            Assert.Equal(JobState.Succeeded, done.State);
            Assert.Equal("prepare", ran.First());
            Assert.Equal(new[] { "validate", "cleanup" }, ran.Skip(4));
            Assert.All(done.Steps.Skip(1).Take(3), s => Assert.Equal("True", s.Details["started together"]));
            // The next step starts after the last of the batch ended.
            Assert.True(done.Steps[4].Started >= done.Steps.Skip(1).Take(3).Max(s => s.Ended));
        }

        [Fact]
        public async Task A_failed_step_of_a_batch_lets_the_others_finish_then_fails_the_job_and_cleanup_runs()
        {
            var definition = Drill(
                new JobStepDefinition("boot web01", (c, ct) => throw new InvalidOperationException("no heartbeat"), "web") { Batch = "web" },
                new JobStepDefinition("boot web02", async (c, ct) => { await Task.Delay(300, ct); ran.Enqueue("boot web02"); return StepOutcome.Done(); }, "web") { Batch = "web" },
                Step("validate"));
            var runner = Runner(definition);
            var job = await runner.CreateAsync(definition, none);

            var done = await runner.RunAsync(job.JobId, definition, none);

            Assert.Equal(JobState.Failed, done.State);
            Assert.Equal("Step 'boot web01' failed: no heartbeat", done.Error);
            Assert.Equal(new[] { JobStepState.Failed, JobStepState.Succeeded, JobStepState.Skipped, JobStepState.Succeeded }, done.Steps.Select(s => s.State));
            Assert.Equal(new[] { "boot web02", "cleanup" }, ran);
        }

        [Fact]
        public async Task Resources_of_a_definition_are_disposed_when_the_run_returns()
        {
            var resources = new Disposable();
            var definition = new JobDefinition(JobOperation.Drill, "erp", new[] { Step("boot") }) { Resources = resources };
            var runner = Runner(definition);
            var job = await runner.CreateAsync(definition, none);

            await runner.RunAsync(job.JobId, definition, none);

            Assert.True(resources.Disposed);
        }

        private sealed class Disposable : IDisposable
        {
            public bool Disposed { get; private set; }
            public void Dispose() => Disposed = true;
        }

        private static string DeadOwner()
        {
            using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
            process.WaitForExit();
            return $"{Environment.MachineName}/{process.Id}/{Guid.NewGuid():N}";
        }

        private sealed class SynchronousProgress : IProgress<DRJob>
        {
            private readonly List<DRJob> seen;

            public SynchronousProgress(List<DRJob> seen) => this.seen = seen;

            public void Report(DRJob value) => seen.Add(value);
        }
    }
}
