using System;
using System.IO;
using System.Linq;
using System.Text;
using AzureSiteRecovery.DR.Core.Orchestration.Plans;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Plans
{
    /// <summary>Plans built to hurt the reader (found by fuzzing): each is one RecoveryPlanInvalid naming file, line and column.</summary>
    public sealed class PlanLimitsTests
    {
        private const string Head = "name: fuzz\nprotectedSite: onprem\nrecoverySite: dr\n";

        private static RecoveryPlanError Fails(string yaml)
        {
            var error = Assert.Throws<RecoveryPlanException>(() => RecoveryPlanParser.Parse(yaml, "fuzz.yaml"));
            Assert.Equal("RecoveryPlanInvalid", error.ErrorId);
            Assert.Equal("fuzz.yaml", error.Errors[0].Location.File);
            return error.Errors[0];
        }

        [Theory]
        [InlineData("[", "]")]
        [InlineData("{a: ", "}")]
        public void A_plan_nested_50000_levels_deep_is_refused_where_it_passes_the_limit(string open, string close)
        {
            var yaml = Head + "groups: " + string.Concat(Enumerable.Repeat(open, 50_000)) + (open == "[" ? "" : "x") + string.Concat(Enumerable.Repeat(close, 50_000)) + "\n";

            var error = Fails(yaml);

            Assert.Equal(4, error.Location.Line);
            // "groups: " then one opener per level: the first level past the limit is where it stops.
            Assert.Equal("groups: ".Length + (PlanYamlReader.MaxDepth - 1) * open.Length + 1, error.Location.Column);
            Assert.Contains("nest more than 32 levels", error.Message);
        }

        [Fact]
        public void Block_lists_nested_50000_levels_deep_are_refused()
        {
            var error = Fails(Head + "groups:\n" + string.Concat(Enumerable.Repeat("- ", 50_000)) + "x\n");
            Assert.Equal(5, error.Location.Line);
            Assert.Contains("nest more than", error.Message);
        }

        [Fact]
        public void An_alias_bomb_is_refused_at_the_alias_that_passes_the_limit()
        {
            var yaml = new StringBuilder(Head);
            yaml.Append("a0: &a0 [").Append(string.Join(",", Enumerable.Repeat("lol", 8000))).Append("]\n");
            for (var i = 1; i <= 12; i++)
            {
                yaml.Append($"a{i}: &a{i} [").Append(string.Join(",", Enumerable.Repeat($"*a{i - 1}", 9))).Append("]\n");
            }
            yaml.Append("groups: *a12\n");

            var error = Fails(yaml.ToString());

            Assert.Equal(6, error.Location.Line); // a2 is the first level past 250,000 values
            Assert.Contains("aliases", error.Message);
        }

        [Fact]
        public void Two_million_validations_made_of_aliases_are_refused()
        {
            var yaml = new StringBuilder(Head);
            yaml.Append("x-validations: &v [").Append(string.Join(",", Enumerable.Repeat("{tcpPort: 80}", 1000))).Append("]\ngroups:\n  - name: web\n    vms:\n");
            for (var i = 0; i < 2000; i++) yaml.Append($"      - {{name: w{i}, validations: *v}}\n");
            Assert.InRange(yaml.Length, 80_000, 100_000);

            var error = Fails(yaml.ToString());

            Assert.Contains("aliases", error.Message);
            Assert.True(error.Location.Line > 8);
        }

        [Fact]
        public void Aliases_within_the_limit_still_work()
        {
            var plan = RecoveryPlanParser.Parse(Head + "groups:\n  - name: web\n    vms:\n      - {name: w1, validations: &checks [{tcpPort: 80}, {tcpPort: 443}]}\n      - {name: w2, validations: *checks}\n", "fuzz.yaml");
            Assert.Equal(new[] { 2, 2 }, plan.Groups[0].Vms.Select(v => v.Validations.Count));
        }

        [Fact]
        public void A_plan_longer_than_the_limit_is_refused_where_the_limit_falls()
        {
            var error = Fails(Head + "description: " + new string('x', RecoveryPlanParser.MaxPlanLength) + "\n");
            Assert.Equal(4, error.Location.Line);
            Assert.Equal(RecoveryPlanParser.MaxPlanLength - Head.Length + 1, error.Location.Column);
        }

        [Theory]
        [InlineData("groups", 1001)]
        [InlineData("validations", 101)]
        [InlineData("preActions", 101)]
        public void A_list_longer_than_its_limit_is_refused_without_reading_its_items(string key, int count)
        {
            string yaml = key switch
            {
                "groups" => Head + "groups:\n" + string.Concat(Enumerable.Range(0, count).Select(i => $"  - {{name: g{i}, vms: [vm{i}]}}\n")),
                "validations" => Head + "groups:\n  - name: web\n    vms:\n      - name: w\n        validations: [" + string.Join(",", Enumerable.Repeat("{tcpPort: 80}", count)) + "]\n",
                _ => Head + "groups:\n  - name: web\n    vms: [w]\n    preActions: [" + string.Join(",", Enumerable.Repeat("{wait: 1s}", count)) + "]\n",
            };

            var error = Assert.Throws<RecoveryPlanException>(() => RecoveryPlanParser.Parse(yaml, "fuzz.yaml"));

            var only = Assert.Single(error.Errors);
            Assert.Contains($"'{key}' lists {count:N0} items", only.Message);
        }

        [Theory]
        [InlineData("١٢s")]   // Arabic-Indic digits
        [InlineData("１２s")]  // fullwidth digits
        [InlineData("00:0٥:00")]
        public void Durations_in_other_digits_are_a_plan_error_not_a_FormatException(string duration)
        {
            var error = Fails(Head + $"groups:\n  - name: db\n    startTimeout: {duration}\n    vms: [db01]\n");
            Assert.Equal(6, error.Location.Line);
            Assert.Equal(19, error.Location.Column);
            Assert.Contains("'startTimeout' must be a duration", error.Message);
        }

        [Theory]
        [InlineData("\"db01\\0\"", "U+0000")]
        [InlineData("\"db01\\nweb01\"", "U+000A")]
        [InlineData("\"\\e[31mdb01\"", "U+001B")]
        [InlineData("\"db\\u202E10\"", "U+202E")]
        public void VM_names_with_control_or_invisible_characters_are_refused(string name, string character)
        {
            var error = Fails(Head + $"groups:\n  - name: db\n    vms:\n      - {name}\n");
            Assert.Equal(7, error.Location.Line);
            Assert.Equal(9, error.Location.Column);
            Assert.Contains(character, error.Message);
        }

        [Fact]
        public void Script_paths_that_are_devices_folders_or_too_large_are_refused_at_import()
        {
            using var folder = new TemporaryFolder();
            var large = Path.Combine(folder.FolderPath, "large.ps1");
            File.WriteAllBytes(large, new byte[PlanScriptPath.MaxScriptBytes + 1]);
            File.WriteAllText(Path.Combine(folder.FolderPath, "ok.ps1"), "$true");
            var plan = Path.Combine(folder.FolderPath, "plan.yaml");
            File.WriteAllText(plan, Head + "groups:\n  - name: db\n    preActions:\n      - script: {path: " + (OperatingSystem.IsWindows() ? "NUL" : "/dev/zero") + "}\n" +
                "      - script: {path: checks}\n      - script: {path: large.ps1}\n      - script: {path: ok.ps1}\n      - script: {path: missing.ps1}\n    vms: [db01]\n");
            Directory.CreateDirectory(Path.Combine(folder.FolderPath, "checks"));

            var error = Assert.Throws<RecoveryPlanException>(() => RecoveryPlanFile.Read(plan));

            Assert.Equal(new[] { 7, 8, 9 }, error.Errors.Select(e => e.Location.Line));
            Assert.Contains("character device", error.Errors[0].Message);
            Assert.Contains("a directory", error.Errors[1].Message);
            Assert.Contains("bytes long", error.Errors[2].Message);
        }

        [Fact]
        public void A_device_as_the_script_of_a_running_job_is_PlanScriptInvalid()
        {
            if (OperatingSystem.IsWindows()) return;
            var error = Assert.Throws<PlanScriptException>(() => PlanScriptPath.Resolve("/dev/zero", "/tmp", "erp"));
            Assert.Equal("PlanScriptInvalid", error.ErrorId);
            Assert.Contains("character device", error.Message);
        }

        [Fact]
        public void A_plan_file_that_is_a_FIFO_is_refused_without_blocking()
        {
            if (OperatingSystem.IsWindows()) return;
            using var folder = new TemporaryFolder();
            var fifo = Path.Combine(folder.FolderPath, "plan.yaml");
            using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();

            var error = Assert.Throws<RecoveryPlanException>(() => RecoveryPlanFile.Read(fifo));

            Assert.Contains("named pipe (FIFO)", error.Errors.Single().Message);
            Assert.Equal(1, error.Errors.Single().Location.Line);
        }
    }
}
