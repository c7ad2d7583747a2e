using System;
using System.IO;
using System.Linq;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Plans;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Plans
{
    public sealed class RecoveryPlanParserTests
    {
        private const string Valid = @"name: erp
protectedSite: onprem
recoverySite: dr
networkMappings:
  - sourceNetwork: VM Network
    recoveryNetwork: DR Production
    testNetwork: DR Test
groups:
  - name: db
    vms:
      - name: erp-db01
        bootDelay: 30s
";

        /// <summary>An example plan shipped in the module, read from the source tree.</summary>
        internal static string ExamplePlan(string file = "erp.plan.yaml")
        {
            var folder = new DirectoryInfo(AppContext.BaseDirectory);
            while (folder != null && !File.Exists(Path.Combine(folder.FullName, "DR.sln")))
            {
                folder = folder.Parent;
            }
            Assert.NotNull(folder);
            return File.ReadAllText(Path.Combine(folder!.FullName, "src/AzureSiteRecovery.DR/Examples", file));
        }

        private static RecoveryPlanException Fails(string yaml) =>
            Assert.Throws<RecoveryPlanException>(() => RecoveryPlanParser.Parse(yaml, "erp.yaml"));

        [Fact]
        public void Rto_targets_and_group_validations_are_read_at_plan_and_group_level()
        {
            var plan = RecoveryPlanParser.Parse(@"name: erp
protectedSite: onprem
recoverySite: dr
rtoTarget: 30m
groups:
  - name: db
    rtoTarget: 10m
    protectionGroups: [erp-db]
    validations:
      - tcpPort: 1433
      - httpGet: { port: 80, path: /health }
  - name: web
    vms: [erp-web01]
", "erp.yaml");

            Assert.Equal(TimeSpan.FromMinutes(30), plan.RtoTarget);
            Assert.Equal((TimeSpan?)TimeSpan.FromMinutes(10), plan.Groups[0].RtoTarget);
            Assert.Null(plan.Groups[1].RtoTarget);
            Assert.Equal(new[] { "tcp 1433", "http :80/health → 200" }, plan.Groups[0].Validations.Select(v => v.ToString()));
            Assert.Equal(new PlanLocation("erp.yaml", 10, 9), plan.Groups[0].Validations[0].Location);
            Assert.Empty(plan.Groups[1].Validations);
        }

        [Theory]
        [InlineData("rtoTarget: 0s\n", 4, 12, "'rtoTarget' must be longer than zero")]
        [InlineData("rtoTarget: soon\n", 4, 12, "'rtoTarget'")]
        [InlineData("groups:\n  - name: db\n    vms: [a]\n    rtoTarget: -5m\n", 7, 16, "'rtoTarget'")]
        [InlineData("groups:\n  - name: db\n    vms: [a]\n    validations:\n      - tcpPort: 70000\n", 8, 18, "port")]
        [InlineData("groups:\n  - name: db\n    vms: [a]\n    validations:\n      - ping: 1\n", 8, 9, "tcpPort")]
        public void Rto_target_and_group_validation_mistakes_name_their_line_and_column(string yaml, int line, int column, string expected)
        {
            var text = "name: erp\nprotectedSite: onprem\nrecoverySite: dr\n" + yaml;
            if (!yaml.Contains("groups:")) text += "groups:\n  - name: db\n    vms: [a]\n";
            var error = Fails(text).Errors.First();
            Assert.Equal(("erp.yaml", line, column), (error.Location.File, error.Location.Line, error.Location.Column));
            Assert.Contains(expected, error.Message);
        }

        [Fact]
        public void The_example_plan_parses_into_three_groups_in_order()
        {
            var yaml = ExamplePlan();
            var plan = RecoveryPlanParser.Parse(yaml, "erp.plan.yaml");

            Assert.Equal("erp", plan.Name);
            Assert.Equal("onprem", plan.ProtectedSite);
            Assert.Equal("dr", plan.RecoverySite);
            Assert.Equal(yaml, plan.Yaml);
            Assert.Equal(new[] { "db", "app", "web" }, plan.Groups.Select(g => g.Name));
            Assert.Equal(2, plan.NetworkMappings.Count);
            Assert.Equal(new NetworkMapping
                {
                    SourceNetwork = "VM Network", RecoveryNetwork = "DR Production", TestNetwork = "DR Isolated Test", Location = plan.NetworkMappings[0].Location,
                    RecoveryNetworkLocation = new PlanLocation("erp.plan.yaml", 22, 22), TestNetworkLocation = new PlanLocation("erp.plan.yaml", 23, 18),
                },
                plan.NetworkMappings[0]);

            var db = plan.Groups[0];
            Assert.Equal(TimeSpan.FromMinutes(15), db.Vms.Single().StartTimeout);
            Assert.Equal(VmStartCondition.Heartbeat, db.Vms.Single().WaitFor);
            var inline = Assert.IsType<ScriptAction>(db.PreActions.Single());
            Assert.Equal(TimeSpan.FromMinutes(1), inline.Timeout);
            Assert.NotNull(inline.Inline);
            Assert.IsType<ManualAction>(db.PostActions.Single());
            Assert.Equal(1433, Assert.IsType<TcpPortValidation>(db.Vms[0].Validations[0]).Port);
            Assert.Equal("checks/Test-ErpDatabase.ps1", Assert.IsType<ScriptValidation>(db.Vms[0].Validations[1]).Path);

            var app = plan.Groups[1];
            Assert.Equal(new[] { TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1) }, app.Vms.Select(v => v.BootDelay));
            Assert.All(app.Vms, vm => Assert.Equal(VmStartCondition.IpAddress, vm.WaitFor));
            Assert.Equal(TimeSpan.FromMinutes(10), app.Vms[0].StartTimeout);
            Assert.Equal(TimeSpan.FromMinutes(2), Assert.IsType<WaitAction>(app.PostActions.Single()).Duration);
            Assert.Equal(VmValidation.DefaultTimeout, app.Vms[1].Validations.Single().Timeout);

            var web = plan.Groups[2];
            Assert.Equal(new[] { "erp-web" }, web.ProtectionGroups);
            Assert.Equal(TimeSpan.FromSeconds(10), web.Defaults.BootDelay);
            Assert.Equal(TimeSpan.FromMinutes(30), plan.RtoTarget);
            Assert.Equal(TimeSpan.FromMinutes(20), web.RtoTarget);
            Assert.Null(db.RtoTarget);
            var lb = web.Vms.Single();
            Assert.Equal(VmStartCondition.IpAddress, lb.WaitFor);
            Assert.Equal(TimeSpan.FromSeconds(10), lb.BootDelay);
            var health = Assert.IsType<HttpGetValidation>(lb.Validations[0]);
            Assert.Equal((80, "/health", 200), (health.Port!.Value, health.Path, health.ExpectedStatus));
            Assert.Equal(new Uri("https://erp.example.test/login"), Assert.IsType<HttpGetValidation>(lb.Validations[1]).Url);
        }

        [Fact]
        public void Locations_are_one_based_lines_and_columns_of_the_file()
        {
            var plan = RecoveryPlanParser.Parse(Valid, "erp.yaml");

            Assert.Equal(new PlanLocation("erp.yaml", 9, 5), plan.Groups[0].Location);
            Assert.Equal(new PlanLocation("erp.yaml", 11, 9), plan.Groups[0].Vms[0].Location);
            Assert.Equal("erp.yaml:5:5", plan.NetworkMappings[0].Location!.ToString());
        }

        [Theory]
        [InlineData("30s", 0, 0, 30)]
        [InlineData("5m", 0, 5, 0)]
        [InlineData("2h", 2, 0, 0)]
        [InlineData("1h30m", 1, 30, 0)]
        [InlineData("00:05:00", 0, 5, 0)]
        [InlineData("01:00:30", 1, 0, 30)]
        public void Durations_are_TimeSpan_text_or_shorthand(string text, int hours, int minutes, int seconds) =>
            Assert.Equal(new TimeSpan(hours, minutes, seconds), RecoveryPlanParser.ParseDuration(text));

        [Theory]
        [InlineData("soon")]
        [InlineData("30")]
        [InlineData("5 m")]
        [InlineData("-5m")]
        [InlineData("25:00:00")]
        [InlineData("")]
        public void Other_durations_are_refused(string text) => Assert.Null(RecoveryPlanParser.ParseDuration(text));

        [Theory]
        // Each case replaces line 12 ("        bootDelay: 30s") of the valid plan.
        // A bad duration: the value's place, the key, what is expected and what was found.
        [InlineData("        bootDelay: soon\n", 12, 20, "'bootDelay' must be a duration such as 30s or 00:00:30, not 'soon'")]
        [InlineData("        startTimeout: -5m\n", 12, 23, "'startTimeout' must be a duration such as 30s or 00:00:30, not '-5m'")]
        // An unknown key, with the keys that are allowed there.
        [InlineData("        colour: red\n", 12, 9, "unknown key 'colour' in a VM; expected one of: name, bootDelay, startTimeout, waitFor, validations")]
        // A key in the wrong case.
        [InlineData("        BootDelay: 30s\n", 12, 9, "keys are case-sensitive: did you mean 'bootDelay'?")]
        // Wrong types.
        [InlineData("        validations: yes\n", 12, 22, "'validations' must be a list (items starting with '- '), not 'yes'")]
        [InlineData("        waitFor: Ping\n", 12, 18, "'waitFor' must be one of PowerOn, Heartbeat, IpAddress, not 'Ping'")]
        [InlineData("        validations:\n          - tcpPort: http\n", 13, 22, "'tcpPort' must be a port number from 1 to 65535, not 'http'")]
        [InlineData("        validations:\n          - ping: 1\n", 13, 13, "unknown key 'ping' in a validation; expected one of: tcpPort, httpGet, script")]
        [InlineData("        validations:\n          - httpGet: { port: 80, url: 'http://x/' }\n", 13, 22, "'httpGet' needs either 'url'")]
        [InlineData("        validations:\n          - httpGet: { url: 'ftp://x/' }\n", 13, 29, "'url' must be an absolute http or https URL")]
        // A duplicate key points at the second and names the first.
        [InlineData("        bootDelay: 30s\n        bootDelay: 1m\n", 13, 9, "duplicate key 'bootDelay' (first at line 12)")]
        public void A_mistake_names_its_line_column_and_what_was_expected(string vmLines, int line, int column, string expected)
        {
            var yaml = Valid.Replace("        bootDelay: 30s\n", vmLines);

            var error = Assert.Single(Fails(yaml).Errors);

            Assert.Equal(("erp.yaml", line, column), (error.Location.File, error.Location.Line, error.Location.Column));
            Assert.Contains(expected, error.Message);
        }

        [Fact]
        public void The_exception_is_a_typed_invalid_argument_whose_message_starts_with_file_line_column()
        {
            var ex = Fails(Valid.Replace("bootDelay: 30s", "bootDelay: soon"));

            Assert.IsAssignableFrom<DRException>(ex);
            Assert.Equal("RecoveryPlanInvalid", ex.ErrorId);
            Assert.Equal(FailureKind.InvalidArgument, ex.Kind);
            Assert.Equal("erp.yaml:12:20: 'bootDelay' must be a duration such as 30s or 00:00:30, not 'soon'", ex.Message);
        }

        [Fact]
        public void Missing_required_fields_are_reported_at_their_mapping()
        {
            var ex = Fails("name: erp\nrecoverySite: dr\ngroups:\n  - vms: [a]\n  - name: web\n");

            Assert.Equal(new[]
            {
                "erp.yaml:1:1: the plan needs 'protectedSite'",
                "erp.yaml:4:5: a group needs 'name'",
                "erp.yaml:5:5: group 'web' needs 'vms' (VM names) or 'protectionGroups' (whole protection groups), or both",
            }, ex.Errors.Select(e => e.ToString()));
        }

        [Fact]
        public void Duplicate_group_and_VM_names_point_at_the_second_one()
        {
            var ex = Fails("name: erp\nprotectedSite: a\nrecoverySite: b\ngroups:\n  - name: db\n    vms: [db01]\n  - name: DB\n    vms: [app01, DB01]\n");

            Assert.Equal(new[]
            {
                "erp.yaml:7:5: duplicate group name 'DB': another group has it (line 5)",
                "erp.yaml:8:18: VM 'DB01' is already in group 'db' (line 6); a VM belongs to one group",
            }, ex.Errors.Select(e => e.ToString()));
        }

        [Fact]
        public void Every_mistake_is_collected_in_file_order()
        {
            var ex = Fails(Valid.Replace("bootDelay: 30s", "bootDelay: soon\n        startTimeout: later\n        colour: red").Replace("testNetwork: DR Test", "testNetwork: [a]"));

            Assert.Equal(new[] { 7, 12, 13, 14 }, ex.Errors.Select(e => e.Location.Line));
        }

        [Fact]
        public void Actions_take_exactly_one_kind()
        {
            var yaml = Valid + "    preActions:\n      - wait: 1m\n        manual: hi\n      - script: { timeout: 1m }\n      - manual: ''\n";

            Assert.Equal(new[]
            {
                "erp.yaml:14:9: an action has exactly one of: script, manual, wait; found wait, manual",
                "erp.yaml:16:17: a script action needs either 'path' (a .ps1 file, relative to the plan) or 'inline' (the script text), not both",
                "erp.yaml:17:17: 'manual' must be the message to show, such as 'Check the DNS records, then Resume-DRJob', not ''",
            }, Fails(yaml).Errors.Select(e => e.ToString()));
        }

        [Theory]
        [InlineData("name: erp\n  bad indent: [\n", 2, "YAML syntax")]
        [InlineData("", 1, "the plan is empty")]
        [InlineData("- a\n- b\n", 1, "the plan must be a mapping of keys to values, not a list")]
        [InlineData("name: erp\n---\nname: two\n", 2, "one YAML document")]
        public void Text_that_is_not_a_plan_is_reported_with_its_line(string yaml, int line, string expected)
        {
            var error = Fails(yaml).Errors[0];

            Assert.Equal(line, error.Location.Line);
            Assert.Contains(expected, error.Message);
        }

        [Fact]
        public void Anchors_and_aliases_share_settings()
        {
            var plan = RecoveryPlanParser.Parse(Valid + "      - name: erp-db02\n        validations: &checks\n          - tcpPort: 1433\n      - name: erp-db03\n        validations: *checks\n", "erp.yaml");

            Assert.Equal(1433, Assert.IsType<TcpPortValidation>(plan.Groups[0].Vms[2].Validations.Single()).Port);
        }
    }
}
