using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VSphere
{
    /// <summary>VMs as a test failover makes them on a recovery site: created, tagged, found, rewired, started, destroyed.</summary>
    public sealed class VSphereRecoveryVmTests : IClassFixture<VcsimLab>
    {
        private const string JobKey = "azsr-dr.job";
        private readonly VcsimLab lab;

        public VSphereRecoveryVmTests(VcsimLab lab)
        {
            this.lab = lab;
        }

        [Fact]
        public async Task TaggedVm_IsCreatedFoundRewiredStartedAndDestroyed()
        {
            using var client = await lab.ConnectAsync();
            var job = Guid.NewGuid().ToString();
            var spec = new VmCreateSpec
            {
                Name = "erp-01 (test failover)",
                Datastore = VcsimLab.Datastore,
                GuestId = "otherLinux64Guest",
                NumCpu = 2,
                MemoryMB = 1024,
                Disks = new[] { VmDiskSpec.New(2L << 20) },
                Nics = new[] { new VmNicSpec("VM Network") },
                ExtraConfig = new Dictionary<string, string> { [JobKey] = job, ["azsr-dr.note"] = "a <b> & \"c\"" },
                Annotation = "created by AzureSiteRecovery.DR",
            };

            var moRef = await client.CreateVmAsync(spec, default);

            var found = Assert.Single(await client.FindVmsByExtraConfigAsync(JobKey, job, default));
            Assert.Equal(moRef, found.MoRef);
            Assert.Equal(spec.Name, found.Name);
            Assert.Equal(2, found.NumCpu);
            Assert.Equal(1024, found.MemoryMB);
            Assert.Equal(VmPowerState.PoweredOff, found.PowerState);
            Assert.Equal(new[] { "VM Network" }, found.Networks);
            var disk = Assert.Single(found.Disks);
            Assert.Equal(2L << 20, disk.CapacityBytes);
            Assert.Equal(VcsimLab.Datastore, disk.Datastore);
            Assert.Equal("a <b> & \"c\"", (await client.GetExtraConfigAsync(moRef, default))["azsr-dr.note"]);
            Assert.Empty(await client.FindVmsByExtraConfigAsync(JobKey, "another job", default));
            Assert.Contains(await client.FindVmsByExtraConfigAsync(JobKey, null, default), v => v.MoRef == moRef);

            await client.ReconfigureNicsAsync(moRef, new[] { "DC0_DVPG0" }, default);
            Assert.Equal(new[] { "DC0_DVPG0" }, (await client.GetVmAsync(moRef, default))!.Networks);
            await client.ReconfigureNicsAsync(moRef, new[] { "VM Network", "DC0_DVPG0" }, default);
            Assert.Equal(new[] { "VM Network", "DC0_DVPG0" }, (await client.GetVmAsync(moRef, default))!.Networks);

            await client.PowerOnAsync(moRef, default);
            // vcsim has no guest: extraConfig SET.<property> keys set VM properties (heartbeat is the top-level guestHeartbeatStatus).
            await client.SetExtraConfigAsync(moRef, new Dictionary<string, string>
            {
                ["SET.guestHeartbeatStatus"] = "green",
                ["SET.guest.ipAddress"] = "10.10.0.5",
            }, default);
            var guest = await client.WaitForGuestAsync(moRef, needIp: true, TimeSpan.FromSeconds(30), default);
            Assert.Equal("green", guest.HeartbeatStatus);
            Assert.Equal("10.10.0.5", guest.IpAddress);

            await client.DestroyVmAsync(moRef, default);

            Assert.Null(await client.GetVmAsync(moRef, default));
            Assert.Empty(await client.FindVmsByExtraConfigAsync(JobKey, job, default));
        }

        [Fact]
        public async Task VmWithAnExistingDisk_AttachesIt()
        {
            using var client = await lab.ConnectAsync();
            var source = Assert.Single(await client.ListVmsAsync(default), v => v.Name == "DC0_H0_VM1");
            var sourceDisk = Assert.Single(source.Disks);

            var moRef = await client.CreateVmAsync(new VmCreateSpec
            {
                Name = "attach-existing",
                Datastore = VcsimLab.Datastore,
                Host = "DC0_H0",
                Disks = new[] { VmDiskSpec.Existing(sourceDisk.FileName, sourceDisk.CapacityBytes) },
            }, default);
            try
            {
                var vm = await client.GetVmAsync(moRef, default);
                Assert.Equal("DC0_H0", vm!.Host);
                Assert.Equal(sourceDisk.FileName, Assert.Single(vm.Disks).FileName);
                Assert.Empty(vm.Networks);
            }
            finally
            {
                await client.DestroyVmAsync(moRef, default);
            }
        }

        [Fact]
        public async Task PoweringOnARunningVm_IsInvalidPowerState()
        {
            using var client = await lab.ConnectAsync();
            var vm = (await client.ListVmsAsync(default)).First(v => v.PowerState == VmPowerState.PoweredOn);

            var e = await Assert.ThrowsAsync<VSphereFaultException>(() => client.PowerOnAsync(vm.MoRef, default));

            Assert.Equal("VSphereInvalidPowerState", e.ErrorId);
            Assert.Equal("InvalidPowerState", e.FaultName);
            Assert.Equal(vm.MoRef, e.Target);
        }

        [Fact]
        public async Task WaitForGuest_WithoutHeartbeat_TimesOut()
        {
            using var client = await lab.ConnectAsync();
            // The lab's vcsim boots the guest of a VM it powers on; guestinfo.lab.boot=never makes one that never comes up.
            var moRef = await client.CreateVmAsync(new VmCreateSpec
            {
                Name = "no-guest",
                Datastore = VcsimLab.Datastore,
                ExtraConfig = new Dictionary<string, string> { ["guestinfo.lab.boot"] = "never" },
            }, default);
            try
            {
                await client.PowerOnAsync(moRef, default);

                var e = await Assert.ThrowsAsync<VSphereTimeoutException>(() => client.WaitForGuestAsync(moRef, needIp: false, TimeSpan.FromSeconds(1), default));

                Assert.Equal("VSphereGuestTimeout", e.ErrorId);
                Assert.Contains(moRef, e.Message);
            }
            finally
            {
                await client.DestroyVmAsync(moRef, default);
            }
        }

        [Fact]
        public async Task CreateVm_OnAnUnknownNetwork_NamesTheNetworks()
        {
            using var client = await lab.ConnectAsync();

            var e = await Assert.ThrowsAsync<VSphereFaultException>(() => client.CreateVmAsync(new VmCreateSpec
            {
                Name = "no-such-network",
                Datastore = VcsimLab.Datastore,
                Nics = new[] { new VmNicSpec("isolated-test") },
            }, default));

            Assert.Equal("VSphereManagedObjectNotFound", e.ErrorId);
            Assert.Contains("isolated-test", e.Message);
            Assert.Contains("VM Network", e.Message);
        }
    }
}
