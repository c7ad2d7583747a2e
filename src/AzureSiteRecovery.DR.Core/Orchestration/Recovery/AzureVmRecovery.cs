using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Core;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Compute.Models;
using Azure.ResourceManager.Resources;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites.Azure;
using AzureSiteRecovery.DR.Core.Transfers.Retries;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery
{
    /// <summary>
    /// Brings a protected VM up in an Azure site from its replica: per disk, the point's blob snapshot is
    /// copied to a temporary blob (container <see cref="ImportContainer"/>, metadata <see cref="JobMetadata"/>;
    /// Import from a snapshot URL is unconfirmed) and a managed disk is created from it by Import (the
    /// first disk is the OS disk: osType from the guest id, hyperVGeneration from the firmware); then one
    /// NIC per source NIC in the mapped subnet (no public IP), then the VM with the disks and NICs
    /// attached. Every resource carries the job's tags (<see cref="RecoveryTags"/>) and is recorded in
    /// the step's journal before it is created, so cleanup deletes by the journal, then by tag.
    /// What "up" means (the plan's waitFor): PowerOn: PowerState/running; Heartbeat: the VM agent
    /// reports Ready; IpAddress: agent Ready, and the NIC's private IP is what validations use.
    /// </summary>
    internal sealed class AzureVmRecovery : IRecoverySite
    {
        /// <summary>Temporary copies of replica snapshots for Import (contract 3).</summary>
        public const string ImportContainer = "azsr-dr-import";
        /// <summary>Blob metadata on a temporary copy: the job that made it.</summary>
        public const string JobMetadata = "azsrdrjob";

        private static readonly Backoff Polls = new Backoff(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(15), 1.5);

        /// <summary>The container of the replica blobs (contract 3).</summary>
        public const string ReplicaContainer = "azsr-dr-replica";

        private readonly AzureSiteConnection site;
        private readonly Lazy<Task<IReadOnlyList<VirtualMachineSize>>> sizes;

        /// <param name="site">The site's connection; disposed with this.</param>
        public AzureVmRecovery(AzureSiteConnection site)
        {
            this.site = site;
            sizes = new Lazy<Task<IReadOnlyList<VirtualMachineSize>>>(ListSizesAsync, LazyThreadSafetyMode.ExecutionAndPublication);
        }

        public string Name => site.SiteName;

        public async Task<StepDetails> RecoverVmAsync(VmRecoveryRequest request, CancellationToken cancellationToken)
        {
            if (request.IsRetry || request.EarlierJournal.Count > 0)
            {
                // An earlier run of this step may have made some of it: start again from nothing.
                await DeleteAsync(request.EarlierJournal.Concat(await TaggedAsync(RecoveryTags.Job, request.JobId, r => Tag(r, RecoveryTags.Vm) == request.Vm.VmId,
                    cancellationToken).ConfigureAwait(false)), cancellationToken).ConfigureAwait(false);
                await DeleteImportBlobsAsync(job => job == request.JobId, request.Vm.VmId, cancellationToken).ConfigureAwait(false);
            }

            var snapshots = Snapshots(request.Point);
            if (snapshots.Count == 0)
            {
                throw new RecoveryException("AzureReplicaMissing", FailureKind.NotFound, request.Vm.Name,
                    $"Recovery point {request.Point.RecoveryPointId} of VM '{request.Vm.Name}' has no replica in Azure site '{Name}'s storage account: " +
                    "the replica is written by replication cycles of a group whose recovery site is Azure; run Sync-VmReplication and recover from a newer point.");
            }
            var storage = await site.GetStorageAccountAsync(cancellationToken).ConfigureAwait(false);
            var journal = new List<string>();
            async Task Record(string id)
            {
                journal.Add(id);
                if (request.Journal != null) await request.Journal(id).ConfigureAwait(false);
            }

            var tags = new Dictionary<string, string>
            {
                [RecoveryTags.Job] = request.JobId,
                [RecoveryTags.Vm] = request.Vm.VmId,
                [RecoveryTags.Point] = request.Point.RecoveryPointId,
                [RecoveryTags.Kind] = request.Kind,
            };
            var test = request.Kind == RecoveryTags.TestKind;
            var name = ResourceName(request.Name);
            var os = OsTypeOf(request.Vm.GuestId);

            // Disks: snapshot → temporary blob → managed disk by Import → temporary blob deleted.
            var disks = new List<ResourceIdentifier>();
            long bytes = 0;
            for (var i = 0; i < snapshots.Count; i++)
            {
                var snapshot = snapshots[i];
                var diskId = new ResourceIdentifier($"{site.ResourceGroupId}/providers/Microsoft.Compute/disks/{name}-disk{i}");
                var temporary = await CopyToImportBlobAsync(storage, request, snapshot, Record, cancellationToken).ConfigureAwait(false);
                await Record(diskId.ToString()).ConfigureAwait(false);
                var data = new ManagedDiskData(site.Location)
                {
                    Sku = new DiskSku { Name = DiskStorageAccountType.StandardSsdLrs },
                    CreationData = new DiskCreationData(DiskCreateOption.Import) { SourceUri = temporary.Uri, StorageAccountId = storage.Id },
                };
                if (i == 0)
                {
                    data.OSType = os;
                    data.HyperVGeneration = HyperVGenerationOf(request.Firmware);
                }
                foreach (var tag in tags) data.Tags[tag.Key] = tag.Value;
                var disk = await AzureCalls.RunAsync(site, $"managed disk {diskId.Name} (Import from {snapshot.BlobName})",
                    ct => site.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, diskId.Name, data, ct), cancellationToken).ConfigureAwait(false);
                bytes += disk.Value.Data.DiskSizeBytes ?? 0;
                disks.Add(diskId);
                await DeleteBlobAsync(temporary, cancellationToken).ConfigureAwait(false);
            }

            // NICs in the mapped subnets: no public IP.
            var nics = new List<ResourceIdentifier>();
            for (var i = 0; i < request.Networks.Count; i++)
            {
                var subnet = SubnetOf(request.Networks[i], request.Vm.Name);
                var nicId = new ResourceIdentifier($"{site.ResourceGroupId}/providers/Microsoft.Network/networkInterfaces/{name}-nic{i}");
                await Record(nicId.ToString()).ConfigureAwait(false);
                var nic = new GenericResourceData(site.Location)
                {
                    Properties = BinaryData.FromObjectAsJson(new
                    {
                        ipConfigurations = new[]
                        {
                            new { name = "ipconfig1", properties = new { subnet = new { id = subnet.ToString() }, privateIPAllocationMethod = "Dynamic", primary = true } },
                        },
                    }),
                };
                foreach (var tag in tags) nic.Tags[tag.Key] = tag.Value;
                await AzureCalls.RunAsync(site, $"network interface {nicId.Name} in subnet {subnet}",
                    ct => site.Arm.GetGenericResources().CreateOrUpdateAsync(WaitUntil.Completed, nicId, nic, ct), cancellationToken).ConfigureAwait(false);
                nics.Add(nicId);
            }

            var size = request.VmSize ?? await ChooseSizeAsync(request.Vm, cancellationToken).ConfigureAwait(false);
            var wait = request.PowerOnAt - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }

            // The VM: created running. Drills delete its disks and NICs with it.
            var deleteDisk = test ? DiskDeleteOptionType.Delete : DiskDeleteOptionType.Detach;
            var vmId = new ResourceIdentifier($"{site.ResourceGroupId}/providers/Microsoft.Compute/virtualMachines/{name}");
            await Record(vmId.ToString()).ConfigureAwait(false);
            var vmData = new VirtualMachineData(site.Location)
            {
                HardwareProfile = new VirtualMachineHardwareProfile { VmSize = new VirtualMachineSizeType(size) },
                StorageProfile = new VirtualMachineStorageProfile
                {
                    OSDisk = new VirtualMachineOSDisk(DiskCreateOptionType.Attach)
                    {
                        OSType = os,
                        ManagedDisk = new VirtualMachineManagedDisk { Id = disks[0] },
                        DeleteOption = deleteDisk,
                    },
                },
                NetworkProfile = new VirtualMachineNetworkProfile(),
                // Boot diagnostics in managed storage: the console screenshot and serial log of a guest that does not come up.
                BootDiagnostics = new BootDiagnostics { Enabled = true },
            };
            for (var i = 1; i < disks.Count; i++)
            {
                vmData.StorageProfile.DataDisks.Add(new VirtualMachineDataDisk(i - 1, DiskCreateOptionType.Attach)
                {
                    ManagedDisk = new VirtualMachineManagedDisk { Id = disks[i] },
                    DeleteOption = deleteDisk,
                });
            }
            for (var i = 0; i < nics.Count; i++)
            {
                vmData.NetworkProfile.NetworkInterfaces.Add(new VirtualMachineNetworkInterfaceReference
                {
                    Id = nics[i],
                    Primary = i == 0,
                    DeleteOption = test ? ComputeDeleteOption.Delete : ComputeDeleteOption.Detach,
                });
            }
            foreach (var tag in tags) vmData.Tags[tag.Key] = tag.Value;
            var vm = await AzureCalls.RunAsync(site, $"VM {vmId.Name} ({size})",
                ct => site.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, vmId.Name, vmData, ct), cancellationToken).ConfigureAwait(false);

            await WaitUntilUpAsync(vm.Value, request, cancellationToken).ConfigureAwait(false);
            var ip = nics.Count == 0 ? null : await PrivateIpAsync(nics[0], cancellationToken).ConfigureAwait(false);

            var details = StepDetails.Recovered(request.Vm, request.Point, Name, vmId.ToString(), vmId.Name,
                request.WaitFor == VmStartCondition.PowerOn ? null : ip, bytes, 0);
            details[JobStepDetail.Created] = RecoveryJournal.Format(journal);
            return details;
        }

        // ---- cleanup ----

        public async Task<IReadOnlyList<string>> DeleteJobAsync(DRJob job, CancellationToken cancellationToken)
        {
            var ids = RecoveryJournal.Read(job).Concat(await TaggedAsync(RecoveryTags.Job, job.JobId, null, cancellationToken).ConfigureAwait(false));
            var deleted = await DeleteAsync(ids, cancellationToken).ConfigureAwait(false);
            await DeleteImportBlobsAsync(j => j == job.JobId, null, cancellationToken).ConfigureAwait(false);
            return deleted;
        }

        public async Task<int> DeleteFailoverCopiesAsync(string vmId, CancellationToken cancellationToken)
        {
            var copies = await TaggedAsync(RecoveryTags.Vm, vmId, r => Tag(r, RecoveryTags.Kind) == RecoveryTags.FailoverKind, cancellationToken).ConfigureAwait(false);
            return (await DeleteAsync(copies, cancellationToken).ConfigureAwait(false)).Count;
        }

        public async Task<IReadOnlyList<string>> SweepTestsAsync(Func<string, CancellationToken, Task<bool>> isOrphan, CancellationToken cancellationToken)
        {
            var byJob = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var resource in await ListTaggedAsync(RecoveryTags.Kind, RecoveryTags.TestKind, cancellationToken).ConfigureAwait(false))
            {
                var job = Tag(resource, RecoveryTags.Job);
                if (job is null) continue;
                if (!byJob.TryGetValue(job, out var list)) byJob[job] = list = new List<string>();
                list.Add(resource.Id.ToString());
            }
            var swept = new List<string>();
            var orphans = new HashSet<string>(StringComparer.Ordinal);
            foreach (var job in byJob)
            {
                if (!await isOrphan(job.Key, cancellationToken).ConfigureAwait(false)) continue;
                orphans.Add(job.Key);
                swept.AddRange(await DeleteAsync(job.Value, cancellationToken).ConfigureAwait(false));
            }
            // Temporary blobs of jobs whose process died before their disks existed.
            var storage = await site.GetStorageAccountAsync(cancellationToken).ConfigureAwait(false);
            var blobJobs = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var blob in ImportBlobsAsync(storage, cancellationToken).ConfigureAwait(false))
            {
                if (blob.Metadata.TryGetValue(JobMetadata, out var job)) blobJobs.Add(job);
            }
            foreach (var job in blobJobs)
            {
                if (orphans.Contains(job) || await isOrphan(job, cancellationToken).ConfigureAwait(false)) orphans.Add(job);
            }
            await DeleteImportBlobsAsync(orphans.Contains, null, cancellationToken).ConfigureAwait(false);
            return swept;
        }

        /// <summary>
        /// Deletes resources by id in the order Azure allows: VMs (forced), then NICs, then disks, then anything else;
        /// blob URLs (temporary copies) last. One already gone counts as deleted. Returns the names of the VMs.
        /// </summary>
        private async Task<IReadOnlyList<string>> DeleteAsync(IEnumerable<string> ids, CancellationToken cancellationToken)
        {
            var all = ids.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            var resources = all.Where(i => i.StartsWith("/subscriptions/", StringComparison.OrdinalIgnoreCase)).Select(i => new ResourceIdentifier(i)).ToList();
            int Order(ResourceIdentifier id) =>
                string.Equals(id.ResourceType.ToString(), "Microsoft.Compute/virtualMachines", StringComparison.OrdinalIgnoreCase) ? 0
                : string.Equals(id.ResourceType.ToString(), "Microsoft.Network/networkInterfaces", StringComparison.OrdinalIgnoreCase) ? 1
                : string.Equals(id.ResourceType.ToString(), "Microsoft.Compute/disks", StringComparison.OrdinalIgnoreCase) ? 2 : 3;

            var vms = new List<string>();
            foreach (var id in resources.OrderBy(Order))
            {
                var order = Order(id);
                var gone = await DeleteResourceAsync(id, order, cancellationToken).ConfigureAwait(false);
                if (order == 0 && !gone) vms.Add(id.Name);
            }
            foreach (var url in all.Where(i => Uri.TryCreate(i, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp)))
            {
                var storage = await site.GetStorageAccountAsync(cancellationToken).ConfigureAwait(false);
                var blob = new BlobUriBuilder(new Uri(url));
                await DeleteBlobAsync(storage.Blobs.GetBlobContainerClient(blob.BlobContainerName).GetBlobClient(blob.BlobName), cancellationToken).ConfigureAwait(false);
            }
            return vms;
        }

        /// <summary>Deletes one resource; true when it was gone already.</summary>
        private Task<bool> DeleteResourceAsync(ResourceIdentifier id, int order, CancellationToken cancellationToken) =>
            AzureCalls.RunAsync(site, $"the deletion of {id.ResourceType.Type} {id.Name}", async ct =>
            {
                try
                {
                    switch (order)
                    {
                        case 0:
                            // A VM that is already gone answers the GET with 404: nothing to delete.
                            var vm = site.Arm.GetVirtualMachineResource(id);
                            await vm.GetAsync(cancellationToken: ct).ConfigureAwait(false);
                            await vm.DeleteAsync(WaitUntil.Completed, forceDeletion: true, ct).ConfigureAwait(false);
                            return false;
                        case 2:
                            var disk = site.Arm.GetManagedDiskResource(id);
                            await disk.GetAsync(ct).ConfigureAwait(false);
                            await disk.DeleteAsync(WaitUntil.Completed, ct).ConfigureAwait(false);
                            return false;
                        default:
                            var resource = site.Arm.GetGenericResource(id);
                            await resource.GetAsync(ct).ConfigureAwait(false);
                            await resource.DeleteAsync(WaitUntil.Completed, ct).ConfigureAwait(false);
                            return false;
                    }
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    return true;
                }
            }, cancellationToken);

        /// <summary>The ids of the resource group's resources tagged <paramref name="tag"/> = <paramref name="value"/> (and matching <paramref name="also"/>, which sees their tags).</summary>
        private async Task<IReadOnlyList<string>> TaggedAsync(string tag, string value, Func<GenericResource, bool>? also, CancellationToken cancellationToken) =>
            (await ListTaggedAsync(tag, value, cancellationToken).ConfigureAwait(false)).Where(r => also is null || also(r)).Select(r => r.Id.ToString()).ToList();

        /// <summary>The resources of the resource group with a tag, each read again: a tag filter's listing carries no tags.</summary>
        private Task<IReadOnlyList<GenericResource>> ListTaggedAsync(string tag, string value, CancellationToken cancellationToken) =>
            AzureCalls.RunAsync(site, $"the resources tagged {tag}={value} in resource group {site.Site.ResourceGroup}", async ct =>
            {
                var found = new List<GenericResource>();
                var filter = $"tagName eq '{tag}' and tagValue eq '{value.Replace("'", "''")}'";
                await foreach (var listed in site.ResourceGroup.GetGenericResourcesAsync(filter: filter, cancellationToken: ct).ConfigureAwait(false))
                {
                    try
                    {
                        found.Add((await site.Arm.GetGenericResource(listed.Id).GetAsync(ct).ConfigureAwait(false)).Value);
                    }
                    catch (RequestFailedException e) when (e.Status == 404)
                    {
                        // Deleted since it was listed.
                    }
                }
                return (IReadOnlyList<GenericResource>)found;
            }, cancellationToken);

        private static string? Tag(GenericResource resource, string name) =>
            resource.Data.Tags.TryGetValue(name, out var value) ? value : null;

        // ---- temporary blobs ----

        private async Task<BlobClient> CopyToImportBlobAsync(AzureStorageAccount storage, VmRecoveryRequest request, ReplicaSnapshot snapshot,
            Func<string, Task> record, CancellationToken cancellationToken)
        {
            var container = storage.Blobs.GetBlobContainerClient(ImportContainer);
            var target = container.GetBlobClient($"{request.JobId}/{request.Vm.VmId}/{snapshot.DiskKey}.vhd");
            await record(target.Uri.ToString()).ConfigureAwait(false);
            var source = storage.Blobs.GetBlobContainerClient(ReplicaContainer).GetBlobClient(snapshot.BlobName).WithSnapshot(snapshot.Snapshot);
            await AzureCalls.RunAsync(site, $"the copy of replica {snapshot.BlobName} at {snapshot.Snapshot} to {target.Name}", async ct =>
            {
                await container.CreateIfNotExistsAsync(cancellationToken: ct).ConfigureAwait(false);
                // A read SAS for the source: the copy is authorized the same way inside one account and across.
                var sas = source.GenerateSasUri(BlobSasPermissions.Read, DateTimeOffset.UtcNow.AddHours(12));
                var copy = await target.StartCopyFromUriAsync(sas, new BlobCopyFromUriOptions
                {
                    Metadata = new Dictionary<string, string> { [JobMetadata] = request.JobId },
                }, ct).ConfigureAwait(false);
                await copy.WaitForCompletionAsync(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
                var properties = await target.GetPropertiesAsync(cancellationToken: ct).ConfigureAwait(false);
                if (properties.Value.CopyStatus != CopyStatus.Success)
                {
                    throw new AzureException("AzureReplicaCopyFailed", FailureKind.Failed, target.Uri.ToString(),
                        $"Copying replica {snapshot.BlobName} (snapshot {snapshot.Snapshot}) for Import ended {properties.Value.CopyStatus}: {properties.Value.CopyStatusDescription}.");
                }
                return true;
            }, cancellationToken).ConfigureAwait(false);
            return target;
        }

        private static async IAsyncEnumerable<BlobItem> ImportBlobsAsync(AzureStorageAccount storage, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var container = storage.Blobs.GetBlobContainerClient(ImportContainer);
            IAsyncEnumerator<BlobItem>? items = null;
            try
            {
                items = container.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, null, cancellationToken).GetAsyncEnumerator(cancellationToken);
                while (true)
                {
                    try
                    {
                        if (!await items.MoveNextAsync().ConfigureAwait(false)) yield break;
                    }
                    catch (RequestFailedException e) when (e.Status == 404)
                    {
                        yield break; // no container: nothing was ever copied
                    }
                    yield return items.Current;
                }
            }
            finally
            {
                if (items != null) await items.DisposeAsync().ConfigureAwait(false);
            }
        }

        /// <summary>Deletes the temporary blobs whose job (metadata) <paramref name="ofJob"/> picks (of one protected VM, when <paramref name="vmId"/> is given).</summary>
        private async Task DeleteImportBlobsAsync(Func<string, bool> ofJob, string? vmId, CancellationToken cancellationToken)
        {
            var storage = await site.GetStorageAccountAsync(cancellationToken).ConfigureAwait(false);
            var container = storage.Blobs.GetBlobContainerClient(ImportContainer);
            var doomed = new List<string>();
            await AzureCalls.RunAsync(site, $"the temporary blobs in container {ImportContainer}", async ct =>
            {
                await foreach (var blob in ImportBlobsAsync(storage, ct).ConfigureAwait(false))
                {
                    if (blob.Metadata.TryGetValue(JobMetadata, out var job) && ofJob(job) && (vmId is null || blob.Name.Contains("/" + vmId + "/")))
                    {
                        doomed.Add(blob.Name);
                    }
                }
                return true;
            }, cancellationToken).ConfigureAwait(false);
            foreach (var name in doomed)
            {
                await DeleteBlobAsync(container.GetBlobClient(name), cancellationToken).ConfigureAwait(false);
            }
        }

        private Task DeleteBlobAsync(BlobClient blob, CancellationToken cancellationToken) =>
            AzureCalls.RunAsync(site, $"the deletion of temporary blob {blob.Name}",
                ct => blob.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: ct), cancellationToken);

        // ---- power ----

        public async Task<bool> ShutDownAsync(string vmRef, string name, TimeSpan timeout, CancellationToken cancellationToken)
        {
            var vm = site.Arm.GetVirtualMachineResource(new ResourceIdentifier(vmRef));
            var power = await PowerStateAsync(vm, name, cancellationToken).ConfigureAwait(false);
            if (power != "running" && power != "starting") return false;
            // Power off lets the guest shut down first (skipShutdown false); Azure gives it a few minutes.
            await AzureCalls.RunAsync(site, $"the power-off of VM {vm.Id.Name}", ct => vm.PowerOffAsync(WaitUntil.Completed, skipShutdown: false, ct), cancellationToken).ConfigureAwait(false);
            return true;
        }

        public async Task<bool> StartIfStoppedAsync(string vmRef, CancellationToken cancellationToken)
        {
            var vm = site.Arm.GetVirtualMachineResource(new ResourceIdentifier(vmRef));
            string? power;
            try
            {
                power = await PowerStateAsync(vm, vm.Id.Name, cancellationToken).ConfigureAwait(false);
            }
            catch (RecoveryException e) when (e.ErrorId == "VmGone")
            {
                return false;
            }
            if (power == "running" || power == "starting") return false;
            await AzureCalls.RunAsync(site, $"the start of VM {vm.Id.Name}", ct => vm.PowerOnAsync(WaitUntil.Completed, ct), cancellationToken).ConfigureAwait(false);
            return true;
        }

        public async Task DestroyVmAsync(string vmRef, CancellationToken cancellationToken)
        {
            // A failover VM keeps its disks and NICs when deleted (Detach): delete them with it.
            var id = new ResourceIdentifier(vmRef);
            var parts = new List<string> { id.ToString() };
            try
            {
                var vm = await site.Arm.GetVirtualMachineResource(id).GetAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                var storageProfile = vm.Value.Data.StorageProfile;
                if (storageProfile?.OSDisk?.ManagedDisk?.Id is ResourceIdentifier os) parts.Add(os.ToString());
                parts.AddRange(storageProfile?.DataDisks.Select(d => d.ManagedDisk?.Id?.ToString()).OfType<string>() ?? Enumerable.Empty<string>());
                parts.AddRange(vm.Value.Data.NetworkProfile?.NetworkInterfaces.Select(n => n.Id?.ToString()).OfType<string>() ?? Enumerable.Empty<string>());
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                return;
            }
            catch (RequestFailedException e)
            {
                throw AzureCalls.Map(site, $"VM {id.Name}", e);
            }
            await DeleteAsync(parts, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>The VM's PowerState code suffix (running, stopped, deallocated, starting...); VmGone when it is not there.</summary>
        private async Task<string?> PowerStateAsync(VirtualMachineResource vm, string name, CancellationToken cancellationToken)
        {
            try
            {
                var view = await vm.InstanceViewAsync(cancellationToken).ConfigureAwait(false);
                return PowerOf(view.Value);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                throw new RecoveryException("VmGone", FailureKind.NotFound, name, $"VM '{name}' ({vm.Id}) is not in Azure site '{Name}' any more.");
            }
            catch (RequestFailedException e)
            {
                throw AzureCalls.Map(site, $"the state of VM {vm.Id.Name}", e);
            }
        }

        private static string? PowerOf(VirtualMachineInstanceView view) =>
            view.Statuses.Select(s => s.Code).FirstOrDefault(c => c != null && c.StartsWith("PowerState/", StringComparison.OrdinalIgnoreCase))?.Substring("PowerState/".Length).ToLowerInvariant();

        private static bool AgentReady(VirtualMachineInstanceView view) =>
            view.VmAgent?.Statuses.Any(s => string.Equals(s.DisplayStatus, "Ready", StringComparison.OrdinalIgnoreCase)) == true;

        /// <summary>Waits until the VM is running and, where the plan waits for a heartbeat or an IP address, its VM agent is Ready.</summary>
        private async Task WaitUntilUpAsync(VirtualMachineResource vm, VmRecoveryRequest request, CancellationToken cancellationToken)
        {
            var needAgent = request.WaitFor != VmStartCondition.PowerOn;
            var deadline = DateTimeOffset.UtcNow + request.StartTimeout;
            var polls = 0;
            while (true)
            {
                var view = (await AzureCalls.RunAsync(site, $"the state of VM {vm.Id.Name}", ct => vm.InstanceViewAsync(ct), cancellationToken).ConfigureAwait(false)).Value;
                var power = PowerOf(view);
                if (power == "running" && (!needAgent || AgentReady(view))) return;
                var left = deadline - DateTimeOffset.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    throw new RecoveryException("RecoveredVmNotUp", FailureKind.Unavailable, request.Name,
                        $"VM '{request.Name}' did not come up in Azure site '{Name}' within its start timeout of {request.StartTimeout} " +
                        $"(waiting for {(needAgent ? "PowerState/running and the VM agent Ready" : "PowerState/running")}; power {power ?? "unknown"}, " +
                        $"agent {(AgentReady(view) ? "Ready" : "not ready")}). A guest without Hyper-V drivers or the Azure VM agent never reports Ready: see about_AzureSiteRecovery.DR.");
                }
                var delay = Polls.After(++polls);
                await Task.Delay(left < delay ? left : delay, cancellationToken).ConfigureAwait(false);
            }
        }

        private async Task<string?> PrivateIpAsync(ResourceIdentifier nic, CancellationToken cancellationToken)
        {
            var resource = await AzureCalls.RunAsync(site, $"network interface {nic.Name}", ct => site.Arm.GetGenericResource(nic).GetAsync(ct), cancellationToken).ConfigureAwait(false);
            var properties = resource.Value.Data.Properties;
            if (properties is null) return null;
            using var json = System.Text.Json.JsonDocument.Parse(properties.ToMemory());
            if (!json.RootElement.TryGetProperty("ipConfigurations", out var configurations) || configurations.ValueKind != System.Text.Json.JsonValueKind.Array) return null;
            foreach (var configuration in configurations.EnumerateArray())
            {
                if (configuration.TryGetProperty("properties", out var p) && p.TryGetProperty("privateIPAddress", out var ip) && ip.ValueKind == System.Text.Json.JsonValueKind.String)
                {
                    return ip.GetString();
                }
            }
            return null;
        }

        // ---- choices ----

        /// <summary>The point's replica snapshots in disk order: the first is the OS disk.</summary>
        private static IReadOnlyList<ReplicaSnapshot> Snapshots(RecoveryPoint point) =>
            point.ReplicaSnapshots.OrderBy(s => long.TryParse(s.DiskKey, NumberStyles.Integer, CultureInfo.InvariantCulture, out var k) ? k : long.MaxValue)
                .ThenBy(s => s.DiskKey, StringComparer.Ordinal).ToList();

        /// <summary>The smallest size of the region with at least the source's CPUs and memory.</summary>
        private async Task<string> ChooseSizeAsync(ProtectedVm vm, CancellationToken cancellationToken)
        {
            var all = await sizes.Value.ConfigureAwait(false);
            return ChooseSize(all, vm) ?? throw new RecoveryException("AzureVmSizeNotFound", FailureKind.NotFound, vm.Name,
                $"No VM size in {site.Location} has {Math.Max(1, vm.NumCpu)} CPU(s) and {Math.Max(512, vm.MemoryMB)} MB of memory for '{vm.Name}' ({all.Count} sizes offered); " +
                "name one in the plan (azure: vmSize:).");
        }

        /// <summary>The smallest of <paramref name="sizes"/> with at least the VM's CPUs and memory; null when none has.</summary>
        internal static string? ChooseSize(IReadOnlyList<VirtualMachineSize> sizes, ProtectedVm vm)
        {
            var cpus = Math.Max(1, vm.NumCpu);
            var memory = Math.Max(512, vm.MemoryMB);
            return sizes.Where(s => (s.NumberOfCores ?? 0) >= cpus && (s.MemoryInMB ?? 0) >= memory)
                .OrderBy(s => s.NumberOfCores).ThenBy(s => s.MemoryInMB).ThenBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault()?.Name;
        }

        private Task<IReadOnlyList<VirtualMachineSize>> ListSizesAsync() => ListSizesAsync(site, CancellationToken.None);

        /// <summary>The VM sizes of the site's region.</summary>
        internal static Task<IReadOnlyList<VirtualMachineSize>> ListSizesAsync(AzureSiteConnection site, CancellationToken cancellationToken) =>
            AzureCalls.RunAsync(site, $"the VM sizes of {site.Location}", async ct =>
            {
                var list = new List<VirtualMachineSize>();
                await foreach (var size in site.Subscription.GetVirtualMachineSizesAsync(site.Location, ct).ConfigureAwait(false)) list.Add(size);
                return (IReadOnlyList<VirtualMachineSize>)list;
            }, cancellationToken);

        /// <summary>A plan's network for Azure (<see cref="AzureSubnetReference"/>) as the subnet's resource id.</summary>
        internal ResourceIdentifier SubnetOf(string network, string vmName)
        {
            var subnet = AzureSubnetReference.Parse(network, out var problem)
                ?? throw new RecoveryException("AzureNetworkInvalid", FailureKind.InvalidArgument, network,
                    $"VM '{vmName}' would be connected to '{network}', which is not an Azure subnet ({problem}): map the network to {AzureSubnetReference.ShortFormHint} in the plan's networkMappings.");
            return new ResourceIdentifier(subnet.ResourceIdIn(site.Site.SubscriptionId!, site.Site.ResourceGroup!));
        }

        /// <summary>windows* guests are Windows, every other is Linux.</summary>
        internal static SupportedOperatingSystemType OsTypeOf(string? guestId) =>
            guestId != null && guestId.StartsWith("windows", StringComparison.OrdinalIgnoreCase) ? SupportedOperatingSystemType.Windows : SupportedOperatingSystemType.Linux;

        /// <summary>efi firmware boots generation 2; bios (or unknown) generation 1.</summary>
        internal static HyperVGeneration HyperVGenerationOf(string? firmware) =>
            string.Equals(firmware, "efi", StringComparison.OrdinalIgnoreCase) ? HyperVGeneration.V2 : HyperVGeneration.V1;

        /// <summary>An Azure resource name from a VM name: letters, digits, '-', '_' and '.' kept, others '-'; at most 64 characters, not ending in '.' or '-'.</summary>
        internal static string ResourceName(string name)
        {
            var text = new StringBuilder(name.Length);
            foreach (var c in name) text.Append(char.IsLetterOrDigit(c) && c < 128 || c == '-' || c == '_' || c == '.' ? c : '-');
            var result = text.ToString();
            if (result.Length > 64) result = result.Substring(0, 64);
            result = result.TrimEnd('.', '-').TrimStart('_');
            return result.Length == 0 ? "vm" : result;
        }

        public void Dispose() => site.Dispose();
    }
}
