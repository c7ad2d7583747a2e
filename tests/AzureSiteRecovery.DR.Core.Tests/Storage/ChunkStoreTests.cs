using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Storage;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Storage
{
    public sealed class ChunkStoreTests : IDisposable
    {
        private static readonly CancellationToken None = CancellationToken.None;
        private readonly TemporaryFolder folder = new TemporaryFolder();

        public void Dispose() => folder.Dispose();

        private LocalFolderStore NewLocal(string name = "store") => new LocalFolderStore(Path.Combine(folder.FolderPath, name));

        private static async Task<List<StoredObject>> ListAsync(IObjectStore store, string prefix)
        {
            var items = new List<StoredObject>();
            await foreach (var item in store.ListAsync(prefix, None)) items.Add(item);
            return items;
        }

        [Fact]
        public async Task A_point_reads_back_byte_for_byte_from_its_manifest_alone()
        {
            var store = NewLocal();
            var disk0 = TestDisks.Mixed(1);
            var disk1 = TestDisks.Mixed(2, lastPartial: 1);
            using (var chunks = new ChunkStore(store, TestDisks.Key(), TestDisks.Options))
            {
                await TestDisks.WritePointAsync(chunks, "vm-1", "p1", ("2000", disk0), ("2001", disk1));
            }

            // A new process: only the store and the key.
            using var reader = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            var point = await reader.ReadPointAsync("vm-1", "p1", None);
            Assert.Equal(new[] { "2000", "2001" }, point.Disks.Select(d => d.DiskKey));
            Assert.Equal(disk0.Length, point.Disks[0].Capacity);
            Assert.Equal(disk0, await TestDisks.ExportAsync(reader, point.Disks[0]));
            Assert.Equal(disk1, await TestDisks.ExportAsync(reader, point.Disks[1]));

            var exported = await new DiskImageWriter(reader).ExportAsync(point, Path.Combine(folder.FolderPath, "export"), None);
            Assert.Equal(disk0, File.ReadAllBytes(exported[0]));
            Assert.Equal(disk1, File.ReadAllBytes(exported[1]));
            Assert.Equal("2000.img", Path.GetFileName(exported[0]));
        }

        [Fact]
        public async Task Zero_chunks_are_not_stored_and_random_chunks_are_stored_raw_but_still_encrypted()
        {
            var store = NewLocal();
            var disk = TestDisks.Mixed(3);
            using var chunks = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            var result = await chunks.WriteDiskAsync("d", new MemoryStream(disk), disk.Length, None);

            Assert.Equal(10, result.Manifest.Chunks.Count);
            Assert.Equal(new[] { 0, 1, 7 }, Enumerable.Range(0, 10).Where(i => result.Manifest.Chunks[i].IsZero));
            Assert.Equal(3, result.ZeroChunks);
            var objects = await ListAsync(store, ObjectKeys.ChunkPrefix);
            Assert.Equal(7, objects.Count);
            // Text compresses: the store holds less than the non-zero data.
            Assert.True(objects.Sum(o => o.Size) < 6 * TestDisks.ChunkSize);
            // No stored object contains the plain text, and names are not the plain SHA-256.
            var plainHashes = result.Manifest.StoredChunks.Select(h => h.ToString()).ToHashSet();
            foreach (var o in objects)
            {
                Assert.DoesNotContain(o.Key.Split('/').Last(), plainHashes);
                var bytes = File.ReadAllBytes(Path.Combine(store.Location, o.Key));
                Assert.Equal(-1, IndexOf(bytes, System.Text.Encoding.ASCII.GetBytes("INFO request")));
            }
        }

        [Fact]
        public async Task The_same_disk_of_a_second_vm_stores_nothing_new()
        {
            var store = NewLocal();
            var disk = TestDisks.Mixed(4);
            using (var first = new ChunkStore(store, TestDisks.Key(), TestDisks.Options))
            {
                var a = await first.WriteDiskAsync("d", new MemoryStream(disk), disk.Length, None);
                Assert.Equal(7, a.ChunksStored);
            }
            var before = await ListAsync(store, ObjectKeys.ChunkPrefix);

            using var second = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            var b = await second.WriteDiskAsync("d", new MemoryStream(disk), disk.Length, None);
            Assert.Equal(0, b.ChunksStored);
            Assert.Equal(7, b.ChunksAlreadyStored);
            var after = await ListAsync(store, ObjectKeys.ChunkPrefix);
            Assert.Equal(before.Select(o => o.Key).OrderBy(k => k), after.Select(o => o.Key).OrderBy(k => k));
        }

        [Fact]
        public async Task Repeated_content_inside_one_disk_is_stored_once()
        {
            var store = NewLocal();
            var chunk = new byte[TestDisks.ChunkSize];
            TestDisks.Text(new Random(5), chunk, 0, chunk.Length);
            var disk = Enumerable.Repeat(chunk, 8).SelectMany(c => c).ToArray();
            using var chunks = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            var result = await chunks.WriteDiskAsync("d", new MemoryStream(disk), disk.Length, None);
            Assert.Single(await ListAsync(store, ObjectKeys.ChunkPrefix));
            Assert.Equal(disk, await TestDisks.ExportAsync(chunks, result.Manifest));
        }

        [Fact]
        public async Task An_incremental_write_reads_only_chunks_with_changes_and_reads_back_the_new_content()
        {
            var store = NewLocal();
            var disk = TestDisks.Mixed(6);
            using var chunks = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            var full = await chunks.WriteDiskAsync("d", disk.Length, TestDisks.ReaderOf(disk), null, null, None);

            var changed = (byte[])disk.Clone();
            TestDisks.Random(new Random(7), changed, 3 * TestDisks.ChunkSize + 100, 5000); // inside chunk 3
            TestDisks.Random(new Random(8), changed, 7 * TestDisks.ChunkSize, 10); // a zero chunk gets data
            var extents = new[] { new DiskExtent(3 * TestDisks.ChunkSize + 100, 5000), new DiskExtent(7 * TestDisks.ChunkSize, 10) };
            var next = await chunks.WriteDiskAsync("d", changed.Length, TestDisks.ReaderOf(changed), full.Manifest, extents, None);

            Assert.Equal(2, next.ChunksRead);
            Assert.Equal(2, next.ChunksStored);
            Assert.Equal(changed, await TestDisks.ExportAsync(chunks, next.Manifest));
            Assert.Equal(disk, await TestDisks.ExportAsync(chunks, full.Manifest));
        }

        [Fact]
        public async Task The_verifier_reports_exactly_the_tampered_chunk_and_a_deleted_one_as_missing()
        {
            var store = NewLocal();
            var disk = TestDisks.Mixed(9);
            using var chunks = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            var point = await TestDisks.WritePointAsync(chunks, "vm-1", "p1", ("2000", disk));
            var verifier = new PointVerifier(chunks);
            var clean = await verifier.VerifyAsync(point, None);
            Assert.True(clean.IsIntact);
            Assert.Equal(7, clean.ChunksRead);
            Assert.Equal(3, clean.ZeroChunks);

            var manifest = point.Disks[0];
            var tampered = chunks.ObjectKeyOf(manifest.Chunks[4]);
            var path = Path.Combine(store.Location, tampered);
            var bytes = File.ReadAllBytes(path);
            bytes[bytes.Length / 2] ^= 0x01;
            File.WriteAllBytes(path, bytes);
            var missing = chunks.ObjectKeyOf(manifest.Chunks[8]);
            File.Delete(Path.Combine(store.Location, missing));

            var result = await verifier.VerifyAsync(point, None);
            Assert.False(result.IsIntact);
            Assert.Collection(result.Problems,
                p =>
                {
                    Assert.Equal(("2000", 4, 4L * TestDisks.ChunkSize, ChunkProblemKind.Tampered, tampered), (p.DiskKey, p.ChunkIndex, p.Offset, p.Kind, p.ObjectKey));
                },
                p =>
                {
                    Assert.Equal(("2000", 8, 8L * TestDisks.ChunkSize, ChunkProblemKind.Missing, missing), (p.DiskKey, p.ChunkIndex, p.Offset, p.Kind, p.ObjectKey));
                });

            // Export refuses rather than writing a wrong image.
            var ex = await Assert.ThrowsAsync<ChunkDamagedException>(() => new DiskImageWriter(chunks).ExportAsync(point, Path.Combine(folder.FolderPath, "out"), None));
            Assert.Contains(ex.Problem, new[] { ChunkProblemKind.Tampered, ChunkProblemKind.Missing });
            Assert.Empty(Directory.GetFiles(Path.Combine(folder.FolderPath, "out")));
        }

        [Fact]
        public async Task A_chunk_swapped_for_another_fails_its_tag()
        {
            var store = NewLocal();
            var disk = TestDisks.Mixed(10);
            using var chunks = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            var point = await TestDisks.WritePointAsync(chunks, "vm-1", "p1", ("d", disk));
            var a = Path.Combine(store.Location, chunks.ObjectKeyOf(point.Disks[0].Chunks[2]));
            var b = Path.Combine(store.Location, chunks.ObjectKeyOf(point.Disks[0].Chunks[3]));
            File.Copy(b, a, overwrite: true);
            var result = await new PointVerifier(chunks).VerifyAsync(point, None);
            var problem = Assert.Single(result.Problems);
            Assert.Equal((2, ChunkProblemKind.Tampered), (problem.ChunkIndex, problem.Kind));
        }

        [Fact]
        public async Task A_tampered_manifest_or_another_vaults_key_is_refused()
        {
            var store = NewLocal();
            using var chunks = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            await TestDisks.WritePointAsync(chunks, "vm-1", "p1", ("d", TestDisks.Mixed(11)));
            using var otherVault = new ChunkStore(store, TestDisks.Key(99), TestDisks.Options);
            var wrongKey = await Assert.ThrowsAsync<RecoveryPointManifestException>(() => otherVault.ReadPointAsync("vm-1", "p1", None));
            Assert.Equal("RecoveryPointManifestTampered", wrongKey.ErrorId);

            // Moving a manifest to another point's key is caught too (the key is authenticated).
            File.Copy(Path.Combine(store.Location, "points", "vm-1", "p1"), Path.Combine(store.Location, "points", "vm-1", "p2"));
            Assert.Equal("RecoveryPointManifestTampered", (await Assert.ThrowsAsync<RecoveryPointManifestException>(() => chunks.ReadPointAsync("vm-1", "p2", None))).ErrorId);
            Assert.Equal("RecoveryPointManifestNotFound", (await Assert.ThrowsAsync<RecoveryPointManifestException>(() => chunks.ReadPointAsync("vm-1", "p3", None))).ErrorId);
            Assert.Equal(new[] { ("vm-1", "p1"), ("vm-1", "p2") }, (await ToListAsync(chunks.ListPointsAsync("vm-1", None))).OrderBy(p => p.PointId));
        }

        [Fact]
        public async Task Garbage_collection_keeps_referenced_and_fresh_chunks_and_deletes_old_unreferenced_ones()
        {
            var store = NewLocal();
            using var chunks = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            var kept = await TestDisks.WritePointAsync(chunks, "vm-1", "keep", ("d", TestDisks.Mixed(12)));
            var dropped = await TestDisks.WritePointAsync(chunks, "vm-1", "drop", ("d", TestDisks.Mixed(13)));
            await chunks.DeletePointAsync("vm-1", "drop", None);
            var droppedOnly = dropped.StoredChunks.Except(kept.StoredChunks).ToList();
            Assert.Equal(7, droppedOnly.Count);
            // Age everything so that only the grace period's cutoff decides.
            foreach (var file in Directory.GetFiles(Path.Combine(store.Location, "chunks"), "*", SearchOption.AllDirectories))
            {
                File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddDays(-2));
            }
            // A cycle running now: its chunks are fresh and no point names them yet.
            var running = await chunks.WriteDiskAsync("d", new MemoryStream(TestDisks.Mixed(14)), TestDisks.Mixed(14).Length, None);

            var result = await new GarbageCollector(chunks).CollectAsync(new[] { kept }, TimeSpan.FromHours(24), None);

            Assert.Equal(7, result.ChunksDeleted);
            Assert.Equal(7, result.ChunksKeptFresh);
            foreach (var hash in droppedOnly) Assert.False(await store.ExistsAsync(chunks.ObjectKeyOf(hash), None));
            Assert.True((await new PointVerifier(chunks).VerifyAsync(kept, None)).IsIntact);
            var runningPoint = new RecoveryPointManifest("vm-2", "p1", DateTimeOffset.UtcNow, PointConsistency.CrashConsistent, new[] { running.Manifest });
            Assert.True((await new PointVerifier(chunks).VerifyAsync(runningPoint, None)).IsIntact);
        }

        [Fact]
        public async Task A_cycle_that_reuses_an_old_unreferenced_chunk_touches_it_so_collection_keeps_it()
        {
            var store = NewLocal();
            var disk = TestDisks.Mixed(15);
            using (var old = new ChunkStore(store, TestDisks.Key(), TestDisks.Options))
            {
                await old.WriteDiskAsync("d", new MemoryStream(disk), disk.Length, None); // never committed
            }
            foreach (var file in Directory.GetFiles(Path.Combine(store.Location, "chunks"), "*", SearchOption.AllDirectories))
            {
                File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddDays(-2));
            }
            using var cycle = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            var result = await cycle.WriteDiskAsync("d", new MemoryStream(disk), disk.Length, None);
            Assert.Equal(0, result.ChunksStored);

            var gc = await new GarbageCollector(cycle).CollectAsync(Array.Empty<RecoveryPointManifest>(), TimeSpan.FromHours(24), None);
            Assert.Equal(0, gc.ChunksDeleted);
            var point = new RecoveryPointManifest("vm-1", "p", DateTimeOffset.UtcNow, PointConsistency.CrashConsistent, new[] { result.Manifest });
            Assert.True((await new PointVerifier(cycle).VerifyAsync(point, None)).IsIntact);
        }

        [Fact]
        public async Task Leftover_temporary_files_of_a_crashed_put_are_never_listed_and_are_cleaned_later()
        {
            var root = Path.Combine(folder.FolderPath, "store");
            var store = new LocalFolderStore(root);
            await store.PutAsync("chunks/aa/whole", new byte[] { 1, 2, 3 }, None);
            // A put killed between write and rename leaves this behind.
            var leftover = Path.Combine(root, ".tmp", Guid.NewGuid().ToString("N") + ".part");
            File.WriteAllBytes(leftover, new byte[] { 1 });

            Assert.Equal(new[] { "chunks/aa/whole" }, (await ListAsync(store, "")).Select(o => o.Key));
            Assert.True(File.Exists(leftover)); // fresh: could be a put in progress in another process
            File.SetLastWriteTimeUtc(leftover, DateTime.UtcNow.AddHours(-2));
            new LocalFolderStore(root);
            Assert.False(File.Exists(leftover));
            Assert.Equal(new byte[] { 1, 2, 3 }, await store.GetAsync("chunks/aa/whole", None));
        }

        [Fact]
        public async Task A_store_folder_that_went_away_is_unavailable_not_empty()
        {
            var root = Path.Combine(folder.FolderPath, "gone");
            var store = new LocalFolderStore(root);
            Directory.Delete(root, recursive: true);
            var ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.PutAsync("chunks/00/x", new byte[1], None));
            Assert.Equal("ObjectStoreUnavailable", ex.ErrorId);
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.GetAsync("chunks/00/x", None));
            Assert.False(Directory.Exists(root));
        }

        [Fact]
        public async Task Writes_to_an_unreachable_blob_store_spool_and_a_later_drain_commits_the_point()
        {
            var port = ClosedPort();
            var down = BlobStore.Create(new Uri($"http://127.0.0.1:{port}/devstoreaccount1"), AzuriteLab.AccountName, AzuriteLab.AccountKey, "c", AzuriteLab.QuickOptions);
            var spoolFolder = Path.Combine(folder.FolderPath, "spool");
            var spooling = new SpoolingObjectStore(down, spoolFolder);
            var disk = TestDisks.Mixed(16);
            RecoveryPointManifest point;
            using (var chunks = new ChunkStore(spooling, TestDisks.Key(), TestDisks.Options))
            {
                var result = await chunks.WriteDiskAsync("d", new MemoryStream(disk), disk.Length, None);
                point = new RecoveryPointManifest("vm-1", "p1", DateTimeOffset.UtcNow, PointConsistency.CrashConsistent, new[] { result.Manifest });
                Assert.Equal(PointWriteOutcome.Spooled, await chunks.WritePointAsync(point, None));
            }
            Assert.True(spooling.IsSpooling);

            // The store is back (here: a local folder standing in for it).
            var store = NewLocal();
            var drained = await SpoolingObjectStore.DrainAsync(store, new LocalFolderStore(spoolFolder), None);
            Assert.True(drained.Completed);
            Assert.Equal(new[] { ("vm-1", "p1") }, drained.PointsStored);
            Assert.Equal(8, drained.ObjectsDrained);
            Assert.Empty(await ListAsync(new LocalFolderStore(spoolFolder), ""));
            var again = await SpoolingObjectStore.DrainAsync(store, new LocalFolderStore(spoolFolder), None);
            Assert.Equal(0, again.ObjectsDrained);

            using var reader = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            var read = await reader.ReadPointAsync("vm-1", "p1", None);
            Assert.True((await new PointVerifier(reader).VerifyAsync(read, None)).IsIntact);
            Assert.Equal(disk, await TestDisks.ExportAsync(reader, read.Disks[0]));
        }

        private static int ClosedPort()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            return port;
        }

        private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
        {
            var list = new List<T>();
            await foreach (var item in items) list.Add(item);
            return list;
        }

        private static int IndexOf(byte[] haystack, byte[] needle)
        {
            for (var i = 0; i + needle.Length <= haystack.Length; i++)
            {
                if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle)) return i;
            }
            return -1;
        }
    }
}
