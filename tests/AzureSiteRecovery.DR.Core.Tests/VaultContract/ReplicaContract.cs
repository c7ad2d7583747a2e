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
    /// <summary>Schema 7: a point's replica snapshots are committed, read and deleted with it; a VM's replica state, and its reset by a commit.</summary>
    public abstract class ReplicaContract : VaultContractTest, IAsyncLifetime
    {
        protected ReplicaContract(VaultBackend backend) : base(backend)
        {
        }

        private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_000);
        private ProtectedVm vm = null!;

        public async Task InitializeAsync()
        {
            await vault.AddSiteAsync(Samples.VSphereSite("onprem", SiteRole.Protected), null, none);
            await vault.AddSiteAsync(Samples.AzureSite("azure-weu", SiteRole.Recovery), null, none);
            await vault.AddPolicyAsync(Samples.Policy("gold"), none);
            await vault.AddGroupAsync(Samples.Group("erp"), none);
            vm = await vault.AddProtectedVmAsync(new ProtectedVm { VmId = "vm1", Name = "sql01", ProtectionGroup = "erp", Site = "onprem", MoRef = "vm-1" }, none);
        }

        public Task DisposeAsync() => Task.CompletedTask;

        [Fact]
        public async Task A_points_replica_snapshots_are_committed_with_it_and_deleted_with_it()
        {
            await vault.SaveReplicaStateAsync(new ReplicaState { VmId = "vm1", Container = "acct/azsr-dr-replica", PointIds = new[] { "p0", "p1" } }, none);
            var snapshots = new[]
            {
                new ReplicaSnapshot { DiskKey = "2000", BlobName = "vm1/2000.vhd", Snapshot = "2025-06-15T10:00:00.0000000Z" },
                new ReplicaSnapshot { DiskKey = "2001", BlobName = "vm1/2001.vhd", Snapshot = "2025-06-15T10:00:00.1000000Z" },
            };
            await vault.CommitRecoveryPointAsync(Point("p1", T0) with { ReplicaSnapshots = snapshots }, v => v with { LastRecoveryPointId = "p1" }, none);
            await vault.CommitRecoveryPointAsync(Point("p2", T0.AddMinutes(5)), v => v, none);

            Assert.Equal(snapshots, (await vault.FindRecoveryPointAsync("p1", none))!.ReplicaSnapshots);
            var listed = await vault.ListRecoveryPointsAsync("vm1", none);
            Assert.Equal(snapshots, listed[0].ReplicaSnapshots);
            Assert.Empty(listed[1].ReplicaSnapshots);
            // The commit of a point with snapshots says the blobs now hold exactly it; one without leaves the state alone.
            var state = (await vault.FindReplicaStateAsync("vm1", none))!;
            Assert.Equal("acct/azsr-dr-replica", state.Container);
            Assert.Equal(new[] { "p1" }, state.PointIds);

            await vault.RemoveRecoveryPointAsync("p1", none);
            await vault.CommitRecoveryPointAsync(Point("p3", T0.AddMinutes(10)) with { ReplicaSnapshots = new[] { snapshots[0] with { Snapshot = "x" } } }, v => v, none);
            Assert.Equal(new[] { "p2", "p3" }, (await vault.ListRecoveryPointsAsync("vm1", none)).Select(p => p.RecoveryPointId));

            var removed = await vault.RemoveProtectedVmAsync("vm1", none);
            Assert.Equal("x", Assert.Single(removed[1].ReplicaSnapshots).Snapshot);
            Assert.Null(await vault.FindReplicaStateAsync("vm1", none));
        }

        [Fact]
        public async Task The_replica_state_of_an_unknown_vm_is_refused()
        {
            Assert.Null(await vault.FindReplicaStateAsync("vm1", none));
            await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.SaveReplicaStateAsync(new ReplicaState { VmId = "nope", Container = "a/b" }, none));
        }

        private static RecoveryPoint Point(string id, DateTimeOffset time) => new RecoveryPoint
        {
            RecoveryPointId = id,
            VmId = "vm1",
            Time = time,
            SizeBytes = 1,
            ManifestKey = "points/vm1/" + id,
        };
    }
    public sealed class SqliteVaultReplicaTests : ReplicaContract
    {
        public SqliteVaultReplicaTests() : base(VaultBackend.Sqlite)
        {
        }
    }

    [Collection(AzuriteTables.Collection)]
    public sealed class TableVaultReplicaTests : ReplicaContract
    {
        public TableVaultReplicaTests(AzuriteTables lab) : base(VaultBackend.Tables(lab))
        {
        }
    }
}
