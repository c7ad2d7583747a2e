using System;
using System.Linq;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Vault;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VaultContract
{
    public abstract class JobContract : VaultContractTest
    {
        protected JobContract(VaultBackend backend) : base(backend)
        {
        }

        private static DRJob Job(string id, JobState state = JobState.NotStarted, int steps = 2) => new DRJob
        {
            JobId = id,
            Operation = JobOperation.TestFailover,
            Target = "erp",
            State = state,
            Created = DateTimeOffset.UtcNow,
            Steps = Enumerable.Range(0, steps).Select(i => new JobStep { Index = i, Name = $"step {i}", Group = "web", IsFinally = i == steps - 1 }).ToList(),
        };

        [Fact]
        public async Task A_job_reads_back_with_its_steps_from_another_handle()
        {
            var added = await vault.AddJobAsync(Job("j1", steps: 3), none);

            using var other = OpenOther();
            var found = (await other.FindJobAsync("j1", none))!;
            Assert.Equal(added with { Steps = found.Steps }, found);
            Assert.Equal(added.Steps, found.Steps);
            Assert.Equal(new[] { "step 0", "step 1", "step 2" }, found.Steps.Select(s => s.Name));
            Assert.True(found.Steps[2].IsFinally);
            Assert.Null(await other.FindJobAsync("nope", none));
        }

        [Fact]
        public async Task Jobs_list_newest_first_and_filter_by_state()
        {
            await vault.AddJobAsync(Job("old", JobState.Succeeded) with { Created = DateTimeOffset.UtcNow.AddHours(-1) }, none);
            await vault.AddJobAsync(Job("new", JobState.Failed), none);
            await vault.AddJobAsync(Job("mid", JobState.Succeeded) with { Created = DateTimeOffset.UtcNow.AddMinutes(-5) }, none);

            Assert.Equal(new[] { "new", "mid", "old" }, (await vault.ListJobsAsync(null, none)).Select(j => j.JobId));
            var succeeded = await vault.ListJobsAsync(JobState.Succeeded, none);
            Assert.Equal(new[] { "mid", "old" }, succeeded.Select(j => j.JobId));
            Assert.All(succeeded, j => Assert.Equal(2, j.Steps.Count));
        }

        [Fact]
        public async Task Updates_change_the_job_and_one_step_and_keep_the_identity()
        {
            await vault.AddJobAsync(Job("j1"), none);

            var job = await vault.UpdateJobAsync("j1", j => j with { State = JobState.Running, Owner = "me", StopRequested = true }, none);
            job = await vault.UpdateJobStepAsync("j1", 1, s => s with { State = JobStepState.Failed, Error = "boom", Message = "m" }, none);

            Assert.Equal((JobState.Running, "me", true), (job.State, job.Owner, job.StopRequested));
            Assert.Equal((JobStepState.Failed, "boom", "m"), (job.Steps[1].State, job.Steps[1].Error, job.Steps[1].Message));
            Assert.Equal(JobStepState.Pending, job.Steps[0].State);
            await Assert.ThrowsAsync<InvalidSettingException>(() => vault.UpdateJobAsync("j1", j => j with { Target = "other" }, none));
            await Assert.ThrowsAsync<InvalidSettingException>(() => vault.UpdateJobStepAsync("j1", 0, s => s with { Name = "renamed" }, none));
            Assert.Equal("DRJobNotFound", (await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.UpdateJobAsync("nope", j => j, none))).ErrorId);
            Assert.Equal("JobStepNotFound", (await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.UpdateJobStepAsync("j1", 5, s => s, none))).ErrorId);
            Assert.Equal("JobAlreadyExists", (await Assert.ThrowsAsync<ObjectAlreadyExistsException>(() => vault.AddJobAsync(Job("j1"), none))).ErrorId);
        }

        [Fact]
        public async Task Concurrent_step_updates_from_two_handles_lose_nothing()
        {
            await vault.AddJobAsync(Job("j1", steps: 40), none);
            using var other = OpenOther();

            await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
                (i % 2 == 0 ? vault : other).UpdateJobStepAsync("j1", i, s => s with { State = JobStepState.Succeeded, Message = $"m{i}" }, none)));

            var job = (await vault.FindJobAsync("j1", none))!;
            Assert.All(job.Steps, s => Assert.Equal((JobStepState.Succeeded, $"m{s.Index}"), (s.State, s.Message)));
        }

        [Fact]
        public void The_schema_has_the_jobs_migration() => Assert.Contains("CREATE TABLE job_steps", VaultSchema.Migrations[3]);
    }
    public sealed class SqliteVaultJobTests : JobContract
    {
        public SqliteVaultJobTests() : base(VaultBackend.Sqlite)
        {
        }
    }

    [Collection(AzuriteTables.Collection)]
    public sealed class TableVaultJobTests : JobContract
    {
        public TableVaultJobTests(AzuriteTables lab) : base(VaultBackend.Tables(lab))
        {
        }
    }
}
