using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>What one garbage collection did.</summary>
    public sealed class GarbageCollectionResult
    {
        internal GarbageCollectionResult(int chunksReferenced, int chunksListed, int chunksKeptFresh, int chunksDeleted, long bytesDeleted, long bytesKept)
        {
            ChunksReferenced = chunksReferenced;
            ChunksListed = chunksListed;
            ChunksKeptFresh = chunksKeptFresh;
            ChunksDeleted = chunksDeleted;
            BytesDeleted = bytesDeleted;
            BytesKept = bytesKept;
        }

        /// <summary>Distinct chunks the live points and the resume records name.</summary>
        public int ChunksReferenced { get; }
        public int ChunksListed { get; }
        /// <summary>Unreferenced chunks kept because they are newer than the grace cutoff (a running cycle's).</summary>
        public int ChunksKeptFresh { get; }
        public int ChunksDeleted { get; }
        public long BytesDeleted { get; }
        public long BytesKept { get; }
        /// <summary>Manifests deleted because the vault names no such point (a cycle that lost a race with Disable-VmProtection -RemoveData, or crashed before its commit).</summary>
        public int ManifestsDeleted { get; internal set; }
    }

    /// <summary>
    /// Mark and sweep: marks the chunks the live points and the resume records name, then deletes every other chunk
    /// last modified before the cutoff. Safe while a cycle runs, because a cycle puts or touches
    /// (<see cref="IObjectStore.TouchAsync"/>) every chunk its new point will name, and a chunk is
    /// deleted only if it is still the version listed (<see cref="IObjectStore.DeleteIfUnchangedAsync"/>):
    /// a touch before the delete keeps the chunk, a touch after it finds nothing and puts it again.
    /// The grace period must exceed the longest cycle (from its first put to its commit), and the
    /// chunks an incremental cycle reuses from the previous point must stay referenced: retention
    /// keeps each VM's latest point.
    /// </summary>
    public sealed class GarbageCollector
    {
        private readonly ChunkStore chunks;

        public GarbageCollector(ChunkStore chunks)
        {
            this.chunks = chunks ?? throw new ArgumentNullException(nameof(chunks));
        }

        /// <summary>Default grace period: far longer than any cycle.</summary>
        public static TimeSpan DefaultGracePeriod => TimeSpan.FromHours(24);

        public Task<GarbageCollectionResult> CollectAsync(IEnumerable<RecoveryPointManifest> livePoints, TimeSpan gracePeriod, CancellationToken cancellationToken) =>
            CollectAsync(livePoints, DateTimeOffset.UtcNow - gracePeriod, cancellationToken);

        /// <summary>
        /// Deletes point manifests that are not in <paramref name="livePoints"/> (the vault's points)
        /// and were last modified before <paramref name="modifiedBefore"/>; returns how many. A cycle
        /// writes its manifest before it records the point in the vault, so a young manifest is kept:
        /// the grace period covers the cycle's commit, as it does for chunks.
        /// </summary>
        public async Task<int> CollectManifestsAsync(IEnumerable<(string VmId, string PointId)> livePoints, DateTimeOffset modifiedBefore, CancellationToken cancellationToken)
        {
            var live = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (vmId, pointId) in livePoints)
            {
                live.Add(ObjectKeys.Point(vmId, pointId));
            }

            var orphans = new List<StoredObject>();
            await foreach (var item in chunks.Store.ListAsync(ObjectKeys.PointPrefix, cancellationToken).ConfigureAwait(false))
            {
                if (!live.Contains(item.Key) && item.LastModified < modifiedBefore) orphans.Add(item);
            }

            var deleted = 0;
            foreach (var item in orphans)
            {
                if (await chunks.Store.DeleteIfUnchangedAsync(item, cancellationToken).ConfigureAwait(false)) deleted++;
            }
            return deleted;
        }

        /// <summary>Deletes chunks that no point in <paramref name="livePoints"/> names and that were last modified before <paramref name="modifiedBefore"/>.</summary>
        public async Task<GarbageCollectionResult> CollectAsync(IEnumerable<RecoveryPointManifest> livePoints, DateTimeOffset modifiedBefore, CancellationToken cancellationToken)
        {
            // Marks by object name (the keyed hash), which is what a listing shows.
            var marked = new HashSet<ChunkHash>();
            foreach (var point in livePoints)
            {
                foreach (var disk in point.Disks)
                {
                    foreach (var hash in disk.Chunks)
                    {
                        if (!hash.IsZero) marked.Add(chunks.NameOf(hash));
                    }
                }
            }
            // An interrupted cycle's chunks are named by no point yet; its resume record is what the next cycle starts from.
            foreach (var record in await chunks.ListResumesAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var hash in record.StoredChunks)
                {
                    marked.Add(chunks.NameOf(hash));
                }
            }

            int listed = 0, fresh = 0, deleted = 0;
            long bytesDeleted = 0, bytesKept = 0;
            var candidates = new List<StoredObject>();
            await foreach (var item in chunks.Store.ListAsync(ObjectKeys.ChunkPrefix, cancellationToken).ConfigureAwait(false))
            {
                listed++;
                var name = item.Key.Substring(item.Key.LastIndexOf('/') + 1);
                // Anything that is not a chunk name is not ours to delete.
                if (!ChunkHash.TryParse(name, out var hash) || marked.Contains(hash))
                {
                    bytesKept += item.Size;
                    continue;
                }
                if (item.LastModified >= modifiedBefore)
                {
                    fresh++;
                    bytesKept += item.Size;
                    continue;
                }
                candidates.Add(item);
            }

            var gate = new object();
            await BoundedParallel.ForEachAsync(candidates, 8, async (item, ct) =>
            {
                var gone = await chunks.Store.DeleteIfUnchangedAsync(item, ct).ConfigureAwait(false);
                lock (gate)
                {
                    if (gone)
                    {
                        deleted++;
                        bytesDeleted += item.Size;
                    }
                    else
                    {
                        fresh++;
                        bytesKept += item.Size;
                    }
                }
            }, cancellationToken).ConfigureAwait(false);

            return new GarbageCollectionResult(marked.Count, listed, fresh, deleted, bytesDeleted, bytesKept);
        }
    }
}
