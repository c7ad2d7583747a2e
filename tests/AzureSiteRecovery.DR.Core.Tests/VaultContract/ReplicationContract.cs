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
    /// <summary>The replication half of the SQLite vault: protected VMs and their disks, recovery points, leases, and the schema 1 → 2 migration.</summary>
    public abstract class ReplicationContract : VaultContractTest, IAsyncLifetime
    {
        protected ReplicationContract(VaultBackend backend) : base(backend)
        {
        }

        protected static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_000);

        public async Task InitializeAsync()
        {
            await vault.AddSiteAsync(Samples.VSphereSite("onprem", SiteRole.Protected), null, none);
            await vault.AddSiteAsync(Samples.VSphereSite("branch", SiteRole.Protected), null, none);
            await vault.AddSiteAsync(Samples.AzureSite("azure-weu", SiteRole.Recovery), null, none);
            await vault.AddPolicyAsync(Samples.Policy("gold") with { RpoThreshold = TimeSpan.FromMinutes(30) }, none);
            await vault.AddGroupAsync(Samples.Group("erp"), none);
            await vault.AddGroupAsync(Samples.Group("web"), none);
            await vault.AddGroupAsync(Samples.Group("branch-apps", "branch"), none);
        }

        public Task DisposeAsync() => Task.CompletedTask;

        [Fact]
        public async Task A_protected_vm_round_trips_with_its_disks_and_the_group_counts_it()
        {
            var added = await vault.AddProtectedVmAsync(Vm("sql01", "vm-42"), none);

            Assert.Equal(ProtectionState.InitialSync, added.State);
            Assert.Equal(TimeSpan.FromMinutes(30), added.RpoThreshold);
            Assert.Equal(ReplicationHealth.Pending, added.Health);
            Assert.Equal(new[] { 2000, 2001 }, added.Disks.Select(d => d.Key));
            Assert.Equal("[LocalDS_0] sql01/disk2.vmdk", added.Disks[1].FileName);
            Assert.Equal(8L << 30, added.Disks[1].CapacityBytes);
            Assert.Null(added.Disks[0].ChangeId);
            Assert.Equal(added, await vault.FindProtectedVmAsync(added.VmId, none), VmComparer);
            using (var other = OpenOther())
            {
                Assert.Equal(added, await other.FindProtectedVmAsync(added.VmId, none), VmComparer);
            }
            Assert.Equal(1, (await vault.FindGroupAsync("erp", none))!.ProtectedVmCount);
            Assert.Null(await vault.FindProtectedVmAsync("no-such-vm", none));
        }

        [Fact]
        public async Task Listing_returns_each_groups_vms_by_name_with_their_own_disks()
        {
            var b = await vault.AddProtectedVmAsync(Vm("b-app", "vm-2"), none);
            var a = await vault.AddProtectedVmAsync(Vm("a-db", "vm-1", disks: 1), none);
            var w = await vault.AddProtectedVmAsync(Vm("web01", "vm-3", group: "web", disks: 3), none);

            var erp = await vault.ListProtectedVmsAsync("erp", none);
            var all = await vault.ListProtectedVmsAsync(null, none);

            Assert.Equal(new[] { "a-db", "b-app" }, erp.Select(v => v.Name));
            Assert.Equal(new[] { 1, 2 }, erp.Select(v => v.Disks.Count));
            Assert.Equal(new[] { "a-db", "b-app", "web01" }, all.Select(v => v.Name));
            Assert.Equal(new[] { 1, 2, 3 }, all.Select(v => v.Disks.Count));
            Assert.All(all, v => Assert.All(v.Disks, d => Assert.Contains(v.Name + "/", d.FileName)));
            Assert.Empty(await vault.ListProtectedVmsAsync("branch-apps", none));
            var counts = (await vault.ListGroupsAsync(none)).ToDictionary(g => g.Name, g => g.ProtectedVmCount);
            Assert.Equal((2, 1, 0), (counts["erp"], counts["web"], counts["branch-apps"]));
            Assert.Equal(new[] { a.VmId, b.VmId, w.VmId }, all.Select(v => v.VmId));
        }

        [Fact]
        public async Task Update_changes_state_and_disks_but_never_the_id_group_or_site()
        {
            var added = await vault.AddProtectedVmAsync(Vm("sql01", "vm-42"), none);

            var updated = await vault.UpdateProtectedVmAsync(added.VmId, v => v with
            {
                State = ProtectionState.Error,
                LastError = "The site 'onprem' is unreachable.",
                BytesSent = 1234,
                Disks = new[] { v.Disks[0] with { ChangeId = "52 aa/7", CapacityBytes = 20L << 30 } },
            }, none);

            Assert.Equal(ProtectionState.Error, updated.State);
            Assert.Equal("The site 'onprem' is unreachable.", updated.LastError);
            Assert.Equal(1234, updated.BytesSent);
            var disk = Assert.Single(updated.Disks);
            Assert.Equal(("52 aa/7", 20L << 30), (disk.ChangeId, disk.CapacityBytes));
            Assert.Equal(updated, await vault.FindProtectedVmAsync(added.VmId, none), VmComparer);

            var move = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.UpdateProtectedVmAsync(added.VmId, v => v with { ProtectionGroup = "web" }, none));
            Assert.Equal("InvalidProtectedVmSetting", move.ErrorId);
            Assert.Contains("disable protection of 'sql01' and enable it again", move.Message);
            Assert.Equal(updated, await vault.FindProtectedVmAsync(added.VmId, none), VmComparer);
            var missing = await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.UpdateProtectedVmAsync("no-such-vm", v => v, none));
            Assert.Equal("ProtectedVmNotFound", missing.ErrorId);
        }

        [Fact]
        public async Task The_same_vm_cannot_be_protected_twice_even_in_another_group()
        {
            await vault.AddProtectedVmAsync(Vm("sql01", "vm-42"), none);

            var again = await Assert.ThrowsAsync<ObjectAlreadyExistsException>(() => vault.AddProtectedVmAsync(Vm("sql01-renamed", "vm-42", group: "web"), none));

            Assert.Equal("VmAlreadyProtected", again.ErrorId);
            Assert.Contains("in group 'erp'", again.Message);
            Assert.Contains("Disable-VmProtection", again.Message);
            Assert.Equal(0, (await vault.FindGroupAsync("web", none))!.ProtectedVmCount);
            // The same moref on another site is another VM.
            await vault.AddProtectedVmAsync(Vm("sql01", "vm-42", group: "branch-apps", site: "branch"), none);
            Assert.Equal(2, (await vault.ListProtectedVmsAsync(null, none)).Count);
        }

        [Fact]
        public async Task A_vm_goes_only_into_an_existing_group_that_protects_its_site()
        {
            var wrongSite = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.AddProtectedVmAsync(Vm("app", "vm-7", site: "branch"), none));
            var noGroup = await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.AddProtectedVmAsync(Vm("app", "vm-7", group: "ghost"), none));

            Assert.Equal(("InvalidProtectedVmSetting", "Site"), (wrongSite.ErrorId, wrongSite.Setting));
            Assert.Contains("protects VMs of site 'onprem'", wrongSite.Message);
            Assert.Equal(("ProtectionGroupNotFound", "ghost"), (noGroup.ErrorId, noGroup.Target));
            Assert.Empty(await vault.ListProtectedVmsAsync(null, none));
            // Group names are case-insensitive; the VM reads back in the group's spelling.
            var added = await vault.AddProtectedVmAsync(Vm("app", "vm-7", group: "ERP"), none);
            Assert.Equal("erp", added.ProtectionGroup);
        }

        [Fact]
        public async Task Committing_a_point_sets_the_last_point_and_change_ids_together()
        {
            var vm = await vault.AddProtectedVmAsync(Vm("sql01", "vm-42"), none);
            var point = Point(vm, "p1", T0);

            var committed = await vault.CommitRecoveryPointAsync(point, v => v with
            {
                State = ProtectionState.Protected,
                LastRecoveryPointId = point.RecoveryPointId,
                LastRecoveryPointTime = point.Time,
                BytesSent = v.BytesSent + point.StoredBytes,
                Disks = v.Disks.Select(d => d with { ChangeId = $"52 {d.Key}/1" }).ToArray(),
            }, none);

            Assert.Equal(("p1", T0, ProtectionState.Protected), (committed.LastRecoveryPointId, committed.LastRecoveryPointTime, committed.State));
            Assert.Equal(new[] { "52 2000/1", "52 2001/1" }, committed.Disks.Select(d => d.ChangeId));
            Assert.Equal(point.StoredBytes, committed.BytesSent);
            var read = await vault.FindRecoveryPointAsync("p1", none);
            Assert.Equal(point with { VmName = "sql01" }, read);
            Assert.Equal(committed, await vault.FindProtectedVmAsync(vm.VmId, none), VmComparer);
        }

        [Fact]
        public async Task A_commit_whose_vm_change_fails_leaves_neither_the_point_nor_the_change()
        {
            var vm = await vault.AddProtectedVmAsync(Vm("sql01", "vm-42"), none);

            await Assert.ThrowsAsync<InvalidOperationException>(() => vault.CommitRecoveryPointAsync(Point(vm, "p1", T0),
                v => throw new InvalidOperationException("the cycle failed while building the change"), none));
            var moved = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.CommitRecoveryPointAsync(Point(vm, "p2", T0),
                v => v with { LastRecoveryPointId = "p2", ProtectionGroup = "web" }, none));

            Assert.Equal("InvalidProtectedVmSetting", moved.ErrorId);
            Assert.Empty(await vault.ListRecoveryPointsAsync(vm.VmId, none));
            Assert.Null(await vault.FindRecoveryPointAsync("p1", none));
            Assert.Equal(0, await CountRowsAsync("recovery_points"));
            var unchanged = (await vault.FindProtectedVmAsync(vm.VmId, none))!;
            Assert.Null(unchanged.LastRecoveryPointId);
            Assert.Equal(ProtectionState.InitialSync, unchanged.State);
        }

        [Fact]
        public async Task Committing_a_point_for_a_vm_whose_protection_was_disabled_meanwhile_says_so()
        {
            // A cycle that was running while Disable-VmProtection removed the VM commits last.
            var vm = await vault.AddProtectedVmAsync(Vm("sql01", "vm-42"), none);
            await vault.RemoveProtectedVmAsync(vm.VmId, none);

            var gone = await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.CommitRecoveryPointAsync(Point(vm, "p1", T0), v => v with { LastRecoveryPointId = "p1" }, none));

            Assert.Equal(("ProtectedVmNotFound", vm.VmId), (gone.ErrorId, gone.Target));
            Assert.Equal(0, await CountRowsAsync("recovery_points"));
        }

        [Fact]
        public async Task Points_list_oldest_first_and_only_the_vms_own()
        {
            var vm = await vault.AddProtectedVmAsync(Vm("sql01", "vm-42"), none);
            var other = await vault.AddProtectedVmAsync(Vm("web01", "vm-43"), none);
            // Committed out of order (a retried cycle): listed by snapshot time, not by insertion.
            foreach (var (id, minutes) in new[] { ("p-mid", 10), ("p-new", 20), ("p-old", 0) })
            {
                await vault.CommitRecoveryPointAsync(Point(vm, id, T0.AddMinutes(minutes)), v => v, none);
            }
            await vault.CommitRecoveryPointAsync(Point(other, "o-1", T0.AddMinutes(5)), v => v, none);

            var points = await vault.ListRecoveryPointsAsync(vm.VmId, none);

            Assert.Equal(new[] { "p-old", "p-mid", "p-new" }, points.Select(p => p.RecoveryPointId));
            Assert.Equal(new[] { T0, T0.AddMinutes(10), T0.AddMinutes(20) }, points.Select(p => p.Time));
            Assert.All(points, p => Assert.Equal("sql01", p.VmName));
            Assert.Equal(new[] { "o-1" }, (await vault.ListRecoveryPointsAsync(other.VmId, none)).Select(p => p.RecoveryPointId));
            Assert.Empty(await vault.ListRecoveryPointsAsync("no-such-vm", none));
        }

        [Fact]
        public async Task Removing_the_newest_point_moves_the_last_point_back_to_the_newest_left()
        {
            var vm = await vault.AddProtectedVmAsync(Vm("sql01", "vm-42"), none);
            for (var i = 0; i < 3; i++)
            {
                var point = Point(vm, "p" + i, T0.AddMinutes(i));
                await vault.CommitRecoveryPointAsync(point, v => v with
                {
                    State = ProtectionState.Protected,
                    LastRecoveryPointId = point.RecoveryPointId,
                    LastRecoveryPointTime = point.Time,
                }, none);
            }

            await vault.RemoveRecoveryPointAsync("p0", none); // retention: an old one, the last point stays
            var afterOld = (await vault.FindProtectedVmAsync(vm.VmId, none))!;
            await vault.RemoveRecoveryPointAsync("p2", none);
            var afterNewest = (await vault.FindProtectedVmAsync(vm.VmId, none))!;
            await vault.RemoveRecoveryPointAsync("p1", none);
            var afterAll = (await vault.FindProtectedVmAsync(vm.VmId, none))!;

            Assert.Equal(("p2", T0.AddMinutes(2)), (afterOld.LastRecoveryPointId, afterOld.LastRecoveryPointTime));
            Assert.Equal(("p1", T0.AddMinutes(1)), (afterNewest.LastRecoveryPointId, afterNewest.LastRecoveryPointTime));
            Assert.Null(afterAll.LastRecoveryPointId);
            Assert.Null(afterAll.LastRecoveryPointTime);
            Assert.Null(await vault.FindRecoveryPointAsync("p2", none));
            Assert.Empty(await vault.ListRecoveryPointsAsync(vm.VmId, none));
        }

        [Fact]
        public async Task Removing_a_protected_vm_returns_its_points_and_takes_its_disks_and_points_along()
        {
            var vm = await vault.AddProtectedVmAsync(Vm("sql01", "vm-42"), none);
            var keep = await vault.AddProtectedVmAsync(Vm("web01", "vm-43"), none);
            await vault.CommitRecoveryPointAsync(Point(vm, "p-new", T0.AddMinutes(1)), v => v with { LastRecoveryPointId = "p-new" }, none);
            await vault.CommitRecoveryPointAsync(Point(vm, "p-old", T0), v => v, none);
            await vault.CommitRecoveryPointAsync(Point(keep, "k-1", T0), v => v with { LastRecoveryPointId = "k-1" }, none);

            var removed = await vault.RemoveProtectedVmAsync(vm.VmId, none);

            Assert.Equal(new[] { "p-old", "p-new" }, removed.Select(p => p.RecoveryPointId));
            Assert.All(removed, p => Assert.Equal(ObjectKeysOf(p), p.ManifestKey));
            Assert.Null(await vault.FindProtectedVmAsync(vm.VmId, none));
            Assert.Null(await vault.FindRecoveryPointAsync("p-new", none));
            Assert.Equal(1, (await vault.FindGroupAsync("erp", none))!.ProtectedVmCount);
            // Only the other VM's rows are left.
            Assert.Equal(2, await CountRowsAsync("protected_disks"));
            Assert.Equal(1, await CountRowsAsync("recovery_points"));
            Assert.Equal("k-1", (await vault.FindProtectedVmAsync(keep.VmId, none))!.LastRecoveryPointId);
            var again = await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.RemoveProtectedVmAsync(vm.VmId, none));
            Assert.Equal("ProtectedVmNotFound", again.ErrorId);
            // Protecting it again starts over.
            var back = await vault.AddProtectedVmAsync(Vm("sql01", "vm-42"), none);
            Assert.Null(back.LastRecoveryPointId);
        }

        [Fact]
        public async Task A_lease_is_refused_to_a_second_owner_until_it_is_released()
        {
            var first = await vault.TryAcquireLeaseAsync("replication/vm1", "host/100/a", TimeSpan.FromMinutes(30), none);
            var second = await vault.TryAcquireLeaseAsync("replication/vm1", "host/200/b", TimeSpan.FromMinutes(30), none);
            var otherResource = await vault.TryAcquireLeaseAsync("replication/vm2", "host/200/b", TimeSpan.FromMinutes(30), none);
            string? holder;
            using (var otherProcess = OpenOther())
            {
                Assert.False(await otherProcess.TryAcquireLeaseAsync("replication/vm1", "host/300/c", TimeSpan.FromMinutes(30), none));
                holder = await otherProcess.FindLeaseHolderAsync("replication/vm1", none);
            }

            Assert.True(first);
            Assert.False(second);
            Assert.True(otherResource);
            Assert.Equal("host/100/a", holder);

            await vault.ReleaseLeaseAsync("replication/vm1", "host/200/b", none); // not the holder: no effect
            Assert.Equal("host/100/a", await vault.FindLeaseHolderAsync("replication/vm1", none));
            await vault.ReleaseLeaseAsync("replication/vm1", "host/100/a", none);
            Assert.Null(await vault.FindLeaseHolderAsync("replication/vm1", none));
            Assert.True(await vault.TryAcquireLeaseAsync("replication/vm1", "host/200/b", TimeSpan.FromMinutes(30), none));
            Assert.Equal("host/200/b", await vault.FindLeaseHolderAsync("replication/vm1", none));
        }

        [Fact]
        public async Task An_expired_lease_goes_to_the_next_owner_and_the_holder_can_renew()
        {
            Assert.True(await vault.TryAcquireLeaseAsync("replication/vm1", "host/100/a", TimeSpan.FromMilliseconds(1), none));
            await Task.Delay(50);

            Assert.Null(await vault.FindLeaseHolderAsync("replication/vm1", none));
            Assert.True(await vault.TryAcquireLeaseAsync("replication/vm1", "host/200/b", TimeSpan.FromMilliseconds(1), none));
            // The same owner renews: for an hour now, so the first owner stays out.
            Assert.True(await vault.TryAcquireLeaseAsync("replication/vm1", "host/200/b", TimeSpan.FromHours(1), none));
            await Task.Delay(50);
            Assert.False(await vault.TryAcquireLeaseAsync("replication/vm1", "host/100/a", TimeSpan.FromMinutes(30), none));
            Assert.Equal("host/200/b", await vault.FindLeaseHolderAsync("replication/vm1", none));

            await vault.BreakLeaseAsync("replication/vm1", "host/100/a", none); // someone else's lease: kept
            Assert.Equal("host/200/b", await vault.FindLeaseHolderAsync("replication/vm1", none));
            await vault.BreakLeaseAsync("replication/vm1", "host/200/b", none);
            Assert.True(await vault.TryAcquireLeaseAsync("replication/vm1", "host/100/a", TimeSpan.FromMinutes(30), none));
        }

        protected static string ObjectKeysOf(RecoveryPoint point) => $"points/{point.VmId}/{point.RecoveryPointId}";

        protected static ProtectedVm Vm(string name, string moRef, string group = "erp", string site = "onprem", int disks = 2) => new ProtectedVm
        {
            VmId = Guid.NewGuid().ToString("N"),
            Name = name,
            ProtectionGroup = group,
            Site = site,
            MoRef = moRef,
            InstanceUuid = Guid.NewGuid().ToString(),
            State = ProtectionState.InitialSync,
            Disks = Enumerable.Range(0, disks).Select(i => new ProtectedDisk
            {
                Key = 2000 + i,
                Label = $"Hard disk {i + 1}",
                FileName = $"[LocalDS_0] {name}/disk{i + 1}.vmdk",
                CapacityBytes = (4L << 30) * (i + 1),
            }).ToArray(),
        };

        protected static RecoveryPoint Point(ProtectedVm vm, string id, DateTimeOffset time) => new RecoveryPoint
        {
            RecoveryPointId = id,
            VmId = vm.VmId,
            VmName = vm.Name,
            Time = time,
            Consistency = PointConsistency.CrashConsistent,
            SizeBytes = vm.Disks.Sum(d => d.CapacityBytes),
            ChangedBytes = 8 << 20,
            StoredBytes = 3 << 20,
            ChunkCount = 2,
            ManifestKey = $"points/{vm.VmId}/{id}",
        };

        /// <summary>Records compare their disk lists by reference; this compares them by value.</summary>
        protected static readonly System.Collections.Generic.IEqualityComparer<ProtectedVm?> VmComparer = new VmEquality();

        private sealed class VmEquality : System.Collections.Generic.IEqualityComparer<ProtectedVm?>
        {
            public bool Equals(ProtectedVm? x, ProtectedVm? y) =>
                x is not null && y is not null && x with { Disks = Array.Empty<ProtectedDisk>() } == y with { Disks = Array.Empty<ProtectedDisk>() } && x.Disks.SequenceEqual(y.Disks);

            public int GetHashCode(ProtectedVm? obj) => obj?.VmId.GetHashCode() ?? 0;
        }
    }
    public sealed class SqliteVaultReplicationTests : ReplicationContract
    {
        public SqliteVaultReplicationTests() : base(VaultBackend.Sqlite)
        {
        }

        // SQLite only: the schema migrations of the vault file.
        [Fact]
        public async Task A_schema_1_vault_opens_at_the_latest_schema_with_its_data_and_its_vms_awaiting_initial_sync()
        {
            using var old = new TemporaryFolder();
            var path = old.VaultPath;
            System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            using (var connection = Samples.OpenFile(path))
            using (var command = connection.CreateCommand())
            {
                // What a module of schema 1 left: only migration 1 applied, with a site, a policy, a group and a protected VM.
                command.CommandText = VaultSchema.Migrations[0] + @"
INSERT INTO sites (name, kind, role, server, user_name, skip_certificate_check, created_unix_ms, modified_unix_ms)
    VALUES ('onprem', 'VSphere', 'Protected', 'https://vc01.example.test/sdk', 'administrator@vsphere.local', 1, 1000, 1000);
INSERT INTO sites (name, kind, role, tenant_id, subscription_id, resource_group, location, authentication, created_unix_ms, modified_unix_ms)
    VALUES ('azure-weu', 'Azure', 'Recovery', '00000000-0000-0000-0000-0000000000aa', '00000000-0000-0000-0000-000000000001', 'rg-dr', 'westeurope', 'ManagedIdentity', 1000, 1000);
INSERT INTO replication_policies (name, description, replication_interval_ticks, rpo_threshold_ticks, recovery_point_retention_ticks, app_consistent_frequency_ticks, created_unix_ms, modified_unix_ms)
    VALUES ('gold', 'from schema 1', 3000000000, 9000000000, 864000000000, 144000000000, 1000, 1000);
INSERT INTO protection_groups (name, description, protected_site, recovery_site, policy, created_unix_ms, modified_unix_ms)
    VALUES ('erp', 'ERP', 'onprem', 'azure-weu', 'gold', 1000, 1000);
INSERT INTO protected_vms (id, name, group_name, site, moref, created_unix_ms, modified_unix_ms)
    VALUES ('vm-id-1', 'sql01', 'erp', 'onprem', 'vm-42', 2000, 3000);
PRAGMA user_version = 1;";
                command.ExecuteNonQuery();
            }

            using (var migrated = SqliteVault.Open(path))
            {
                var vm = await migrated.FindProtectedVmAsync("vm-id-1", none);
                Assert.NotNull(vm);
                Assert.Equal(("sql01", "erp", "onprem", "vm-42"), (vm!.Name, vm.ProtectionGroup, vm.Site, vm.MoRef));
                Assert.Equal(ProtectionState.InitialSync, vm.State);
                Assert.Equal(ReplicationHealth.Pending, vm.Health);
                Assert.Equal((0L, (string?)null, (string?)null), (vm.BytesSent, vm.LastRecoveryPointId, vm.LastError));
                Assert.Empty(vm.Disks);
                Assert.Equal(TimeSpan.FromMinutes(15), vm.RpoThreshold);
                Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(2000), vm.Created);
                Assert.Equal(1, (await migrated.FindGroupAsync("erp", none))!.ProtectedVmCount);
                Assert.Equal("from schema 1", (await migrated.FindPolicyAsync("gold", none))!.Description);
                Assert.Equal(new[] { "azure-weu", "onprem" }, (await migrated.ListSitesAsync(none)).Select(s => s.Name).OrderBy(n => n));
                Assert.Empty(await migrated.ListRecoveryPointsAsync("vm-id-1", none));

                // The new tables work on the migrated file.
                await migrated.UpdateProtectedVmAsync("vm-id-1", v => v with { Disks = new[] { new ProtectedDisk { Key = 2000, Label = "Hard disk 1", FileName = "[ds] sql01/disk1.vmdk", CapacityBytes = 1 << 30 } } }, none);
                var committed = await migrated.CommitRecoveryPointAsync(Point(vm, "p1", T0), v => v with { State = ProtectionState.Protected, LastRecoveryPointId = "p1", LastRecoveryPointTime = T0 }, none);
                Assert.Equal((ProtectionState.Protected, "p1", 1), (committed.State, committed.LastRecoveryPointId, committed.Disks.Count));
                Assert.True(await migrated.TryAcquireLeaseAsync("replication/vm-id-1", "host/1/a", TimeSpan.FromMinutes(1), none));
            }

            using (var connection = Samples.OpenFile(path))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "PRAGMA user_version;";
                Assert.Equal((long)VaultSchema.LatestVersion, Convert.ToInt64(command.ExecuteScalar()));
            }
            using (var reopened = SqliteVault.Open(path))
            {
                Assert.Equal("p1", (await reopened.FindProtectedVmAsync("vm-id-1", none))!.LastRecoveryPointId);
            }
        }
    }

    [Collection(AzuriteTables.Collection)]
    public sealed class TableVaultReplicationTests : ReplicationContract
    {
        public TableVaultReplicationTests(AzuriteTables lab) : base(VaultBackend.Tables(lab))
        {
        }
    }
}
