using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Core;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Compute.Models;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;
using AzureSiteRecovery.DR.Core.Sites.Azure;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Core.Replication.Sources
{
    /// <summary>
    /// A VM recovered to an Azure site as a replication source (Invoke-Reprotect, then the cycles until
    /// failback): per managed disk a <c>Microsoft.Compute/snapshots</c> resource (createOption Copy from the
    /// disk, tagged with the VM, the point and kind <see cref="SnapshotKind"/>), a read SAS of it, and ranged
    /// reads of the SAS blob; the whole disk is compared chunk by chunk with the last point (Digest: only
    /// chunks the store does not hold are stored). The snapshots are always removed (access revoked, then
    /// deleted), also after a failure; one a killed cycle left is found by its tags and removed by the next.
    /// Azure disks have no CBT and no quiescing from outside the guest: every point is crash-consistent,
    /// and each disk's snapshot is taken on its own (a multi-disk VM's disks are a few seconds apart).
    /// The disks are matched with the vault's by order: the OS disk first, then data disks by LUN.
    /// </summary>
    internal sealed class AzureReplicationSource : IReplicationSource
    {
        /// <summary>The <see cref="RecoveryTags.Kind"/> of a replication snapshot.</summary>
        public const string SnapshotKind = "replication";
        private const string SnapshotType = "Microsoft.Compute/snapshots";
        private static readonly TimeSpan SasLifetime = TimeSpan.FromHours(12);

        private readonly AzureSiteConnection site;
        private readonly ProtectedVm record;
        private readonly ResourceIdentifier vmId;

        /// <param name="site">The Azure site's connection; disposed with this.</param>
        /// <param name="record">The protected VM as the vault records it.</param>
        /// <param name="vmRef">The resource id of the recovered VM.</param>
        public AzureReplicationSource(AzureSiteConnection site, ProtectedVm record, string vmRef)
        {
            this.site = site;
            this.record = record;
            vmId = new ResourceIdentifier(vmRef);
        }

        public string SiteName => site.SiteName;

        public async Task PrepareAsync(CancellationToken cancellationToken)
        {
            await ReadVmAsync(cancellationToken).ConfigureAwait(false);
            foreach (var leftover in await LeftoverSnapshotsAsync(cancellationToken).ConfigureAwait(false))
            {
                await RemoveSnapshotAsync(leftover, cancellationToken).ConfigureAwait(false);
            }
        }

        public Task<DiscoveredVm?> ReadHardwareAsync(CancellationToken cancellationToken) => Task.FromResult<DiscoveredVm?>(null);

        public async Task<ISourceSnapshot> TakeSnapshotAsync(string pointId, bool quiesce, CancellationToken cancellationToken)
        {
            var vm = await ReadVmAsync(cancellationToken).ConfigureAwait(false);
            var disks = DisksOf(vm);
            var snapshot = new Snapshot(this);
            try
            {
                for (var i = 0; i < disks.Count; i++)
                {
                    var (recorded, diskId) = disks[i];
                    var name = $"{VmReplicator.SnapshotPrefix}{record.VmId}-{pointId}-{i}";
                    var data = new SnapshotData(site.Location)
                    {
                        CreationData = new DiskCreationData(DiskCreateOption.Copy) { SourceResourceId = diskId },
                        Incremental = false,
                    };
                    data.Tags[RecoveryTags.Vm] = record.VmId;
                    data.Tags[RecoveryTags.Point] = pointId;
                    data.Tags[RecoveryTags.Kind] = SnapshotKind;
                    var id = SnapshotResource.CreateResourceIdentifier(site.ResourceGroupId.SubscriptionId, site.ResourceGroupId.ResourceGroupName, name);
                    snapshot.Created.Add(id);
                    var made = await AzureCalls.RunAsync(site, $"snapshot {name} of disk {diskId.Name}",
                        ct => site.ResourceGroup.GetSnapshots().CreateOrUpdateAsync(WaitUntil.Completed, name, data, ct), cancellationToken).ConfigureAwait(false);
                    if (made.Value.Data.DiskSizeBytes is long size && size < recorded.CapacityBytes)
                    {
                        throw new RecoveryException("AzureDiskTooSmall", FailureKind.InvalidData, record.Name,
                            $"Disk {diskId.Name} of the recovered VM '{record.Name}' in Azure site '{SiteName}' holds {size} bytes, less than the {recorded.CapacityBytes} bytes of " +
                            $"disk {recorded.Key} it was recovered from; it cannot be copied back to the original VM.");
                    }
                    var access = await AzureCalls.RunAsync(site, $"a read SAS of snapshot {name}",
                        ct => made.Value.GrantAccessAsync(WaitUntil.Completed, new GrantAccessData(AccessLevel.Read, (int)SasLifetime.TotalSeconds), ct), cancellationToken).ConfigureAwait(false);
                    var sas = access.Value.AccessSas ?? throw new AzureException("AzureSnapshotNoSas", FailureKind.Failed, SiteName,
                        $"Azure granted read access to snapshot {name} of site '{SiteName}' without a SAS URL.");
                    snapshot.Blobs[recorded.Key] = site.SasPageBlob(new Uri(sas));
                    snapshot.Disks.Add(new VmDisk { Key = recorded.Key, Label = recorded.Label, CapacityBytes = recorded.CapacityBytes, FileName = diskId.ToString() });
                }
            }
            catch
            {
                await snapshot.RemoveAsync(CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            return snapshot;
        }

        public async Task<IReadOnlyList<ProtectedDisk>> StartReprotectAsync(CancellationToken cancellationToken)
        {
            var vm = await ReadVmAsync(cancellationToken).ConfigureAwait(false);
            // The keys, labels and sizes stay the original disks' (the points and the failback name them); the files are the Azure disks.
            return DisksOf(vm).Select(d => d.Recorded with { FileName = d.DiskId.ToString(), ChangeId = null }).ToArray();
        }

        /// <summary>The recovered VM; VmGone when it is not there, VmIdentityChanged when it is not tagged as this VM's copy.</summary>
        private async Task<VirtualMachineData> ReadVmAsync(CancellationToken cancellationToken)
        {
            VirtualMachineData vm;
            try
            {
                vm = (await site.Arm.GetVirtualMachineResource(vmId).GetAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value.Data;
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                throw new RecoveryException("VmGone", FailureKind.NotFound, record.Name, $"The recovered VM '{record.Name}' ({vmId}) is not in Azure site '{SiteName}' any more.");
            }
            catch (RequestFailedException e)
            {
                throw AzureCalls.Map(site, $"VM {vmId.Name}", e);
            }
            if (!vm.Tags.TryGetValue(RecoveryTags.Vm, out var tagged) || tagged != record.VmId)
            {
                throw new IdentityChangedException("VmIdentityChanged", record.Name,
                    $"VM {vmId} '{record.Name}' in Azure site '{SiteName}' is not the recovered copy of this VM: it is not tagged {RecoveryTags.Vm}={record.VmId}. Nothing was read.");
            }
            return vm;
        }

        /// <summary>The VM's managed disks (OS disk, then data disks by LUN) paired with the vault's disks in key order.</summary>
        private IReadOnlyList<(ProtectedDisk Recorded, ResourceIdentifier DiskId)> DisksOf(VirtualMachineData vm)
        {
            var ids = new List<ResourceIdentifier>();
            if (vm.StorageProfile?.OSDisk?.ManagedDisk?.Id is ResourceIdentifier os) ids.Add(os);
            ids.AddRange((vm.StorageProfile?.DataDisks ?? new List<VirtualMachineDataDisk>()).OrderBy(d => d.Lun)
                .Select(d => d.ManagedDisk?.Id).OfType<ResourceIdentifier>());
            var recorded = record.Disks.OrderBy(d => d.Key).ToList();
            if (ids.Count != recorded.Count)
            {
                throw new RecoveryException("RecoveredVmDisksMismatch", FailureKind.InvalidData, record.Name,
                    $"VM {vmId.Name} in Azure site '{SiteName}' has {ids.Count} managed disk(s) but '{record.Name}' was protected with {recorded.Count}; " +
                    "the disks cannot be matched to copy them back.");
            }
            return recorded.Zip(ids, (r, id) => (r, id)).ToList();
        }

        private async Task<IReadOnlyList<ResourceIdentifier>> LeftoverSnapshotsAsync(CancellationToken cancellationToken) =>
            await AzureCalls.RunAsync(site, $"the replication snapshots of '{record.Name}' in resource group {site.Site.ResourceGroup}", async ct =>
            {
                var found = new List<ResourceIdentifier>();
                var filter = $"tagName eq '{RecoveryTags.Vm}' and tagValue eq '{record.VmId}'";
                await foreach (var listed in site.ResourceGroup.GetGenericResourcesAsync(filter: filter, cancellationToken: ct).ConfigureAwait(false))
                {
                    if (string.Equals(listed.Id.ResourceType.ToString(), SnapshotType, StringComparison.OrdinalIgnoreCase)
                        && listed.Id.Name.StartsWith(VmReplicator.SnapshotPrefix + record.VmId + "-", StringComparison.Ordinal))
                    {
                        found.Add(listed.Id);
                    }
                }
                return (IReadOnlyList<ResourceIdentifier>)found;
            }, cancellationToken).ConfigureAwait(false);

        /// <summary>Revokes the snapshot's SAS (Azure refuses to delete a snapshot being read) and deletes it; one already gone counts as deleted.</summary>
        private Task RemoveSnapshotAsync(ResourceIdentifier id, CancellationToken cancellationToken) =>
            AzureCalls.RunAsync(site, $"the removal of snapshot {id.Name}", async ct =>
            {
                var snapshot = site.Arm.GetSnapshotResource(id);
                try
                {
                    await snapshot.RevokeAccessAsync(WaitUntil.Completed, ct).ConfigureAwait(false);
                    await snapshot.DeleteAsync(WaitUntil.Completed, ct).ConfigureAwait(false);
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                }
            }, cancellationToken);

        public void Dispose() => site.Dispose();

        private sealed class Snapshot : ISourceSnapshot
        {
            private readonly AzureReplicationSource source;

            public Snapshot(AzureReplicationSource source) => this.source = source;

            public List<ResourceIdentifier> Created { get; } = new List<ResourceIdentifier>();
            public Dictionary<int, PageBlobClient> Blobs { get; } = new Dictionary<int, PageBlobClient>();
            public List<VmDisk> Disks { get; } = new List<VmDisk>();
            IReadOnlyList<VmDisk> ISourceSnapshot.Disks => Disks;
            public PointConsistency Consistency => PointConsistency.CrashConsistent;

            /// <summary>No CBT: the whole disk, compared with the last point chunk by chunk.</summary>
            public Task<ChangedAreas> ChangedAreasAsync(VmDisk disk, DiskManifest? previousDisk, string? previousChangeId, CancellationToken cancellationToken) =>
                Task.FromResult(ChangedAreas.Everything(previousDisk));

            public DiskReader ReaderOf(VmDisk disk)
            {
                var blob = Blobs[disk.Key];
                return (offset, buffer, count, ct) => AzureCalls.RunAsync(source.site, $"bytes {offset}-{offset + count - 1} of the snapshot of disk {disk.Key}", async c =>
                {
                    var response = await blob.DownloadStreamingAsync(new BlobDownloadOptions { Range = new HttpRange(offset, count) }, c).ConfigureAwait(false);
                    using var stream = response.Value.Content;
                    var read = 0;
                    while (read < count)
                    {
                        var n = await stream.ReadAsync(buffer, read, count - read, c).ConfigureAwait(false);
                        if (n == 0)
                        {
                            throw new AzureException("AzureSnapshotShort", FailureKind.InvalidData, source.SiteName,
                                $"The snapshot of disk {disk.Key} ended at byte {offset + read}, before {offset + count}.");
                        }
                        read += n;
                    }
                }, ct);
            }

            public async Task RemoveAsync(CancellationToken cancellationToken)
            {
                foreach (var id in Created)
                {
                    try
                    {
                        await source.RemoveSnapshotAsync(id, cancellationToken).ConfigureAwait(false);
                    }
                    catch (DRException)
                    {
                        // The next cycle finds it by its tags and removes it.
                    }
                }
            }
        }
    }
}
