using System;
using System.Linq;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Plans;
using AzureSiteRecovery.DR.Core.Sites.Azure;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Plans
{
    /// <summary>Plans that recover into Azure: the 'azure:' block, subnets as network mappings, and the vault-only Azure checks.</summary>
    public sealed class AzurePlanTests : VaultTest, IAsyncLifetime
    {
        private const string Subscription = "00000000-0000-0000-0000-000000000001";

        private const string AzureMappings = @"networkMappings:
  - sourceNetwork: VM Network
    recoveryNetwork: vnet-dr/snet-app
    testNetwork: vnet-test/snet-app
";

        public async Task InitializeAsync()
        {
            await vault.AddSiteAsync(Samples.VSphereSite("onprem", SiteRole.Protected), null, none);
            await vault.AddSiteAsync(Samples.VSphereSite("dr", SiteRole.Recovery), null, none);
            await vault.AddSiteAsync(Samples.AzureSite("azure"), null, none);
            await vault.AddPolicyAsync(Samples.Policy("gold"), none);
            await vault.AddGroupAsync(Samples.Group("erp-db", "onprem", "azure"), none);
            await vault.AddGroupAsync(Samples.Group("erp-web", "onprem", "azure"), none);
            await vault.AddGroupAsync(Samples.Group("local", "onprem", "dr"), none);
            await ProtectAsync("erp-db01", "erp-db", "bios", 40L << 30);
            await ProtectAsync("erp-big", "erp-db", "efi", (32L << 40) + (1L << 20));
            await ProtectAsync("erp-old", "erp-db", null, 1L << 30);
            await ProtectAsync("erp-web01", "erp-web", "efi", 1L << 30);
            await ProtectAsync("local01", "local", "bios", 1L << 30);
        }

        public Task DisposeAsync() => Task.CompletedTask;

        private async Task ProtectAsync(string name, string group, string? firmware, long diskBytes)
        {
            var vm = await vault.AddProtectedVmAsync(new ProtectedVm
            {
                VmId = Guid.NewGuid().ToString(), Name = name, ProtectionGroup = group, Site = "onprem", MoRef = "vm-" + name, Firmware = firmware,
                Networks = new[] { "VM Network" },
                Disks = new[] { new ProtectedDisk { Key = 2000, Label = "Hard disk 1", FileName = $"[ds] {name}/{name}.vmdk", CapacityBytes = diskBytes } },
            }, none);
            var point = new RecoveryPoint { RecoveryPointId = Guid.NewGuid().ToString(), VmId = vm.VmId, Time = DateTimeOffset.UtcNow, ManifestKey = "m/" + name };
            await vault.CommitRecoveryPointAsync(point, v => v with { State = ProtectionState.Protected, LastRecoveryPointId = point.RecoveryPointId, LastRecoveryPointTime = point.Time }, none);
        }

        private Task<RecoveryPlanTestResult> ValidateAsync(string groups, string mappings = AzureMappings, string recoverySite = "azure") =>
            new RecoveryPlanValidator(vault).ValidateAsync(
                RecoveryPlanParser.Parse($"name: erp\nprotectedSite: onprem\nrecoverySite: {recoverySite}\n" + mappings + "groups:\n" + groups, "erp"), none);

        private static RecoveryPlan Parse(string groups) =>
            RecoveryPlanParser.Parse("name: erp\nprotectedSite: onprem\nrecoverySite: azure\ngroups:\n" + groups, "erp.yaml");

        // ---- The parser ----

        [Fact]
        public void A_vms_azure_keys_win_over_its_groups_and_a_vm_without_a_block_takes_the_groups()
        {
            var plan = Parse(@"  - name: db
    azure:
      vmSize: Standard_E4s_v5
    vms:
      - name: erp-db01
        azure:
          vmSize: Standard_E8s_v5
      - erp-db02
      - name: erp-db03
        azure: {}
  - name: web
    vms: [erp-web01]
");
            var db = plan.Groups[0];
            Assert.Equal("Standard_E4s_v5", db.Defaults.Azure!.VmSize);
            Assert.Equal(new PlanLocation("erp.yaml", 6, 5), db.Defaults.Azure.Location);
            Assert.Equal(("Standard_E8s_v5", 10), (db.Vms[0].Azure!.VmSize, db.Vms[0].Azure!.Location!.Line));
            Assert.Same(db.Defaults.Azure, db.Vms[1].Azure);
            Assert.Equal(("Standard_E4s_v5", 14), (db.Vms[2].Azure!.VmSize, db.Vms[2].Azure!.Location!.Line));
            Assert.Null(plan.Groups[1].Defaults.Azure);
            Assert.Null(plan.Groups[1].Vms[0].Azure);
        }

        [Theory]
        [InlineData("    azure:\n      vmSise: Standard_D2s_v3\n", 7, 7, "unknown key 'vmSise' in 'azure'; expected one of: vmSize")]
        [InlineData("    azure:\n      VmSize: Standard_D2s_v3\n", 7, 7, "keys are case-sensitive: did you mean 'vmSize'?")]
        [InlineData("    azure: Standard_D2s_v3\n", 6, 12, "'azure' (a mapping of Azure settings, such as vmSize: Standard_D2s_v3) must be a mapping")]
        [InlineData("    azure:\n      vmSize: [a, b]\n", 7, 15, "'vmSize' must be an Azure VM size such as Standard_D2s_v3")]
        [InlineData("    azure:\n      vmSize: Standard D2s\n", 7, 15, "'vmSize' must be an Azure VM size name")]
        [InlineData("    vms:\n      - name: erp-db01\n        azure:\n          size: big\n", 9, 11, "unknown key 'size' in 'azure'")]
        public void Azure_block_mistakes_name_their_line_and_column(string block, int line, int column, string expected)
        {
            var groups = "  - name: db\n" + block + (block.Contains("vms:") ? "" : "    vms: [erp-db01]\n");
            var error = Assert.Throws<RecoveryPlanException>(() => Parse(groups)).Errors.First();
            Assert.Equal(("erp.yaml", line, column), (error.Location.File, error.Location.Line, error.Location.Column));
            Assert.Contains(expected, error.Message);
        }

        [Fact]
        public void The_shipped_azure_example_parses_with_its_sizes_and_subnets()
        {
            var yaml = RecoveryPlanParserTests.ExamplePlan("erp-azure.plan.yaml");

            var plan = RecoveryPlanParser.Parse(yaml, "erp-azure.plan.yaml");

            Assert.Equal(("erp-azure", "azure"), (plan.Name, plan.RecoverySite));
            Assert.Equal("Standard_E8s_v5", plan.Groups[0].Vms[0].Azure!.VmSize);
            Assert.Equal("Standard_D2s_v3", plan.Groups[1].Vms[1].Azure!.VmSize);
            Assert.Null(plan.Groups[2].Vms[0].Azure);
            Assert.All(plan.NetworkMappings.SelectMany(m => new[] { m.RecoveryNetwork, m.TestNetwork }),
                network => Assert.NotNull(AzureSubnetReference.Parse(network, out _)));
        }

        // ---- Subnet references ----

        [Theory]
        [InlineData("vnet-dr/snet-app", null, null, "vnet-dr", "snet-app")]
        [InlineData("/subscriptions/" + Subscription + "/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet_b.1",
            Subscription, "rg-net", "vnet-hub", "snet_b.1")]
        [InlineData("/SUBSCRIPTIONS/" + Subscription + "/resourcegroups/rg-net/providers/microsoft.network/virtualnetworks/vnet-hub/subnets/s/",
            Subscription, "rg-net", "vnet-hub", "s")]
        public void A_subnet_is_read_in_either_form(string text, string? subscription, string? group, string vnet, string subnet)
        {
            var reference = AzureSubnetReference.Parse(text, out var problem);
            Assert.Null(problem);
            Assert.Equal(new AzureSubnetReference { SubscriptionId = subscription, ResourceGroup = group, VirtualNetwork = vnet, Subnet = subnet }, reference);
            Assert.Equal($"/subscriptions/{subscription ?? "s1"}/resourceGroups/{group ?? "rg1"}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}",
                reference!.ResourceIdIn("s1", "rg1"));
        }

        [Theory]
        [InlineData("DR Production", "names no subnet")]
        [InlineData("vnet/a/b", "more than one '/'")]
        [InlineData("v/snet", "'v' is not a virtual network name")]
        [InlineData("vnet-dr/", "'' is not a subnet name")]
        [InlineData("vnet dr/snet", "'vnet dr' is not a virtual network name")]
        [InlineData("/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v1/subnets/s", "'x' is not a subscription id")]
        [InlineData("/subscriptions/" + Subscription + "/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg", "not a subnet's resource id")]
        public void Anything_else_is_refused_with_the_reason(string text, string reason)
        {
            Assert.Null(AzureSubnetReference.Parse(text, out var problem));
            Assert.Contains(reason, problem);
        }

        // ---- The validator ----

        [Fact]
        public async Task An_azure_plan_with_subnets_known_firmware_and_small_disks_passes()
        {
            var result = await ValidateAsync("  - name: db\n    azure: { vmSize: Standard_D2s_v3 }\n    vms: [erp-db01]\n  - name: web\n    protectionGroups: [erp-web]\n");

            Assert.True(result.Passed, string.Join("\n", result.Findings));
            Assert.Empty(result.Findings);
            Assert.Equal("Standard_D2s_v3", result.Vms.Single(v => v.Vm.Name == "erp-db01").Settings.Azure!.VmSize);
            Assert.Null(result.Vms.Single(v => v.Vm.Name == "erp-web01").Settings.Azure);
        }

        [Fact]
        public async Task A_protection_groups_vms_get_their_plan_groups_azure_settings()
        {
            var result = await ValidateAsync("  - name: web\n    azure:\n      vmSize: Standard_B2s\n    protectionGroups: [erp-web]\n");

            Assert.Equal("Standard_B2s", result.Vms.Single().Settings.Azure!.VmSize);
        }

        [Fact]
        public async Task A_mapping_that_names_no_subnet_is_an_error_at_its_value()
        {
            var result = await ValidateAsync("  - name: db\n    vms: [erp-db01]\n", @"networkMappings:
  - sourceNetwork: VM Network
    recoveryNetwork: DR Production
    testNetwork: vnet-test/a/b
");
            var errors = result.Findings.Where(f => f.Check == "AzureNetworkMappingInvalid").ToList();
            Assert.Equal(new[] { "erp:6:22", "erp:7:18" }, errors.Select(e => e.Location!.ToString()));
            Assert.Contains("recoveryNetwork 'DR Production' of source network 'VM Network' does not name an Azure subnet (it names no subnet)", errors[0].Message);
            Assert.Contains("'<vnet>/<subnet>'", errors[0].Message);
            Assert.All(errors, e => Assert.Equal(FindingSeverity.Error, e.Severity));
        }

        [Fact]
        public async Task A_test_subnet_that_is_a_recovery_subnet_in_the_other_form_or_shares_its_vnet_is_reported()
        {
            var result = await ValidateAsync("  - name: db\n    vms: [erp-db01]\n", $@"networkMappings:
  - sourceNetwork: VM Network
    recoveryNetwork: vnet-dr/snet-app
    testNetwork: vnet-test/snet-app
  - sourceNetwork: Backend
    recoveryNetwork: vnet-dr/snet-db
    testNetwork: /subscriptions/{Subscription}/resourceGroups/rg-dr/providers/Microsoft.Network/virtualNetworks/vnet-dr/subnets/snet-app
  - sourceNetwork: Mgmt
    recoveryNetwork: vnet-test/snet-mgmt
    testNetwork: vnet-dr/snet-test
");
            var isolation = result.Findings.Where(f => f.Check == "TestNetworkNotIsolated").OrderBy(f => f.Location!.Line).ToList();
            Assert.Equal(3, isolation.Count);
            Assert.Equal((FindingSeverity.Warning, 7), (isolation[0].Severity, isolation[0].Location!.Line)); // vnet-test also holds Mgmt's recovery subnet
            Assert.Equal((FindingSeverity.Error, 10), (isolation[1].Severity, isolation[1].Location!.Line));
            Assert.Contains("is the subnet that source network 'VM Network' recovers to", isolation[1].Message);
            Assert.Equal((FindingSeverity.Warning, 13), (isolation[2].Severity, isolation[2].Location!.Line));
            Assert.Contains("in virtual network 'vnet-dr'", isolation[2].Message);
        }

        [Fact]
        public async Task Disks_over_32_TiB_and_unknown_firmware_are_errors_naming_the_vm()
        {
            var result = await ValidateAsync("  - name: db\n    vms: [erp-db01, erp-big, erp-old]\n");

            var errors = result.Findings.Where(f => f.Severity == FindingSeverity.Error).Select(f => (f.Check, f.Vm)).OrderBy(e => e.Vm).ToList();
            Assert.Equal(new (string, string?)[] { ("DiskTooLargeForAzure", "erp-big"), ("FirmwareUnknown", "erp-old") }, errors);
            Assert.Contains("32 TiB", result.Findings.Single(f => f.Check == "DiskTooLargeForAzure").Message);
            Assert.Contains("Sync-VmReplication", result.Findings.Single(f => f.Check == "FirmwareUnknown").Message);
        }

        [Fact]
        public async Task A_firmware_azure_cannot_boot_is_an_error()
        {
            await vault.UpdateProtectedVmAsync((await vault.ListProtectedVmsAsync(null, none)).Single(v => v.Name == "erp-old").VmId, v => v with { Firmware = "uefi-custom" }, none);

            var result = await ValidateAsync("  - name: db\n    vms: [erp-old]\n");

            Assert.Equal("FirmwareNotSupported", Assert.Single(result.Findings, f => f.Severity == FindingSeverity.Error).Check);
        }

        [Fact]
        public async Task An_azure_block_in_a_plan_to_vsphere_is_an_error_at_the_block()
        {
            var result = await ValidateAsync(@"  - name: db
    azure:
      vmSize: Standard_D2s_v3
    vms:
      - local01
      - name: local02
        azure: { vmSize: Standard_B2s }
", "networkMappings:\n  - sourceNetwork: VM Network\n    recoveryNetwork: DR Production\n    testNetwork: DR Test\n", recoverySite: "dr");

            var errors = result.Findings.Where(f => f.Check == "AzureSettingsOnVSphere").ToList();
            Assert.Equal(new[] { "erp:10:5", "erp:15:9" }, errors.Select(e => e.Location!.ToString()));
            Assert.Contains("Group 'db' has an 'azure:' block, but the plan's recovery site 'dr' is a VSphere site", errors[0].Message);
            Assert.Equal("local02", errors[1].Vm);
            Assert.DoesNotContain(result.Findings, f => f.Check == "FirmwareUnknown" || f.Check == "AzureNetworkMappingInvalid");
        }
    }
}
