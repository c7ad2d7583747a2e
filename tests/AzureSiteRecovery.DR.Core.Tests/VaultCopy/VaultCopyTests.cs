using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Storage;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using AzureSiteRecovery.DR.Core.Vault;
using AzureSiteRecovery.DR.Core.Vault.Connection;
using AzureSiteRecovery.DR.Core.Vault.Copy;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VaultCopyTests
{
    /// <summary>
    /// Copy-DRVault's engine between two SQLite vaults with local chunk stores (the Table vault half
    /// of the copy runs in the Table vault's tests): everything arrives, reads back equal and verifies;
    /// a second run copies nothing; an interrupted copy finishes on the next run; another key is refused.
    /// </summary>
    public sealed class VaultCopyTests : IDisposable
    {
        private static readonly CancellationToken None = CancellationToken.None;
        private readonly TemporaryFolder folder = new TemporaryFolder();
        private readonly string sourcePath;
        private readonly string destinationPath;

        public VaultCopyTests()
        {
            sourcePath = Path.Combine(folder.FolderPath, "source", "vault.db");
            destinationPath = Path.Combine(folder.FolderPath, "destination", "vault.db");
        }

        public void Dispose() => folder.Dispose();

        [Fact]
        public async Task Everything_arrives_reads_back_equal_and_every_point_verifies()
        {
            var (points, disk) = await PopulateSourceAsync();
            SameKeyForDestination();

            var result = await CopyAsync();

            Assert.Equal(points, result.PointsVerified);
            Assert.True(result.ObjectsCopied > points, $"{result.ObjectsCopied} objects copied");
            Assert.Equal(0, result.ObjectsAlreadyThere);
            Assert.True(result.RecordsVerified >= 2 + 1 + 1 + 2 + points + 1 + 1, $"{result.RecordsVerified} records verified");

            using var destination = SqliteVault.Open(destinationPath);
            Assert.Equal("S3cret!pass", await destination.ReadSiteSecretAsync("onprem", None));
            var vm = (await destination.ListProtectedVmsAsync("erp", None)).Single(v => v.Name == "sql01");
            Assert.Equal("52-1", vm.Disks[0].ChangeId);
            Assert.Equal(ProtectionState.Protected, vm.State);
            var job = Assert.Single(await destination.ListJobsAsync(null, None));
            Assert.Equal(JobState.Succeeded, job.State);
            Assert.Equal(3, job.Steps.Count);
            var replica = await destination.FindReplicaStateAsync(vm.VmId, None);
            Assert.Equal(new[] { "p2" }, replica!.PointIds);

            // The newest point exports from the destination store byte for byte.
            using var store = ReplicationStore.OpenLocal(destinationPath);
            var manifest = await store.Chunks.ReadPointAsync(vm.VmId, "p2", None);
            Assert.Equal(disk, await TestDisks.ExportAsync(store.Chunks, manifest.Disks[0]));
        }

        [Fact]
        public async Task A_second_run_copies_nothing_and_still_verifies()
        {
            var (points, _) = await PopulateSourceAsync();
            SameKeyForDestination();
            var first = await CopyAsync();

            var second = await CopyAsync();

            Assert.Equal(0, second.ObjectsCopied);
            Assert.Equal(first.ObjectsCopied, second.ObjectsAlreadyThere);
            Assert.Equal(0, second.RecordsCopied);
            Assert.Equal(points, second.PointsVerified);
        }

        [Fact]
        public async Task A_copy_stopped_half_way_finishes_on_the_next_run()
        {
            var (points, _) = await PopulateSourceAsync();
            SameKeyForDestination();

            using (var stop = new CancellationTokenSource())
            {
                var progress = new StopAfter(stop, 3);
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => CopyAsync(progress, stop.Token));
            }
            using (var partial = SqliteVault.Open(destinationPath))
            {
                // Objects go first: nothing in the destination vault yet names data the store lacks.
                Assert.Empty(await partial.ListProtectedVmsAsync(null, None));
            }

            var result = await CopyAsync();

            Assert.True(result.ObjectsAlreadyThere > 0, "the objects copied before the stop are not copied again");
            Assert.Equal(points, result.PointsVerified);
        }

        [Fact]
        public async Task A_destination_with_another_key_is_refused_and_the_source_is_unchanged()
        {
            await PopulateSourceAsync();
            var before = File.ReadAllBytes(sourcePath);

            var error = await Assert.ThrowsAsync<VaultException>(() => CopyAsync());

            Assert.Equal("VaultCopyNotVerified", error.ErrorId);
            Assert.Contains("cannot be read from the destination chunk store", error.Message);
            Assert.DoesNotContain("S3cret", error.Message);
            Assert.Equal(before, File.ReadAllBytes(sourcePath));
        }

        [Fact]
        public async Task A_destination_replicated_to_after_the_copy_is_not_put_back_and_nothing_is_written()
        {
            await PopulateSourceAsync();
            SameKeyForDestination();
            await CopyAsync();
            using (var used = SqliteVault.Open(destinationPath))
            {
                // The copy was used: a cycle there committed a point the source never had.
                var vm = (await used.ListProtectedVmsAsync("erp", None)).Single(v => v.Name == "sql01");
                var last = (await used.ListRecoveryPointsAsync(vm.VmId, None)).Single(p => p.RecoveryPointId == "p2");
                await used.CommitRecoveryPointAsync(last with { RecoveryPointId = "p3", Time = last.Time.AddMinutes(5) },
                    v => v with { LastRecoveryPointId = "p3", LastRecoveryPointTime = last.Time.AddMinutes(5) }, None);
            }
            using (var source = SqliteVault.Open(sourcePath))
            {
                // And the source got a new job meanwhile: a copy would write it.
                var job = Assert.Single(await source.ListJobsAsync(null, None));
                await source.AddJobAsync(job with { JobId = Guid.NewGuid().ToString("N") }, None);
            }

            var error = await Assert.ThrowsAsync<VaultException>(() => CopyAsync());

            Assert.Equal("VaultCopyDestinationAhead", error.ErrorId);
            Assert.Contains("'sql01' (1 point(s))", error.Message);
            Assert.Contains("Nothing was copied", error.Message);
            using var destination = SqliteVault.Open(destinationPath);
            Assert.Single(await destination.ListJobsAsync(null, None));
            var kept = (await destination.ListProtectedVmsAsync("erp", None)).Single(v => v.Name == "sql01");
            Assert.Equal("p3", kept.LastRecoveryPointId);
        }

        [Fact]
        public async Task A_vault_is_not_copied_onto_itself()
        {
            await PopulateSourceAsync();
            using var source = SqliteVault.Open(sourcePath);
            using var store = ReplicationStore.OpenLocal(sourcePath);

            var error = await Assert.ThrowsAsync<InvalidSettingException>(() => new VaultCopy(source, store.Objects, source, store.Chunks).CopyAsync(null, None));

            Assert.Contains("is the source vault", error.Message);
        }

        [Fact]
        public async Task A_new_vault_file_gets_the_source_key_in_its_key_file_and_the_copy_verifies()
        {
            var (points, _) = await PopulateSourceAsync();
            var source = VaultConnection.ForFile(sourcePath);
            var destination = VaultConnection.ForFile(destinationPath);
            using var sourceKey = (await VaultCopyTarget.PeekKeyAsync(source, None))!;

            var keyFile = await VaultCopyTarget.CheckKeyAsync(source, sourceKey, destination, None);

            Assert.Equal(VaultKey.PathFor(destinationPath), keyFile);
            Assert.False(File.Exists(keyFile), "the check writes nothing");
            Assert.False(File.Exists(destinationPath), "the check writes nothing");
            VaultCopyResult result;
            using (var target = await VaultCopyTarget.OpenAsync(destination, sourceKey, keyFile, null, null, None))
            using (var sourceVault = SqliteVault.Open(sourcePath))
            {
                Assert.Equal(ChunkStoreKind.LocalFolder, target.Setting.Kind);
                result = await new VaultCopy(sourceVault, new LocalFolderStore(ReplicationStore.StoreFolderFor(sourcePath)), target.Vault, target.Chunks, parallelism: 1).CopyAsync(null, None);
            }
            Assert.Equal(points, result.PointsVerified);
            using var written = VaultKey.OpenExisting(keyFile!)!;
            Assert.Equal(sourceKey.Id, written.Id);
            Assert.Null(await VaultCopyTarget.CheckKeyAsync(source, sourceKey, destination, None));
        }

        [Fact]
        public async Task A_destination_with_another_key_is_refused_before_anything_is_written_naming_the_fix()
        {
            await PopulateSourceAsync();
            using (var other = SqliteVault.Open(destinationPath))
            {
                await other.AddSiteAsync(Samples.VSphereSite("elsewhere", SiteRole.Protected), "Oth3r!pass", None);
            }
            var before = File.ReadAllBytes(destinationPath);
            var source = VaultConnection.ForFile(sourcePath);
            using var sourceKey = (await VaultCopyTarget.PeekKeyAsync(source, None))!;

            var error = await Assert.ThrowsAsync<VaultException>(() => VaultCopyTarget.CheckKeyAsync(source, sourceKey, VaultConnection.ForFile(destinationPath), None));

            Assert.Equal("VaultCopyKeyMismatch", error.ErrorId);
            Assert.Contains($"-KeyFile '{VaultKey.PathFor(sourcePath)}'", error.Message);
            Assert.Contains("Set-AzKeyVaultSecret", error.Message);
            Assert.DoesNotContain(Convert.ToBase64String(File.ReadAllBytes(VaultKey.PathFor(sourcePath))), error.Message);
            Assert.Equal(before, File.ReadAllBytes(destinationPath));
        }

        private async Task<VaultCopyResult> CopyAsync(IProgress<VaultCopyProgress>? progress = null, CancellationToken cancellationToken = default)
        {
            using var source = SqliteVault.Open(sourcePath);
            using var sourceStore = ReplicationStore.OpenLocal(sourcePath);
            using var destination = SqliteVault.Open(destinationPath);
            using var destinationStore = ReplicationStore.OpenLocal(destinationPath, TestDisks.Options);
            return await new VaultCopy(source, new LocalFolderStore(ReplicationStore.StoreFolderFor(sourcePath)), destination, destinationStore.Chunks, parallelism: 1)
                .CopyAsync(progress, cancellationToken);
        }

        private void SameKeyForDestination()
        {
            Directory.CreateDirectory(Path.GetDirectoryName(destinationPath)!);
            File.Copy(VaultKey.PathFor(sourcePath), VaultKey.PathFor(destinationPath));
        }

        /// <summary>A source vault with two sites (one secret), a policy, a group, two VMs with three points of real chunks, a replica state, a plan and a job.</summary>
        private async Task<(int Points, byte[] Disk)> PopulateSourceAsync()
        {
            using var vault = SqliteVault.Open(sourcePath);
            using var store = ReplicationStore.OpenLocal(sourcePath, TestDisks.Options);
            await vault.AddSiteAsync(Samples.VSphereSite("onprem", SiteRole.Protected), "S3cret!pass", None);
            await vault.AddSiteAsync(Samples.AzureSite("azure-weu", SiteRole.Recovery), null, None);
            await vault.AddPolicyAsync(Samples.Policy("gold") with { RpoThreshold = TimeSpan.FromMinutes(30) }, None);
            await vault.AddGroupAsync(Samples.Group("erp"), None);

            var disk = TestDisks.Mixed(7);
            var points = 0;
            byte[] newest = Array.Empty<byte>();
            foreach (var name in new[] { "sql01", "web01" })
            {
                var vm = await vault.AddProtectedVmAsync(new ProtectedVm
                {
                    VmId = Guid.NewGuid().ToString("N"),
                    Name = name,
                    ProtectionGroup = "erp",
                    Site = "onprem",
                    MoRef = "vm-" + name,
                    State = ProtectionState.InitialSync,
                    Disks = new[] { new ProtectedDisk { Key = 2000, Label = "Hard disk 1", FileName = $"[LocalDS_0] {name}/{name}.vmdk", CapacityBytes = disk.Length } },
                }, None);
                foreach (var id in name == "sql01" ? new[] { "p1", "p2" } : new[] { "w1" })
                {
                    disk[id == "p2" ? 20_000 : 10] ^= 0x5a;
                    var manifest = await TestDisks.WritePointAsync(store.Chunks, vm.VmId, id, ("2000", disk));
                    if (id == "p2") newest = (byte[])disk.Clone();
                    var snapshots = name == "sql01" ? new[] { new ReplicaSnapshot { DiskKey = "2000", BlobName = vm.VmId + "-2000.vhd", Snapshot = "2026-12-05T09:00:0" + points + "Z" } } : Array.Empty<ReplicaSnapshot>();
                    await vault.CommitRecoveryPointAsync(new RecoveryPoint
                    {
                        RecoveryPointId = id,
                        VmId = vm.VmId,
                        VmName = name,
                        Time = manifest.Created,
                        Consistency = PointConsistency.CrashConsistent,
                        SizeBytes = disk.Length,
                        ChangedBytes = disk.Length,
                        StoredBytes = 1000,
                        ChunkCount = manifest.Disks[0].Chunks.Count,
                        ManifestKey = ObjectKeys.Point(vm.VmId, id),
                        ReplicaSnapshots = snapshots,
                    }, v => v with
                    {
                        State = ProtectionState.Protected,
                        LastRecoveryPointId = id,
                        LastRecoveryPointTime = manifest.Created,
                        Disks = v.Disks.Select(d => d with { ChangeId = "52-" + (id == "p2" ? 1 : 0) }).ToList(),
                    }, None);
                    points++;
                }
                if (name == "sql01")
                {
                    await vault.SaveReplicaStateAsync(new ReplicaState { VmId = vm.VmId, Container = "drreplica/replica-erp", PointIds = new[] { "p2" } }, None);
                }
            }

            await vault.AddRecoveryPlanAsync(new RecoveryPlanSource { Name = "erp-plan", ProtectedSite = "onprem", RecoverySite = "azure-weu", Yaml = "name: erp-plan\n" }, false, None);
            var now = DateTimeOffset.UtcNow;
            await vault.AddJobAsync(new DRJob
            {
                JobId = Guid.NewGuid().ToString("N"),
                Operation = JobOperation.TestFailover,
                Target = "erp-plan",
                State = JobState.Succeeded,
                Created = now.AddMinutes(-5),
                Started = now.AddMinutes(-5),
                Ended = now,
                PlanYaml = "name: erp-plan\n",
                Steps = Enumerable.Range(0, 3).Select(i => new JobStep { Index = i, Name = "step " + i, State = JobStepState.Succeeded, Started = now.AddMinutes(-5 + i), Ended = now.AddMinutes(-4 + i) }).ToList(),
            }, None);
            return (points, newest);
        }

        private sealed class StopAfter : IProgress<VaultCopyProgress>
        {
            private readonly CancellationTokenSource stop;
            private readonly int objects;

            public StopAfter(CancellationTokenSource stop, int objects)
            {
                this.stop = stop;
                this.objects = objects;
            }

            public void Report(VaultCopyProgress value)
            {
                if (value.Phase == "Copying chunks" && value.Done >= objects) stop.Cancel();
            }
        }
    }
}
