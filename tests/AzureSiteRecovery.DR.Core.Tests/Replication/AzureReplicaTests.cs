using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using Azure.Core;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Sites.Azure;
using AzureSiteRecovery.DR.Core.Storage;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using AzureSiteRecovery.DR.Core.Vault;
using Xunit;
using static AzureSiteRecovery.DR.Core.Tests.Replication.ReplicationBed;

namespace AzureSiteRecovery.DR.Core.Tests.Replication
{
    /// <summary>Six VMs with 64 MiB disks: one per test of <see cref="AzureReplicaTests"/>.</summary>
    public sealed class AzureReplicaVcsimLab : VcsimLab
    {
        public AzureReplicaVcsimLab()
            : base("-vm", "6", "-cluster", "0", "-disk-mb", "64")
        {
        }
    }

    /// <summary>
    /// The replica in Azure (Azurite) of a group whose recovery site is Azure: what a user checks is
    /// that each point's blob snapshot is the point's disk byte for byte behind a valid VHD footer,
    /// that a cycle sends only the changed chunks, that a killed cycle or an outage never leaves a
    /// point naming a wrong or missing snapshot, that retention and -RemoveData delete what they
    /// should, and that the replica check finds a page changed behind our back.
    /// </summary>
    public sealed class AzureReplicaTests : IClassFixture<AzureReplicaVcsimLab>, IClassFixture<AzuriteLab>, IAsyncLifetime
    {
        private const int MiB = 1 << 20;
        private const long DiskBytes = ReplicationVcsimLab.DiskBytes;
        private readonly AzureReplicaVcsimLab vcsim;
        private readonly AzuriteLab azurite;
        private ReplicationBed bed = null!;
        private bool azuriteDown;

        public AzureReplicaTests(AzureReplicaVcsimLab vcsim, AzuriteLab azurite)
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
        public async Task Each_point_has_a_snapshot_equal_to_its_disk_and_a_cycle_sends_only_the_changed_chunks()
        {
            const string name = "DC0_H0_VM0";
            bed.Write(name, 0, MiB, 1);
            bed.Write(name, 20 * MiB, 3 * MiB, 2); // chunk 5
            var vm = await bed.ProtectAsync(name);
            var cycles = new List<CycleResult>();

            cycles.Add(await Replicator().RunCycleAsync(vm.VmId, None));
            bed.Write(name, 40 * MiB, MiB, 3); // chunk 10
            cycles.Add(await Replicator().RunCycleAsync(vm.VmId, None));
            bed.Write(name, 11 * MiB, 2 * MiB, 4); // chunks 2 and 3
            Zero(name, 20 * MiB, ChunkSize); // chunk 5 becomes zeros
            cycles.Add(await Replicator().RunCycleAsync(vm.VmId, None));

            Assert.Equal(new[] { "Full", "ChangedBlockTracking", "ChangedBlockTracking" }, cycles.Select(c => c.Mode));
            Assert.Equal(new[] { 2, 1, 2 }, cycles.Select(c => c.ReplicaChunksWritten));
            Assert.Equal(new[] { 0, 0, 1 }, cycles.Select(c => c.ReplicaChunksCleared));
            using var store = bed.OpenLocalStore();
            var points = await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None);
            Assert.Equal(cycles.Select(c => c.Point!.RecoveryPointId), points.Select(p => p.RecoveryPointId));
            DiskManifest? previous = null;
            for (var i = 0; i < points.Count; i++)
            {
                var point = points[i];
                var snapshot = Assert.Single(point.ReplicaSnapshots);
                Assert.Equal($"{vm.VmId}/{snapshot.DiskKey}.vhd", snapshot.BlobName);
                var (disk, footerProblems) = await ReadSnapshotAsync(snapshot);
                Assert.Empty(footerProblems);
                AssertSameDisk(await bed.ExportAsync(store, point), disk, $"the replica snapshot of point {i + 1}");

                // Bytes sent: the chunks that changed and are not zeros (a first cycle also writes the footer), within 5 %.
                var manifest = Assert.Single((await store.Chunks.ReadPointAsync(vm.VmId, point.RecoveryPointId, None)).Disks);
                var changed = Enumerable.Range(0, manifest.Chunks.Count)
                    .Where(c => !manifest.Chunks[c].IsZero && (previous is null || previous.Chunks[c] != manifest.Chunks[c]))
                    .Sum(c => (long)manifest.LengthOf(c));
                Assert.InRange(cycles[i].ReplicaBytesSent, changed * 0.95, changed * 1.05);
                previous = manifest;

                var check = await VerifyReplicaAsync(store, point);
                Assert.True(check.IsIntact, string.Join("; ", check.Problems.Select(p => p.Message)));
                Assert.Equal(16, check.ChunksChecked);
            }
            Assert.Equal(new[] { 2L * ChunkSize + 512, ChunkSize, 2L * ChunkSize }, cycles.Select(c => c.ReplicaBytesSent));
            // The cleared chunk reads as zeros (the export comparison above), and holds no written page any more.
            var ranges = await WrittenRangesAsync(Assert.Single(points[2].ReplicaSnapshots));
            Assert.DoesNotContain(ranges, r => r.Offset < 24L * MiB && 20L * MiB < r.Offset + r.Length);
            Assert.Equal(3, (await SnapshotsOfVmAsync(vm.VmId)).Count);
        }

