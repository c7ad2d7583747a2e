using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Storage;
using Xunit;
using static AzureSiteRecovery.DR.Core.Tests.Replication.ReplicationBed;

namespace AzureSiteRecovery.DR.Core.Tests.Replication
{
    /// <summary>
    /// A copy resumes instead of restarting: a cycle that fails (or is killed) part way leaves a resume record, and the
    /// next cycle reads only what was not stored from that snapshot (plus what the guest changed since), and its point
    /// is the disk byte for byte. A record that does not match the VM any more is ignored.
    /// </summary>
    public sealed class ResumeTests : IClassFixture<ReplicationVcsimLab>
    {
        private const int Chunks = (int)(ReplicationVcsimLab.DiskBytes / ChunkSize);
        private readonly ReplicationVcsimLab lab;

        public ResumeTests(ReplicationVcsimLab lab)
        {
            this.lab = lab;
        }

        [Fact]
        public async Task A_first_full_copy_failing_after_k_chunks_is_resumed_and_the_next_cycle_reads_only_the_rest()
        {
            const string name = "DC0_H0_VM0";
            using var bed = await CreateAsync(lab);
            bed.Write(name, 0, (int)ReplicationVcsimLab.DiskBytes, 101); // every chunk allocated and distinct
            var vm = await bed.ProtectAsync(name);

            var faulty = new ChunkPutFault(bed, failAfter: 6, hang: false);
            var failure = await Assert.ThrowsAnyAsync<Exception>(() => bed.Replicator(() => ReplicationStore.Open(bed.VaultPath, faulty.Store)).RunCycleAsync(vm.VmId, None));
            Assert.Contains("injected", failure.Message);
            var stored = faulty.ChunksStored;
            Assert.InRange(stored, 6, Chunks - 2);
            Assert.Empty(await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None));
            Assert.Empty(await bed.SnapshotsAsync(vm));

            ResumeRecord record;
            using (var store = bed.OpenLocalStore())
            {
                record = (await store.Chunks.ReadResumeAsync(vm.VmId, None))!;
                Assert.NotNull(record);
                Assert.Null(record.BasePointId);
                var disk = Assert.Single(record.Disks);
                Assert.Equal(("Full", ReplicationVcsimLab.DiskBytes, (long)stored * ChunkSize), (disk.Mode, disk.Chunks.Capacity, disk.BytesDone));
                Assert.Equal(Chunks - stored, disk.Pending.Sum(e => e.Length) / ChunkSize);

                // A garbage collection with no grace keeps what the record names: no point names those chunks yet.
                var collected = await ChunkGarbageCollection.CollectAsync(bed.Vault, store, TimeSpan.Zero, None);
                Assert.Equal(0, collected.ChunksDeleted);
                Assert.Equal(stored, collected.ChunksReferenced);
            }

            // The guest writes into a chunk the failed cycle had stored: CBT since its snapshot says so, and it is read again.
            var doneIndexes = Enumerable.Range(0, Chunks).Where(i => !record.Disks[0].Pending.Any(e => e.Offset <= (long)i * ChunkSize && (long)i * ChunkSize < e.End)).ToList();
            var rewritten = doneIndexes[0];
            bed.Write(name, (long)rewritten * ChunkSize + 4096, 8192, 102);
            var diskNow = bed.DiskNow(name);

            var resumed = await bed.Replicator().RunCycleAsync(vm.VmId, None);

            Assert.Equal("Full+Resumed", resumed.Mode);
            Assert.Equal(Chunks - stored + 1, resumed.ChunksRead);
            Assert.Equal((long)stored * ChunkSize, resumed.ResumedBytes);
            Assert.True(resumed.BytesRead < ReplicationVcsimLab.DiskBytes);
            using (var store = bed.OpenLocalStore())
            {
                AssertSameDisk(diskNow, await bed.ExportAsync(store, resumed.Point!), "the resumed point");
                var check = await VerifyAsync(store, resumed.Point!);
                Assert.True(check.IsIntact, string.Join("; ", check.Problems));
                Assert.Null(await store.Chunks.ReadResumeAsync(vm.VmId, None)); // deleted with the commit
            }
            var protectedVm = (await bed.Vault.FindProtectedVmAsync(vm.VmId, None))!;
            Assert.Equal((ProtectionState.Protected, (string?)null), (protectedVm.State, protectedVm.LastError));

