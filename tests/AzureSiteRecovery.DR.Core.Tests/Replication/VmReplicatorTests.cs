using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using Xunit;
using static AzureSiteRecovery.DR.Core.Tests.Replication.ReplicationBed;

namespace AzureSiteRecovery.DR.Core.Tests.Replication
{
    /// <summary>
    /// Replication cycles against the lab vcsim into the vault's local chunk store: what a user checks
    /// is that every point exports as the disk was at its snapshot, that a cycle sends only what
    /// changed, that no snapshot of ours is left behind, and that two processes never cycle one VM.
    /// </summary>
    public sealed class VmReplicatorTests : IClassFixture<ReplicationVcsimLab>
    {
        private const int MiB = 1 << 20;
        private readonly ReplicationVcsimLab lab;

        public VmReplicatorTests(ReplicationVcsimLab lab)
        {
            this.lab = lab;
        }

        [Fact]
        public async Task Cbt_cycles_send_only_the_changed_chunks_and_every_point_exports_as_the_disk_was()
        {
            const string name = "DC0_H0_VM0";
            using var bed = await CreateAsync(lab);
            bed.Write(name, 0, MiB, 1);
            bed.Write(name, 20 * MiB, 3 * MiB, 2); // chunk 5
            var vm = await bed.ProtectAsync(name);
            Assert.Equal("bios", vm.Firmware); // config.firmware, which picks the VM generation in Azure
            var disks = new List<byte[]>();
            var cycles = new List<CycleResult>();

            disks.Add(bed.DiskNow(name));
            cycles.Add(await bed.Replicator().RunCycleAsync(vm.VmId, None));
            bed.Write(name, 40 * MiB, MiB, 3); // chunk 10
            disks.Add(bed.DiskNow(name));
            cycles.Add(await bed.Replicator().RunCycleAsync(vm.VmId, None));
            bed.Write(name, 11 * MiB, 2 * MiB, 4); // chunks 2 and 3
            bed.Write(name, 64 * 1024, 4096, 5); // chunk 0 again
            disks.Add(bed.DiskNow(name));
            cycles.Add(await bed.Replicator().RunCycleAsync(vm.VmId, None));
            var idle = await bed.Replicator().RunCycleAsync(vm.VmId, None); // no guest writes since

            Assert.Equal(new[] { "Full", "ChangedBlockTracking", "ChangedBlockTracking", "ChangedBlockTracking" }, cycles.Append(idle).Select(c => c.Mode));
            // The full copy reads only the allocated chunks (0 and 5); deltas only the chunks written.
            Assert.Equal(new[] { 2, 1, 3, 0 }, cycles.Append(idle).Select(c => c.ChunksRead));
            Assert.Equal(new[] { 2, 1, 3, 0 }, cycles.Append(idle).Select(c => c.ChunksStored));
            Assert.All(cycles, c => Assert.Equal(0, c.ChunksSpooled));
            Assert.Equal(new[] { 2, 3, 5, 5 }, cycles.Append(idle).Select(c => c.Point!.ChunkCount));

            var points = await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None);
            Assert.Equal(cycles.Append(idle).Select(c => c.Point!.RecoveryPointId), points.Select(p => p.RecoveryPointId));
            using (var store = bed.OpenLocalStore())
            {
                for (var i = 0; i < 3; i++)
                {
                    AssertSameDisk(disks[i], await bed.ExportAsync(store, points[i]), $"point {i + 1}");
                    Assert.True((await VerifyAsync(store, points[i])).IsIntact);
                }
                AssertSameDisk(disks[2], await bed.ExportAsync(store, points[3]), "the point of the idle cycle");
            }

