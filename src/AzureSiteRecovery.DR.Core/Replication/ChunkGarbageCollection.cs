using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Storage;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Replication
{
    /// <summary>
    /// Deletes chunks that no recovery point in the vault names any more (after retention or
    /// Disable-VmProtection -RemoveData). Chunks younger than the grace period are kept, so a
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
            var live = new List<RecoveryPointManifest>();
            foreach (var vm in await vault.ListProtectedVmsAsync(null, cancellationToken).ConfigureAwait(false))
            {
                foreach (var point in await vault.ListRecoveryPointsAsync(vm.VmId, cancellationToken).ConfigureAwait(false))
                {
                    live.Add(await store.Chunks.ReadPointAsync(point.VmId, point.RecoveryPointId, cancellationToken).ConfigureAwait(false));
                }
            }

            return await new GarbageCollector(store.Chunks).CollectAsync(live, gracePeriod, cancellationToken).ConfigureAwait(false);
        }
    }
}
