using System;
using System.Linq;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using AzureSiteRecovery.DR.Core.Vault;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VaultContract
{
    /// <summary>Events (Get-DREvent): recorded once per id whichever process comes first, listed oldest first with filters.</summary>
    public abstract class EventContract : VaultContractTest
    {
        protected static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000);

        protected EventContract(VaultBackend backend) : base(backend)
        {
        }

        protected static DREvent Breach(string vmId, string pointId, DateTimeOffset time) => new DREvent
        {
            EventId = $"RpoBreached:{vmId}:{pointId}", Kind = DREventKind.RpoBreached, Time = time, VmId = vmId, VmName = "name-" + vmId,
            ProtectionGroup = "erp", RecoveryPointId = pointId, RecoveryPointTime = time.AddSeconds(-45), RpoThreshold = TimeSpan.FromSeconds(30),
            Message = $"VM 'name-{vmId}' is over its RPO threshold",
        };

        [Fact]
        public async Task An_event_is_recorded_once_and_read_back_as_it_was()
        {
            var breach = Breach("vm1", "p1", T0);

            Assert.True(await vault.AddEventAsync(breach, none));
            Assert.False(await OpenOther().AddEventAsync(breach with { Time = T0.AddSeconds(1), Message = "seen by another worker" }, none));

            var listed = Assert.Single(await vault.ListEventsAsync(null, null, null, none));
            Assert.Equal(breach, listed);
            Assert.Equal(TimeSpan.FromSeconds(45), listed.Rpo);
        }

        [Fact]
        public async Task Events_are_listed_oldest_first_and_filtered_by_time_vm_and_kind()
        {
            await vault.AddEventAsync(Breach("vm2", "p7", T0.AddMinutes(2)), none);
            await vault.AddEventAsync(Breach("vm1", "p1", T0), none);
            await vault.AddEventAsync(Breach("vm1", "p2", T0.AddMinutes(1)), none);
            await vault.AddEventAsync(Breach("vm1", "p3", T0.AddMinutes(3)) with { RecoveryPointTime = null, RecoveryPointId = null }, none);

            Assert.Equal(new[] { "p1", "p2", "p7", null }, (await vault.ListEventsAsync(null, null, null, none)).Select(e => e.RecoveryPointId));
            Assert.Equal(new[] { "p2", "p7", null }, (await vault.ListEventsAsync(T0.AddMinutes(1), null, null, none)).Select(e => e.RecoveryPointId));
            Assert.Equal(new[] { "p2", null }, (await vault.ListEventsAsync(T0.AddSeconds(1), "vm1", DREventKind.RpoBreached, none)).Select(e => e.RecoveryPointId));
            Assert.Empty(await vault.ListEventsAsync(null, "vm3", null, none));
            Assert.Empty(await vault.ListEventsAsync(T0.AddMinutes(4), null, null, none));
        }
    }

    public sealed class SqliteVaultEventTests : EventContract
    {
        public SqliteVaultEventTests() : base(VaultBackend.Sqlite)
        {
        }

        // SQLite only: a vault of schema 10 (before events) opens at the latest schema with its workers, and records events.
        [Fact]
        public async Task A_schema_10_vault_gets_the_events_table_and_keeps_its_data()
        {
            using var old = new TemporaryFolder();
            var path = old.VaultPath;
            System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            using (var connection = Samples.OpenFile(path))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = string.Join("\n", VaultSchema.Migrations.Take(10)) + @"
INSERT INTO workers (id, machine, process_id, started_unix_ms, heartbeat_unix_ms, lease_ms) VALUES ('host/1/aaaa', 'host', 1, 1000, 2000, 120000);
PRAGMA user_version = 10;";
                command.ExecuteNonQuery();
            }

            using (var migrated = SqliteVault.Open(path))
            {
                Assert.Equal("host/1/aaaa", Assert.Single(await migrated.ListWorkersAsync(none)).WorkerId);
                Assert.Empty(await migrated.ListEventsAsync(null, null, null, none));
                Assert.True(await migrated.AddEventAsync(Breach("vm1", "p1", T0), none));
                Assert.Single(await migrated.ListEventsAsync(null, "vm1", null, none));
            }

            using (var connection = Samples.OpenFile(path))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "PRAGMA user_version;";
                Assert.Equal((long)VaultSchema.LatestVersion, Convert.ToInt64(command.ExecuteScalar()));
            }
        }
    }

    [Collection(AzuriteTables.Collection)]
    public sealed class TableVaultEventTests : EventContract
    {
        public TableVaultEventTests(AzuriteTables lab) : base(VaultBackend.Tables(lab))
        {
        }
    }
}
