using System;
using System.Linq;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Plans;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Plans
{
    public sealed class RecoveryPlanValidatorTests : VaultTest, IAsyncLifetime
    {
        private const string Mappings = @"networkMappings:
  - sourceNetwork: VM Network
    recoveryNetwork: DR Production
    testNetwork: DR Test
";

        public async Task InitializeAsync()
        {
            await vault.AddSiteAsync(Samples.VSphereSite("onprem", SiteRole.Protected), null, none);
            await vault.AddSiteAsync(Samples.VSphereSite("dr", SiteRole.Recovery), null, none);
            await vault.AddPolicyAsync(Samples.Policy("gold"), none);
            await vault.AddGroupAsync(Samples.Group("erp-db", "onprem", "dr"), none);
            await vault.AddGroupAsync(Samples.Group("erp-web", "onprem", "dr"), none);
            await ProtectAsync("erp-db01", "erp-db", withPoint: true);
            await ProtectAsync("erp-db02", "erp-db", withPoint: false);
            await ProtectAsync("erp-web01", "erp-web", withPoint: true);
            await ProtectAsync("erp-web02", "erp-web", withPoint: true);
        }

        public Task DisposeAsync() => Task.CompletedTask;

        private async Task ProtectAsync(string name, string group, bool withPoint)
        {
            var vm = await vault.AddProtectedVmAsync(new ProtectedVm { VmId = Guid.NewGuid().ToString(), Name = name, ProtectionGroup = group, Site = "onprem", MoRef = "vm-" + name }, none);
            if (withPoint)
            {
                var point = new RecoveryPoint { RecoveryPointId = Guid.NewGuid().ToString(), VmId = vm.VmId, Time = DateTimeOffset.UtcNow, ManifestKey = "m/" + name };
                await vault.CommitRecoveryPointAsync(point, v => v with { State = ProtectionState.Protected, LastRecoveryPointId = point.RecoveryPointId, LastRecoveryPointTime = point.Time }, none);
            }
        }

        private Task<RecoveryPlanTestResult> ValidateAsync(string groups, string mappings = Mappings, string sites = "protectedSite: onprem\nrecoverySite: dr\n") =>
            new RecoveryPlanValidator(vault).ValidateAsync(RecoveryPlanParser.Parse("name: erp\n" + sites + mappings + "groups:\n" + groups, "erp"), none);

        [Fact]
        public async Task A_ready_plan_passes_with_only_the_network_warning()
        {
            var result = await ValidateAsync("  - name: db\n    vms: [erp-db01]\n  - name: web\n    protectionGroups: [erp-web]\n");

            Assert.True(result.Passed);
            Assert.Equal(3, result.VmCount);
            var warning = Assert.Single(result.Findings);
            Assert.Equal((FindingSeverity.Warning, "NetworksNotChecked"), (warning.Severity, warning.Check));
            Assert.Contains("erp-db01, erp-web01, erp-web02", warning.Message);
        }

        [Fact]
        public async Task Each_problem_is_a_finding_with_its_place_in_the_plan()
        {
            var result = await ValidateAsync(
                "  - name: db\n    vms: [erp-db01, erp-db02, erp-nope]\n  - name: web\n    protectionGroups: [erp-web, erp-gone]\n    vms: [erp-web01]\n");

            Assert.False(result.Passed);
            var errors = result.Findings.Where(f => f.Severity == FindingSeverity.Error)
                .Select(f => (f.Check, f.Vm, f.Location?.ToString())).ToList();
            Assert.Equal(new (string, string?, string?)[]
            {
                ("NoRecoveryPoint", "erp-db02", "erp:10:21"),
                ("VmNotProtected", "erp-nope", "erp:10:31"),
                ("ProtectionGroupNotFound", null, "erp:11:5"),
            }, errors.OrderBy(e => e.Item3).ThenBy(e => e.Check));
        }

        [Fact]
        public async Task A_vm_named_beside_its_protection_group_adds_its_validations_and_group_validations_apply_to_every_vm()
        {
            var result = await ValidateAsync(@"  - name: web
    protectionGroups: [erp-web]
    startTimeout: 2m
    rtoTarget: 5m
    validations:
      - tcpPort: 443
    vms:
      - name: erp-web01
        validations:
          - tcpPort: 8443
");

            Assert.True(result.Passed, string.Join("; ", result.Findings.Select(f => f.Message)));
            Assert.Equal(new[] { "erp-web01", "erp-web02" }, result.Vms.Select(v => v.Vm.Name).OrderBy(n => n));
            var web01 = result.Vms.Single(v => v.Vm.Name == "erp-web01");
            var web02 = result.Vms.Single(v => v.Vm.Name == "erp-web02");
            Assert.Equal(new[] { "tcp 8443", "tcp 443" }, web01.Settings.Validations.Select(v => v.ToString()));
            Assert.Equal(new[] { "tcp 443" }, web02.Settings.Validations.Select(v => v.ToString()));
            Assert.Equal((TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(2)), (web01.Settings.StartTimeout, web02.Settings.StartTimeout));
            Assert.Equal(TimeSpan.FromMinutes(5), web01.Group.RtoTarget);
        }

        [Fact]
        public async Task A_vm_named_in_one_group_and_brought_by_another_groups_protection_group_is_still_in_two_groups()
        {
            var result = await ValidateAsync("  - name: db\n    vms: [erp-web01]\n  - name: web\n    protectionGroups: [erp-web]\n");

            var finding = Assert.Single(result.Findings, f => f.Severity == FindingSeverity.Error);
            Assert.Equal(("VmInTwoGroups", "erp-web01", "erp:11:5"), (finding.Check, finding.Vm, finding.Location?.ToString()));
        }

        [Fact]
        public async Task A_group_validation_timeout_out_of_bounds_is_an_error()
        {
            var result = await ValidateAsync("  - name: web\n    protectionGroups: [erp-web]\n    validations:\n      - tcpPort: { port: 443, timeout: 2h }\n");

            var finding = Assert.Single(result.Findings, f => f.Severity == FindingSeverity.Error);
            Assert.Equal(("LimitExceeded", "erp:12:9"), (finding.Check, finding.Location?.ToString()));
            Assert.Contains("group 'web' (tcp 443)", finding.Message);
        }

        [Fact]
        public async Task Sites_must_exist_with_the_right_roles()
        {
            var result = await ValidateAsync("  - name: db\n    vms: [erp-db01]\n", sites: "protectedSite: dr\nrecoverySite: nowhere\n");

            Assert.Contains(result.Findings, f => f.Check == "SiteRoleMismatch" && f.Message.Contains("'dr' has the role Recovery"));
            Assert.Contains(result.Findings, f => f.Check == "SiteNotFound" && f.Message.Contains("'nowhere'"));
            Assert.Contains(result.Findings, f => f.Check == "VmNotProtected" && f.Message.Contains("protected from site 'onprem'"));
        }

        [Fact]
        public async Task A_test_network_must_be_isolated_and_mappings_are_needed()
        {
            var shared = await ValidateAsync("  - name: db\n    vms: [erp-db01]\n",
                "networkMappings:\n  - { sourceNetwork: a, recoveryNetwork: prod, testNetwork: test }\n  - { sourceNetwork: b, recoveryNetwork: test, testNetwork: iso }\n");
            var none = await ValidateAsync("  - name: db\n    vms: [erp-db01]\n", mappings: "");

            var finding = Assert.Single(shared.Findings, f => f.Severity == FindingSeverity.Error);
            Assert.Equal(("TestNetworkNotIsolated", 5), (finding.Check, finding.Location!.Line));
            Assert.Equal("NoNetworkMapping", Assert.Single(none.Findings, f => f.Severity == FindingSeverity.Error).Check);
        }

        [Fact]
        public async Task Timeouts_out_of_bounds_are_errors()
        {
            var result = await ValidateAsync(
                "  - name: db\n    vms:\n      - name: erp-db01\n        bootDelay: 2h\n        startTimeout: 1s\n        validations:\n          - tcpPort: { port: 1, timeout: 3h }\n");

            Assert.Equal(new[] { 11, 11, 15 },
                result.Findings.Where(f => f.Check == "LimitExceeded").Select(f => f.Location!.Line).OrderBy(l => l));
        }

        [Fact]
        public async Task More_than_the_group_limit_is_an_error()
        {
            var groups = string.Concat(Enumerable.Range(0, RecoveryPlanValidator.MaxGroups + 1).Select(i => $"  - name: g{i}\n    protectionGroups: [erp-db]\n"));

            var result = await ValidateAsync(groups);

            Assert.Contains(result.Findings, f => f.Check == "LimitExceeded" && f.Message.Contains("101 groups"));
        }
    }
}
