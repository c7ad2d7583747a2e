using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Azure.Data.Tables;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using AzureSiteRecovery.DR.Core.Vault;
using AzureSiteRecovery.DR.Core.Vault.Tables;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VaultContract
{
    /// <summary>
    /// Schema 12 (issue 14): a site's bandwidth cap, a policy's transfer stall timeout and a VM's last transfer rate, kept exactly by
    /// both vaults; what was stored before them reads as no cap, 60 s and no rate.
    /// </summary>
    public abstract class TransferSettingsContract : VaultContractTest
    {
        protected TransferSettingsContract(VaultBackend backend) : base(backend)
        {
        }

        protected static readonly BandwidthLimit Capped = BandwidthLimit.From(20, "22:00-06:00=0, 08:00-18:00=5.5")!;

        [Fact]
        public async Task A_site_keeps_its_bandwidth_limit_and_loses_it_when_removed()
        {
            Assert.Equal("08:00-18:00=5.5,22:00-06:00=0", Capped.Schedule);
            var added = await vault.AddSiteAsync(Samples.VSphereSite() with { BandwidthLimit = Capped }, "pw", none);

            var read = await OpenOther().FindSiteAsync("onprem", none);
            Assert.Equal(Capped, read!.BandwidthLimit);
            Assert.Equal(added, read);

            await vault.UpdateSiteAsync("onprem", s => s with { BandwidthLimit = null }, null, none);
            Assert.Null((await OpenOther().FindSiteAsync("onprem", none))!.BandwidthLimit);
        }

        [Fact]
        public async Task A_bad_bandwidth_window_is_refused_naming_it_and_nothing_is_stored()
        {
            var site = Samples.AzureSite() with { BandwidthLimit = new BandwidthLimit { MiBps = 20, Schedule = "08:00-18:00=5,8-9=3" } };

            var error = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.AddSiteAsync(site, null, none));

            Assert.Equal("InvalidSiteSetting", error.ErrorId);
            Assert.Equal("BandwidthSchedule", error.Setting);
            Assert.Contains("'8-9=3'", error.Message);
            Assert.Contains("HH:mm", error.Message);
            Assert.Empty(await vault.ListSitesAsync(none));
        }

        [Fact]
        public async Task A_negative_bandwidth_limit_is_refused()
        {
            var error = await Assert.ThrowsAsync<InvalidSettingException>(() =>
                vault.AddSiteAsync(Samples.AzureSite() with { BandwidthLimit = new BandwidthLimit { MiBps = -1 } }, null, none));

            Assert.Equal("BandwidthLimitMiBps", error.Setting);
        }

        [Fact]
        public async Task A_policy_keeps_its_transfer_stall_timeout_which_defaults_to_60_seconds()
        {
            var gold = await vault.AddPolicyAsync(Samples.Policy("gold"), none);
            var silver = await vault.AddPolicyAsync(Samples.Policy("silver") with { TransferStallTimeout = TimeSpan.FromSeconds(12.5) }, none);

            Assert.Equal(TimeSpan.FromSeconds(60), gold.TransferStallTimeout);
            Assert.Equal(TimeSpan.FromSeconds(12.5), (await OpenOther().FindPolicyAsync("silver", none))!.TransferStallTimeout);
            await vault.UpdatePolicyAsync("gold", p => p with { TransferStallTimeout = TimeSpan.FromMinutes(5) }, none);
            Assert.Equal(TimeSpan.FromMinutes(5), (await OpenOther().FindPolicyAsync("gold", none))!.TransferStallTimeout);
        }

        [Theory]
        [InlineData(0.5)]
        [InlineData(3601)]
        public async Task A_transfer_stall_timeout_out_of_bounds_is_refused_with_the_bounds(double seconds)
        {
            var error = await Assert.ThrowsAsync<InvalidSettingException>(() =>
                vault.AddPolicyAsync(Samples.Policy() with { TransferStallTimeout = TimeSpan.FromSeconds(seconds) }, none));

            Assert.Equal("TransferStallTimeout", error.Setting);
            Assert.Contains("between 00:00:01 and 01:00:00", error.Message);
            Assert.Empty(await vault.ListPoliciesAsync(none));
        }

        [Fact]
        public async Task A_VM_keeps_its_last_transfer_rate()
        {
            await vault.AddSiteAsync(Samples.VSphereSite(), null, none);
            await vault.AddSiteAsync(Samples.AzureSite(), null, none);
            await vault.AddPolicyAsync(Samples.Policy(), none);
            await vault.AddGroupAsync(Samples.Group(), none);
            await AddProtectedVmsAsync("erp", "onprem", 1);
            var vm = Assert.Single(await vault.ListProtectedVmsAsync(null, none));
            Assert.Null(vm.LastTransferMiBps);

            await vault.UpdateProtectedVmAsync(vm.VmId, v => v with { LastTransferMiBps = 19.87 }, none);

            Assert.Equal(19.87, (await OpenOther().FindProtectedVmAsync(vm.VmId, none))!.LastTransferMiBps);
        }
    }

    public sealed class SqliteVaultTransferSettingsTests : TransferSettingsContract
    {
        public SqliteVaultTransferSettingsTests() : base(VaultBackend.Sqlite)
        {
        }

        // SQLite only: a vault of schema 11 (before issue 14) opens at schema 12, its rows reading as no cap, 60 s and no rate.
        [Fact]
        public async Task A_schema_11_vault_is_migrated_to_12_and_keeps_its_data()
        {
            using var old = new TemporaryFolder();
            var path = old.VaultPath;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using (var connection = Samples.OpenFile(path))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = string.Join("\n", VaultSchema.Migrations.Take(11)) + @"
INSERT INTO sites (name, kind, role, server, user_name, created_unix_ms, modified_unix_ms) VALUES ('onprem', 'VSphere', 'Protected', 'https://vc/sdk', 'u', 1, 1);
INSERT INTO sites (name, kind, role, subscription_id, resource_group, location, authentication, created_unix_ms, modified_unix_ms)
    VALUES ('azure-weu', 'Azure', 'Recovery', 's', 'rg', 'westeurope', 'ManagedIdentity', 1, 1);
INSERT INTO replication_policies (name, replication_interval_ticks, rpo_threshold_ticks, recovery_point_retention_ticks, app_consistent_frequency_ticks, created_unix_ms, modified_unix_ms)
    VALUES ('gold', 3000000000, 9000000000, 864000000000, 0, 1, 1);
INSERT INTO protection_groups (name, protected_site, recovery_site, policy, created_unix_ms, modified_unix_ms) VALUES ('erp', 'onprem', 'azure-weu', 'gold', 1, 1);
INSERT INTO protected_vms (id, name, group_name, site, moref, bytes_sent, created_unix_ms, modified_unix_ms) VALUES ('vm1', 'app01', 'erp', 'onprem', 'vm-1', 4096, 1, 1);
PRAGMA user_version = 11;";
                command.ExecuteNonQuery();
            }

            using (var migrated = SqliteVault.Open(path))
            {
                Assert.Null((await migrated.FindSiteAsync("onprem", none))!.BandwidthLimit);
                var policy = (await migrated.FindPolicyAsync("gold", none))!;
                Assert.Equal(ReplicationPolicy.DefaultTransferStallTimeout, policy.TransferStallTimeout);
                Assert.Equal(TimeSpan.FromMinutes(5), policy.ReplicationInterval);
                var vm = (await migrated.FindProtectedVmAsync("vm1", none))!;
                Assert.Null(vm.LastTransferMiBps);
                Assert.Equal(4096, vm.BytesSent);

                await migrated.UpdateSiteAsync("onprem", s => s with { BandwidthLimit = Capped }, null, none);
                await migrated.UpdatePolicyAsync("gold", p => p with { TransferStallTimeout = TimeSpan.FromSeconds(5) }, none);
                await migrated.UpdateProtectedVmAsync("vm1", v => v with { LastTransferMiBps = 7.25 }, none);
            }

            using (var reopened = SqliteVault.Open(path))
            {
                Assert.Equal(Capped, (await reopened.FindSiteAsync("onprem", none))!.BandwidthLimit);
                Assert.Equal(TimeSpan.FromSeconds(5), (await reopened.FindPolicyAsync("gold", none))!.TransferStallTimeout);
                Assert.Equal(7.25, (await reopened.FindProtectedVmAsync("vm1", none))!.LastTransferMiBps);
            }
            using (var connection = Samples.OpenFile(path))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "PRAGMA user_version;";
                Assert.Equal(12L, Convert.ToInt64(command.ExecuteScalar()));
            }
        }
    }

    [Collection(AzuriteTables.Collection)]
    public sealed class TableVaultTransferSettingsTests : TransferSettingsContract
    {
        private readonly AzuriteTables lab;

        public TableVaultTransferSettingsTests(AzuriteTables lab) : base(VaultBackend.Tables(lab))
        {
            this.lab = lab;
        }

        // Tables only: rows written before schema 12 (JSON without the new properties) read as no cap, 60 s and no rate.
        [Fact]
        public async Task Rows_written_before_schema_12_read_with_the_defaults()
        {
            var prefix = "t" + Guid.NewGuid().ToString("N").Substring(0, 16);
            var key = VaultKey.OpenOrCreate(Path.Combine(folder.FolderPath, "old.key"), () => false);
            using (var tables = await TableVault.OpenAsync(lab.Service, prefix, key, lab.Url.AbsoluteUri, CancellationToken.None))
            {
                await tables.AddSiteAsync(Samples.VSphereSite() with { BandwidthLimit = Capped }, null, none);
                await tables.AddSiteAsync(Samples.AzureSite(), null, none);
                await tables.AddPolicyAsync(Samples.Policy() with { TransferStallTimeout = TimeSpan.FromSeconds(9) }, none);
                await tables.AddGroupAsync(Samples.Group(), none);
                var vm = await tables.AddProtectedVmAsync(new ProtectedVm { VmId = "vm1", Name = "app01", ProtectionGroup = "erp", Site = "onprem", MoRef = "vm-1" }, none);
                await tables.UpdateProtectedVmAsync(vm.VmId, v => v with { LastTransferMiBps = 3.5 }, none);
            }

            // As a module before issue 14 wrote them: the same JSON without the properties schema 12 added.
            await StripAsync(prefix + "config", "config", "site|onprem", "BandwidthLimit");
            await StripAsync(prefix + "config", "config", "policy|gold", "TransferStallTimeout");
            await StripAsync(prefix + "vms", "vm1", "vm", "LastTransferMiBps");

            using (var tables = await TableVault.OpenAsync(lab.Service, prefix, key, lab.Url.AbsoluteUri, CancellationToken.None))
            {
                Assert.Null((await tables.FindSiteAsync("onprem", none))!.BandwidthLimit);
                Assert.Equal(ReplicationPolicy.DefaultTransferStallTimeout, (await tables.FindPolicyAsync("gold", none))!.TransferStallTimeout);
                var vm = (await tables.FindProtectedVmAsync("vm1", none))!;
                Assert.Null(vm.LastTransferMiBps);
                Assert.Equal("app01", vm.Name);
            }
        }

        private async Task StripAsync(string table, string partition, string row, string property)
        {
            var client = lab.Service.GetTableClient(table);
            var entity = (await client.GetEntityAsync<TableEntity>(partition, row)).Value;
            Assert.Equal(1, entity.GetInt32("Parts"));
            var json = JsonNode.Parse(entity.GetString("D0"))!.AsObject();
            Assert.True(json.Remove(property), $"{row} has no {property}");
            entity["D0"] = json.ToJsonString();
            await client.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace);
        }
    }
}
