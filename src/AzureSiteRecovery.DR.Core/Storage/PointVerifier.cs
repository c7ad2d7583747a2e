using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>One chunk of a point that cannot be read back as written.</summary>
    public sealed class ChunkProblem
    {
        internal ChunkProblem(string diskKey, int chunkIndex, long offset, int length, ChunkHash hash, string objectKey, ChunkProblemKind kind, string message)
        {
            DiskKey = diskKey;
            ChunkIndex = chunkIndex;
            Offset = offset;
            Length = length;
            Hash = hash;
            ObjectKey = objectKey;
            Kind = kind;
            Message = message;
        }

        public string DiskKey { get; }
        public int ChunkIndex { get; }
        /// <summary>Byte offset of the chunk in the disk.</summary>
        public long Offset { get; }
        public int Length { get; }
        public ChunkHash Hash { get; }
        public string ObjectKey { get; }
        public ChunkProblemKind Kind { get; }
        public string Message { get; }

        public override string ToString() => $"{DiskKey} chunk {ChunkIndex} @ {Offset}: {Kind}";
    }

    /// <summary>The result of re-reading every chunk of a point.</summary>
    public sealed class PointVerification
    {
        internal PointVerification(RecoveryPointManifest point, int chunksRead, int zeroChunks, long bytesChecked, IReadOnlyList<ChunkProblem> problems)
        {
            Point = point;
            ChunksRead = chunksRead;
            ZeroChunks = zeroChunks;
            BytesChecked = bytesChecked;
            Problems = problems;
        }

        public RecoveryPointManifest Point { get; }
        /// <summary>Distinct chunks read (a chunk named several times is read once, reported at every place).</summary>
        public int ChunksRead { get; }
        public int ZeroChunks { get; }
        /// <summary>Plain bytes checked.</summary>
        public long BytesChecked { get; }
        /// <summary>Every bad chunk reference, in disk and chunk order.</summary>
        public IReadOnlyList<ChunkProblem> Problems { get; }
        public bool IsIntact => Problems.Count == 0;
    }

    /// <summary>
    /// Test-RecoveryPoint's engine: re-reads every chunk of a point from the store and checks its
    /// tag, format, length and SHA-256. Bad or missing chunks are reported, one entry per place
    /// they are used, never repaired or skipped; an unreachable store throws
    /// <see cref="StoreUnavailableException"/> rather than reporting chunks missing.
    /// </summary>
    public sealed class PointVerifier
    {
        private readonly ChunkStore chunks;

        public PointVerifier(ChunkStore chunks)
        {
            this.chunks = chunks ?? throw new ArgumentNullException(nameof(chunks));
        }

        /// <param name="point">The point to check.</param>
        /// <param name="cancellationToken">Stops the check.</param>
        /// <param name="progress">Plain bytes checked so far.</param>
        public async Task<PointVerification> VerifyAsync(RecoveryPointManifest point, CancellationToken cancellationToken, IProgress<long>? progress = null)
        {
            // Each distinct chunk once, with the length its first use expects (all uses of one hash have one length, or the hash would differ).
            var uses = new Dictionary<ChunkHash, List<(DiskManifest Disk, int Index)>>();
            var zeroChunks = 0;
            foreach (var disk in point.Disks)
            {
                for (var i = 0; i < disk.Chunks.Count; i++)
                {
                    var hash = disk.Chunks[i];
                    if (hash.IsZero)
                    {
                        zeroChunks++;
                        continue;
                    }
                    if (!uses.TryGetValue(hash, out var list)) uses[hash] = list = new List<(DiskManifest, int)>();
                    list.Add((disk, i));
                }
            }

            var problems = new List<ChunkProblem>();
            long bytesChecked = 0;
            var gate = new object();
            await BoundedParallel.ForEachAsync(uses, Math.Max(2, chunks.Options.MaxParallelism), async (entry, ct) =>
            {
                var (firstDisk, firstIndex) = entry.Value[0];
                var length = firstDisk.LengthOf(firstIndex);
                try
                {
                    await chunks.ReadChunkAsync(entry.Key, length, ct).ConfigureAwait(false);
                    var checkedSoFar = Interlocked.Add(ref bytesChecked, length);
                    progress?.Report(checkedSoFar);
                }
                catch (ChunkDamagedException ex)
                {
                    lock (gate)
                    {
                        foreach (var (disk, index) in entry.Value)
                        {
                            problems.Add(new ChunkProblem(disk.DiskKey, index, disk.OffsetOf(index), disk.LengthOf(index), entry.Key, ex.ObjectKey, ex.Problem, ex.Message));
                        }
                    }
                }
            }, cancellationToken).ConfigureAwait(false);

            var diskOrder = point.Disks.Select((d, i) => (d.DiskKey, i)).ToDictionary(x => x.DiskKey, x => x.i);
            var ordered = problems.OrderBy(p => diskOrder[p.DiskKey]).ThenBy(p => p.ChunkIndex).ToList();
            return new PointVerification(point, uses.Count, zeroChunks, bytesChecked, ordered);
        }
    }
}
