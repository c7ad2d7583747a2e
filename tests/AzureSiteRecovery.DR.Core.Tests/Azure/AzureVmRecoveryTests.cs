using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Core;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Compute.Models;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Sites;
using AzureSiteRecovery.DR.Core.Sites.Azure;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using AzureSiteRecovery.DR.Core.Tests.Replication;
using Xunit;
using static AzureSiteRecovery.DR.Core.Tests.Replication.ReplicationBed;

namespace AzureSiteRecovery.DR.Core.Tests.Azure
{
    /// <summary>Three VMs with 64 MiB disks for <see cref="AzureVmRecoveryTests"/>.</summary>
    public sealed class AzureRecoveryVcsimLab : VcsimLab
    {
        public AzureRecoveryVcsimLab()
            : base("-vm", "3", "-cluster", "0", "-disk-mb", "64")
        {
        }
    }

    /// <summary>Azurite with the drreplica account and a lab ARM over it (asynchronous long-running operations, the VM agent Ready, a 429 now and then).</summary>
    public sealed class AzureRecoveryLab : IAsyncLifetime
    {
        public ArmAzurite Storage { get; } = new ArmAzurite();
        public ArmLab Arm { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            await Storage.InitializeAsync();
            Arm = await ArmLab.StartAsync(Storage.Azurite, "--lro", "async", "--vm-agent", "--throttle-every", "37");
        }

        public async Task DisposeAsync()
        {
            if (Arm != null) await Arm.DisposeAsync();
            await Storage.DisposeAsync();
        }
    }

    /// <summary>
    /// A VM recovered into Azure (vcsim → replica in Azurite → the lab ARM), checked as a user would: the
    /// managed disk, read through a read SAS, is the source disk at the point byte for byte behind a valid
    /// footer; the VM runs with its NIC in the test subnet at 127.0.0.1; cleanup leaves no resource tagged
    /// with the job and no temporary blob; a step retried after a crash leaves one VM; no request the
    /// swagger files would reject.
    /// </summary>
    public sealed class AzureVmRecoveryTests : IClassFixture<AzureRecoveryVcsimLab>, IClassFixture<AzureRecoveryLab>, IAsyncLifetime
    {
        private const int MiB = 1 << 20;
        private const long DiskBytes = ReplicationVcsimLab.DiskBytes;
        private const string SiteName = "azure-weu";
        private readonly AzureRecoveryVcsimLab vcsim;
        private readonly AzureRecoveryLab lab;
        private ReplicationBed bed = null!;
        private AzureReplicaContainers containers = null!;

        public AzureVmRecoveryTests(AzureRecoveryVcsimLab vcsim, AzureRecoveryLab lab)
        {
            this.vcsim = vcsim;
            this.lab = lab;
        }

        public async Task InitializeAsync()
        {
            bed = await CreateAsync(vcsim);
            // The bed's Azure site, pointed at the lab: a custom cloud with the pinned certificate, the lab's service principal.
            await bed.Vault.UpdateSiteAsync(SiteName, lab.Arm.PointAt, ArmLab.ClientSecret, None);
            containers = new AzureReplicaContainers(bed.Vault);
        }

        public async Task DisposeAsync()
        {
            containers.Dispose();
            bed.Dispose();
            Assert.Empty(await lab.Arm.LabAsync("violations"));
        }

        private VmReplicator Replicator() => new VmReplicator(bed.Vault, bed.OpenLocalStore, containers.Locator);

        private async Task<AzureVmRecovery> RecoveryAsync() => new AzureVmRecovery(await SiteConnector.ConnectAzureAsync(bed.Vault, SiteName, None));

        private async Task<VmRecoveryRequest> RequestAsync(string vmId, RecoveryPoint point, string jobId, List<string> journal)
        {
            var vm = (await bed.Vault.FindProtectedVmAsync(vmId, None))!;
            return new VmRecoveryRequest
            {
                JobId = jobId,
                Vm = vm,
                Point = point,
                RecoverySite = SiteName,
                Name = $"{vm.Name}-drtest-{jobId.Substring(0, 6)}",
                Networks = vm.Networks.Select(_ => "dr-vnet/test").ToList(),
                Firmware = vm.Firmware,
                Kind = RecoveryTags.TestKind,
                PowerOnAt = DateTimeOffset.UtcNow,
                WaitFor = VmStartCondition.Heartbeat,
                StartTimeout = TimeSpan.FromSeconds(60),
                Journal = id =>
                {
                    lock (journal) journal.Add(id);
                    return Task.CompletedTask;
                },
            };
        }

        private static DRJob JobOf(string jobId, IEnumerable<string> journal) => new DRJob
        {
            JobId = jobId,
            Operation = JobOperation.Drill,
            Steps = new[] { new JobStep { Name = "Recover", Details = new Dictionary<string, string> { [JobStepDetail.Created] = RecoveryJournal.Format(journal)! } } },
        };

