using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Storage;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Storage
{
    /// <summary>The chunk store on Azurite, including an outage in the middle of a disk write.</summary>
    public sealed class BlobChunkStoreTests : IClassFixture<AzuriteLab>, IDisposable
    {
        private static readonly CancellationToken None = CancellationToken.None;
        private readonly AzuriteLab lab;
        private readonly TemporaryFolder folder = new TemporaryFolder();

        public BlobChunkStoreTests(AzuriteLab lab)
        {
            this.lab = lab;
        }

        public void Dispose() => folder.Dispose();

        [Fact]
        public async Task A_point_on_blob_storage_round_trips_and_a_tampered_blob_is_reported()
        {
            var store = lab.NewStore();
            var disk = TestDisks.Mixed(21);
            using var chunks = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            var point = await TestDisks.WritePointAsync(chunks, "vm-1", "p1", ("2000", disk));
            var read = await chunks.ReadPointAsync("vm-1", "p1", None);
            Assert.Equal(disk, await TestDisks.ExportAsync(chunks, read.Disks[0]));

            var key = chunks.ObjectKeyOf(point.Disks[0].Chunks[5]);
            var bytes = await store.GetAsync(key, None);
            bytes[100] ^= 0x80;
            await store.PutAsync(key, bytes, None);
            var problem = Assert.Single((await new PointVerifier(chunks).VerifyAsync(read, None)).Problems);
            Assert.Equal((5, ChunkProblemKind.Tampered, key), (problem.ChunkIndex, problem.Kind, problem.ObjectKey));
        }

        [Fact]
        public async Task Azurite_stopped_mid_write_spools_the_rest_and_a_drain_after_restart_makes_the_point_whole()
        {
            var container = "outage" + Guid.NewGuid().ToString("N").Substring(0, 8);
            var spoolFolder = Path.Combine(folder.FolderPath, "spool");
            var disk = TestDisks.Mixed(22);
            var spooling = new SpoolingObjectStore(lab.NewStore(container), spoolFolder);
            RecoveryPointManifest point;
            using (var chunks = new ChunkStore(spooling, TestDisks.Key(), new ChunkStoreOptions { ChunkSize = TestDisks.ChunkSize, MaxParallelism = 1 }))
            {
                var inner = TestDisks.ReaderOf(disk);
                async Task Reader(long offset, byte[] buffer, int count, CancellationToken ct)
                {
                    if (offset == 5L * TestDisks.ChunkSize) await lab.StopAsync(); // the store goes down after 5 chunks
                    await inner(offset, buffer, count, ct);
                }
                var result = await chunks.WriteDiskAsync("2000", disk.Length, Reader, null, null, None);
                point = new RecoveryPointManifest("vm-1", "p1", DateTimeOffset.UtcNow, PointConsistency.CrashConsistent, new[] { result.Manifest });
                Assert.Equal(PointWriteOutcome.Spooled, await chunks.WritePointAsync(point, None));
            }
            Assert.True(spooling.IsSpooling);

            await lab.StartAsync(); // same data, new port
            var store = lab.NewStore(container);
            using (var reader = new ChunkStore(store, TestDisks.Key(), TestDisks.Options))
            {
                await Assert.ThrowsAsync<RecoveryPointManifestException>(() => reader.ReadPointAsync("vm-1", "p1", None));
            }
            var drained = await SpoolingObjectStore.DrainAsync(store, new LocalFolderStore(spoolFolder), None);
            Assert.True(drained.Completed);
            Assert.Equal(new[] { ("vm-1", "p1") }, drained.PointsStored);

            using var chunksAfter = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            var read = await chunksAfter.ReadPointAsync("vm-1", "p1", None);
            Assert.True((await new PointVerifier(chunksAfter).VerifyAsync(read, None)).IsIntact);
            Assert.Equal(disk, await TestDisks.ExportAsync(chunksAfter, read.Disks[0]));
        }

        [Fact]
        public async Task An_unreachable_store_is_reported_unavailable_by_the_verifier_not_as_missing_chunks()
        {
            var store = lab.NewStore();
            using var chunks = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            var point = await TestDisks.WritePointAsync(chunks, "vm-1", "p1", ("d", TestDisks.Mixed(23)));
            var down = BlobStore.Create(new Uri("http://127.0.0.1:9/devstoreaccount1"), AzuriteLab.AccountName, AzuriteLab.AccountKey, "c", AzuriteLab.QuickOptions);
            using var unreachable = new ChunkStore(down, TestDisks.Key(), TestDisks.Options);
            var ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => new PointVerifier(unreachable).VerifyAsync(point, None));
            Assert.Equal("ObjectStoreUnavailable", ex.ErrorId);
        }
    }
}
