using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites.Azure;
using AzureSiteRecovery.DR.Core.Storage;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Replication
{
    /// <summary>
    /// Finds the blob container (<see cref="AzureReplica.ContainerName"/> in the site's storage
    /// account) that holds the replica of VMs recovered to <paramref name="recoverySite"/>; null when
    /// the site keeps no replica. Only called for Azure sites. The composition root supplies it
    /// (through Azure Resource Manager: the storage account's blob endpoint and a key); Core never
    /// knows how the account was found.
    /// </summary>
    public delegate Task<BlobContainerClient?> ReplicaContainerLocator(Site recoverySite, CancellationToken cancellationToken);

    /// <summary>What one replica write did.</summary>
    public sealed class ReplicaWriteResult
    {
        internal ReplicaWriteResult(IReadOnlyList<ReplicaSnapshot> snapshots, long bytesSent, int chunksWritten, int chunksCleared, int chunksRead, int snapshotsSwept)
        {
            Snapshots = snapshots;
            BytesSent = bytesSent;
            ChunksWritten = chunksWritten;
            ChunksCleared = chunksCleared;
            ChunksRead = chunksRead;
            SnapshotsSwept = snapshotsSwept;
        }

        /// <summary>One blob snapshot per disk, holding the point.</summary>
        public IReadOnlyList<ReplicaSnapshot> Snapshots { get; }
        /// <summary>Request bodies sent: Put Page bytes and footers.</summary>
        public long BytesSent { get; }
        /// <summary>Chunks written with Put Page.</summary>
        public int ChunksWritten { get; }
        /// <summary>Chunks that became all zeros, cleared with Clear Pages.</summary>
        public int ChunksCleared { get; }
        /// <summary>Chunks read back from a blob whose content was not known (after a lost state, a resize, or a new storage account).</summary>
        public int ChunksRead { get; }
        /// <summary>Snapshots of a killed cycle, or of points deleted while the storage was down, that no point names and were deleted.</summary>
        public int SnapshotsSwept { get; }
    }

    /// <summary>
    /// The replica of a VM in Azure, as ASR keeps its seed disks: per disk a page blob in the
    /// recovery site's storage account, a fixed VHD (the disk rounded up to a whole MiB, then the
    /// 512-byte footer), into which each cycle writes only the chunks that differ from what the blob
    /// holds (Put Page of at most 4 MiB; Clear Pages for chunks that became zeros), then one blob
    /// snapshot per disk for the point. What the blobs may hold is recorded in the vault before the
    /// first write (<see cref="ReplicaState"/>): a cycle killed half-way leaves each chunk holding the
    /// last committed point's bytes or the killed cycle's, and the next cycle rewrites every chunk
    /// that either differs in; when that is not known (state lost, another storage account, a
    /// resize) the blob's chunks are read back and compared. Chunk bytes come from the chunk store,
    /// which stays the system of record.
    /// </summary>
    public sealed partial class AzureReplica
    {
        public const string ContainerName = "azsr-dr-replica";
        /// <summary>Blob metadata naming the point a snapshot holds, so a snapshot no point names is recognised as ours and swept.</summary>
        public const string PointMetadata = "azsrdrpoint";
        private const int MaxPutPage = 4 << 20;
        private const int Parallelism = 4;

        private readonly BlobContainerClient container;
        private readonly IVault vault;

        /// <param name="container">The replica container of the recovery site (see <see cref="ReplicaContainerLocator"/>).</param>
        /// <param name="vault">Where the points, their snapshots and the replica state are recorded.</param>
        public AzureReplica(BlobContainerClient container, IVault vault)
        {
            this.container = container ?? throw new ArgumentNullException(nameof(container));
            this.vault = vault ?? throw new ArgumentNullException(nameof(vault));
        }

        /// <summary>
        /// The replica of a protection group's VMs: null when the group's recovery site is not Azure,
        /// when no <paramref name="locator"/> is given, or when it finds no container for the site.
        /// </summary>
        public static async Task<AzureReplica?> OpenForGroupAsync(IVault vault, ReplicaContainerLocator? locator, string group, CancellationToken cancellationToken)
        {
            if (locator is null)
            {
                return null;
            }
            var found = await vault.FindGroupAsync(group, cancellationToken).ConfigureAwait(false);
            var site = found is null ? null : await vault.FindSiteAsync(found.RecoverySite, cancellationToken).ConfigureAwait(false);
            if (site is null || site.Kind != SiteKind.Azure)
            {
                return null;
            }
            var container = await locator(site, cancellationToken).ConfigureAwait(false);
            return container is null ? null : new AzureReplica(container, vault);
        }

        /// <summary>The container's URL, for messages.</summary>
        public string Location => container.Uri.ToString();

        /// <summary>The page blob of a disk: <c>&lt;vmId&gt;/&lt;diskKey&gt;.vhd</c>.</summary>
        public static string BlobNameOf(string vmId, string diskKey) => $"{vmId}/{diskKey}.vhd";

        /// <summary>"account/container": the same blobs whatever endpoint (or lab port) reaches them.</summary>
        private string ContainerIdentity => container.AccountName + "/" + container.Name;

        /// <summary>
        /// Brings every disk's blob to <paramref name="manifest"/> (a point written to the chunk
        /// store, not yet committed), reading the chunks to send from <paramref name="chunks"/>, and snapshots it. The caller commits the point with the
        /// returned snapshots; until then they are named by no point, and a later write sweeps them.
        /// </summary>
        public async Task<ReplicaWriteResult> WritePointAsync(RecoveryPointManifest manifest, ChunkStore chunks, CancellationToken cancellationToken, IProgress<long>? progress = null)
        {
            var vmId = manifest.VmId;
            await Run(ContainerName, cancellationToken, () => container.CreateIfNotExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);

            // What the blobs may hold: the recorded points' manifests, chunk by chunk; null when that is not known.
            var state = await vault.FindReplicaStateAsync(vmId, cancellationToken).ConfigureAwait(false);
            var candidates = state != null && state.Container == ContainerIdentity && state.PointIds.Count > 0
                ? await ReadManifestsAsync(chunks, vmId, state.PointIds, cancellationToken).ConfigureAwait(false)
                : null;
            // Before the first write: from now on a chunk may also hold this point's bytes (or, when unknown, anything).
            await vault.SaveReplicaStateAsync(new ReplicaState
            {
                VmId = vmId,
                Container = ContainerIdentity,
                PointIds = candidates is null ? Array.Empty<string>() : state!.PointIds.Where(id => id != manifest.PointId).Append(manifest.PointId).ToArray(),
            }, cancellationToken).ConfigureAwait(false);

            var counters = new Counters();
            foreach (var disk in manifest.Disks)
            {
                var known = candidates?.Select(m => m.Disks.FirstOrDefault(d => d.DiskKey == disk.DiskKey)).ToList();
                if (known != null && known.Any(d => d is null || d.Capacity != disk.Capacity || d.ChunkSize != disk.ChunkSize)) known = null;
                await WriteDiskAsync(chunks, vmId, disk, known, counters, progress, cancellationToken).ConfigureAwait(false);
            }

            var swept = await SweepSnapshotsAsync(vmId, cancellationToken).ConfigureAwait(false);
            var snapshots = new List<ReplicaSnapshot>();
            var metadata = new Dictionary<string, string> { [PointMetadata] = manifest.PointId };
            foreach (var disk in manifest.Disks)
            {
                var name = BlobNameOf(vmId, disk.DiskKey);
                var info = await Run(name, cancellationToken, () => container.GetPageBlobClient(name).CreateSnapshotAsync(metadata, cancellationToken: cancellationToken)).ConfigureAwait(false);
                snapshots.Add(new ReplicaSnapshot { DiskKey = disk.DiskKey, BlobName = name, Snapshot = info.Value.Snapshot });
            }

            return new ReplicaWriteResult(snapshots, counters.BytesSent, counters.ChunksWritten, counters.ChunksCleared, counters.ChunksRead, swept);
        }

        private static async Task<IReadOnlyList<RecoveryPointManifest>?> ReadManifestsAsync(ChunkStore chunks, string vmId, IReadOnlyList<string> pointIds, CancellationToken cancellationToken)
        {
            var manifests = new List<RecoveryPointManifest>();
            foreach (var pointId in pointIds)
            {
                try
                {
                    manifests.Add(await chunks.ReadPointAsync(vmId, pointId, cancellationToken).ConfigureAwait(false));
                }
                catch (RecoveryPointManifestException)
                {
                    // A killed cycle's manifest collected as garbage (or damaged): compare with the blob itself instead.
                    return null;
                }
            }
            return manifests;
        }

        private async Task WriteDiskAsync(ChunkStore chunks, string vmId, DiskManifest disk, IReadOnlyList<DiskManifest?>? known, Counters counters, IProgress<long>? progress, CancellationToken cancellationToken)
        {
            var name = BlobNameOf(vmId, disk.DiskKey);
            var blob = container.GetPageBlobClient(name);
            var length = VhdFooter.BlobLengthFor(disk.Capacity);
            var virtualSize = length - VhdFooter.Length;

            var existing = await Run(name, cancellationToken, async () =>
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

            var fresh = false; // a new blob is all zeros
            IReadOnlyList<HttpRange>? written = null; // the blob's written ranges, when its content must be read back
            if (existing is null)
            {
                await Run(name, cancellationToken, () => blob.CreateIfNotExistsAsync(length, new PageBlobCreateOptions(), cancellationToken)).ConfigureAwait(false);
                await WriteFooterAsync(blob, name, VhdFooter.ForDisk(disk.Capacity, Guid.NewGuid(), DateTimeOffset.UtcNow), counters, cancellationToken).ConfigureAwait(false);
                fresh = true;
                known = null;
            }
            else
            {
                Guid? uniqueId = null;
                var footerOk = false;
                if (existing.ContentLength == length)
                {
                    var problems = VhdFooter.Validate(await DownloadAsync(blob, name, virtualSize, VhdFooter.Length, cancellationToken).ConfigureAwait(false), virtualSize, out var footer);
                    footerOk = problems.Count == 0;
                    uniqueId = footer?.UniqueId;
                }
                else
                {
                    // The disk was resized: the old footer may now lie inside the disk, so the content is compared, not assumed.
                    await Run(name, cancellationToken, () => blob.ResizeAsync(length, cancellationToken: cancellationToken)).ConfigureAwait(false);
                    known = null;
                }
                if (!footerOk)
                {
                    await WriteFooterAsync(blob, name, VhdFooter.ForDisk(disk.Capacity, uniqueId ?? Guid.NewGuid(), DateTimeOffset.UtcNow), counters, cancellationToken).ConfigureAwait(false);
                }
                if (known is null)
                {
                    written = await WrittenRangesAsync(blob, name, cancellationToken).ConfigureAwait(false);
                }
            }

            var indexes = Enumerable.Range(0, disk.Chunks.Count);
            if (known != null)
            {
                indexes = indexes.Where(i => known.Any(k => k!.Chunks[i] != disk.Chunks[i]));
            }
            else if (fresh)
            {
                indexes = indexes.Where(i => !disk.Chunks[i].IsZero);
            }

            await BoundedParallel.ForEachAsync(indexes, Parallelism, async (index, ct) =>
            {
                var offset = disk.OffsetOf(index);
                var chunkLength = disk.LengthOf(index);
                var target = disk.Chunks[index];
                if (written != null)
                {
                    // Unknown content: read it back (only where pages were ever written) and leave a chunk that already matches.
                    var holds = Overlaps(written, offset, chunkLength)
                        ? ChunkStore.HashOf(await DownloadAsync(blob, name, offset, chunkLength, ct).ConfigureAwait(false), chunkLength)
                        : ChunkHash.Zero;
                    Interlocked.Increment(ref counters.ChunksRead);
                    if (holds == target) return;
                }

                var pages = RoundUpToPage(chunkLength);
                if (target.IsZero)
                {
                    await Run(name, ct, () => blob.ClearPagesAsync(new HttpRange(offset, pages), cancellationToken: ct)).ConfigureAwait(false);
                    Interlocked.Increment(ref counters.ChunksCleared);
                    return;
                }

                var plain = await chunks.ReadChunkAsync(target, chunkLength, ct).ConfigureAwait(false);
                if (plain.Length != pages) Array.Resize(ref plain, pages); // the last chunk of a disk that is not a whole number of pages: zero padding
                for (var done = 0; done < pages; done += MaxPutPage)
                {
                    var count = Math.Min(MaxPutPage, pages - done);
                    using var body = new MemoryStream(plain, done, count, writable: false);
                    await Run(name, ct, () => blob.UploadPagesAsync(body, offset + done, new PageBlobUploadPagesOptions(), ct)).ConfigureAwait(false);
                    var sent = Interlocked.Add(ref counters.BytesSent, count);
                    progress?.Report(sent);
                }
                Interlocked.Increment(ref counters.ChunksWritten);
            }, cancellationToken).ConfigureAwait(false);
        }

        private async Task WriteFooterAsync(PageBlobClient blob, string name, VhdFooter footer, Counters counters, CancellationToken cancellationToken)
        {
            using var body = new MemoryStream(footer.ToBytes(), writable: false);
            await Run(name, cancellationToken, () => blob.UploadPagesAsync(body, footer.CurrentSize, new PageBlobUploadPagesOptions(), cancellationToken)).ConfigureAwait(false);
            Interlocked.Add(ref counters.BytesSent, VhdFooter.Length);
        }

        /// <summary>
        /// Deletes snapshots under the VM's blobs that carry our metadata but that no point in the
        /// vault names: a killed cycle's, or a deleted point's whose snapshot could not be deleted then.
        /// </summary>
        private async Task<int> SweepSnapshotsAsync(string vmId, CancellationToken cancellationToken)
        {
            var named = new HashSet<(string, string)>((await vault.ListRecoveryPointsAsync(vmId, cancellationToken).ConfigureAwait(false))
                .SelectMany(p => p.ReplicaSnapshots).Select(s => (s.BlobName, s.Snapshot)));
            var orphans = new List<ReplicaSnapshot>();
            await Run(vmId, cancellationToken, async () =>
            {
                await foreach (var item in container.GetBlobsAsync(BlobTraits.Metadata, BlobStates.Snapshots, vmId + "/", cancellationToken).ConfigureAwait(false))
                {
                    if (string.IsNullOrEmpty(item.Snapshot) || item.Metadata is null || !item.Metadata.ContainsKey(PointMetadata)) continue;
                    if (!named.Contains((item.Name, item.Snapshot))) orphans.Add(new ReplicaSnapshot { BlobName = item.Name, Snapshot = item.Snapshot });
                }
                return true;
            }).ConfigureAwait(false);
            await DeleteSnapshotsAsync(orphans, cancellationToken).ConfigureAwait(false);
            return orphans.Count;
        }

        /// <summary>Deletes these snapshots (retention); one already gone counts as deleted.</summary>
        public async Task DeleteSnapshotsAsync(IEnumerable<ReplicaSnapshot> snapshots, CancellationToken cancellationToken)
        {
            foreach (var snapshot in snapshots)
            {
                await Run(snapshot.BlobName, cancellationToken, () => container.GetBlobClient(snapshot.BlobName).WithSnapshot(snapshot.Snapshot)
                    .DeleteIfExistsAsync(DeleteSnapshotsOption.None, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
        }

        /// <summary>Deletes every replica blob of the VM with its snapshots (protection stopped with its data); returns how many blobs went.</summary>
        public async Task<int> DeleteVmAsync(string vmId, CancellationToken cancellationToken)
        {
            var names = new List<string>();
            await Run(vmId, cancellationToken, async () =>
            {
                try
                {
                    await foreach (var item in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, vmId + "/", cancellationToken).ConfigureAwait(false))
                    {
                        names.Add(item.Name);
                    }
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    // No container: nothing was ever replicated there.
                }
                return true;
            }).ConfigureAwait(false);
            foreach (var name in names)
            {
                await Run(name, cancellationToken, () => container.GetBlobClient(name).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
            return names.Count;
        }

        internal async Task<IReadOnlyList<HttpRange>> WrittenRangesAsync(PageBlobClient blob, string name, CancellationToken cancellationToken)
        {
            var ranges = new List<HttpRange>();
            await Run(name, cancellationToken, async () =>
            {
                await foreach (var item in blob.GetAllPageRangesAsync(new GetPageRangesOptions(), cancellationToken).ConfigureAwait(false))
                {
                    if (!item.IsClear) ranges.Add(item.Range);
                }
                return true;
            }).ConfigureAwait(false);
            return ranges;
        }

        internal static bool Overlaps(IReadOnlyList<HttpRange> ranges, long offset, long length) =>
            ranges.Any(r => r.Offset < offset + length && offset < r.Offset + (r.Length ?? long.MaxValue - r.Offset));

        internal async Task<byte[]> DownloadAsync(BlobBaseClient blob, string name, long offset, int length, CancellationToken cancellationToken)
        {
            var result = await Run(name, cancellationToken, () => blob.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(offset, length) }, cancellationToken)).ConfigureAwait(false);
            var bytes = result.Value.Content.ToArray();
            if (bytes.Length != length)
            {
                throw new StoreRequestFailedException(Location, $"The replica blob '{name}' in '{Location}' returned {bytes.Length} bytes at offset {offset} where {length} were asked for.");
            }
            return bytes;
        }

        private static int RoundUpToPage(int length) => (length + 511) / 512 * 512;

        /// <summary>Runs a Blob SDK call; its failures become the chunk store's typed exceptions (unreachable, access denied, refused).</summary>
        internal async Task<T> Run<T>(string name, CancellationToken cancellationToken, Func<Task<T>> action)
        {
            try
            {
                return await action().ConfigureAwait(false);
            }
            catch (Exception ex) when (BlobStore.TranslateFailure(ex, Location, name, cancellationToken) is { } translated)
            {
                throw translated;
            }
        }

        private sealed class Counters
        {
            public long BytesSent;
            public int ChunksWritten;
            public int ChunksCleared;
            public int ChunksRead;
        }
    }
}