            // The cycle after reads only what the guest changes: the resume left CBT in step.
            bed.Write(name, 9L * ChunkSize, 4096, 103);
            var next = await bed.Replicator().RunCycleAsync(vm.VmId, None);
            Assert.Equal(("ChangedBlockTracking", 1), (next.Mode, next.ChunksRead));
            using (var store = bed.OpenLocalStore())
            {
                AssertSameDisk(bed.DiskNow(name), await bed.ExportAsync(store, next.Point!), "the point after the resumed one");
            }
        }

        [Fact]
        public async Task A_copy_writes_its_resume_record_while_it_runs_so_a_killed_cycle_leaves_one_and_a_lost_chunk_is_read_again()
        {
            const string name = "DC0_H0_VM1";
            using var bed = await CreateAsync(lab);
            bed.Write(name, 0, (int)ReplicationVcsimLab.DiskBytes, 201);
            var vm = await bed.ProtectAsync(name);

            // The store stops answering after 8 chunks, as a process that hangs and is then killed: the record must be there already.
            var faulty = new ChunkPutFault(bed, failAfter: 8, hang: true);
            var replicator = bed.Replicator(() => ReplicationStore.Open(bed.VaultPath, faulty.Store));
            replicator.ResumeCheckpointChunks = 2;
            replicator.ResumeCheckpointInterval = TimeSpan.FromHours(1);
            using var kill = new CancellationTokenSource();
            var cycle = Task.Run(() => replicator.RunCycleAsync(vm.VmId, kill.Token));

            ResumeRecord? whileRunning = null;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (DateTime.UtcNow < deadline && (whileRunning is null || whileRunning.Disks[0].BytesDone < 8L * ChunkSize))
            {
                await Task.Delay(100);
                using var store = bed.OpenLocalStore();
                whileRunning = await store.Chunks.ReadResumeAsync(vm.VmId, None);
            }
            Assert.False(cycle.IsCompleted, "the cycle was meant to hang on the store");
            Assert.NotNull(whileRunning);
            Assert.Equal(8L * ChunkSize, whileRunning!.Disks[0].BytesDone);
            kill.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cycle);

            // One stored chunk vanished meanwhile (a store restored from an older copy): it is read again, not assumed.
            var done = whileRunning.Disks[0];
            var lost = Enumerable.Range(0, Chunks).First(i => !done.Pending.Any(e => e.Offset <= (long)i * ChunkSize && (long)i * ChunkSize < e.End));
            using (var store = bed.OpenLocalStore())
            {
                Assert.True(await store.Objects.Primary.DeleteAsync(store.Chunks.ObjectKeyOf(done.Chunks.Chunks[lost]), None));
            }
            var diskNow = bed.DiskNow(name);
            var resumed = await bed.Replicator().RunCycleAsync(vm.VmId, None);

