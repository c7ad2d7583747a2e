using System;
using System.Linq;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using Xunit;
using static AzureSiteRecovery.DR.Core.Tests.Replication.ReplicationBed;

namespace AzureSiteRecovery.DR.Core.Tests.Replication
{
    /// <summary>Retention and garbage collection keep a failed-over VM's last point from before the failover (the original disks' only old copy) until failback clears it.</summary>
    public sealed class PreFailoverRetentionTests : IClassFixture<ReplicationVcsimLab>
    {
        private const int MiB = 1 << 20;
        private readonly ReplicationVcsimLab lab;

        public PreFailoverRetentionTests(ReplicationVcsimLab lab) => this.lab = lab;

        [Fact]
        public async Task The_pre_failover_point_outlives_retention_and_garbage_collection_until_it_is_cleared()
        {
            const string name = "DC0_H0_VM0";
            using var bed = await CreateAsync(lab);
            await bed.Vault.UpdatePolicyAsync("gold", p => p with { RecoveryPointRetention = TimeSpan.Zero }, None); // keep only the newest
            bed.Write(name, 0, MiB, 61);
            var vm = await bed.ProtectAsync(name);
            var before = bed.DiskNow(name);
            var kept = (await bed.Replicator().RunCycleAsync(vm.VmId, None)).Point!;
            await bed.Vault.UpdateProtectedVmAsync(vm.VmId, v => v with { PreFailoverPointId = kept.RecoveryPointId }, None);

            bed.Write(name, 0, MiB, 62); // the same chunk, so only the kept point names its old content
            await bed.Replicator().RunCycleAsync(vm.VmId, None);
            bed.Write(name, 8 * MiB, MiB, 63);
            var newest = (await bed.Replicator().RunCycleAsync(vm.VmId, None)).Point!;

            Assert.Equal(new[] { kept.RecoveryPointId, newest.RecoveryPointId }, (await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None)).Select(p => p.RecoveryPointId));
            using (var store = bed.OpenLocalStore())
            {
                await ChunkGarbageCollection.CollectAsync(bed.Vault, store, TimeSpan.Zero, None);
                Assert.True((await VerifyAsync(store, kept)).IsIntact);
                AssertSameDisk(before, await bed.ExportAsync(store, kept), "the pre-failover point after retention and garbage collection");
            }

            await bed.Vault.UpdateProtectedVmAsync(vm.VmId, v => v with { PreFailoverPointId = null }, None); // failback ended
            var last = (await bed.Replicator().RunCycleAsync(vm.VmId, None)).Point!;
            Assert.Equal(new[] { last.RecoveryPointId }, (await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None)).Select(p => p.RecoveryPointId));
        }
    }
}
