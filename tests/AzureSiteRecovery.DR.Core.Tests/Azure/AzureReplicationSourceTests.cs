using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Core;
using Azure.ResourceManager;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Compute.Models;
using Azure.ResourceManager.Resources;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Sites.Azure;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using AzureSiteRecovery.DR.Core.Tests.Replication;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Azure
{
    /// <summary>Azurite with the lab ARM's storage account and a lab ARM on it, for one test class.</summary>
    public sealed class AzureSourceLab : IAsyncLifetime
    {
        public AzuriteLab Azurite { get; } = new AzuriteLab(ArmLab.AzuriteAccounts);
        public ArmLab Arm { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            await Azurite.StartAsync();
            Arm = await ArmLab.StartAsync(Azurite);
        }

        public async Task DisposeAsync()
        {
            await Arm.DisposeAsync();
            await Azurite.DisposeAsync();
        }
    }

    /// <summary>
    /// A reprotected VM that runs in Azure replicates back into the chunk store through its disks'
    /// snapshots (the replication source of an Azure VM) against Azurite and the lab ARM: per disk a
    /// Microsoft.Compute/snapshots resource copied from the disk, a read SAS, the whole disk compared
    /// chunk by chunk with the last point (only changed chunks stored), and the snapshot always removed.
    /// The first point is a real one of a vcsim VM, recovered by hand into a managed disk (Import).
    /// </summary>
    public sealed class AzureReplicationSourceTests : IClassFixture<ReplicationVcsimLab>, IClassFixture<AzureSourceLab>
    {
        private const string AzureSiteName = "azure-lab";
        private const int ChunkSize = ReplicationBed.ChunkSize;
        private static readonly CancellationToken None = CancellationToken.None;
        private readonly ReplicationVcsimLab vcsim;
        private readonly AzureSourceLab lab;

        public AzureReplicationSourceTests(ReplicationVcsimLab vcsim, AzureSourceLab lab)
        {
            this.vcsim = vcsim;
            this.lab = lab;
        }

        private Site LabSite => new Site
        {
            Name = AzureSiteName,
            Kind = SiteKind.Azure,
            Role = SiteRole.Recovery,
            TenantId = ArmLab.Tenant,
            SubscriptionId = ArmLab.Subscription,
            ResourceGroup = ArmLab.ResourceGroup,
            Location = ArmLab.Location,
            StorageAccount = ArmLab.StorageAccount,
            Environment = AzureClouds.Custom,
            ArmEndpoint = lab.Arm.Url,
            AuthorityHost = lab.Arm.Url,
            ArmCertificateThumbprint = lab.Arm.Thumbprint,
            Authentication = AzureAuthentication.ServicePrincipalSecret,
            ClientId = ArmLab.ClientId,
        };

        /// <summary>Protects a vcsim VM, makes its first point, "recovers" it into an Azure VM by hand and marks it reprotected from there.</summary>
        private async Task<(ReplicationBed Bed, ProtectedVm Vm, string AzureVmId, PageBlobClient DiskBlob)> ReprotectedInAzureAsync(string vmName, string? vmTag = null)
        {
            var bed = await ReplicationBed.CreateAsync(vcsim);
            await bed.Vault.AddSiteAsync(LabSite, ArmLab.ClientSecret, None);
            var vm = await bed.ProtectAsync(vmName);
            bed.Write(vmName, 3 * ChunkSize + 100, 5000, seed: 1);
            var first = await bed.Replicator().RunCycleAsync(vm.VmId, None);

            // The point's image as a fixed VHD in the storage account, imported as a managed disk, attached to a VM tagged as the copy.
            byte[] image;
            using (var store = bed.OpenLocalStore()) image = await bed.ExportAsync(store, first.Point!);
            var account = new BlobServiceClient(new Uri(lab.Azurite.AccountUrl(ArmLab.StorageAccount) + "/"),
                new global::Azure.Storage.StorageSharedKeyCredential(ArmLab.StorageAccount, ArmLab.AzuriteAccounts[ArmLab.StorageAccount]));
            var container = account.GetBlobContainerClient("seed");
            await container.CreateIfNotExistsAsync();
            var seed = container.GetPageBlobClient($"{vm.VmId}.vhd");
            var size = VhdFooter.VirtualSizeFor(image.Length);
            await seed.CreateAsync(size + VhdFooter.Length);
            for (var offset = 0; offset < image.Length; offset += ChunkSize)
            {
                await seed.UploadPagesAsync(new System.IO.MemoryStream(image, offset, Math.Min(ChunkSize, image.Length - offset)), offset);
            }
            await seed.UploadPagesAsync(new System.IO.MemoryStream(VhdFooter.ForDisk(image.Length, Guid.NewGuid(), DateTimeOffset.UtcNow).ToBytes()), size);

            var arm = lab.Arm.Client();
            var rg = arm.GetResourceGroupResource(ResourceGroupResource.CreateResourceIdentifier(ArmLab.Subscription, ArmLab.ResourceGroup));
            var tags = new Dictionary<string, string> { [RecoveryTags.Vm] = vm.VmId, [RecoveryTags.Kind] = RecoveryTags.FailoverKind, [RecoveryTags.Job] = "test" };
            var diskData = new ManagedDiskData(new AzureLocation(ArmLab.Location))
            {
                CreationData = new DiskCreationData(DiskCreateOption.Import) { SourceUri = seed.Uri, StorageAccountId = new ResourceIdentifier(ArmLab.StorageAccountId) },
                OSType = SupportedOperatingSystemType.Linux,
            };
            foreach (var t in tags) diskData.Tags[t.Key] = t.Value;
            var disk = (await rg.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, $"{vmName}-disk0", diskData)).Value;
            var nicId = new ResourceIdentifier($"{rg.Id}/providers/Microsoft.Network/networkInterfaces/{vmName}-nic0");
            var nic = new GenericResourceData(new AzureLocation(ArmLab.Location))
            {
                Properties = BinaryData.FromObjectAsJson(new
                {
                    ipConfigurations = new[] { new { name = "ipconfig1", properties = new { subnet = new { id = ArmLab.VnetId + "/subnets/default" }, privateIPAllocationMethod = "Dynamic" } } },
                }),
            };
            foreach (var t in tags) nic.Tags[t.Key] = t.Value;
            await arm.GetGenericResources().CreateOrUpdateAsync(WaitUntil.Completed, nicId, nic);
            var vmData = new VirtualMachineData(new AzureLocation(ArmLab.Location))
            {
                HardwareProfile = new VirtualMachineHardwareProfile { VmSize = new VirtualMachineSizeType("Standard_B2s") },
                StorageProfile = new VirtualMachineStorageProfile
                {
                    OSDisk = new VirtualMachineOSDisk(DiskCreateOptionType.Attach) { OSType = SupportedOperatingSystemType.Linux, ManagedDisk = new VirtualMachineManagedDisk { Id = disk.Id } },
                },
                NetworkProfile = new VirtualMachineNetworkProfile(),
            };
            vmData.NetworkProfile.NetworkInterfaces.Add(new VirtualMachineNetworkInterfaceReference { Id = nicId, Primary = true });
            foreach (var t in tags) vmData.Tags[t.Key] = t.Value;
            if (vmTag != null) vmData.Tags[RecoveryTags.Vm] = vmTag;
            var azureVm = (await rg.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, vmName, vmData)).Value;

            vm = await bed.Vault.UpdateProtectedVmAsync(vm.VmId, v => v with
            {
                State = ProtectionState.Reprotected,
                RecoveredSite = AzureSiteName,
                RecoveredMoRef = azureVm.Id.ToString(),
                PreFailoverPointId = v.LastRecoveryPointId,
            }, None);

            // The guest's view of the managed disk: its page blob in Azurite, through the lab's back door (Azure gives no write SAS of an attached disk).
            var diskBlob = new PageBlobClient(await lab.Arm.GuestWriteSasAsync(disk.Data.Name));
            return (bed, vm, azureVm.Id.ToString(), diskBlob);
        }

        private async Task<List<string>> SnapshotsLeftAsync() =>
            (await lab.Arm.LabAsync("resources")).Select(r => (string?)r!["type"]).Where(t => string.Equals(t, "Microsoft.Compute/snapshots", StringComparison.OrdinalIgnoreCase)).Select(t => t!).ToList();

        private static async Task WriteGuestAsync(PageBlobClient disk, long offset, int seed)
        {
            var bytes = new byte[64 * 1024];
            new Random(seed).NextBytes(bytes);
            await disk.UploadPagesAsync(new System.IO.MemoryStream(bytes), offset);
        }

        private static async Task<byte[]> ReadBlobAsync(PageBlobClient blob, long length)
        {
            var bytes = new byte[length];
            var response = await blob.DownloadStreamingAsync(new global::Azure.Storage.Blobs.Models.BlobDownloadOptions { Range = new HttpRange(0, length) });
            using var stream = response.Value.Content;
            var read = 0;
            int n;
            while (read < bytes.Length && (n = await stream.ReadAsync(bytes, read, bytes.Length - read)) > 0) read += n;
            return bytes;
        }

        [Fact]
        public async Task A_cycle_reads_the_azure_disk_through_a_snapshot_stores_only_the_changed_chunks_and_removes_the_snapshot()
        {
            var (bed, vm, _, diskBlob) = await ReprotectedInAzureAsync("DC0_H0_VM0");
            using var _bed = bed;
            await WriteGuestAsync(diskBlob, 5L * ChunkSize + 4096, seed: 7);
            await WriteGuestAsync(diskBlob, 9L * ChunkSize, seed: 8);

            var cycle = await bed.Replicator().RunCycleAsync(vm.VmId, None);

            Assert.Equal("Digest", cycle.Mode);
            Assert.Equal(2, cycle.ChunksStored);
            Assert.Equal(ReplicationVcsimLab.DiskBytes, cycle.BytesRead);
            Assert.Equal(ProtectionState.Reprotected, cycle.Vm.State);
            Assert.Equal(0, cycle.ReplicaChunksWritten);
            using (var store = bed.OpenLocalStore())
            {
                ReplicationBed.AssertSameDisk(await ReadBlobAsync(diskBlob, ReplicationVcsimLab.DiskBytes), await bed.ExportAsync(store, cycle.Point!), "the point of the Azure VM's disk");
            }
            Assert.Empty(await SnapshotsLeftAsync());
            Assert.Empty(await lab.Arm.LabAsync("violations"));

            // Nothing changed: nothing new is stored.
            var again = await bed.Replicator().RunCycleAsync(vm.VmId, None);
            Assert.Equal(0, again.ChunksStored);
            Assert.Empty(await SnapshotsLeftAsync());
        }

        [Fact]
        public async Task A_cycle_cancelled_while_copying_still_removes_its_snapshot_and_a_leftover_is_removed_by_the_next()
        {
            var (bed, vm, _, diskBlob) = await ReprotectedInAzureAsync("DC0_H0_VM1");
            using var _bed = bed;
            await WriteGuestAsync(diskBlob, 2L * ChunkSize, seed: 9);

            using var cancel = new CancellationTokenSource();
            var progress = new SynchronousProgress(p => { if (p.Step.StartsWith("Copying", StringComparison.Ordinal)) cancel.Cancel(); });
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => bed.Replicator().RunCycleAsync(vm.VmId, cancel.Token, progress));
            Assert.Empty(await SnapshotsLeftAsync());

            // A snapshot a killed cycle left (tagged with the VM, named as ours) is removed before the next cycle reads anything.
            var arm = lab.Arm.Client();
            var rg = arm.GetResourceGroupResource(ResourceGroupResource.CreateResourceIdentifier(ArmLab.Subscription, ArmLab.ResourceGroup));
            var diskId = (await arm.GetVirtualMachineResource(new ResourceIdentifier(vm.RecoveredMoRef!)).GetAsync()).Value.Data.StorageProfile.OSDisk.ManagedDisk.Id;
            var leftover = new SnapshotData(new AzureLocation(ArmLab.Location)) { CreationData = new DiskCreationData(DiskCreateOption.Copy) { SourceResourceId = diskId } };
            leftover.Tags[RecoveryTags.Vm] = vm.VmId;
            leftover.Tags[RecoveryTags.Kind] = "replication";
            await rg.GetSnapshots().CreateOrUpdateAsync(WaitUntil.Completed, $"{VmReplicator.SnapshotPrefix}{vm.VmId}-killed-0", leftover);
            Assert.Single(await SnapshotsLeftAsync());

            var cycle = await bed.Replicator().RunCycleAsync(vm.VmId, None);
            Assert.Equal(1, cycle.ChunksStored);
            Assert.Empty(await SnapshotsLeftAsync());
        }

        [Fact]
        public async Task A_vm_not_tagged_as_the_copy_is_refused_before_anything_is_read()
        {
            // A VM at the recorded id that is not tagged as this VM's copy (replaced, or the id reused).
            var (bed, vm, _, _) = await ReprotectedInAzureAsync("DC0_H0_VM2", vmTag: "someone-else");
            using var _bed = bed;

            var e = await Assert.ThrowsAsync<IdentityChangedException>(() => bed.Replicator().RunCycleAsync(vm.VmId, None));
            Assert.Equal("VmIdentityChanged", e.ErrorId);
            Assert.Empty(await SnapshotsLeftAsync());
        }

        private sealed class SynchronousProgress : IProgress<CycleProgress>
        {
            private readonly Action<CycleProgress> report;
            public SynchronousProgress(Action<CycleProgress> report) => this.report = report;
            public void Report(CycleProgress value) => report(value);
        }
    }
}
