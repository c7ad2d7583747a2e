using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;
using AzureSiteRecovery.DR.Core.Sites;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using AzureSiteRecovery.DR.Core.Storage;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Replication.Sources
{
    /// <summary>
    /// A VM on a vSphere site as a replication source: a VM snapshot (named <see cref="VmReplicator.SnapshotPrefix"/> + the point id,
    /// so a snapshot left by a killed cycle is recognised), CBT's changed areas since the last point (the whole disk
    /// when CBT cannot answer), ranged reads of the snapshot's flat files.
    /// </summary>
    internal sealed class VSphereReplicationSource : IReplicationSource
    {
        private readonly IVault vault;
        private readonly VSphereClient client;
        private readonly ProtectedVm record;
        private readonly string moRef;
        private readonly bool ownsClient;

        /// <param name="vault">The vault (the VM's identity is checked against it).</param>
        /// <param name="client">A connection to the VM's site.</param>
        /// <param name="record">The protected VM as the vault records it.</param>
        /// <param name="moRef">The VM copied: the protected VM, or the recovered copy a reprotected VM replicates from.</param>
        /// <param name="ownsClient">Whether disposing this disposes <paramref name="client"/>.</param>
        public VSphereReplicationSource(IVault vault, VSphereClient client, ProtectedVm record, string moRef, bool ownsClient)
        {
            this.vault = vault;
            this.client = client;
            this.record = record;
            this.moRef = moRef;
            this.ownsClient = ownsClient;
        }

        public string SiteName => client.SiteName;

        public async Task PrepareAsync(CancellationToken cancellationToken)
        {
            // Before anything is read: the same vCenter and the same VM as when it was protected.
            await VmIdentity.VerifyAsync(vault, client, record, moRef, cancellationToken).ConfigureAwait(false);
            await RemoveLeftoverSnapshotsAsync(client, moRef, cancellationToken).ConfigureAwait(false);
        }

        public async Task<DiscoveredVm?> ReadHardwareAsync(CancellationToken cancellationToken) =>
            await client.GetVmAsync(moRef, cancellationToken).ConfigureAwait(false);

        public async Task<ISourceSnapshot> TakeSnapshotAsync(string pointId, bool quiesce, CancellationToken cancellationToken)
        {
            var name = VmReplicator.SnapshotPrefix + pointId;
            const string description = "AzureSiteRecovery.DR replication point; removed when the cycle ends.";
            string? snapshot = null;
            var consistency = PointConsistency.CrashConsistent;
            if (quiesce)
            {
                try
                {
                    snapshot = await client.CreateSnapshotAsync(moRef, name, description, quiesce: true, memory: false, cancellationToken).ConfigureAwait(false);
                    consistency = PointConsistency.AppConsistent;
                }
                catch (VSphereFaultException)
                {
                    // No VMware Tools or a failing VSS writer: a crash-consistent point now beats no point.
                }
            }
            snapshot ??= await client.CreateSnapshotAsync(moRef, name, description, quiesce: false, memory: false, cancellationToken).ConfigureAwait(false);
            try
            {
                var disks = await client.GetSnapshotDisksAsync(snapshot, cancellationToken).ConfigureAwait(false);
                return new Snapshot(this, snapshot, consistency, disks);
            }
            catch
            {
                await RemoveQuietlyAsync(snapshot).ConfigureAwait(false);
                throw;
            }
        }

        public async Task<IReadOnlyList<ProtectedDisk>> StartReprotectAsync(CancellationToken cancellationToken)
        {
            var recovered = await client.GetVmAsync(moRef, cancellationToken).ConfigureAwait(false)
                ?? throw new RecoveryException("VmGone", FailureKind.NotFound, record.Name, $"The recovered VM '{record.Name}' ({moRef}) is not on site '{SiteName}' any more.");
            await client.SetChangeTrackingAsync(recovered.MoRef, true, cancellationToken).ConfigureAwait(false);
            // The recovered VM's disks replace the source's in the record: change ids start afresh (the first cycle reads them whole; unchanged chunks are not stored again).
            return recovered.Disks.Select(d => new ProtectedDisk { Key = d.Key, Label = d.Label, FileName = d.FileName, CapacityBytes = d.CapacityBytes }).ToArray();
        }

        /// <summary>Removes the snapshots our cycles left on a VM (killed mid-cycle), oldest first.</summary>
        public static async Task RemoveLeftoverSnapshotsAsync(VSphereClient client, string moRef, CancellationToken cancellationToken)
        {
            var snapshots = await client.ListSnapshotsAsync(moRef, cancellationToken).ConfigureAwait(false);
            foreach (var leftover in snapshots.Where(s => s.Name.StartsWith(VmReplicator.SnapshotPrefix, StringComparison.Ordinal)).OrderBy(s => s.Created))
            {
                await client.RemoveSnapshotAsync(leftover.MoRef, cancellationToken).ConfigureAwait(false);
            }
        }

        private async Task RemoveQuietlyAsync(string snapshot)
        {
            try
            {
                await client.RemoveSnapshotAsync(snapshot, CancellationToken.None).ConfigureAwait(false);
            }
            catch (DRException)
            {
                // The next cycle finds it by name and removes it.
            }
        }

        public void Dispose()
        {
            if (ownsClient) client.Dispose();
        }

        private sealed class Snapshot : ISourceSnapshot
        {
            private readonly VSphereReplicationSource source;
            private readonly string snapshot;

            public Snapshot(VSphereReplicationSource source, string snapshot, PointConsistency consistency, IReadOnlyList<VmDisk> disks)
            {
                this.source = source;
                this.snapshot = snapshot;
                Consistency = consistency;
                Disks = disks;
            }

            public PointConsistency Consistency { get; }
            public IReadOnlyList<VmDisk> Disks { get; }

            public async Task<ChangedAreas> ChangedAreasAsync(VmDisk disk, DiskManifest? previousDisk, string? previousChangeId, CancellationToken cancellationToken)
            {
                var diskKey = disk.Key.ToString(CultureInfo.InvariantCulture);
                if (disk.ChangeId is null)
                {
                    // CBT is off: read the whole disk; chunks the store has already are not sent again.
                    return ChangedAreas.Everything(previousDisk);
                }

                var resized = previousDisk != null && previousDisk.Capacity != disk.CapacityBytes;
                var since = previousDisk is null ? "*" : previousChangeId;
                if (since is null || resized)
                {
                    return new ChangedAreas(null, null, "Digest");
                }

                try
                {
                    var changed = await source.client.QueryChangedDiskAreasAsync(source.moRef, snapshot, disk.Key, disk.CapacityBytes, since, cancellationToken).ConfigureAwait(false);
                    // "*" lists the allocated areas: everything else of a new disk is zeros.
                    var baseline = previousDisk ?? new DiskManifest(diskKey, disk.CapacityBytes, ChunkStoreOptions.DefaultChunkSize,
                        new ChunkHash[DiskManifest.CountFor(disk.CapacityBytes, ChunkStoreOptions.DefaultChunkSize)]);
                    return new ChangedAreas(baseline, changed, previousDisk is null ? "Full" : "ChangedBlockTracking");
                }
                catch (VSphereFaultException ex) when (ex.Kind == FailureKind.InvalidArgument || ex.FaultName == "FileFault")
                {
                    // The change id was rejected (CBT reset, VM moved): compare the whole disk instead, then carry on with CBT.
                    return new ChangedAreas(null, null, "Digest");
                }
            }

            public DiskReader ReaderOf(VmDisk disk)
            {
                var flatFile = VSphereClient.FlatExtentOf(disk.FileName);
                return async (offset, buffer, count, ct) =>
                {
                    try
                    {
                        await source.client.ReadDiskAsync(flatFile, offset, buffer, count, ct).ConfigureAwait(false);
                    }
                    catch (TransferFailedException e) when (e.Vm is null)
                    {
                        throw e.ForDisk(source.record.Name, disk.Label);
                    }
                };
            }

            public Task RemoveAsync(CancellationToken cancellationToken) => source.RemoveQuietlyAsync(snapshot);
        }
    }
}
