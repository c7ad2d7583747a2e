using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites.Azure;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Core.Replication
{
    /// <summary>What is wrong with a point's replica snapshot.</summary>
    public enum ReplicaProblemKind
    {
        /// <summary>The point records no snapshot for one of its disks.</summary>
        NotRecorded,
        /// <summary>The recorded snapshot is not in the storage account.</summary>
        SnapshotMissing,
        /// <summary>The blob is not the length of the disk's VHD (virtual size + footer).</summary>
        LengthMismatch,
        /// <summary>The last 512 bytes are not a valid fixed-VHD footer of the disk's virtual size.</summary>
        FooterInvalid,
        /// <summary>A chunk's bytes differ from the manifest's (SHA-256, or zeros where the manifest has zeros).</summary>
        ChunkMismatch,
    }

    /// <summary>One place where a point's replica snapshot differs from the point's manifest.</summary>
    public sealed class ReplicaProblem
    {
        internal ReplicaProblem(string diskKey, int chunkIndex, long offset, int length, string blobName, string snapshot, ReplicaProblemKind kind, string message)
        {
            DiskKey = diskKey;
            ChunkIndex = chunkIndex;
            Offset = offset;
            Length = length;
            BlobName = blobName;
            Snapshot = snapshot;
            Kind = kind;
            Message = message;
        }

        public string DiskKey { get; }
        /// <summary>The chunk that differs; -1 for the whole blob (missing, length) or its footer.</summary>
        public int ChunkIndex { get; }
        /// <summary>Byte offset in the blob (the footer's for a footer problem).</summary>
        public long Offset { get; }
        public int Length { get; }
        public string BlobName { get; }
        public string Snapshot { get; }
        public ReplicaProblemKind Kind { get; }
        public string Message { get; }

        public override string ToString() => ChunkIndex >= 0 ? $"{DiskKey} replica chunk {ChunkIndex} @ {Offset}: {Kind}" : $"{DiskKey} replica: {Kind}";
    }

    /// <summary>The result of comparing a point's replica snapshots with its manifest.</summary>
    public sealed class ReplicaVerification
    {
        internal ReplicaVerification(int chunksChecked, long bytesChecked, IReadOnlyList<ReplicaProblem> problems)
        {
            ChunksChecked = chunksChecked;
            BytesChecked = bytesChecked;
            Problems = problems;
        }

        /// <summary>Chunks compared (read, or known to be unwritten zeros).</summary>
        public int ChunksChecked { get; }
        /// <summary>Bytes read from the snapshots.</summary>
        public long BytesChecked { get; }
        /// <summary>Every difference, in disk and chunk order.</summary>
        public IReadOnlyList<ReplicaProblem> Problems { get; }
        public bool IsIntact => Problems.Count == 0;
    }

    public sealed partial class AzureReplica
    {
        /// <summary>
        /// Test-RecoveryPoint's replica check: reads each disk's snapshot and compares its length,
        /// its footer and every chunk with the manifest (SHA-256 as the manifest hashes; zeros as
        /// zeros, without a read where no page was ever written). Differences are reported, never repaired.
        /// </summary>
        public async Task<ReplicaVerification> VerifyPointAsync(RecoveryPointManifest manifest, IReadOnlyList<ReplicaSnapshot> snapshots, CancellationToken cancellationToken, IProgress<long>? progress = null)
        {
            var problems = new List<ReplicaProblem>();
            var gate = new object();
            long bytesChecked = 0;
            var chunksChecked = 0;
            foreach (var disk in manifest.Disks)
            {
                var recorded = snapshots.FirstOrDefault(s => s.DiskKey == disk.DiskKey);
                var name = recorded?.BlobName ?? BlobNameOf(manifest.VmId, disk.DiskKey);
                if (recorded is null)
                {
                    problems.Add(new ReplicaProblem(disk.DiskKey, -1, 0, 0, name, "", ReplicaProblemKind.NotRecorded,
                        $"The point records no replica snapshot for disk {disk.DiskKey}."));
                    continue;
                }

                var blob = container.GetPageBlobClient(name).WithSnapshot(recorded.Snapshot);
                var properties = await Run(name, cancellationToken, async () =>
                {
                    try
                    {
                        return (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
                    }
                    catch (RequestFailedException ex) when (ex.Status == 404)
                    {
                        return null;
                    }
                }).ConfigureAwait(false);
                if (properties is null)
                {
                    problems.Add(new ReplicaProblem(disk.DiskKey, -1, 0, 0, name, recorded.Snapshot, ReplicaProblemKind.SnapshotMissing,
                        $"The replica snapshot {recorded} of disk {disk.DiskKey} is not in '{Location}'."));
                    continue;
                }

                var length = VhdFooter.BlobLengthFor(disk.Capacity);
                var virtualSize = length - VhdFooter.Length;
                if (properties.ContentLength != length)
                {
                    problems.Add(new ReplicaProblem(disk.DiskKey, -1, 0, 0, name, recorded.Snapshot, ReplicaProblemKind.LengthMismatch,
                        $"The replica snapshot {recorded} of disk {disk.DiskKey} is {properties.ContentLength} bytes long where the disk's VHD is {length}."));
                    continue;
                }

                var footerProblems = VhdFooter.Validate(await DownloadAsync(blob, name, virtualSize, VhdFooter.Length, cancellationToken).ConfigureAwait(false), virtualSize, out _);
                if (footerProblems.Count > 0)
                {
                    problems.Add(new ReplicaProblem(disk.DiskKey, -1, virtualSize, VhdFooter.Length, name, recorded.Snapshot, ReplicaProblemKind.FooterInvalid,
                        $"The VHD footer of replica snapshot {recorded} of disk {disk.DiskKey} is not valid: {string.Join(" ", footerProblems)}"));
                }

                var written = await WrittenRangesAsync(blob, name, cancellationToken).ConfigureAwait(false);
                await BoundedParallel.ForEachAsync(Enumerable.Range(0, disk.Chunks.Count), Parallelism, async (index, ct) =>
                {
                    var offset = disk.OffsetOf(index);
                    var chunkLength = disk.LengthOf(index);
                    var holds = ChunkHash.Zero;
                    if (Overlaps(written, offset, chunkLength))
                    {
                        holds = ChunkStore.HashOf(await DownloadAsync(blob, name, offset, chunkLength, ct).ConfigureAwait(false), chunkLength);
                        progress?.Report(Interlocked.Add(ref bytesChecked, chunkLength));
                    }
                    Interlocked.Increment(ref chunksChecked);
                    if (holds != disk.Chunks[index])
                    {
                        lock (gate)
                        {
                            problems.Add(new ReplicaProblem(disk.DiskKey, index, offset, chunkLength, name, recorded.Snapshot, ReplicaProblemKind.ChunkMismatch,
                                $"Replica snapshot {recorded}, disk {disk.DiskKey}, chunk {index} at offset {offset}: it holds " +
                                (holds.IsZero ? "zeros" : $"bytes with SHA-256 {holds}") + " where the point has " + (disk.Chunks[index].IsZero ? "zeros." : $"SHA-256 {disk.Chunks[index]}.")));
                        }
                    }
                }, cancellationToken).ConfigureAwait(false);
            }

            var diskOrder = manifest.Disks.Select((d, i) => (d.DiskKey, i)).ToDictionary(x => x.DiskKey, x => x.i);
            var ordered = problems.OrderBy(p => diskOrder[p.DiskKey]).ThenBy(p => p.ChunkIndex).ToList();
            return new ReplicaVerification(chunksChecked, bytesChecked, ordered);
        }
    }
}
