using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Storage;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using Xunit;
using static AzureSiteRecovery.DR.Core.Tests.Replication.ReplicationBed;

namespace AzureSiteRecovery.DR.Core.Tests.Replication
{
    /// <summary>
    /// Replication into Azure Blob storage (Azurite) while the storage goes away: the cycle spools
    /// its chunks locally and commits nothing; after the restart the next cycle drains the spool and
    /// commits a point that exports byte for byte and verifies intact. Azurite comes back on a new
    /// port (azurite.sh picks a free one), so each cycle's store is opened on the current endpoint,
    /// as a cmdlet opens the store configured at that moment.
    /// </summary>
    public sealed class BlobStoreOutageTests : IClassFixture<ReplicationVcsimLab>, IClassFixture<AzuriteLab>, IAsyncLifetime
    {
        private const int MiB = 1 << 20;
        private readonly ReplicationVcsimLab vcsim;
        private readonly AzuriteLab azurite;
        private readonly string container = "replication" + Guid.NewGuid().ToString("N").Substring(0, 12);
        private ReplicationBed bed = null!;
        private bool azuriteDown;

        public BlobStoreOutageTests(ReplicationVcsimLab vcsim, AzuriteLab azurite)
        {
            this.vcsim = vcsim;
            this.azurite = azurite;
        }

        public async Task InitializeAsync() => bed = await CreateAsync(vcsim);

        public async Task DisposeAsync()
        {
            bed.Dispose();
            if (azuriteDown) await azurite.StartAsync(); // the next test of the class needs it
        }

        [Fact]
        public async Task A_first_cycle_while_storage_is_down_is_spooled_and_committed_by_the_cycle_after_the_restart()
        {
            const string name = "DC0_H0_VM0";
            bed.Write(name, 0, MiB, 41);
            bed.Write(name, 20 * MiB, MiB, 42); // chunks 0 and 5
            var vm = await bed.ProtectAsync(name, OpenStore);
            await StopAzuriteAsync();

            var spooled = await bed.Replicator(OpenStore).RunCycleAsync(vm.VmId, None);

            Assert.Null(spooled.Point);
            Assert.Equal(2, spooled.ChunksSpooled);
            Assert.Empty(await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None));
            var waiting = (await bed.Vault.FindProtectedVmAsync(vm.VmId, None))!;
            Assert.Equal((ProtectionState.InitialSync, (string?)null), (waiting.State, waiting.LastRecoveryPointId));
            Assert.Contains("unreachable", waiting.LastError);
            Assert.Contains("spool", waiting.LastError);
            Assert.NotEmpty(SpooledFiles());
            Assert.Empty(await bed.SnapshotsAsync(vm));

            await StartAzuriteAsync();
            bed.Write(name, 44 * MiB, MiB, 43); // chunk 11
            var disk = bed.DiskNow(name);
            var committed = await bed.Replicator(OpenStore).RunCycleAsync(vm.VmId, None);

            Assert.NotNull(committed.Point);
            // The spooled chunks reached the store first; only the new one is sent.
            Assert.Equal((3, 1, 0), (committed.ChunksRead, committed.ChunksStored, committed.ChunksSpooled));
            Assert.Empty(SpooledFiles());
            var vmNow = (await bed.Vault.FindProtectedVmAsync(vm.VmId, None))!;
            Assert.Equal((ProtectionState.Protected, committed.Point!.RecoveryPointId, (string?)null), (vmNow.State, vmNow.LastRecoveryPointId, vmNow.LastError));
            using var store = OpenStore();
            AssertSameDisk(disk, await bed.ExportAsync(store, committed.Point), "the point committed after the outage");
            var check = await VerifyAsync(store, committed.Point);
            Assert.True(check.IsIntact, string.Join("; ", check.Problems));
            Assert.Equal(3, check.ChunksRead);
        }

