using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Storage;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Storage
{
    /// <summary>Chunks sealed with AES-256-GCM (format 2, the default) next to chunks of format 1 (AES-CBC + HMAC) written by earlier modules.</summary>
    public sealed class ChunkSealingFormatTests : IDisposable
    {
        private static readonly CancellationToken None = CancellationToken.None;
        private readonly TemporaryFolder folder = new TemporaryFolder();

        public void Dispose() => folder.Dispose();

        private LocalFolderStore NewLocal() => new LocalFolderStore(Path.Combine(folder.FolderPath, "store"));

        private static ChunkStoreOptions Options(SealingFormat sealing) => new ChunkStoreOptions { ChunkSize = TestDisks.ChunkSize, MaxParallelism = 4, ChunkSealing = sealing };

        private static async Task<List<byte[]>> StoredChunksAsync(LocalFolderStore store)
        {
            var chunks = new List<byte[]>();
            await foreach (var item in store.ListAsync(ObjectKeys.ChunkPrefix, None)) chunks.Add(File.ReadAllBytes(Path.Combine(store.Location, item.Key)));
            return chunks;
        }

        [Fact]
        public async Task New_chunks_are_sealed_with_gcm_and_read_back_byte_for_byte_through_the_random_access_reader()
        {
            var store = NewLocal();
            var disk = TestDisks.Mixed(21);
            using var chunks = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            Assert.Equal(SealingFormat.AesGcm, chunks.Options.ChunkSealing);

            var result = await chunks.WriteDiskAsync("d", disk.Length, TestDisks.ReaderOf(disk), null, null, None);

            Assert.Equal(7, result.ChunksStored);
            var stored = await StoredChunksAsync(store);
            Assert.Equal(7, stored.Count);
            Assert.All(stored, bytes => Assert.Equal((byte)SealingFormat.AesGcm, bytes[0]));
            Assert.Equal(stored.Sum(b => (long)b.Length), result.BytesStored);
            Assert.Equal(disk, await TestDisks.ExportAsync(chunks, result.Manifest));
        }

        [Fact]
        public async Task Chunks_of_the_old_format_stay_readable_and_a_store_may_mix_both()
        {
            var store = NewLocal();
            var old = TestDisks.Mixed(22);
            var current = TestDisks.Mixed(23);
            using (var before = new ChunkStore(store, TestDisks.Key(), Options(SealingFormat.AesCbcHmacSha256)))
            {
                await TestDisks.WritePointAsync(before, "vm-1", "p1", ("2000", old));
            }
            Assert.All(await StoredChunksAsync(store), bytes => Assert.Equal((byte)SealingFormat.AesCbcHmacSha256, bytes[0]));

            using var chunks = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            await TestDisks.WritePointAsync(chunks, "vm-1", "p2", ("2000", current));
            var formats = (await StoredChunksAsync(store)).Select(b => b[0]).Distinct().OrderBy(b => b);
            Assert.Equal(new byte[] { 1, 2 }, formats);

            var p1 = await chunks.ReadPointAsync("vm-1", "p1", None);
            var p2 = await chunks.ReadPointAsync("vm-1", "p2", None);
            Assert.Equal(old, await TestDisks.ExportAsync(chunks, p1.Disks[0]));
            Assert.Equal(current, await TestDisks.ExportAsync(chunks, p2.Disks[0]));
            var verifier = new PointVerifier(chunks);
            Assert.True((await verifier.VerifyAsync(p1, None)).IsIntact);
            Assert.True((await verifier.VerifyAsync(p2, None)).IsIntact);
        }

        [Fact]
        public async Task A_tampered_gcm_chunk_is_reported_by_the_verifier_and_never_exported()
        {
            var store = NewLocal();
            var disk = TestDisks.Mixed(24);
            using var chunks = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            var point = await TestDisks.WritePointAsync(chunks, "vm-1", "p1", ("2000", disk));
            var key = chunks.ObjectKeyOf(point.Disks[0].Chunks[5]);
            var path = Path.Combine(store.Location, key);
            var bytes = File.ReadAllBytes(path);
            Assert.Equal((byte)SealingFormat.AesGcm, bytes[0]);
            bytes[bytes.Length - 1] ^= 0x40; // the tag
            File.WriteAllBytes(path, bytes);

            var result = await new PointVerifier(chunks).VerifyAsync(point, None);
            var problem = Assert.Single(result.Problems);
            Assert.Equal((5, ChunkProblemKind.Tampered, key), (problem.ChunkIndex, problem.Kind, problem.ObjectKey));
            await Assert.ThrowsAsync<ChunkDamagedException>(() => TestDisks.ExportAsync(chunks, point.Disks[0]));
        }

        [Fact]
        public async Task A_chunk_written_through_the_platform_aes_gcm_opens_with_the_managed_fallback_of_windows_powershell()
        {
            var store = NewLocal();
            var disk = TestDisks.Mixed(25);
            using var chunks = new ChunkStore(store, TestDisks.Key(), TestDisks.Options);
            var result = await chunks.WriteDiskAsync("d", disk.Length, TestDisks.ReaderOf(disk), null, null, None);
            var hash = result.Manifest.Chunks[2];

            // What ChunkStore does on .NET Framework: the same purpose and key, GCM in managed code.
            using var managed = new AuthenticatedCipher(TestDisks.Key(), "chunk", SealingFormat.AesGcm, platformAesGcm: false);
            var payload = managed.Open(new ArraySegment<byte>(File.ReadAllBytes(Path.Combine(store.Location, chunks.ObjectKeyOf(hash)))), new ArraySegment<byte>(hash.ToBytes()));
            using var codec = new ChunkPayloadCodec(ChunkCompression.Zstd, 1);
            Assert.Equal(disk.AsSpan(2 * TestDisks.ChunkSize, TestDisks.ChunkSize).ToArray(), codec.Decode(payload));

            // And the other way: a chunk sealed by the managed code is read by the store.
            var plainChunk = disk.AsSpan(2 * TestDisks.ChunkSize, TestDisks.ChunkSize).ToArray();
            var sealedByManaged = managed.Seal(codec.Encode(plainChunk, TestDisks.ChunkSize), new ArraySegment<byte>(hash.ToBytes()));
            await store.PutAsync(chunks.ObjectKeyOf(hash), sealedByManaged, None);
            Assert.Equal(plainChunk, await chunks.ReadChunkAsync(hash, TestDisks.ChunkSize, None));
        }

        [Fact]
        public async Task A_failing_read_with_reads_ahead_fails_the_write_with_its_own_error()
        {
            var disk = TestDisks.Mixed(26);
            using var chunks = new ChunkStore(NewLocal(), TestDisks.Key(), new ChunkStoreOptions { ChunkSize = TestDisks.ChunkSize, MaxParallelism = 4, ReadAhead = 3 });
            var reads = 0;
            DiskReader reader = async (offset, buffer, count, ct) =>
            {
                await Task.Yield();
                if (Interlocked.Increment(ref reads) == 4) throw new IOException("the datastore went away");
                Buffer.BlockCopy(disk, (int)offset, buffer, 0, count);
            };
            var ex = await Assert.ThrowsAsync<IOException>(() => chunks.WriteDiskAsync("d", disk.Length, reader, null, null, None));
            Assert.Equal("the datastore went away", ex.Message);
        }
    }
}