        [Fact]
        public async Task A_cycle_killed_after_its_pages_were_written_leaves_the_next_point_exact_and_no_stray_snapshot()
        {
            const string name = "DC0_H0_VM1";
            bed.Write(name, 0, MiB, 11);
            bed.Write(name, 12 * MiB, MiB, 12); // chunk 3
            var vm = await bed.ProtectAsync(name);
            var first = await Replicator().RunCycleAsync(vm.VmId, None);
            var original = bed.DiskNow(name);

            // The killed cycle writes chunks 3 and 8 into the blob (and snapshots it), then dies before the commit.
            bed.Write(name, 12 * MiB, MiB, 13);
            bed.Write(name, 32 * MiB, MiB, 14);
            var killed = new VmReplicator(FailingCommit(bed.Vault), bed.OpenLocalStore, Locator);
            await Assert.ThrowsAsync<IOException>(() => killed.RunCycleAsync(vm.VmId, None));
            Assert.Single(await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None));
            var pending = (await bed.Vault.FindReplicaStateAsync(vm.VmId, None))!;
            Assert.Equal(2, pending.PointIds.Count);
            Assert.Equal(first.Point!.RecoveryPointId, pending.PointIds[0]);
            Assert.Equal(2, (await SnapshotsOfVmAsync(vm.VmId)).Count); // the killed cycle's snapshot is there, named by no point

            // The guest puts chunk 3 back as it was at the first point: the blob holds the killed cycle's chunk 3, which must go.
            using (var file = new FileStream(bed.FlatFile(name), FileMode.Open, FileAccess.Write))
            {
                file.Seek(12 * MiB, SeekOrigin.Begin);
                file.Write(original, 12 * MiB, MiB);
            }
            bed.Write(name, 52 * MiB, MiB, 15); // chunk 13
            var next = await Replicator().RunCycleAsync(vm.VmId, None);

