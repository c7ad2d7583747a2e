using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>What a drain of the spool did.</summary>
    public sealed class SpoolDrainResult
    {
        internal SpoolDrainResult(int objectsDrained, long bytesDrained, IReadOnlyList<(string VmId, string PointId)> pointsStored, bool completed, StoreUnavailableException? stoppedBy)
        {
            ObjectsDrained = objectsDrained;
            BytesDrained = bytesDrained;
            PointsStored = pointsStored;
            Completed = completed;
            StoppedBy = stoppedBy;
        }

        public int ObjectsDrained { get; }
        public long BytesDrained { get; }
        /// <summary>Recovery points whose manifest (and so every chunk) is now in the store: commit these in the vault.</summary>
        public IReadOnlyList<(string VmId, string PointId)> PointsStored { get; }
        /// <summary>False when the store became unreachable again; the rest stays spooled for the next drain.</summary>
        public bool Completed { get; }
        public StoreUnavailableException? StoppedBy { get; }
    }

    /// <summary>
    /// An object store that keeps working when its primary store cannot be reached: from the
    /// first <see cref="StoreUnavailableException"/> on, this instance writes every object into a
    /// local spool folder (durably, like <see cref="LocalFolderStore"/>), so a point's manifest,
    /// written after its chunks, is spooled too and never reaches the primary before them.
    /// <see cref="DrainAsync(CancellationToken)"/> (a later cycle) moves the spool into the primary: chunks first,
    /// then manifests; safe to repeat and to interrupt. Reads look in the spool, then the primary.
    /// One instance per replication cycle.
    /// </summary>
    public sealed class SpoolingObjectStore : IObjectStore
    {
        private int spooling;

        public SpoolingObjectStore(IObjectStore primary, string spoolFolder)
        {
            Primary = primary ?? throw new ArgumentNullException(nameof(primary));
            Spool = new LocalFolderStore(spoolFolder);
        }

        public IObjectStore Primary { get; }

        public LocalFolderStore Spool { get; }

        public string Location => Primary.Location;

        /// <summary>True once this instance has written into the spool.</summary>
        public bool IsSpooling => Volatile.Read(ref spooling) != 0;

        public Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => PutReportingAsync(key, content, cancellationToken);

        /// <summary>Puts an object; true when it went to the spool.</summary>
        public async Task<bool> PutReportingAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
        {
            if (!IsSpooling)
            {
                try
                {
                    await Primary.PutAsync(key, content, cancellationToken).ConfigureAwait(false);
                    // A write that raced with the switch must not get ahead of spooled ones: spool it as well.
                    if (!IsSpooling) return false;
                }
                catch (StoreUnavailableException)
                {
                    Interlocked.Exchange(ref spooling, 1);
                }
            }
            await Spool.PutAsync(key, content, cancellationToken).ConfigureAwait(false);
            return true;
        }

        public async Task<byte[]> GetAsync(string key, CancellationToken cancellationToken)
        {
            try
            {
                return await Spool.GetAsync(key, cancellationToken).ConfigureAwait(false);
            }
            catch (StoreObjectNotFoundException)
            {
                return await Primary.GetAsync(key, cancellationToken).ConfigureAwait(false);
            }
        }

        public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken) =>
            await Spool.ExistsAsync(key, cancellationToken).ConfigureAwait(false) || await Primary.ExistsAsync(key, cancellationToken).ConfigureAwait(false);

        /// <summary>While spooling, only the spool counts: a chunk must be written again rather than named while the primary cannot vouch for it.</summary>
        public async Task<bool> TouchAsync(string key, CancellationToken cancellationToken)
        {
            if (await Spool.TouchAsync(key, cancellationToken).ConfigureAwait(false)) return true;
            if (IsSpooling) return false;
            try
            {
                return await Primary.TouchAsync(key, cancellationToken).ConfigureAwait(false);
            }
            catch (StoreUnavailableException)
            {
                Interlocked.Exchange(ref spooling, 1);
                return false;
            }
        }

        public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken)
        {
            var spooled = await Spool.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
            return await Primary.DeleteAsync(key, cancellationToken).ConfigureAwait(false) || spooled;
        }

        public Task<bool> DeleteIfUnchangedAsync(StoredObject listed, CancellationToken cancellationToken) => Primary.DeleteIfUnchangedAsync(listed, cancellationToken);

        /// <summary>The primary's objects (garbage collection works on the primary; the spool is not collected).</summary>
        public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken) => Primary.ListAsync(prefix, cancellationToken);

        /// <summary>
        /// Moves everything spooled into the primary. The manifests are listed first and put last,
        /// so every chunk a drained manifest names (spooled before it) is in the primary first,
        /// even while a cycle keeps spooling. Stops, without throwing, when the primary is unreachable.
        /// </summary>
        public Task<SpoolDrainResult> DrainAsync(CancellationToken cancellationToken) => DrainAsync(Primary, Spool, cancellationToken);

        /// <summary>Drains a spool folder into <paramref name="primary"/>; see <see cref="DrainAsync(CancellationToken)"/>.</summary>
        public static async Task<SpoolDrainResult> DrainAsync(IObjectStore primary, LocalFolderStore spool, CancellationToken cancellationToken)
        {
            var points = new List<StoredObject>();
            await foreach (var item in spool.ListAsync(ObjectKeys.PointPrefix, cancellationToken).ConfigureAwait(false)) points.Add(item);
            var others = new List<StoredObject>();
            await foreach (var item in spool.ListAsync("", cancellationToken).ConfigureAwait(false))
            {
                if (!item.Key.StartsWith(ObjectKeys.PointPrefix, StringComparison.Ordinal)) others.Add(item);
            }

            var objects = 0;
            long bytes = 0;
            var stored = new List<(string, string)>();
            var gate = new object();
            async Task Move(StoredObject item, CancellationToken ct)
            {
                byte[] content;
                try
                {
                    content = await spool.GetAsync(item.Key, ct).ConfigureAwait(false);
                }
                catch (StoreObjectNotFoundException)
                {
                    return; // drained concurrently by another cycle
                }
                await primary.PutAsync(item.Key, content, ct).ConfigureAwait(false);
                await spool.DeleteAsync(item.Key, ct).ConfigureAwait(false);
                lock (gate)
                {
                    objects++;
                    bytes += content.Length;
                    var parts = item.Key.Split('/');
                    if (parts.Length == 3 && item.Key.StartsWith(ObjectKeys.PointPrefix, StringComparison.Ordinal)) stored.Add((parts[1], parts[2]));
                }
            }

            try
            {
                await BoundedParallel.ForEachAsync(others, 4, Move, cancellationToken).ConfigureAwait(false);
                await BoundedParallel.ForEachAsync(points, 4, Move, cancellationToken).ConfigureAwait(false);
            }
            catch (StoreUnavailableException ex)
            {
                return new SpoolDrainResult(objects, bytes, stored, completed: false, ex);
            }
            return new SpoolDrainResult(objects, bytes, stored, completed: true, null);
        }
    }
}
