using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Secrets;

using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>Reads <paramref name="count"/> bytes of a disk at <paramref name="offset"/> into the start of <paramref name="buffer"/> (all of them, or throws).</summary>
    public delegate Task DiskReader(long offset, byte[] buffer, int count, CancellationToken cancellationToken);

    public sealed class ChunkStoreOptions
    {
        public const int DefaultChunkSize = 4 << 20;

        /// <summary>Fixed chunk size, a power of two from 64 KiB to 64 MiB; 4 MiB by default (tests/bench/storage/RESULTS.md).</summary>
        public int ChunkSize { get; set; } = DefaultChunkSize;

        /// <summary>Zstd level 1 by default (tests/bench/storage/RESULTS.md).</summary>
        public ChunkCompression Compression { get; set; } = ChunkCompression.Zstd;

        public int CompressionLevel { get; set; } = 1;

        /// <summary>Chunks read, hashed, compressed, sealed and uploaded at once; also bounds the memory of a write (≈ 2 chunks each).</summary>
        public int MaxParallelism { get; set; } = Math.Max(4, Environment.ProcessorCount * 2);

        /// <summary>Reads of a random-access source in flight at once (a stream source is read one chunk at a time): the next chunk downloads while others are compressed.</summary>
        public int ReadAhead { get; set; } = 2;

        /// <summary>
        /// How new chunks are sealed; chunks of either format are always read. AES-256-GCM where the runtime has it
        /// (PowerShell 7: ~3.4 GiB/s against ~250 MiB/s for CBC + HMAC); Windows PowerShell 5.1 keeps writing CBC + HMAC,
        /// as before, until the managed GCM is measured there (tests/bench/storage/RESULTS.md, section 5).
        /// </summary>
        public SealingFormat ChunkSealing { get; set; } = AesGcmCore.IsPlatformAvailable ? SealingFormat.AesGcm : SealingFormat.AesCbcHmacSha256;
    }

    /// <summary>What one disk write did.</summary>
    public sealed class DiskWriteResult
    {
        internal DiskWriteResult(DiskManifest manifest, long bytesRead, int chunksRead, int zeroChunks, int chunksStored, int chunksAlreadyStored, long bytesStored)
        {
            Manifest = manifest;
            BytesRead = bytesRead;
            ChunksRead = chunksRead;
            ZeroChunks = zeroChunks;
            ChunksStored = chunksStored;
            ChunksAlreadyStored = chunksAlreadyStored;
            BytesStored = bytesStored;
        }

        public DiskManifest Manifest { get; }
        /// <summary>Bytes read from the source (only changed chunks on an incremental write).</summary>
        public long BytesRead { get; }
        public int ChunksRead { get; }
        public int ZeroChunks { get; }
        /// <summary>Chunks uploaded by this write.</summary>
        public int ChunksStored { get; }
        /// <summary>Chunks read that the store already had (deduplicated).</summary>
        public int ChunksAlreadyStored { get; }
        /// <summary>Bytes uploaded (compressed and sealed).</summary>
        public long BytesStored { get; }
    }

    /// <summary>Where the manifest of a point ended up.</summary>
    public enum PointWriteOutcome
    {
        /// <summary>In the object store, after all its chunks: the point can be committed in the vault.</summary>
        Stored,
        /// <summary>In the local spool with (some of) its chunks, because the store was unreachable: commit it when a drain reports it stored.</summary>
        Spooled,
    }

    /// <summary>
    /// Disks as content-addressed chunks in an <see cref="IObjectStore"/>. A disk is cut into
    /// fixed-size chunks aligned to the disk; all-zero chunks are not stored; every other chunk is
    /// named by its SHA-256, compressed, sealed with <see cref="AuthenticatedCipher"/> (purpose
    /// "chunk", the hash as associated data, so a chunk swapped for another fails its tag) and put
    /// once. Object names are HMAC-SHA256(vault-derived key, SHA-256): the same across all VMs of
    /// the vault, so dedup works, but anyone who can list the store cannot test whether it holds
    /// a known file's chunk. The key never goes into the store. Recovery point manifests are
    /// sealed (purpose "recovery-point", the object key as associated data).
    /// One instance per replication cycle: it remembers the chunks it put or found, so each is
    /// checked (and touched, for garbage collection) once per cycle. Thread-safe.
    /// </summary>
    public sealed partial class ChunkStore : IDisposable
    {
        private const string ChunkPurpose = "chunk";
        private const string PointPurpose = "recovery-point";

        private readonly AuthenticatedCipher chunkCipher;
        private readonly AuthenticatedCipher pointCipher;
        private readonly AuthenticatedCipher resumeCipher;
        private readonly byte[] nameKey;
        private readonly ChunkPayloadCodec codec;
        private readonly ConcurrentDictionary<ChunkHash, Task> known = new ConcurrentDictionary<ChunkHash, Task>();

        /// <param name="store">Where chunks and manifests go.</param>
        /// <param name="masterKey">The vault's 32-byte master key; only keys derived from it are kept.</param>
        /// <param name="options">Chunk size, compression, parallelism; the defaults are the benchmarked choice.</param>
        public ChunkStore(IObjectStore store, byte[] masterKey, ChunkStoreOptions? options = null)
        {
            Store = store ?? throw new ArgumentNullException(nameof(store));
            Options = options ?? new ChunkStoreOptions();
            var size = Options.ChunkSize;
            if (size < 64 << 10 || size > 64 << 20 || (size & (size - 1)) != 0)
            {
                throw new ArgumentOutOfRangeException(nameof(options), "The chunk size must be a power of two from 64 KiB to 64 MiB.");
            }
            chunkCipher = new AuthenticatedCipher(masterKey, ChunkPurpose, Options.ChunkSealing);
            pointCipher = new AuthenticatedCipher(masterKey, PointPurpose);
            resumeCipher = new AuthenticatedCipher(masterKey, ResumePurpose);
            nameKey = AuthenticatedCipher.DeriveKey(masterKey, "chunk-name", "identifier");
            codec = new ChunkPayloadCodec(Options.Compression, Options.CompressionLevel);
        }

        public IObjectStore Store { get; }

        public ChunkStoreOptions Options { get; }

        /// <summary>The object key of the chunk with this plain SHA-256.</summary>
        public string ObjectKeyOf(ChunkHash hash) => ObjectKeys.Chunk(NameOf(hash).ToString());

        /// <summary>The keyed name of a chunk (the last segment of its object key).</summary>
        public ChunkHash NameOf(ChunkHash hash)
        {
            using var hmac = new HMACSHA256(nameKey);
            return ChunkHash.FromBytes(hmac.ComputeHash(hash.ToBytes()));
        }

        /// <summary>A full write: reads <paramref name="source"/> from its current position to <paramref name="capacity"/> bytes, sequentially.</summary>
        public Task<DiskWriteResult> WriteDiskAsync(string diskKey, Stream source, long capacity, CancellationToken cancellationToken, IProgress<long>? progress = null)
        {
            if (source is null) throw new ArgumentNullException(nameof(source));
            long position = 0;
            async Task ReadNext(long offset, byte[] buffer, int count, CancellationToken ct)
            {
                if (offset != position) throw new InvalidOperationException("A stream source is read in order.");
                var read = 0;
                while (read < count)
                {
                    var n = await source.ReadAsync(buffer, read, count - read, ct).ConfigureAwait(false);
                    if (n == 0) throw new EndOfStreamException($"The source of disk '{diskKey}' ended at byte {offset + read}, before its capacity of {capacity} bytes.");
                    read += n;
                }
                position += count;
            }
            return WriteCoreAsync(diskKey, capacity, ReadNext, sequential: true, null, null, progress, null, cancellationToken);
        }

        /// <summary>
        /// Writes a disk through a random-access reader. With <paramref name="previous"/> and
        /// <paramref name="changed"/> (CBT), only chunks that overlap a changed extent (or whose
        /// length changed with the capacity) are read; the others are taken from
        /// <paramref name="previous"/>, which must stay live (retention keeps each VM's latest
        /// point) until the new point is committed. Without them every chunk is read.
        /// <paramref name="checkpoint"/>, when given, learns each chunk as it is stored, so a write that fails
        /// leaves a record of what the next one need not read again (<see cref="ResumeRecord"/>).
        /// </summary>
        public Task<DiskWriteResult> WriteDiskAsync(string diskKey, long capacity, DiskReader reader, DiskManifest? previous, IReadOnlyList<DiskExtent>? changed,
            CancellationToken cancellationToken, IProgress<long>? progress = null, DiskWriteCheckpoint? checkpoint = null)
        {
            if (reader is null) throw new ArgumentNullException(nameof(reader));
            if ((previous is null) != (changed is null)) throw new ArgumentException("An incremental write needs both the previous manifest and the changed extents.");
            if (previous != null && previous.ChunkSize != Options.ChunkSize)
            {
                // Another chunk size cannot reuse chunks: read everything.
                previous = null;
                changed = null;
            }
            return WriteCoreAsync(diskKey, capacity, reader, sequential: false, previous, changed, progress, checkpoint, cancellationToken);
        }

        private async Task<DiskWriteResult> WriteCoreAsync(string diskKey, long capacity, DiskReader reader, bool sequential, DiskManifest? previous, IReadOnlyList<DiskExtent>? changed,
            IProgress<long>? progress, DiskWriteCheckpoint? checkpoint, CancellationToken cancellationToken)
        {
            ObjectKeys.ValidateId(diskKey, "disk key");
            var chunkSize = Options.ChunkSize;
            var count = DiskManifest.CountFor(capacity, chunkSize);
            var hashes = new ChunkHash[count];
            var toRead = new bool[count];
            if (previous is null || changed is null)
            {
                for (var i = 0; i < count; i++) toRead[i] = true;
            }
            else
            {
                for (var i = 0; i < count; i++)
                {
                    var reusable = i < previous.Chunks.Count && previous.LengthOf(i) == (int)Math.Min(chunkSize, capacity - (long)i * chunkSize);
                    if (reusable) hashes[i] = previous.Chunks[i]; else toRead[i] = true;
                }
                foreach (var extent in changed)
                {
                    if (extent.Length == 0) continue;
                    var first = extent.Offset / chunkSize;
                    var last = Math.Min(count - 1, (extent.Offset + extent.Length - 1) / chunkSize);
                    for (var i = first; i <= last; i++) toRead[i] = true;
                }
            }

            checkpoint?.Begin(diskKey, capacity, chunkSize, hashes, toRead);
            var stats = new WriteCounters();
            var parallelism = Math.Max(1, Options.MaxParallelism);
            using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            // One buffer per chunk in flight (being read or processed): bounded memory whatever the disk size.
            using var slots = new SemaphoreSlim(parallelism);
            // Reads start in chunk order; up to ReadAhead at once, so downloads overlap the CPU work of earlier chunks.
            using var reads = new SemaphoreSlim(sequential ? 1 : Math.Max(1, Math.Min(Options.ReadAhead, parallelism)));
            var running = new List<Task>();
            try
            {
                for (var i = 0; i < count; i++)
                {
                    if (!toRead[i]) continue;
                    await slots.WaitAsync(failed.Token).ConfigureAwait(false);
                    try
                    {
                        await reads.WaitAsync(failed.Token).ConfigureAwait(false);
                    }
                    catch
                    {
                        slots.Release();
                        throw;
                    }
                    var index = i;
                    var offset = (long)index * chunkSize;
                    var length = (int)Math.Min(chunkSize, capacity - offset);
                    running.Add(Task.Run(async () =>
                    {
                        var buffer = ArrayPool<byte>.Shared.Rent(length);
                        try
                        {
                            try
                            {
                                await reader(offset, buffer, length, failed.Token).ConfigureAwait(false);
                            }
                            finally
                            {
                                reads.Release();
                            }
                            hashes[index] = await PutChunkAsync(buffer, length, stats, failed.Token).ConfigureAwait(false);
                            checkpoint?.Stored(index, hashes[index], length);
                            var bytesRead = Interlocked.Add(ref stats.BytesRead, length);
                            progress?.Report(bytesRead);
                        }
                        catch
                        {
                            failed.Cancel();
                            throw;
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(buffer);
                            slots.Release();
                        }
                    }));
                    if (running.Count >= 4 * parallelism) running.RemoveAll(t => t.IsCompleted && t.Status == TaskStatus.RanToCompletion);
                }
            }
            catch (OperationCanceledException) when (failed.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // A worker failed; its exception is thrown below.
            }
            catch
            {
                failed.Cancel();
                await Task.WhenAll(running.ToArray()).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
                throw;
            }
            await Task.WhenAll(running).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();

            var manifest = new DiskManifest(diskKey, capacity, chunkSize, hashes);
            return new DiskWriteResult(manifest, stats.BytesRead, stats.ChunksRead, stats.ZeroChunks, stats.ChunksStored, stats.ChunksAlreadyStored, stats.BytesStored);
        }

        private async Task<ChunkHash> PutChunkAsync(byte[] buffer, int length, WriteCounters stats, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref stats.ChunksRead);
            var hash = HashOf(buffer, length);
            if (hash.IsZero)
            {
                Interlocked.Increment(ref stats.ZeroChunks);
                return ChunkHash.Zero;
            }

            var mine = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var existing = known.GetOrAdd(hash, mine.Task);
            if (existing != mine.Task)
            {
                // Put (or being put) by this cycle already: wait for that, so the manifest never names a chunk still in flight.
                await existing.ConfigureAwait(false);
                Interlocked.Increment(ref stats.ChunksAlreadyStored);
                return hash;
            }
            try
            {
                var key = ObjectKeyOf(hash);
                // Touch, not Exists: a chunk this point will name must look fresh to a concurrent garbage collection.
                if (await Store.TouchAsync(key, cancellationToken).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref stats.ChunksAlreadyStored);
                }
                else
                {
                    var sealedChunk = ArrayPool<byte>.Shared.Rent(MaxSealedLength(length));
                    try
                    {
                        var sealedLength = SealInto(hash, buffer, length, sealedChunk);
                        await Store.PutAsync(key, new ReadOnlyMemory<byte>(sealedChunk, 0, sealedLength), cancellationToken).ConfigureAwait(false);
                        Interlocked.Increment(ref stats.ChunksStored);
                        Interlocked.Add(ref stats.BytesStored, sealedLength);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(sealedChunk);
                    }
                }
                mine.SetResult(true);
                return hash;
            }
            catch (Exception ex)
            {
                known.TryRemove(hash, out _);
                if (ex is OperationCanceledException) mine.TrySetCanceled(); else mine.TrySetException(ex);
                _ = mine.Task.Exception; // observed: only waiters care
                throw;
            }
        }

        /// <summary>The sealed object for a chunk (exposed for tests and tools that write chunks directly).</summary>
        internal byte[] Seal(ChunkHash hash, byte[] plain, int length)
        {
            var sealedChunk = new byte[MaxSealedLength(length)];
            var sealedLength = SealInto(hash, plain, length, sealedChunk);
            Array.Resize(ref sealedChunk, sealedLength);
            return sealedChunk;
        }

        private static int MaxSealedLength(int length) => Math.Max(AuthenticatedCipher.GcmOverhead + ChunkPayloadCodec.MaxEncodedLength(length), AuthenticatedCipher.SealedLength(ChunkPayloadCodec.MaxEncodedLength(length)));

        // GCM: the payload is compressed straight into its place in the sealed object and encrypted there, with no copy.
        private int SealInto(ChunkHash hash, byte[] plain, int length, byte[] destination)
        {
            var associatedData = hash.ToBytes();
            if (chunkCipher.Format == SealingFormat.AesGcm)
            {
                var payloadLength = codec.EncodeInto(plain, length, new Span<byte>(destination, AuthenticatedCipher.GcmHeaderLength, destination.Length - AuthenticatedCipher.GcmHeaderLength));
                return chunkCipher.SealGcm(new ReadOnlySpan<byte>(destination, AuthenticatedCipher.GcmHeaderLength, payloadLength), associatedData, destination);
            }
            var sealedChunk = chunkCipher.Seal(codec.Encode(plain, length), new ArraySegment<byte>(associatedData));
            Buffer.BlockCopy(sealedChunk, 0, destination, 0, sealedChunk.Length);
            return sealedChunk.Length;
        }

        /// <summary>
        /// The plain content of a chunk, checked: tag (<see cref="ChunkProblemKind.Tampered"/>),
        /// format, length and SHA-256. Throws <see cref="ChunkDamagedException"/> for a missing or
        /// bad chunk and <see cref="StoreUnavailableException"/> when the store cannot be reached.
        /// </summary>
        public async Task<byte[]> ReadChunkAsync(ChunkHash hash, int expectedLength, CancellationToken cancellationToken)
        {
            if (hash.IsZero) return new byte[expectedLength];
            var key = ObjectKeyOf(hash);
            byte[] sealedChunk;
            try
            {
                sealedChunk = await Store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            }
            catch (StoreObjectNotFoundException ex)
            {
                throw new ChunkDamagedException(hash, key, ChunkProblemKind.Missing, $"Chunk {hash} (object '{key}') is missing from the store '{Store.Location}'.", ex);
            }
            return Open(hash, key, sealedChunk, expectedLength);
        }

        private byte[] Open(ChunkHash hash, string key, byte[] sealedChunk, int expectedLength)
        {
            byte[] payload;
            try
            {
                payload = chunkCipher.Open(new ArraySegment<byte>(sealedChunk), new ArraySegment<byte>(hash.ToBytes()));
            }
            catch (TamperedDataException ex)
            {
                throw new ChunkDamagedException(hash, key, ChunkProblemKind.Tampered,
                    $"Chunk {hash} (object '{key}') failed its authentication check: it was changed, damaged or replaced. {ex.Message}", ex);
            }
            byte[] plain;
            try
            {
                plain = codec.Decode(payload);
            }
            catch (InvalidDataException ex)
            {
                throw new ChunkDamagedException(hash, key, ChunkProblemKind.Malformed, $"Chunk {hash} (object '{key}') is malformed: {ex.Message}", ex);
            }
            if (plain.Length != expectedLength)
            {
                throw new ChunkDamagedException(hash, key, ChunkProblemKind.Malformed, $"Chunk {hash} (object '{key}') holds {plain.Length} bytes where the manifest expects {expectedLength}.");
            }
            using (var sha = SHA256.Create())
            {
                if (ChunkHash.FromBytes(sha.ComputeHash(plain)) != hash)
                {
                    throw new ChunkDamagedException(hash, key, ChunkProblemKind.HashMismatch, $"Chunk {hash} (object '{key}') does not have the SHA-256 its name says.");
                }
            }
            return plain;
        }

        /// <summary>
        /// Seals and stores a point's manifest. Call it only after every disk write of the point
        /// returned (its chunks are durable). Through a <see cref="SpoolingObjectStore"/> that has
        /// spooled anything, the manifest is spooled too, after its chunks.
        /// </summary>
        public async Task<PointWriteOutcome> WritePointAsync(RecoveryPointManifest point, CancellationToken cancellationToken)
        {
            var key = point.ObjectKey;
            var sealedPoint = pointCipher.Seal(new ArraySegment<byte>(ManifestFormat.Write(point)), new ArraySegment<byte>(Encoding.UTF8.GetBytes(key)));
            if (Store is SpoolingObjectStore spooling)
            {
                return await spooling.PutReportingAsync(key, sealedPoint, cancellationToken).ConfigureAwait(false) ? PointWriteOutcome.Spooled : PointWriteOutcome.Stored;
            }
            await Store.PutAsync(key, sealedPoint, cancellationToken).ConfigureAwait(false);
            return PointWriteOutcome.Stored;
        }

        /// <summary>Reads and opens a point's manifest; <see cref="RecoveryPointManifestException"/> when it is missing, tampered or unreadable.</summary>
        public async Task<RecoveryPointManifest> ReadPointAsync(string vmId, string pointId, CancellationToken cancellationToken)
        {
            var key = ObjectKeys.Point(vmId, pointId);
            byte[] sealedPoint;
            try
            {
                sealedPoint = await Store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            }
            catch (StoreObjectNotFoundException ex)
            {
                throw new RecoveryPointManifestException("RecoveryPointManifestNotFound", FailureKind.NotFound, key,
                    $"The store '{Store.Location}' has no manifest for recovery point '{pointId}' of VM '{vmId}'.", ex);
            }
            byte[] plain;
            try
            {
                plain = pointCipher.Open(new ArraySegment<byte>(sealedPoint), new ArraySegment<byte>(Encoding.UTF8.GetBytes(key)));
            }
            catch (TamperedDataException ex)
            {
                throw new RecoveryPointManifestException("RecoveryPointManifestTampered", FailureKind.Security, key,
                    $"The manifest of recovery point '{pointId}' of VM '{vmId}' failed its authentication check: it was changed, damaged, or sealed with another vault's key.", ex);
            }
            try
            {
                var point = ManifestFormat.Read(plain);
                if (point.VmId != vmId || point.PointId != pointId) throw new InvalidDataException($"It describes point '{point.PointId}' of VM '{point.VmId}'.");
                return point;
            }
            catch (InvalidDataException ex)
            {
                throw new RecoveryPointManifestException("RecoveryPointManifestUnreadable", FailureKind.InvalidData, key,
                    $"The manifest of recovery point '{pointId}' of VM '{vmId}' cannot be read: {ex.Message}", ex);
            }
        }

        /// <summary>The (VM id, point id) of every manifest in the store, for one VM or all.</summary>
        public async IAsyncEnumerable<(string VmId, string PointId)> ListPointsAsync(string? vmId, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var item in Store.ListAsync(ObjectKeys.PointsOf(vmId), cancellationToken).ConfigureAwait(false))
            {
                var parts = item.Key.Split('/');
                if (parts.Length == 3) yield return (parts[1], parts[2]);
            }
        }

        /// <summary>Deletes a point's manifest (retention); its chunks go at the next garbage collection. False when there was none.</summary>
        public Task<bool> DeletePointAsync(string vmId, string pointId, CancellationToken cancellationToken) =>
            Store.DeleteAsync(ObjectKeys.Point(vmId, pointId), cancellationToken);

        public void Dispose()
        {
            chunkCipher.Dispose();
            pointCipher.Dispose();
            resumeCipher.Dispose();
            codec.Dispose();
            Array.Clear(nameKey, 0, nameKey.Length);
        }

        /// <summary>What a manifest names a chunk of this content by: SHA-256 of the plain bytes, or <see cref="ChunkHash.Zero"/> when they are all zeros.</summary>
        public static ChunkHash HashOf(byte[] buffer, int length)
        {
            if (IsAllZero(buffer, length)) return ChunkHash.Zero;
            using var sha = SHA256.Create();
            return ChunkHash.FromBytes(sha.ComputeHash(buffer, 0, length));
        }

        internal static bool IsAllZero(byte[] buffer, int length)
        {
            var span = new ReadOnlySpan<byte>(buffer, 0, length);
            var words = MemoryMarshal.Cast<byte, ulong>(span);
            for (var i = 0; i < words.Length; i++)
            {
                if (words[i] != 0) return false;
            }
            for (var i = words.Length * 8; i < length; i++)
            {
                if (buffer[i] != 0) return false;
            }
            return true;
        }

        private sealed class WriteCounters
        {
            public long BytesRead;
            public int ChunksRead;
            public int ZeroChunks;
            public int ChunksStored;
            public int ChunksAlreadyStored;
            public long BytesStored;
        }
    }
}
