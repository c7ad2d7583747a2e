using System.Collections.Generic;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;
using AzureSiteRecovery.DR.Core.Storage;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Jobs
{
    /// <summary>A job keeps the plan it started with, and the vault keeps a plan while one of its jobs is unfinished.</summary>
    public sealed class JobPlanCopyTests : VaultTest
    {
        private const string Yaml = "name: erp\nprotectedSite: onprem\nrecoverySite: dr\ngroups: []\n";

        private Task<RecoveryPlanSource> AddPlanAsync(bool replace = false, string yaml = Yaml) =>
            vault.AddRecoveryPlanAsync(new RecoveryPlanSource { Name = "erp", ProtectedSite = "onprem", RecoverySite = "dr", Yaml = yaml }, replace, none);

        private Task<DRJob> AddJobAsync(string id, JobState state, JobOperation operation = JobOperation.Drill, string target = "erp",
            IReadOnlyDictionary<string, string>? parameters = null) =>
            vault.AddJobAsync(new DRJob
            {
                JobId = id, Operation = operation, Target = target, State = state, Parameters = parameters ?? new Dictionary<string, string>(),
                PlanYaml = Yaml, PlanHash = RecoveryPlanSource.HashOf(Yaml),
            }, none);

        [Fact]
        public async Task A_job_reads_back_with_its_plan_copy_and_the_SHA256_of_it()
        {
            await AddJobAsync("j1", JobState.Succeeded);

            var job = await vault.FindJobAsync("j1", none);

            Assert.Equal(Yaml, job!.PlanYaml);
            Assert.Equal("5020052dd55d1aaa2d03db2efc731edbcdb0b7ac0e8fefab829cd363f742bb9e", job.PlanHash); // sha256sum of the same bytes
            Assert.Equal(RecoveryPlanSource.HashOf(Yaml), job.PlanHash);
            Assert.NotEqual(RecoveryPlanSource.HashOf(Yaml + " "), job.PlanHash);
            Assert.Matches("^[0-9a-f]{64}$", job.PlanHash);
        }

        [Theory]
        [InlineData(JobState.NotStarted)]
        [InlineData(JobState.Running)]
        [InlineData(JobState.WaitingForUser)]
        public async Task A_plan_with_an_unfinished_job_is_neither_replaced_nor_removed(JobState state)
        {
            await AddPlanAsync();
            await AddJobAsync("unfinished", state);

            var replace = await Assert.ThrowsAsync<ObjectInUseException>(() => AddPlanAsync(replace: true, yaml: Yaml + "description: changed\n"));
            var remove = await Assert.ThrowsAsync<ObjectInUseException>(() => vault.RemoveRecoveryPlanAsync("ERP", none));

            foreach (var error in new[] { replace, remove })
            {
                Assert.Equal("RecoveryPlanInUse", error.ErrorId);
                Assert.Contains("job unfinished", error.Message);
                Assert.Contains("Resume-DRJob -JobId unfinished", error.Message);
                Assert.Contains("Stop-DRJob -JobId unfinished", error.Message);
            }
            Assert.Equal(Yaml, (await vault.FindRecoveryPlanAsync("erp", none))!.Yaml);
        }

        [Fact]
        public async Task Ended_jobs_cleanups_and_jobs_of_piped_in_VMs_do_not_hold_a_plan()
        {
            await AddPlanAsync();
            await AddJobAsync("a", JobState.Succeeded);
            await AddJobAsync("b", JobState.Failed);
            await AddJobAsync("c", JobState.Cancelled);
            await AddJobAsync("d", JobState.Running, JobOperation.StopTestFailover);
            await AddJobAsync("e", JobState.WaitingForUser, JobOperation.TestFailover, parameters: new Dictionary<string, string> { ["vms"] = "1" });
            await AddJobAsync("f", JobState.Running, target: "other");

            await AddPlanAsync(replace: true, yaml: Yaml + "description: changed\n");
            await vault.RemoveRecoveryPlanAsync("erp", none);

            Assert.Null(await vault.FindRecoveryPlanAsync("erp", none));
        }

        [Fact]
        public async Task A_job_whose_plan_copy_no_longer_matches_its_hash_does_not_hold_the_plan()
        {
            await AddPlanAsync();
            await vault.AddJobAsync(new DRJob
            {
                JobId = "damaged", Operation = JobOperation.Drill, Target = "erp", State = JobState.WaitingForUser,
                PlanYaml = Yaml + "# changed\n", PlanHash = RecoveryPlanSource.HashOf(Yaml),
            }, none);

            await vault.RemoveRecoveryPlanAsync("erp", none);

            Assert.Null(await vault.FindRecoveryPlanAsync("erp", none));
        }

        [Theory]
        [InlineData("erp-db01", "erp-db01")]
        [InlineData("web 01/../x", "web_01_.._x")]
        [InlineData("..", "_")]
        [InlineData("a\nb\0c", "a_b_c")]
        [InlineData("db:1*?", "db_1__")]
        public void Export_folders_are_named_after_the_VM_in_safe_characters(string vm, string folder) =>
            Assert.Equal(folder, DiskImageWriter.FolderNameOf(vm));
    }
}
