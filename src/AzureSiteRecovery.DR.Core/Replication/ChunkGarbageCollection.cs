using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Storage;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Replication
{
    /// <summary>
    /// Deletes chunks and point manifests that no recovery point in the vault names any more (after
    /// retention, Disable-VmProtection -RemoveData, or a cycle that lost a race with it or crashed). Chunks younger than the grace period are kept, so a
    /// cycle running at the same time, which writes or touches its chunks, loses nothing.
    /// </summary>
    public static class ChunkGarbageCollection
    {
        /// <summary>How often a collection runs at most; the vault lease on it doubles as the "not before" mark.</summary>
        public static readonly TimeSpan Interval = TimeSpan.FromHours(6);
        private const string LeaseResource = "store/garbage-collection";

        /// <summary>Collects when none ran in the last <see cref="Interval"/> (from any process); null when it was not due.</summary>
        public static async Task<GarbageCollectionResult?> CollectIfDueAsync(IVault vault, ReplicationStore store, CancellationToken cancellationToken)
        {
            var owner = $"{Environment.MachineName}/gc/{Guid.NewGuid():N}";
            if (!await vault.TryAcquireLeaseAsync(LeaseResource, owner, Interval, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            return await CollectAsync(vault, store, GarbageCollector.DefaultGracePeriod, cancellationToken).ConfigureAwait(false);
        }

        public static async Task<GarbageCollectionResult> CollectAsync(IVault vault, ReplicationStore store, TimeSpan gracePeriod, CancellationToken cancellationToken)
        {
            // Mark: every point the vault names; a manifest only in the store (an uncommitted cycle) protects nothing.
            var cutoff = DateTimeOffset.UtcNow - gracePeriod;
            var points = new List<(string VmId, string PointId)>();
            var live = new List<RecoveryPointManifest>();
            foreach (var vm in await vault.ListProtectedVmsAsync(null, cancellationToken).ConfigureAwait(false))
            {
                foreach (var point in await vault.ListRecoveryPointsAsync(vm.VmId, cancellationToken).ConfigureAwait(false))
                {
                    points.Add((point.VmId, point.RecoveryPointId));
                    live.Add(await store.Chunks.ReadPointAsync(point.VmId, point.RecoveryPointId, cancellationToken).ConfigureAwait(false));
                }
            }

            // Manifests the vault does not name (listed after the vault, so a point committed meanwhile is young and kept).
            var collector = new GarbageCollector(store.Chunks);
            var manifestsDeleted = await collector.CollectManifestsAsync(points, cutoff, cancellationToken).ConfigureAwait(false);
            var result = await collector.CollectAsync(live, cutoff, cancellationToken).ConfigureAwait(false);
            result.ManifestsDeleted = manifestsDeleted;
            return result;
        }
    }
}
