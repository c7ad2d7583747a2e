using System;
using System.Collections.Generic;
using System.Linq;

using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>
    /// One disk at one recovery point: its capacity and the ordered chunks that make it. Chunk i
    /// covers bytes [i·ChunkSize, min((i+1)·ChunkSize, Capacity)); a <see cref="ChunkHash.Zero"/>
    /// entry is all zeros and has no object. Hashes are SHA-256 of the chunk's plain content.
    /// </summary>
    public sealed class DiskManifest
    {
        public DiskManifest(string diskKey, long capacity, int chunkSize, IReadOnlyList<ChunkHash> chunks)
        {
            ObjectKeys.ValidateId(diskKey, "disk key");
            if (capacity < 0) throw new ArgumentOutOfRangeException(nameof(capacity), "A disk capacity cannot be negative.");
            if (chunkSize <= 0) throw new ArgumentOutOfRangeException(nameof(chunkSize), "A chunk size must be positive.");
            if (chunks.Count != CountFor(capacity, chunkSize))
            {
                throw new ArgumentException($"A disk of {capacity} bytes in chunks of {chunkSize} has {CountFor(capacity, chunkSize)} chunks, not {chunks.Count}.", nameof(chunks));
            }
            DiskKey = diskKey;
            Capacity = capacity;
            ChunkSize = chunkSize;
            Chunks = chunks;
        }

        /// <summary>Which disk of the VM (e.g. the vSphere device key or disk UUID); also the file name on export.</summary>
        public string DiskKey { get; }

        public long Capacity { get; }

        public int ChunkSize { get; }

        public IReadOnlyList<ChunkHash> Chunks { get; }

        /// <summary>The distinct stored chunks (no zero marker).</summary>
        public IEnumerable<ChunkHash> StoredChunks => Chunks.Where(h => !h.IsZero).Distinct();

        public long OffsetOf(int index) => (long)index * ChunkSize;

        public int LengthOf(int index) => (int)Math.Min(ChunkSize, Capacity - OffsetOf(index));

        public static int CountFor(long capacity, int chunkSize)
        {
            var count = (capacity + chunkSize - 1) / chunkSize;
            if (count > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(capacity), "The disk has too many chunks for this chunk size.");
            return (int)count;
        }
    }

    /// <summary>A recovery point as the chunk store keeps it: the manifests of every disk of one VM at one time.</summary>
    public sealed class RecoveryPointManifest
    {
        public RecoveryPointManifest(string vmId, string pointId, DateTimeOffset created, PointConsistency consistency, IReadOnlyList<DiskManifest> disks)
        {
            ObjectKeys.ValidateId(vmId, "VM id");
            ObjectKeys.ValidateId(pointId, "recovery point id");
            if (disks.Select(d => d.DiskKey).Distinct(StringComparer.OrdinalIgnoreCase).Count() != disks.Count)
            {
                throw new ArgumentException("Two disks of a recovery point have the same disk key.", nameof(disks));
            }
            VmId = vmId;
            PointId = pointId;
            Created = created;
            Consistency = consistency;
            Disks = disks;
        }

        public string VmId { get; }
        public string PointId { get; }
        public DateTimeOffset Created { get; }
        public PointConsistency Consistency { get; }
        public IReadOnlyList<DiskManifest> Disks { get; }

        /// <summary>The object key of this manifest in the store.</summary>
        public string ObjectKey => ObjectKeys.Point(VmId, PointId);

        public IEnumerable<ChunkHash> StoredChunks => Disks.SelectMany(d => d.Chunks).Where(h => !h.IsZero).Distinct();
    }
}