            Assert.NotNull(next.Point);
            // Chunk 3 (same as the first point, but the blob held the killed cycle's), 8 (as written by the killed cycle) and 13 (new).
            Assert.Equal(3, next.ReplicaChunksWritten);
            using var store = bed.OpenLocalStore();
            var (disk, footerProblems) = await ReadSnapshotAsync(Assert.Single(next.Point!.ReplicaSnapshots));
            Assert.Empty(footerProblems);
            AssertSameDisk(await bed.ExportAsync(store, next.Point), disk, "the replica snapshot after the killed cycle");
            AssertSameDisk(bed.DiskNow(name), disk, "the replica snapshot against the guest's disk");
            Assert.Equal(new[] { next.Point.RecoveryPointId }, (await bed.Vault.FindReplicaStateAsync(vm.VmId, None))!.PointIds);
            // Only the snapshots of the two committed points are left: the killed cycle's was swept.
            var named = (await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None)).SelectMany(p => p.ReplicaSnapshots).Select(s => s.Snapshot).OrderBy(s => s);
            Assert.Equal(named, (await SnapshotsOfVmAsync(vm.VmId)).Select(s => s.Snapshot).OrderBy(s => s));
        }

        [Fact]
        public async Task A_cycle_whose_killed_predecessor_left_no_manifest_compares_the_blob_itself()
        {
            const string name = "DC0_H0_VM2";
            bed.Write(name, 0, MiB, 21);
            var vm = await bed.ProtectAsync(name);
            await Replicator().RunCycleAsync(vm.VmId, None);
            bed.Write(name, 24 * MiB, MiB, 22); // chunk 6
            await Assert.ThrowsAsync<IOException>(() => new VmReplicator(FailingCommit(bed.Vault), bed.OpenLocalStore, Locator).RunCycleAsync(vm.VmId, None));
            // Garbage collection took the killed cycle's manifest: what the blob holds is no longer known from manifests.
            var killedPoint = (await bed.Vault.FindReplicaStateAsync(vm.VmId, None))!.PointIds[1];
            using (var store = bed.OpenLocalStore()) Assert.True(await store.Chunks.DeletePointAsync(vm.VmId, killedPoint, None));
            bed.Write(name, 24 * MiB, MiB, 23);

            var next = await Replicator().RunCycleAsync(vm.VmId, None);

            Assert.Equal(1, next.ReplicaChunksWritten); // chunk 6 read back, found different and rewritten; the others read back equal
            using (var store = bed.OpenLocalStore())
            {
                var (disk, _) = await ReadSnapshotAsync(Assert.Single(next.Point!.ReplicaSnapshots));
                AssertSameDisk(await bed.ExportAsync(store, next.Point), disk, "the replica snapshot after a lost manifest");
            }
        }

        [Fact]
        public async Task Retention_deletes_the_snapshots_with_their_points_and_RemoveData_deletes_the_blobs()
        {
            const string name = "DC0_H0_VM3";
            await bed.Vault.UpdatePolicyAsync("gold", p => p with { RecoveryPointRetention = TimeSpan.Zero }, None); // keep only the newest
            bed.Write(name, 0, MiB, 31);
            var vm = await bed.ProtectAsync(name);
            for (var i = 0; i < 3; i++)
            {
                bed.Write(name, (8 + 4 * i) * MiB, MiB, 32 + i);
                await Replicator().RunCycleAsync(vm.VmId, None);
            }

            var point = Assert.Single(await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None));
            var left = Assert.Single(await SnapshotsOfVmAsync(vm.VmId));
            Assert.Equal(Assert.Single(point.ReplicaSnapshots).Snapshot, left.Snapshot);

            vm = (await bed.Vault.FindProtectedVmAsync(vm.VmId, None))!;
            await Replicator().DisableAsync(vm, removeData: true, None);

            Assert.Empty(await BlobsOfVmAsync(vm.VmId));
        }

        [Fact]
        public async Task The_replica_check_finds_a_page_changed_behind_our_back_and_a_missing_snapshot()
        {
            const string name = "DC0_H0_VM4";
            bed.Write(name, 0, MiB, 41);
            var vm = await bed.ProtectAsync(name);
            var first = await Replicator().RunCycleAsync(vm.VmId, None);
            // Someone writes into the replica blob: chunk 7, and the footer.
            var diskKey = Assert.Single(first.Point!.ReplicaSnapshots).DiskKey;
            var blob = Container().GetPageBlobClient(AzureReplica.BlobNameOf(vm.VmId, diskKey));
            var garbage = new byte[MiB];
            new Random(42).NextBytes(garbage);
            using (var body = new MemoryStream(garbage)) await blob.UploadPagesAsync(body, 28L * MiB);
            using (var body = new MemoryStream(new byte[512])) await blob.UploadPagesAsync(body, DiskBytes);
            bed.Write(name, 4 * MiB, MiB, 43); // chunk 1
            var second = await Replicator().RunCycleAsync(vm.VmId, None);

            using var store = bed.OpenLocalStore();
            Assert.True((await VerifyReplicaAsync(store, first.Point)).IsIntact);
            var check = await VerifyReplicaAsync(store, second.Point!);
            var problem = Assert.Single(check.Problems);
            Assert.Equal((diskKey, 7, 28L * MiB, ReplicaProblemKind.ChunkMismatch), (problem.DiskKey, problem.ChunkIndex, problem.Offset, problem.Kind));
            Assert.Contains("chunk 7 at offset 29360128", problem.Message);
            // The footer was checked by the cycle and written again: the snapshot's is valid.
            Assert.Empty((await ReadSnapshotAsync(Assert.Single(second.Point!.ReplicaSnapshots))).FooterProblems);

            var gone = Assert.Single(first.Point.ReplicaSnapshots);
            await Container().GetBlobClient(gone.BlobName).WithSnapshot(gone.Snapshot).DeleteAsync();
            var missing = Assert.Single((await VerifyReplicaAsync(store, first.Point)).Problems);
            Assert.Equal((-1, ReplicaProblemKind.SnapshotMissing), (missing.ChunkIndex, missing.Kind));
        }

        [Fact]
        public async Task Storage_down_during_a_cycle_commits_no_point_and_the_next_cycle_makes_the_replica_whole()
        {
            const string name = "DC0_H0_VM5";
            bed.Write(name, 0, MiB, 51);
            var vm = await bed.ProtectAsync(name);
            var first = await Replicator().RunCycleAsync(vm.VmId, None);
            bed.Write(name, 16 * MiB, MiB, 52); // chunk 4
            await azurite.StopAsync();
            azuriteDown = true;

            var failure = await Assert.ThrowsAsync<StoreUnavailableException>(() => Replicator().RunCycleAsync(vm.VmId, None));

            Assert.Contains(AzureReplica.ContainerName, failure.Message);
            Assert.Equal(new[] { first.Point!.RecoveryPointId }, (await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None)).Select(p => p.RecoveryPointId));
            var failed = (await bed.Vault.FindProtectedVmAsync(vm.VmId, None))!;
            Assert.Equal((ProtectionState.Error, first.Point.RecoveryPointId), (failed.State, failed.LastRecoveryPointId));
            Assert.Contains("cannot be reached", failed.LastError);
            Assert.Empty(await bed.SnapshotsAsync(vm));

            await azurite.StartAsync(); // on another port: the locator hands out the current endpoint
            azuriteDown = false;
            bed.Write(name, 36 * MiB, MiB, 53); // chunk 9
            var next = await Replicator().RunCycleAsync(vm.VmId, None);

            Assert.Equal(2, next.ReplicaChunksWritten); // chunks 4 and 9
            using var store = bed.OpenLocalStore();
            var (disk, footerProblems) = await ReadSnapshotAsync(Assert.Single(next.Point!.ReplicaSnapshots));
            Assert.Empty(footerProblems);
            AssertSameDisk(await bed.ExportAsync(store, next.Point), disk, "the replica snapshot after the outage");
            Assert.True((await VerifyReplicaAsync(store, first.Point)).IsIntact);
        }

        private VmReplicator Replicator() => new VmReplicator(bed.Vault, bed.OpenLocalStore, Locator);

        /// <summary>The real vault, whose commit of a point fails as if the process died right before it (after the replica was written).</summary>
        private static IVault FailingCommit(IVault vault) =>
            FaultyVault.Wrap(vault, method => method == nameof(IVault.CommitRecoveryPointAsync) ? new IOException("The process died before the commit.") : null);

        /// <summary>What the composition root does for an Azure site, here straight to Azurite (no ARM).</summary>
        private Task<BlobContainerClient?> Locator(Site site, CancellationToken cancellationToken)
        {
            Assert.Equal(SiteKind.Azure, site.Kind);
            return Task.FromResult<BlobContainerClient?>(Container());
        }

        private BlobContainerClient Container()
        {
            var options = new BlobClientOptions();
            options.Retry.MaxRetries = 1;
            options.Retry.Delay = TimeSpan.FromMilliseconds(100);
            options.Retry.Mode = RetryMode.Fixed;
            return new BlobServiceClient(azurite.Url, new StorageSharedKeyCredential(AzuriteLab.AccountName, AzuriteLab.AccountKey), options)
                .GetBlobContainerClient(AzureReplica.ContainerName);
        }

        /// <summary>Test-RecoveryPoint's replica check of a point.</summary>
        private async Task<ReplicaVerification> VerifyReplicaAsync(ReplicationStore store, RecoveryPoint point)
        {
            var manifest = await store.Chunks.ReadPointAsync(point.VmId, point.RecoveryPointId, None);
            return await new AzureReplica(Container(), bed.Vault).VerifyPointAsync(manifest, point.ReplicaSnapshots, None);
        }

        /// <summary>The disk's bytes in a snapshot (the blob without its footer) and what is wrong with its footer.</summary>
        private async Task<(byte[] Disk, IReadOnlyList<string> FooterProblems)> ReadSnapshotAsync(ReplicaSnapshot snapshot)
        {
            var content = (await Container().GetBlobClient(snapshot.BlobName).WithSnapshot(snapshot.Snapshot).DownloadContentAsync()).Value.Content.ToArray();
            Assert.Equal(VhdFooter.BlobLengthFor(DiskBytes), content.Length);
            var footer = content.AsSpan((int)DiskBytes).ToArray();
            return (content.AsSpan(0, (int)DiskBytes).ToArray(), VhdFooter.Validate(footer, DiskBytes, out _));
        }

        private async Task<IReadOnlyList<(long Offset, long Length)>> WrittenRangesAsync(ReplicaSnapshot snapshot)
        {
            var ranges = new List<(long, long)>();
            await foreach (var item in Container().GetPageBlobClient(snapshot.BlobName).WithSnapshot(snapshot.Snapshot).GetAllPageRangesAsync(new GetPageRangesOptions()))
            {
                if (!item.IsClear) ranges.Add((item.Range.Offset, item.Range.Length ?? 0));
            }
            return ranges;
        }

        private async Task<IReadOnlyList<BlobItem>> SnapshotsOfVmAsync(string vmId)
        {
            var items = new List<BlobItem>();
            await foreach (var item in Container().GetBlobsAsync(BlobTraits.Metadata, BlobStates.Snapshots, vmId + "/"))
            {
                if (!string.IsNullOrEmpty(item.Snapshot)) items.Add(item);
            }
            return items;
        }

        private async Task<IReadOnlyList<BlobItem>> BlobsOfVmAsync(string vmId)
        {
            var items = new List<BlobItem>();
            await foreach (var item in Container().GetBlobsAsync(BlobTraits.None, BlobStates.Snapshots, vmId + "/")) items.Add(item);
            return items;
        }

        private void Zero(string vmName, long offset, int length)
        {
            using var file = new FileStream(bed.FlatFile(vmName), FileMode.Open, FileAccess.Write);
            file.Seek(offset, SeekOrigin.Begin);
            file.Write(new byte[length], 0, length);
        }
    }
}