        [Fact]
        public async Task Storage_stopping_in_the_middle_of_a_cycle_spools_the_rest_and_the_next_cycle_commits_it_all()
        {
            const string name = "DC0_H0_VM1";
            bed.Write(name, 0, MiB, 51);
            var vm = await bed.ProtectAsync(name, OpenStore);
            var first = await bed.Replicator(OpenStore).RunCycleAsync(vm.VmId, None);
            var firstDisk = bed.DiskNow(name);
            bed.Write(name, 12 * MiB, MiB, 52);
            bed.Write(name, 36 * MiB, MiB, 53);
            bed.Write(name, 56 * MiB, MiB, 54); // chunks 3, 9 and 14

            // Azurite stops when the cycle puts its second chunk: a real outage, in the middle of the copy.
            var interrupted = await bed.Replicator(() => ReplicationStore.Open(bed.VaultPath, StopAzuriteOnPut(2)))
                .RunCycleAsync(vm.VmId, None);

            Assert.True(azuriteDown);
            Assert.Null(interrupted.Point);
            Assert.Equal(("ChangedBlockTracking", 3), (interrupted.Mode, interrupted.ChunksSpooled));
            Assert.NotEmpty(SpooledFiles());
            var afterOutage = (await bed.Vault.FindProtectedVmAsync(vm.VmId, None))!;
            Assert.Equal(first.Point!.RecoveryPointId, afterOutage.LastRecoveryPointId);
            Assert.Equal(ProtectionState.Protected, afterOutage.State);
            Assert.Contains("spool", afterOutage.LastError);
            Assert.Single(await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None));
            Assert.Empty(await bed.SnapshotsAsync(vm));

            await StartAzuriteAsync();
            var disk = bed.DiskNow(name);
            var committed = await bed.Replicator(OpenStore).RunCycleAsync(vm.VmId, None);

            Assert.Equal(("ChangedBlockTracking", 3, 0), (committed.Mode, committed.ChunksRead, committed.ChunksStored));
            Assert.Empty(SpooledFiles());
            var points = await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None);
            Assert.Equal(new[] { first.Point.RecoveryPointId, committed.Point!.RecoveryPointId }, points.Select(p => p.RecoveryPointId));
            using var store = OpenStore();
            AssertSameDisk(firstDisk, await bed.ExportAsync(store, points[0]), "the point before the outage");
            AssertSameDisk(disk, await bed.ExportAsync(store, points[1]), "the point after the outage");
            foreach (var point in points)
            {
                var check = await VerifyAsync(store, point);
                Assert.True(check.IsIntact, string.Join("; ", check.Problems));
            }
        }

        [Fact]
        public async Task A_delta_cycle_while_storage_is_down_is_spooled_and_the_next_one_commits_it()
        {
            const string name = "DC0_H0_VM2";
            bed.Write(name, 0, MiB, 61);
            var vm = await bed.ProtectAsync(name, OpenStore);
            var first = await bed.Replicator(OpenStore).RunCycleAsync(vm.VmId, None);
            await StopAzuriteAsync();
            bed.Write(name, 16 * MiB, MiB, 62); // chunk 4

            var spooled = await bed.Replicator(OpenStore).RunCycleAsync(vm.VmId, None);

            Assert.Null(spooled.Point);
            Assert.True(spooled.ChunksSpooled >= 1);
            Assert.Equal(first.Point!.RecoveryPointId, (await bed.Vault.FindProtectedVmAsync(vm.VmId, None))!.LastRecoveryPointId);
            Assert.Empty(await bed.SnapshotsAsync(vm));

            await StartAzuriteAsync();
            var disk = bed.DiskNow(name);
            var committed = await bed.Replicator(OpenStore).RunCycleAsync(vm.VmId, None);

            Assert.Equal(("ChangedBlockTracking", 0), (committed.Mode, committed.ChunksStored));
            Assert.Empty(SpooledFiles());
            using var store = OpenStore();
            AssertSameDisk(disk, await bed.ExportAsync(store, committed.Point!), "the point after the outage");
            Assert.True((await VerifyAsync(store, committed.Point!)).IsIntact);
        }

        private BlobStore OpenBlob() => azurite.NewStore(container);

        private ReplicationStore OpenStore() => ReplicationStore.Open(bed.VaultPath, OpenBlob());

        private IEnumerable<string> SpooledFiles()
        {
            var spool = ReplicationStore.SpoolFolderFor(bed.VaultPath);
            return Directory.Exists(spool) ? Directory.EnumerateFiles(spool, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal)) : Enumerable.Empty<string>();
        }

        private async Task StopAzuriteAsync()
        {
            await azurite.StopAsync();
            azuriteDown = true;
        }

        private async Task StartAzuriteAsync()
        {
            await azurite.StartAsync();
            azuriteDown = false;
        }

        /// <summary>The real blob store, whose <paramref name="stopAt"/>-th put first stops Azurite (and so fails like every put after it).</summary>
        private PutHookStore StopAzuriteOnPut(int stopAt)
        {
            var puts = 0;
            return new PutHookStore(OpenBlob(), async (key, put, ct) =>
            {
                if (Interlocked.Increment(ref puts) == stopAt) await StopAzuriteAsync();
                await put();
            });
        }
    }
}
