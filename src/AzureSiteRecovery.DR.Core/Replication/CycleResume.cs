using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication.Sources;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Core.Replication
{
    /// <summary>
    /// One cycle's resume record (<see cref="ResumeRecord"/>): what it has stored so far, written to the chunk store every
    /// interval or every so many chunks while it copies (so a killed process leaves one) and when it fails, and deleted
    /// once its point is committed. The next cycle of the VM starts from it: the record's chunks are the baseline, and it
    /// reads what CBT reports changed since the record's snapshot plus the extents the record had still to read.
    /// CBT since the old snapshot, rather than keeping that snapshot alive between cycles: a kept snapshot grows its
    /// delta disk on the datastore for as long as it lives, and the reads are the same.
    /// A record is used only while the VM's last point is still the one it built on, for a disk of the same capacity and
    /// chunk size with CBT on; otherwise it is ignored (and deleted).
    /// </summary>
    internal sealed class CycleResume
    {
        private readonly ChunkStore chunks;
        private readonly string vmId;
        private readonly string? basePointId;
        private readonly TimeSpan interval;
        private readonly int chunksPerWrite;
        private readonly List<(string ChangeId, string Mode, DiskWriteCheckpoint Checkpoint)> disks = new List<(string, string, DiskWriteCheckpoint)>();
        private readonly SemaphoreSlim writing = new SemaphoreSlim(1, 1);
        private readonly SemaphoreSlim due = new SemaphoreSlim(0);
        private readonly CancellationTokenSource stop = new CancellationTokenSource();
        private Task loop = Task.CompletedTask;
        private int storedSinceWrite;
        private int doneWritten;
        private bool written;

        private CycleResume(ChunkStore chunks, ProtectedVm vm, ResumeRecord? previous, TimeSpan interval, int chunksPerWrite)
        {
            this.chunks = chunks;
            vmId = vm.VmId;
            basePointId = vm.LastRecoveryPointId;
            Previous = previous;
            this.interval = interval;
            this.chunksPerWrite = Math.Max(1, chunksPerWrite);
        }

        /// <summary>The record of an interrupted cycle this one goes on from (null: none, or it did not apply).</summary>
        public ResumeRecord? Previous { get; }

        /// <summary>Reads the VM's record (deleting one built on another point) and starts the periodic writes.</summary>
        public static async Task<CycleResume> StartAsync(ChunkStore chunks, ProtectedVm vm, TimeSpan interval, int chunksPerWrite, CancellationToken cancellationToken)
        {
            ResumeRecord? previous = null;
            try
            {
                previous = await chunks.ReadResumeAsync(vm.VmId, cancellationToken).ConfigureAwait(false);
                if (previous != null && previous.BasePointId != vm.LastRecoveryPointId)
                {
                    // Built on another point (committed since, or expired): its baseline chunks are not this cycle's.
                    await chunks.DeleteResumeAsync(vm.VmId, cancellationToken).ConfigureAwait(false);
                    previous = null;
                }
            }
            catch (StoreUnavailableException)
            {
                // The store is down: the cycle copies without the record, into the spool.
            }

            var resume = new CycleResume(chunks, vm, previous, interval, chunksPerWrite);
            resume.loop = Task.Run(resume.WriteEveryIntervalAsync);
            return resume;
        }

        /// <summary>
        /// What to copy of <paramref name="disk"/>: from the record when it applies (then with the bytes it saves reading),
        /// else as the snapshot answers; and the checkpoint its write fills (null when CBT is off: nothing to resume from).
        /// </summary>
        public async Task<(ChangedAreas Areas, long ResumedBytes, DiskWriteCheckpoint? Checkpoint)> PlanAsync(ISourceSnapshot snapshot, VmDisk disk,
            DiskManifest? previousDisk, string? previousChangeId, CancellationToken cancellationToken)
        {
            var diskKey = disk.Key.ToString(CultureInfo.InvariantCulture);
            ChangedAreas? areas = null;
            long carried = 0;
            var from = Previous?.Disks.FirstOrDefault(d => d.Chunks.DiskKey == diskKey);
            if (from != null && disk.ChangeId != null && from.Chunks.Capacity == disk.CapacityBytes && from.Chunks.ChunkSize == chunks.Options.ChunkSize)
            {
                var since = await snapshot.ChangedAreasAsync(disk, from.Chunks, from.ChangeId, cancellationToken).ConfigureAwait(false);
                if (since.Baseline != null && since.Changed != null)
                {
                    var toRead = new List<DiskExtent>(since.Changed);
                    toRead.AddRange(from.Pending);
                    toRead.AddRange(await MissingChunksAsync(from, previousDisk, cancellationToken).ConfigureAwait(false));
                    areas = new ChangedAreas(from.Chunks, toRead, from.Mode);
                    carried = from.BytesDone;
                }
                // else the change id was rejected (CBT reset): the record cannot say what changed since; start over.
            }

            areas ??= await snapshot.ChangedAreasAsync(disk, previousDisk, previousChangeId, cancellationToken).ConfigureAwait(false);
            DiskWriteCheckpoint? checkpoint = null;
            if (disk.ChangeId != null)
            {
                checkpoint = new DiskWriteCheckpoint(carried, OnChunkStored);
                lock (disks) disks.Add((disk.ChangeId, areas.Mode, checkpoint));
            }
            return (areas, carried, checkpoint);
        }

        /// <summary>The chunks of the record that the store no longer holds (each one that is there is touched), as extents to read again.</summary>
        private async Task<IReadOnlyList<DiskExtent>> MissingChunksAsync(ResumeDisk from, DiskManifest? previousDisk, CancellationToken cancellationToken)
        {
            var manifest = from.Chunks;
            var pending = new bool[manifest.Chunks.Count];
            foreach (var extent in from.Pending.Where(e => e.Length > 0))
            {
                for (var i = extent.Offset / manifest.ChunkSize; i <= (extent.End - 1) / manifest.ChunkSize && i < pending.Length; i++) pending[i] = true;
            }
            // Chunks of the last point are live (retention keeps it): only those the interrupted cycle stored need the check.
            var live = new HashSet<ChunkHash>(previousDisk?.StoredChunks ?? Enumerable.Empty<ChunkHash>());
            var candidates = Enumerable.Range(0, manifest.Chunks.Count).Where(i => !pending[i] && !manifest.Chunks[i].IsZero && !live.Contains(manifest.Chunks[i])).ToList();
            var missing = await chunks.TouchChunksAsync(candidates.Select(i => manifest.Chunks[i]), cancellationToken).ConfigureAwait(false);
            return candidates.Where(i => missing.Contains(manifest.Chunks[i])).Select(i => new DiskExtent(manifest.OffsetOf(i), manifest.LengthOf(i))).ToList();
        }

        private void OnChunkStored()
        {
            if (Interlocked.Increment(ref storedSinceWrite) >= chunksPerWrite)
            {
                Interlocked.Exchange(ref storedSinceWrite, 0);
                due.Release();
            }
        }

        private async Task WriteEveryIntervalAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await due.WaitAsync(interval, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                await SaveAsync().ConfigureAwait(false);
            }
        }

        /// <summary>Writes the record when this cycle stored anything since the last write; never fails (a record is a shortcut, not a reason for a cycle to fail).</summary>
        public async Task SaveAsync()
        {
            await writing.WaitAsync().ConfigureAwait(false);
            try
            {
                List<(string ChangeId, string Mode, DiskWriteCheckpoint Checkpoint)> tracked;
                lock (disks) tracked = disks.ToList();
                var done = tracked.Sum(d => d.Checkpoint.ChunksDone);
                if (done == doneWritten) return;
                var captured = tracked.Select(d => d.Checkpoint.Capture(d.ChangeId, d.Mode)).Where(d => d != null).Select(d => d!).ToList();
                // Disks of the earlier record this cycle has not come to yet stay as they were.
                captured.AddRange(Previous?.Disks.Where(p => !captured.Any(c => c.Chunks.DiskKey == p.Chunks.DiskKey)) ?? Enumerable.Empty<ResumeDisk>());
                await chunks.WriteResumeAsync(new ResumeRecord(vmId, basePointId, DateTimeOffset.UtcNow, captured), CancellationToken.None).ConfigureAwait(false);
                doneWritten = done;
                written = true;
            }
            catch (Exception ex) when (ex is DRException || ex is System.IO.IOException || ex is UnauthorizedAccessException)
            {
                // The store cannot take it now: the next cycle copies more, nothing is lost.
            }
            finally
            {
                writing.Release();
            }
        }

        /// <summary>Stops the periodic writes (a write under way finishes first).</summary>
        public async Task StopAsync()
        {
            stop.Cancel();
            await loop.ConfigureAwait(false);
        }

        /// <summary>After the commit: the point now names every chunk, so the record goes (best effort: a stale one is ignored by its base point).</summary>
        public async Task DiscardAsync()
        {
            await StopAsync().ConfigureAwait(false);
            // Most cycles neither found nor wrote one: no round trip to the store for them.
            if (Previous is null && !written) return;
            await writing.WaitAsync().ConfigureAwait(false);
            try
            {
                await chunks.DeleteResumeAsync(vmId, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is DRException || ex is System.IO.IOException || ex is UnauthorizedAccessException)
            {
                // Left behind: the next cycle sees it was built on an older point and deletes it.
            }
            finally
            {
                writing.Release();
            }
        }
    }
}
