using System;
using System.Linq;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VaultContract
{
    /// <summary>Leases (take, renew, break, lost on commit) and the workers that hold them.</summary>
    public abstract class LeaseContract : VaultContractTest, IAsyncLifetime
    {
        private ProtectedVm vm = null!;

        protected LeaseContract(VaultBackend backend) : base(backend)
        {
        }

        public async Task InitializeAsync()
        {
            await vault.AddSiteAsync(Samples.VSphereSite(), null, none);
            await vault.AddSiteAsync(Samples.AzureSite(), null, none);
            await vault.AddPolicyAsync(Samples.Policy(), none);
            await vault.AddGroupAsync(Samples.Group(), none);
            vm = await vault.AddProtectedVmAsync(new ProtectedVm { VmId = "vm1", Name = "sql01", ProtectionGroup = "erp", Site = "onprem", MoRef = "vm-1" }, none);
        }

        public Task DisposeAsync() => Task.CompletedTask;

        private RecoveryPoint Point(string id) => new RecoveryPoint { RecoveryPointId = id, VmId = vm.VmId, VmName = vm.Name, Time = DateTimeOffset.UtcNow, ManifestKey = "points/" + id };

        [Fact]
        public async Task A_commit_under_a_lease_taken_over_meanwhile_fails_with_VmReplicationLeaseLost_and_writes_nothing()
        {
            Assert.True(await vault.TryAcquireLeaseAsync("replication/vm1", "worker-a", TimeSpan.FromMilliseconds(50), none));
            await vault.CommitRecoveryPointAsync(Point("p1"), v => v with { LastRecoveryPointId = "p1" }, new LeaseClaim("replication/vm1", "worker-a"), none);
            await Task.Delay(100);
            var other = OpenOther();
            Assert.True(await other.TryAcquireLeaseAsync("replication/vm1", "worker-b", TimeSpan.FromMinutes(5), none));

            var lost = await Assert.ThrowsAsync<ObjectInUseException>(() =>
                vault.CommitRecoveryPointAsync(Point("p2"), v => v with { LastRecoveryPointId = "p2" }, new LeaseClaim("replication/vm1", "worker-a"), none));

            Assert.Equal(("VmReplicationLeaseLost", "sql01"), (lost.ErrorId, lost.Target));
            Assert.Equal(new[] { "p1" }, (await vault.ListRecoveryPointsAsync(vm.VmId, none)).Select(p => p.RecoveryPointId));
            Assert.Equal("p1", (await vault.FindProtectedVmAsync(vm.VmId, none))!.LastRecoveryPointId);
            Assert.False(await vault.RenewLeaseAsync("replication/vm1", "worker-a", TimeSpan.FromMinutes(5), none));
            Assert.True(await other.RenewLeaseAsync("replication/vm1", "worker-b", TimeSpan.FromMinutes(5), none));
        }

        [Fact]
        public async Task A_released_lease_is_free_and_a_broken_one_goes_only_when_its_owner_still_holds_it()
        {
            Assert.True(await vault.TryAcquireLeaseAsync("store/garbage-collection", "a", TimeSpan.FromMinutes(5), none));
            Assert.True(await vault.TryAcquireLeaseAsync("store/garbage-collection", "a", TimeSpan.FromMinutes(5), none)); // renewal by taking again
            Assert.False(await vault.TryAcquireLeaseAsync("store/garbage-collection", "b", TimeSpan.FromMinutes(5), none));
            await vault.ReleaseLeaseAsync("store/garbage-collection", "b", none); // not b's: kept
            Assert.Equal("a", await vault.FindLeaseHolderAsync("store/garbage-collection", none));
            await vault.ReleaseLeaseAsync("store/garbage-collection", "a", none);
            Assert.Null(await vault.FindLeaseHolderAsync("store/garbage-collection", none));
            Assert.False(await vault.RenewLeaseAsync("store/garbage-collection", "a", TimeSpan.FromMinutes(5), none));
        }

        [Fact]
        public async Task Workers_save_list_newest_first_and_are_forgotten_after_silence()
        {
            var t0 = DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_000);
            var a = new ReplicationWorker { WorkerId = "host-a/1/aa", Machine = "host-a", ProcessId = 1, Started = t0, LastHeartbeat = t0, LeaseDuration = TimeSpan.FromMinutes(1) };
            await vault.SaveWorkerAsync(a, none);
            await vault.SaveWorkerAsync(a with { Machine = "ignored", LastHeartbeat = t0.AddMinutes(5), CurrentVms = new[] { "sql01", "web01" } }, none);
            await OpenOther().SaveWorkerAsync(a with { WorkerId = "host-b/2/bb", Machine = "host-b", ProcessId = 2, Started = t0.AddMinutes(1), LastHeartbeat = t0.AddMinutes(1), Stopped = t0.AddMinutes(2) }, none);

            var listed = await vault.ListWorkersAsync(none);

            Assert.Equal(new[] { "host-b/2/bb", "host-a/1/aa" }, listed.Select(w => w.WorkerId));
            Assert.Equal(("host-a", t0.AddMinutes(5)), (listed[1].Machine, listed[1].LastHeartbeat));
            Assert.Equal(new[] { "sql01", "web01" }, listed[1].CurrentVms);
            Assert.Equal(t0.AddMinutes(2), listed[0].Stopped);
            Assert.Equal(1, await vault.ForgetWorkersAsync(t0.AddMinutes(3), none));
            Assert.Equal(new[] { "host-a/1/aa" }, (await vault.ListWorkersAsync(none)).Select(w => w.WorkerId));
        }
    }

    public sealed class SqliteVaultLeaseTests : LeaseContract
    {
        public SqliteVaultLeaseTests() : base(VaultBackend.Sqlite)
        {
        }
    }

    [Collection(AzuriteTables.Collection)]
    public sealed class TableVaultLeaseTests : LeaseContract
    {
        public TableVaultLeaseTests(AzuriteTables lab) : base(VaultBackend.Tables(lab))
        {
        }
    }
}
