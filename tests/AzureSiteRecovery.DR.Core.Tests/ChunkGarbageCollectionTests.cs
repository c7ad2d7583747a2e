using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Storage;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests
{
    public sealed class ChunkGarbageCollectionTests : VaultTest
    {
        [Fact]
        public async Task Chunks_of_a_VM_no_longer_protected_go_and_the_others_stay_whole()
        {
            await vault.AddSiteAsync(Samples.VSphereSite("onprem"), "pw", none);
            await vault.AddSiteAsync(Samples.VSphereSite("dr", SiteRole.Recovery), "pw", none);
            await vault.AddPolicyAsync(Samples.Policy(), none);
            await vault.AddGroupAsync(Samples.Group("erp", "onprem", "dr"), none);
            using var store = ReplicationStore.OpenLocal(vault.Location, new ChunkStoreOptions { ChunkSize = TestDisks.ChunkSize });

            var kept = await ProtectWithOnePointAsync(store, "vm-keep", TestDisks.Mixed(seed: 1));
            var dropped = await ProtectWithOnePointAsync(store, "vm-drop", TestDisks.Mixed(seed: 2));
            var droppedChunks = dropped.StoredChunks.Except(kept.StoredChunks).ToArray();
            Assert.NotEmpty(droppedChunks);

            await vault.RemoveProtectedVmAsync(dropped.VmId, none);
            var result = await ChunkGarbageCollection.CollectAsync(vault, store, TimeSpan.Zero, none);

            Assert.Equal(droppedChunks.Length, result.ChunksDeleted);
            foreach (var hash in droppedChunks)
            {
                Assert.False(await store.Objects.ExistsAsync(store.Chunks.ObjectKeyOf(hash), none));
            }
            Assert.True((await new PointVerifier(store.Chunks).VerifyAsync(kept, none)).IsIntact);
        }

        [Fact]
        public async Task A_manifest_the_vault_does_not_name_goes_after_the_grace_period_with_its_chunks()
        {
            // What a cycle that lost the race with Disable-VmProtection -RemoveData leaves: a manifest stored, its point never committed.
            await vault.AddSiteAsync(Samples.VSphereSite("onprem"), "pw", none);
            await vault.AddSiteAsync(Samples.VSphereSite("dr", SiteRole.Recovery), "pw", none);
            await vault.AddPolicyAsync(Samples.Policy(), none);
            await vault.AddGroupAsync(Samples.Group("erp", "onprem", "dr"), none);
            using var store = ReplicationStore.OpenLocal(vault.Location, new ChunkStoreOptions { ChunkSize = TestDisks.ChunkSize });
            var kept = await ProtectWithOnePointAsync(store, "vm-keep", TestDisks.Mixed(seed: 1));
            var disk = TestDisks.Mixed(seed: 3);
            var written = await store.Chunks.WriteDiskAsync("2000", new MemoryStream(disk), disk.Length, none);
            var orphan = new RecoveryPointManifest("vm-removed", Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow, PointConsistency.CrashConsistent, new[] { written.Manifest });
            await store.Chunks.WritePointAsync(orphan, none);

            var young = await ChunkGarbageCollection.CollectAsync(vault, store, TimeSpan.FromHours(1), none);
            Assert.Equal(0, young.ManifestsDeleted);
            Assert.True(await store.Objects.ExistsAsync(orphan.ObjectKey, none));

            var result = await ChunkGarbageCollection.CollectAsync(vault, store, TimeSpan.Zero, none);

            Assert.Equal(1, result.ManifestsDeleted);
            Assert.False(await store.Objects.ExistsAsync(orphan.ObjectKey, none));
            var points = new System.Collections.Generic.List<(string VmId, string PointId)>();
            await foreach (var point in store.Chunks.ListPointsAsync(null, none)) points.Add(point);
            Assert.Equal(new[] { (kept.VmId, kept.PointId) }, points);
            Assert.True(result.ChunksDeleted > 0);
            Assert.True((await new PointVerifier(store.Chunks).VerifyAsync(kept, none)).IsIntact);
        }

        [Fact]
        public async Task A_collection_runs_at_most_once_per_interval_across_callers()
        {
            using var store = ReplicationStore.OpenLocal(vault.Location);
            Assert.NotNull(await ChunkGarbageCollection.CollectIfDueAsync(vault, store, none));
            Assert.Null(await ChunkGarbageCollection.CollectIfDueAsync(vault, store, none));
        }

        private async Task<RecoveryPointManifest> ProtectWithOnePointAsync(ReplicationStore store, string name, byte[] disk)
        {
            var vm = await vault.AddProtectedVmAsync(new ProtectedVm { VmId = Guid.NewGuid().ToString("N"), Name = name, ProtectionGroup = "erp", Site = "onprem", MoRef = name }, none);
            var written = await store.Chunks.WriteDiskAsync("2000", new MemoryStream(disk), disk.Length, none);
            var point = new RecoveryPointManifest(vm.VmId, Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow, PointConsistency.CrashConsistent, new[] { written.Manifest });
            Assert.Equal(PointWriteOutcome.Stored, await store.Chunks.WritePointAsync(point, none));
            await vault.CommitRecoveryPointAsync(new RecoveryPoint
            {
                RecoveryPointId = point.PointId,
                VmId = vm.VmId,
                VmName = name,
                Time = point.Created,
                SizeBytes = disk.Length,
                ManifestKey = point.ObjectKey,
            }, v => v with { State = ProtectionState.Protected, LastRecoveryPointId = point.PointId, LastRecoveryPointTime = point.Created }, none);
            return point;
        }
    }
}