            Assert.Equal("Full+Resumed", resumed.Mode);
            Assert.Equal(Chunks - 8 + 1, resumed.ChunksRead);
            using (var store = bed.OpenLocalStore())
            {
                AssertSameDisk(diskNow, await bed.ExportAsync(store, resumed.Point!), "the point resumed after the kill");
                Assert.True((await VerifyAsync(store, resumed.Point!)).IsIntact);
            }
        }

        [Fact]
        public async Task A_record_built_on_another_point_for_a_disk_of_another_size_or_with_cbt_off_is_ignored()
        {
            const string name = "DC0_H0_VM2";
            using var bed = await CreateAsync(lab);
            bed.Write(name, 0, 2 * ChunkSize, 301);
            var vm = await bed.ProtectAsync(name);
            var first = await bed.Replicator().RunCycleAsync(vm.VmId, None);
            var recorded = Assert.Single((await bed.Vault.FindProtectedVmAsync(vm.VmId, None))!.Disks);
            var (diskKey, changeId) = (recorded.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), recorded.ChangeId!);
            // Hashes of chunks that were never stored: a cycle that used them would export garbage or fail.
            var bogus = Enumerable.Range(0, Chunks).Select(i => ChunkHash.FromBytes(Enumerable.Repeat((byte)(i + 1), ChunkHash.Length).ToArray())).ToArray();

            foreach (var (basePoint, capacity, what) in new[]
            {
                ("0123456789abcdef0123456789abcdef", ReplicationVcsimLab.DiskBytes, "another base point"),
                (first.Point!.RecoveryPointId, ReplicationVcsimLab.DiskBytes / 2, "a disk of another size"),
            })
            {
                var chunks = bogus.Take(DiskManifest.CountFor(capacity, ChunkSize)).ToArray();
                using (var store = bed.OpenLocalStore())
                {
                    await store.Chunks.WriteResumeAsync(new ResumeRecord(vm.VmId, basePoint, DateTimeOffset.UtcNow, new[]
                    {
                        new ResumeDisk(new DiskManifest(diskKey, capacity, ChunkSize, chunks), changeId, "Full", capacity, Array.Empty<DiskExtent>()),
                    }), None);
                }
                bed.Write(name, 5L * ChunkSize, 4096, 302 + (int)(capacity >> 20));
                var diskNow = bed.DiskNow(name);

                var cycle = await bed.Replicator().RunCycleAsync(vm.VmId, None);

                Assert.Equal(("ChangedBlockTracking", 1, 0L), (cycle.Mode, cycle.ChunksRead, cycle.ResumedBytes));
                using var check = bed.OpenLocalStore();
                AssertSameDisk(diskNow, await bed.ExportAsync(check, cycle.Point!), what);
                Assert.Null(await check.Chunks.ReadResumeAsync(vm.VmId, None));
                changeId = Assert.Single((await bed.Vault.FindProtectedVmAsync(vm.VmId, None))!.Disks).ChangeId!;
            }

            // CBT turned off since: nothing can say what changed after the record's snapshot, so the whole disk is compared.
            var lastPoint = (await bed.Vault.FindProtectedVmAsync(vm.VmId, None))!.LastRecoveryPointId!;
            using (var store = bed.OpenLocalStore())
            {
                await store.Chunks.WriteResumeAsync(new ResumeRecord(vm.VmId, lastPoint, DateTimeOffset.UtcNow, new[]
                {
                    new ResumeDisk(new DiskManifest(diskKey, ReplicationVcsimLab.DiskBytes, ChunkSize, bogus), changeId, "Full", ReplicationVcsimLab.DiskBytes, Array.Empty<DiskExtent>()),
                }), None);
            }
            using (var client = await lab.ConnectAsync())
            {
                await client.SetChangeTrackingAsync(vm.MoRef, false, None);
            }
            bed.Write(name, 7L * ChunkSize, 4096, 310);
            var cbtOff = bed.DiskNow(name);

            var digest = await bed.Replicator().RunCycleAsync(vm.VmId, None);

            Assert.Equal(("Digest", Chunks, 0L), (digest.Mode, digest.ChunksRead, digest.ResumedBytes));
            using (var check = bed.OpenLocalStore())
            {
                AssertSameDisk(cbtOff, await bed.ExportAsync(check, digest.Point!), "CBT turned off");
                Assert.Null(await check.Chunks.ReadResumeAsync(vm.VmId, None));
            }
        }

        /// <summary>Chunk puts into the vault's local store that fail (or hang until cancelled) after the first <see cref="failAfter"/>.</summary>
        private sealed class ChunkPutFault
        {
            private readonly int failAfter;
            private readonly bool hang;
            private int chunkPuts;
            private int chunksStored;

            public ChunkPutFault(ReplicationBed bed, int failAfter, bool hang)
            {
                this.failAfter = failAfter;
                this.hang = hang;
                Store = new PutHookStore(new LocalFolderStore(ReplicationStore.StoreFolderFor(bed.VaultPath)), PutAsync);
            }

            public IObjectStore Store { get; }

            public int ChunksStored => Volatile.Read(ref chunksStored);

            private async Task PutAsync(string key, Func<Task> put, CancellationToken cancellationToken)
            {
                if (!key.StartsWith(ObjectKeys.ChunkPrefix, StringComparison.Ordinal))
                {
                    await put();
                    return;
                }
                if (Interlocked.Increment(ref chunkPuts) > failAfter)
                {
                    if (hang) await Task.Delay(Timeout.Infinite, cancellationToken);
                    throw new StoreRequestFailedException(Store.Location, $"Put of '{key}' failed (injected by the test).");
                }
                await put();
                Interlocked.Increment(ref chunksStored);
            }
        }
    }
}
