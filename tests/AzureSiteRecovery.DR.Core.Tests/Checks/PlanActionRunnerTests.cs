using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Checks
{
    public sealed class PlanActionRunnerTests : IDisposable
    {
        private readonly FakeScriptHost scripts = new FakeScriptHost();
        private readonly PlanActionRunner runner;
        private readonly TemporaryFolder folder = new TemporaryFolder();
        private readonly CancellationToken none = CancellationToken.None;

        public PlanActionRunnerTests() => runner = new PlanActionRunner(scripts);

        public void Dispose() => folder.Dispose();

        private PlanActionContext Context(string? planFolder) => new PlanActionContext("erp", planFolder, "db", "job-1", Site: "dr");

        [Fact]
        public async Task A_script_file_is_found_beside_the_plan_and_gets_the_plan_group_job_and_site()
        {
            Directory.CreateDirectory(Path.Combine(folder.FolderPath, "scripts"));
            var file = Path.Combine(folder.FolderPath, "scripts", "Stop-Replication.ps1");
            File.WriteAllText(file, "'done'");

            var message = await runner.RunAsync(new ScriptAction { Path = @"scripts\Stop-Replication.ps1" }, Context(folder.FolderPath), none);

            Assert.Equal("The script scripts\\Stop-Replication.ps1 succeeded in 1.2 s: all good", message);
            var request = Assert.Single(scripts.Requests);
            Assert.Equal(file, request.Path);
            Assert.Equal(ScriptAction.DefaultTimeout, request.Timeout);
            Assert.Equal(("erp", "db", "job-1", "dr"),
                (request.Variables["RecoveryPlan"], request.Variables["Group"], request.Variables["JobId"], request.Variables["Site"]));
        }

        [Fact]
        public async Task A_missing_script_file_fails_the_step_naming_the_path_and_the_plan()
        {
            var action = new ScriptAction { Path = "scripts/None.ps1", Location = new PlanLocation("erp", 30, 17) };

            var ex = await Assert.ThrowsAsync<PlanScriptException>(() => runner.RunAsync(action, Context(folder.FolderPath), none));

            Assert.Equal("PlanScriptNotFound", ex.ErrorId);
            Assert.Contains("'scripts/None.ps1' of recovery plan 'erp' (erp:30:17) was not found", ex.Message);
            Assert.Contains(Path.Combine(folder.FolderPath, "scripts", "None.ps1"), ex.Message);
            Assert.Empty(scripts.Requests);
        }

        [Fact]
        public async Task A_relative_path_of_a_plan_whose_folder_is_unknown_asks_to_import_it_again()
        {
            var ex = await Assert.ThrowsAsync<PlanScriptException>(() => runner.RunAsync(new ScriptAction { Path = "pre.ps1" }, Context(planFolder: null), none));

            Assert.Equal("PlanScriptNotFound", ex.ErrorId);
            Assert.Contains("Import-RecoveryPlan -Path <plan file> -Force", ex.Message);
        }

        [Fact]
        public async Task A_failed_script_fails_the_step_with_its_error()
        {
            scripts.Answer = _ => new ScriptRunResult { Succeeded = false, Error = "boom (at line 2)", Duration = TimeSpan.FromSeconds(1) };

            var ex = await Assert.ThrowsAsync<PlanScriptException>(() => runner.RunAsync(new ScriptAction { Inline = "throw 'boom'" }, Context(null), none));

            Assert.Equal("PlanScriptFailed", ex.ErrorId);
            Assert.Equal("The inline script of group 'db' in recovery plan 'erp' failed after 1 s: boom (at line 2)", ex.Message);
        }

        [Fact]
        public async Task A_wait_waits_and_stops_when_cancelled()
        {
            Assert.Equal("Waited 0.2 s.", await runner.RunAsync(new WaitAction { Duration = TimeSpan.FromMilliseconds(200) }, Context(null), none));

            using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                runner.RunAsync(new WaitAction { Duration = TimeSpan.FromHours(1) }, Context(null), cancel.Token));
        }

        [Fact]
        public async Task A_manual_action_is_left_to_the_job_engine()
        {
            await Assert.ThrowsAsync<ArgumentException>(() => runner.RunAsync(new ManualAction { Message = "Check the DB." }, Context(null), none));
        }
    }
}