        /// <summary>The lab's resources tagged with the job (GET /lab/resources: what ARM holds, not what the module thinks).</summary>
        private async Task<List<JsonNode>> TaggedWithAsync(string jobId) =>
            (await lab.Arm.LabAsync("resources")).Where(r => (string?)r!["tags"]?[RecoveryTags.Job] == jobId).Select(r => r!).ToList();

        private async Task<List<string>> ImportBlobsAsync()
        {
            var names = new List<string>();
            var container = lab.Storage.Container(AzureVmRecovery.ImportContainer);
            if (!await container.ExistsAsync()) return names;
            await foreach (var blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.All)) names.Add(blob.Name);
            return names;
        }

        /// <summary>
        /// The managed disk's bytes through a read SAS, split into the disk and the footer's problems. Azure grants no SAS on the
        /// disk of a running VM (409 Conflict): a snapshot of it (Copy) is read instead (beginGetAccess Read, endGetAccess) and deleted.
        /// </summary>
        private async Task<(byte[] Disk, IReadOnlyList<string> FooterProblems)> ReadManagedDiskAsync(ResourceIdentifier diskId)
        {
            var arm = lab.Arm.Client();
            var group = arm.GetResourceGroupResource(new ResourceIdentifier($"/subscriptions/{ArmLab.Subscription}/resourceGroups/{ArmLab.ResourceGroup}"));
            var data = new SnapshotData(ArmLab.Location) { CreationData = new DiskCreationData(DiskCreateOption.Copy) { SourceResourceId = diskId } };
            var snapshot = (await group.GetSnapshots().CreateOrUpdateAsync(WaitUntil.Completed, "read-" + Guid.NewGuid().ToString("N").Substring(0, 12), data)).Value;
            try
            {
                var access = await snapshot.GrantAccessAsync(WaitUntil.Completed, new GrantAccessData(AccessLevel.Read, 3600));
                try
                {
                    var content = (await new BlobClient(new Uri(access.Value.AccessSas)).DownloadContentAsync()).Value.Content.ToArray();
                    Assert.Equal(VhdFooter.BlobLengthFor(DiskBytes), content.Length);
                    return (content.AsSpan(0, (int)DiskBytes).ToArray(), VhdFooter.Validate(content.AsSpan((int)DiskBytes).ToArray(), DiskBytes, out _));
                }
                finally
                {
                    await snapshot.RevokeAccessAsync(WaitUntil.Completed);
                }
            }
            finally
            {
                await snapshot.DeleteAsync(WaitUntil.Completed);
            }
        }

        [Fact]
        public async Task A_test_VM_comes_up_from_the_chosen_point_in_the_test_subnet_and_cleanup_leaves_nothing()
        {
            const string name = "DC0_H0_VM0";
            bed.Write(name, 0, MiB, 1);
            bed.Write(name, 20 * MiB, 3 * MiB, 2);
            var vm = await bed.ProtectAsync(name);
            var first = await Replicator().RunCycleAsync(vm.VmId, None);
            var atFirst = bed.DiskNow(name);
            bed.Write(name, 40 * MiB, MiB, 3);
            bed.Write(name, 0, 512 * 1024, 4);
            var second = await Replicator().RunCycleAsync(vm.VmId, None);
            Assert.NotEqual(atFirst, bed.DiskNow(name));
            // The replica was kept through the site's storage account, found by Resource Manager.
            Assert.Single(first.Point!.ReplicaSnapshots);
            Assert.Equal(AzureReplica.ContainerName, (await containers.LocateAsync((await bed.Vault.FindSiteAsync(SiteName, None))!, None))!.Name);
            Assert.InRange(second.ReplicaBytesSent, 2L * ChunkSize * 0.95, 2L * ChunkSize * 1.05); // two changed chunks

            var jobId = Guid.NewGuid().ToString();
            var journal = new List<string>();
            StepDetails details;
            using (var recovery = await RecoveryAsync())
            {
                details = await recovery.RecoverVmAsync(await RequestAsync(vm.VmId, first.Point!, jobId, journal), None);
            }

            Assert.Equal("127.0.0.1", details[JobStepDetail.IpAddress]);
            Assert.Equal(first.Point!.RecoveryPointId, details[JobStepDetail.RecoveryPointId]);
            var vmId = new ResourceIdentifier(details[JobStepDetail.RecoveredMoRef]!);
            Assert.Equal($"{name}-drtest-{jobId.Substring(0, 6)}", vmId.Name);
            Assert.Equal(journal, RecoveryJournal.Read(details));

            // The VM runs; its OS disk is the source disk at the first point, byte for byte, behind a valid footer.
            var arm = lab.Arm.Client();
            var recovered = (await arm.GetVirtualMachineResource(vmId).GetAsync()).Value;
            var view = (await recovered.InstanceViewAsync()).Value;
            Assert.Contains(view.Statuses, s => s.Code == "PowerState/running");
            Assert.Equal(SupportedOperatingSystemType.Linux, recovered.Data.StorageProfile.OSDisk.OSType);
            var (disk, footerProblems) = await ReadManagedDiskAsync(recovered.Data.StorageProfile.OSDisk.ManagedDisk.Id);
            Assert.Empty(footerProblems);
            AssertSameDisk(atFirst, disk, "the recovered managed disk against the source at the first point");

            // Each NIC is in the test subnet, with 127.0.0.1 (the lab's "booted" address), and no public IP.
            Assert.NotEmpty(vm.Networks);
            Assert.Equal(vm.Networks.Count, recovered.Data.NetworkProfile.NetworkInterfaces.Count);
            foreach (var reference in recovered.Data.NetworkProfile.NetworkInterfaces)
            {
                var nic = JsonNode.Parse((await arm.GetGenericResource(reference.Id).GetAsync()).Value.Data.Properties.ToString())!;
                var configuration = nic["ipConfigurations"]![0]!["properties"]!;
                Assert.Equal($"{ArmLab.VnetId}/subnets/test", (string?)configuration["subnet"]!["id"], ignoreCase: true);
                Assert.Equal("127.0.0.1", (string?)configuration["privateIPAddress"]);
                Assert.Null(configuration["publicIPAddress"]);
            }
            var tagged = await TaggedWithAsync(jobId);
            Assert.Equal(2 + vm.Networks.Count, tagged.Count); // disk, VM, NICs
            Assert.All(tagged, r => Assert.Equal(first.Point.RecoveryPointId, (string?)r["tags"]![RecoveryTags.Point]));
            Assert.Empty(await ImportBlobsAsync());

            // Cleanup by the journal (and the tag): nothing tagged with the job, no temporary blob.
            using (var recovery = await RecoveryAsync())
            {
                var deleted = await recovery.DeleteJobAsync(JobOf(jobId, journal), None);
                Assert.Equal(new[] { vmId.Name }, deleted);
            }
            Assert.Empty(await TaggedWithAsync(jobId));
            Assert.Empty(await ImportBlobsAsync());
        }