            var protectedVm = (await bed.Vault.FindProtectedVmAsync(vm.VmId, None))!;
            Assert.Equal((ProtectionState.Protected, points[3].RecoveryPointId, (string?)null), (protectedVm.State, protectedVm.LastRecoveryPointId, protectedVm.LastError));
            Assert.Equal(ReplicationHealth.Healthy, protectedVm.Health);
            Assert.NotNull(Assert.Single(protectedVm.Disks).ChangeId);
            Assert.Equal(cycles.Append(idle).Sum(c => c.BytesStored), protectedVm.BytesSent);
            Assert.Empty(await bed.SnapshotsAsync(vm));
            // What Get-RecoveryPoint shows as ChangedBytes: the bytes read for the point.
            Assert.Equal(new[] { 2L * ChunkSize, ChunkSize, 3L * ChunkSize, 0 }, cycles.Append(idle).Select(c => c.BytesRead));
            Assert.Equal(new[] { 2L * ChunkSize, ChunkSize, 3L * ChunkSize, 0 }, points.Select(p => p.ChangedBytes));
        }

        [Fact]
        public async Task With_cbt_turned_off_cycles_compare_the_whole_disk_and_still_send_only_what_changed()
        {
            const string name = "DC0_H0_VM1";
            using var bed = await CreateAsync(lab);
            bed.Write(name, 0, MiB, 11);
            bed.Write(name, 30 * MiB, MiB, 12); // chunk 7
            var vm = await bed.ProtectAsync(name);
            var disks = new List<byte[]>();
            var cycles = new List<CycleResult>();
            async Task CycleAsync()
            {
                disks.Add(bed.DiskNow(name));
                cycles.Add(await bed.Replicator().RunCycleAsync(vm.VmId, None));
            }

            await CycleAsync();
            using (var client = await lab.ConnectAsync())
            {
                await client.SetChangeTrackingAsync(vm.MoRef, false, None); // an administrator turns CBT off
            }
            bed.Write(name, 50 * MiB, MiB, 13); // chunk 12
            await CycleAsync();
            bed.Write(name, 0, 4096, 14); // chunk 0
            bed.Write(name, 30 * MiB, 4096, 15); // chunk 7
            await CycleAsync();
            using (var client = await lab.ConnectAsync())
            {
                await client.SetChangeTrackingAsync(vm.MoRef, true, None);
            }
            bed.Write(name, 60 * MiB, MiB, 16); // chunk 15
            await CycleAsync(); // no change id of the last point to ask CBT about: compares once more
            bed.Write(name, 8 * MiB, MiB, 17); // chunk 2
            await CycleAsync(); // and CBT again from here

            Assert.Equal(new[] { "Full", "Digest", "Digest", "Digest", "ChangedBlockTracking" }, cycles.Select(c => c.Mode));
            const int all = (int)(ReplicationVcsimLab.DiskBytes / ChunkSize);
            Assert.Equal(new[] { 2, all, all, all, 1 }, cycles.Select(c => c.ChunksRead));
            Assert.Equal(new[] { 2, 1, 2, 1, 1 }, cycles.Select(c => c.ChunksStored));
            var points = await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None);
            Assert.Equal(5, points.Count);
            using var store = bed.OpenLocalStore();
            for (var i = 0; i < points.Count; i++)
            {
                AssertSameDisk(disks[i], await bed.ExportAsync(store, points[i]), $"point {i + 1} ({cycles[i].Mode})");
                Assert.True((await VerifyAsync(store, points[i])).IsIntact);
            }
            Assert.Empty(await bed.SnapshotsAsync(vm));
        }

        [Fact]
        public async Task A_snapshot_left_by_a_killed_cycle_is_removed_by_the_next_one_and_other_snapshots_are_kept()
        {
            const string name = "DC0_H0_VM2";
            using var bed = await CreateAsync(lab);
            bed.Write(name, 4 * MiB, MiB, 21);
            var vm = await bed.ProtectAsync(name);
            await bed.Replicator().RunCycleAsync(vm.VmId, None);
            using (var client = await lab.ConnectAsync())
            {
                await client.CreateSnapshotAsync(vm.MoRef, "before patch Tuesday", "the administrator's", quiesce: false, memory: false, None);
                await client.CreateSnapshotAsync(vm.MoRef, VmReplicator.SnapshotPrefix + "x", "left by a killed cycle", quiesce: false, memory: false, None);
            }
            bed.Write(name, 24 * MiB, MiB, 22);
            var disk = bed.DiskNow(name);

            var result = await bed.Replicator().RunCycleAsync(vm.VmId, None);

            Assert.Equal(new[] { "before patch Tuesday" }, (await bed.SnapshotsAsync(vm)).Select(s => s.Name));
            Assert.Equal(("ChangedBlockTracking", 1), (result.Mode, result.ChunksStored));
            using var store = bed.OpenLocalStore();
            AssertSameDisk(disk, await bed.ExportAsync(store, result.Point!), "the point after the leftover snapshot");
        }

        [Fact]
        public async Task A_vm_is_cycled_by_one_replicator_at_a_time_and_a_dead_processs_lease_is_taken_over()
        {
            const string name = "DC0_H0_VM3";
            using var bed = await CreateAsync(lab);
            bed.Write(name, 0, MiB, 31);
            var vm = await bed.ProtectAsync(name);
            var resource = "replication/" + vm.VmId;

            // Two replicators on one vault: the second asks while the first is taking its snapshot.
            Exception? second = null;
            var hook = new StepHook("Taking a snapshot", () => second = CycleHooks.Record(() => bed.Replicator().RunCycleAsync(vm.VmId, None)));
            var first = await bed.Replicator().RunCycleAsync(vm.VmId, None, hook);
            var inProgress = Assert.IsType<ObjectInUseException>(second);
            Assert.Equal("VmReplicationInProgress", inProgress.ErrorId);
            Assert.Contains($"VM '{name}' is being replicated by another process right now", inProgress.Message);
            Assert.NotNull(first.Point);
            Assert.Null(await bed.Vault.FindLeaseHolderAsync(resource, None));

            // A live process (this one) holds the lease: refused, nothing taken, the lease kept.
            var alive = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
            Assert.True(await bed.Vault.TryAcquireLeaseAsync(resource, alive, TimeSpan.FromMinutes(30), None));
            var refused = await Assert.ThrowsAsync<ObjectInUseException>(() => bed.Replicator().RunCycleAsync(vm.VmId, None));
            Assert.Equal("VmReplicationInProgress", refused.ErrorId);
            Assert.Equal(alive, await bed.Vault.FindLeaseHolderAsync(resource, None));
            // So is another machine's: its process cannot be checked from here.
            await bed.Vault.ReleaseLeaseAsync(resource, alive, None);
            var remote = $"dr-host-2/{Environment.ProcessId}/{Guid.NewGuid():N}";
            Assert.True(await bed.Vault.TryAcquireLeaseAsync(resource, remote, TimeSpan.FromMinutes(30), None));
            await Assert.ThrowsAsync<ObjectInUseException>(() => bed.Replicator().RunCycleAsync(vm.VmId, None));
            await bed.Vault.ReleaseLeaseAsync(resource, remote, None);
            Assert.Single(await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None));
            Assert.Empty(await bed.SnapshotsAsync(vm));

            // A process of this machine that died holding the lease (killed mid-cycle): taken over at once.
            var dead = $"{Environment.MachineName}/{await DeadPidAsync()}/{Guid.NewGuid():N}";
            Assert.True(await bed.Vault.TryAcquireLeaseAsync(resource, dead, TimeSpan.FromMinutes(30), None));
            bed.Write(name, 32 * MiB, MiB, 32);
            var disk = bed.DiskNow(name);
            var takeover = await bed.Replicator().RunCycleAsync(vm.VmId, None);

            Assert.Equal(("ChangedBlockTracking", 1), (takeover.Mode, takeover.ChunksStored));
            Assert.Null(await bed.Vault.FindLeaseHolderAsync(resource, None));
            Assert.Equal(2, (await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None)).Count);
            using var store = bed.OpenLocalStore();
            AssertSameDisk(disk, await bed.ExportAsync(store, takeover.Point!), "the point made after the takeover");
        }

        /// <summary>The PID of a process that ran on this machine and has exited.</summary>
        private static async Task<int> DeadPidAsync()
        {
            using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
            await process.WaitForExitAsync();
            return process.Id;
        }
    }
}
