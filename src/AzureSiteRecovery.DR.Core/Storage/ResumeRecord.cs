using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>
    /// What a cycle that did not commit had stored, so the next cycle goes on from there instead of
    /// reading the disks again: the point it built on and, per disk, the chunks as of its snapshot
    /// (named by the snapshot's CBT change id) and the extents it had still to read. Kept in the
    /// chunk store (<see cref="ObjectKeys.Resume"/>), sealed like a manifest, one per VM.
    /// </summary>
    public sealed class ResumeRecord
    {
        public ResumeRecord(string vmId, string? basePointId, DateTimeOffset written, IReadOnlyList<ResumeDisk> disks)
        {
            ObjectKeys.ValidateId(vmId, "VM id");
            if (basePointId != null) ObjectKeys.ValidateId(basePointId, "recovery point id");
            if (disks.Select(d => d.Chunks.DiskKey).Distinct(StringComparer.OrdinalIgnoreCase).Count() != disks.Count)
            {
                throw new ArgumentException("Two disks of a resume record have the same disk key.", nameof(disks));
            }
            VmId = vmId;
            BasePointId = basePointId;
            Written = written;
            Disks = disks;
        }

        public string VmId { get; }

        /// <summary>The VM's last point when the interrupted cycle began (null: its first copy); the record is used only while it still is.</summary>
        public string? BasePointId { get; }

        public DateTimeOffset Written { get; }

        public IReadOnlyList<ResumeDisk> Disks { get; }

        public string ObjectKey => ObjectKeys.Resume(VmId);

        /// <summary>Every stored chunk the record names (garbage collection keeps them).</summary>
        public IEnumerable<ChunkHash> StoredChunks => Disks.SelectMany(d => d.Chunks.Chunks).Where(h => !h.IsZero).Distinct();
    }

    /// <summary>One disk of a <see cref="ResumeRecord"/>.</summary>
    public sealed class ResumeDisk
    {
        /// <param name="chunks">The disk as of the interrupted cycle's snapshot, except the chunks under <paramref name="pending"/> (not read yet: their entries mean nothing).</param>
        /// <param name="changeId">The CBT change id of that snapshot's disk: the next cycle reads what changed since.</param>
        /// <param name="mode">How the interrupted cycle found its changed areas (Full, ChangedBlockTracking, Digest).</param>
        /// <param name="bytesDone">Bytes the interrupted cycle(s) read and stored.</param>
        /// <param name="pending">The extents still to read, in order.</param>
        public ResumeDisk(DiskManifest chunks, string changeId, string mode, long bytesDone, IReadOnlyList<DiskExtent> pending)
        {
            Chunks = chunks ?? throw new ArgumentNullException(nameof(chunks));
            if (string.IsNullOrEmpty(changeId)) throw new ArgumentException("A resume record needs the snapshot's change id.", nameof(changeId));
            ChangeId = changeId;
            Mode = mode ?? "";
            BytesDone = bytesDone;
            Pending = pending ?? Array.Empty<DiskExtent>();
        }

        public DiskManifest Chunks { get; }
        public string ChangeId { get; }
        public string Mode { get; }
        public long BytesDone { get; }
        public IReadOnlyList<DiskExtent> Pending { get; }
    }

    /// <summary>
    /// What a disk write has stored so far, for a <see cref="ResumeRecord"/>: the chunk hashes (the
    /// baseline's where nothing is read) and which chunks are still to read. Filled by
    /// ChunkStore.WriteDiskAsync
    /// as each chunk becomes durable; read from any thread.
    /// </summary>
    public sealed class DiskWriteCheckpoint
    {
        private readonly object gate = new object();
        private readonly Action? stored;
        private string diskKey = "";
        private long capacity;
        private int chunkSize;
        private ChunkHash[]? hashes;
        private bool[]? pending;
        private long bytesDone;
        private int chunksDone;

        /// <param name="bytesCarried">Bytes stored by earlier interrupted cycles that this write builds on.</param>
        /// <param name="stored">Called after each chunk is stored (on the writer's threads; keep it short).</param>
        public DiskWriteCheckpoint(long bytesCarried = 0, Action? stored = null)
        {
            bytesDone = bytesCarried;
            this.stored = stored;
        }

        /// <summary>Chunks stored by this write so far.</summary>
        public int ChunksDone => Volatile.Read(ref chunksDone);

        internal void Begin(string diskKey, long capacity, int chunkSize, ChunkHash[] hashes, bool[] toRead)
        {
            lock (gate)
            {
                this.diskKey = diskKey;
                this.capacity = capacity;
                this.chunkSize = chunkSize;
                this.hashes = (ChunkHash[])hashes.Clone();
                pending = (bool[])toRead.Clone();
            }
        }

        internal void Stored(int index, ChunkHash hash, int length)
        {
            lock (gate)
            {
                hashes![index] = hash;
                pending![index] = false;
                bytesDone += length;
                chunksDone++;
            }
            stored?.Invoke();
        }

        /// <summary>The disk as stored so far; null before the write began.</summary>
        public ResumeDisk? Capture(string changeId, string mode)
        {
            lock (gate)
            {
                if (hashes is null || pending is null) return null;
                var extents = new List<DiskExtent>();
                for (var i = 0; i < pending.Length; i++)
                {
                    if (!pending[i]) continue;
                    var first = i;
                    while (i + 1 < pending.Length && pending[i + 1]) i++;
                    var offset = (long)first * chunkSize;
                    extents.Add(new DiskExtent(offset, Math.Min((long)(i + 1) * chunkSize, capacity) - offset));
                }
                return new ResumeDisk(new DiskManifest(diskKey, capacity, chunkSize, (ChunkHash[])hashes.Clone()), changeId, mode, bytesDone, extents);
            }
        }
    }
}