        [Fact]
        public async Task A_step_retried_after_crashes_leaves_one_VM_and_cleanup_by_tag_alone_finds_everything()
        {
            const string name = "DC0_H0_VM1";
            bed.Write(name, 4 * MiB, 2 * MiB, 11);
            var vm = await bed.ProtectAsync(name);
            var point = (await Replicator().RunCycleAsync(vm.VmId, None)).Point!;
            var atPoint = bed.DiskNow(name);
            var jobId = Guid.NewGuid().ToString();
            var journal = new List<string>();

            // Crash 1: the process dies once the NIC is recorded (the disk exists, its temporary blob is gone or not).
            using (var crash = new CancellationTokenSource())
            using (var recovery = await RecoveryAsync())
            {
                var request = await RequestAsync(vm.VmId, point, jobId, journal);
                var record = request.Journal!;
                request = request with
                {
                    Journal = async id =>
                    {
                        await record(id);
                        if (id.Contains("/networkInterfaces/", StringComparison.OrdinalIgnoreCase)) crash.Cancel();
                    },
                };
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => recovery.RecoverVmAsync(request, crash.Token));
            }
            Assert.NotEmpty(await TaggedWithAsync(jobId));

            // Crash 2: a retry runs to the end, but the process dies before the step is recorded as done.
            using (var recovery = await RecoveryAsync())
            {
                await recovery.RecoverVmAsync(await RequestAsync(vm.VmId, point, jobId, journal) with { IsRetry = true, EarlierJournal = journal.ToList() }, None);
            }

            // The retry that completes: what the earlier runs made is deleted first, so there is one VM.
            StepDetails details;
            using (var recovery = await RecoveryAsync())
            {
                details = await recovery.RecoverVmAsync(await RequestAsync(vm.VmId, point, jobId, journal) with { IsRetry = true, EarlierJournal = journal.ToList() }, None);
            }
            var tagged = await TaggedWithAsync(jobId);
            var vms = tagged.Where(r => ((string?)r["type"])!.Equals("Microsoft.Compute/virtualMachines", StringComparison.OrdinalIgnoreCase)).ToList();
            Assert.Single(vms);
            Assert.Equal(2 + vm.Networks.Count, tagged.Count);
            Assert.Empty(await ImportBlobsAsync());
            var recovered = (await lab.Arm.Client().GetVirtualMachineResource(new ResourceIdentifier(details[JobStepDetail.RecoveredMoRef]!)).GetAsync()).Value;
            var (disk, footerProblems) = await ReadManagedDiskAsync(recovered.Data.StorageProfile.OSDisk.ManagedDisk.Id);
            Assert.Empty(footerProblems);
            AssertSameDisk(atPoint, disk, "the managed disk after a retried step");

            // The journal lost (a step whose process died before its details were saved): the tag query alone finds it all.
            using (var recovery = await RecoveryAsync())
            {
                Assert.Single(await recovery.DeleteJobAsync(JobOf(jobId, Array.Empty<string>()) with { Steps = Array.Empty<JobStep>() }, None));
            }
            Assert.Empty(await TaggedWithAsync(jobId));
            Assert.Empty(await ImportBlobsAsync());
        }
    }
}
