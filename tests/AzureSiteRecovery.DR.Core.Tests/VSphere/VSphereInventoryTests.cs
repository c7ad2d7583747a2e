using System.Linq;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VSphere
{
    public sealed class VSphereInventoryTests : IClassFixture<VcsimLab>
    {
        // The lab's default model with -vm 3: three VMs on the standalone host, three in the cluster's pool.
        private static readonly string[] ModelVmNames =
        {
            "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_C0_RP0_VM2", "DC0_H0_VM0", "DC0_H0_VM1", "DC0_H0_VM2",
        };

        private readonly VcsimLab lab;

        public VSphereInventoryTests(VcsimLab lab)
        {
            this.lab = lab;
        }

        [Fact]
        public async Task ListVms_HasEveryVmOfTheModel_SameAsTheMoRefList()
        {
            using var client = await lab.ConnectAsync();

            var vms = await client.ListVmsAsync(default);
            var moRefs = await client.ListVmMoRefsAsync(default);

            Assert.Equal(ModelVmNames, vms.Select(v => v.Name).OrderBy(n => n));
            Assert.Equal(moRefs.OrderBy(m => m), vms.Select(v => v.MoRef).OrderBy(m => m));
            Assert.All(vms, v => Assert.Equal(VcsimLab.SiteName, v.Site));
        }

        [Fact]
        public async Task ListVms_IsOneRequest_NotOnePerVm()
        {
            using var client = await lab.ConnectAsync();

            await client.ListVmsAsync(default);

            // The whole view (6 VMs, 4 hosts, the networks) fits in the default page of 1000: one RetrievePropertiesEx in all.
            Assert.Equal(1000, client.PageSize);
            Assert.Equal(1, client.PropertyCollectorRoundTrips);
        }

        [Fact]
        public async Task ListVmMoRefs_WithPagesOfTwo_TakesThreeRoundTripsForSixVms()
        {
            using var unpaged = await lab.ConnectAsync();
            var all = await unpaged.ListVmMoRefsAsync(default);
            using var client = await lab.ConnectAsync();
            client.PageSize = 2;

            var moRefs = await client.ListVmMoRefsAsync(default);

            // The lab pages RetrievePropertiesEx like vCenter: 2 + 2 + 2 (RetrievePropertiesEx + 2 × ContinueRetrievePropertiesEx).
            Assert.Equal(1, unpaged.PropertyCollectorRoundTrips);
            Assert.Equal(3, client.PropertyCollectorRoundTrips);
            Assert.Equal(6, moRefs.Count);
            Assert.Equal(all.OrderBy(m => m), moRefs.OrderBy(m => m));
        }

        [Fact]
        public async Task ListVms_WithPagesSmallerThanTheInventory_ReturnsEveryVmOnce()
        {
            using var unpaged = await lab.ConnectAsync();
            var expected = await unpaged.ListVmsAsync(default);
            // One object per page: the round trips count the objects of the view (VMs, hosts, networks).
            using var onePerPage = await lab.ConnectAsync();
            onePerPage.PageSize = 1;
            await onePerPage.ListVmsAsync(default);
            var objects = onePerPage.PropertyCollectorRoundTrips;
            using var client = await lab.ConnectAsync();
            client.PageSize = 2;

            var vms = await client.ListVmsAsync(default);

            Assert.Equal(1, unpaged.PropertyCollectorRoundTrips);
            Assert.True(objects >= ModelVmNames.Length + 4, $"{objects} objects in the view, expected at least 6 VMs + 4 hosts");
            Assert.Equal((objects + 1) / 2, client.PropertyCollectorRoundTrips);
            // Complete and not duplicated, and host/network names (on other pages than their VMs) still resolved.
            Assert.Equal(ModelVmNames, vms.Select(v => v.Name).OrderBy(n => n));
            Assert.Equal(vms.Count, vms.Select(v => v.MoRef).Distinct().Count());
            Assert.Equivalent(expected.OrderBy(v => v.MoRef).ToList(), vms.OrderBy(v => v.MoRef).ToList(), strict: true);
        }

        [Fact]
        public async Task ListVms_FillsDisksNetworksHostAndConfig()
        {
            using var client = await lab.ConnectAsync();

            var vms = await client.ListVmsAsync(default);

            Assert.All(vms, vm =>
            {
                var disk = Assert.Single(vm.Disks);
                Assert.Equal($"[{VcsimLab.Datastore}] {vm.Name}/disk1.vmdk", disk.FileName);
                Assert.Equal(VcsimLab.Datastore, disk.Datastore);
                Assert.Equal(4L << 20, disk.CapacityBytes);
                Assert.NotEqual(0, disk.Key);
                Assert.False(string.IsNullOrEmpty(disk.Label));
                Assert.Null(disk.ChangeId);
                Assert.Equal(new[] { "DC0_DVPG0" }, vm.Networks);
                Assert.NotNull(vm.Host);
                Assert.StartsWith("DC0_", vm.Host);
                Assert.Equal(VmPowerState.PoweredOn, vm.PowerState);
                Assert.True(vm.NumCpu > 0);
                Assert.True(vm.MemoryMB > 0);
                Assert.Equal("bios", vm.Firmware);
                Assert.False(string.IsNullOrEmpty(vm.InstanceUuid));
                Assert.False(string.IsNullOrEmpty(vm.BiosUuid));
                Assert.False(string.IsNullOrEmpty(vm.GuestOS));
                Assert.False(vm.ChangeTrackingEnabled);
                Assert.False(vm.IsTemplate);
            });
            Assert.All(vms.Where(v => v.Name.StartsWith("DC0_H0_")), v => Assert.Equal("DC0_H0", v.Host));
            Assert.All(vms.Where(v => v.Name.StartsWith("DC0_C0_")), v => Assert.StartsWith("DC0_C0_H", v.Host));
        }

        [Fact]
        public async Task GetVm_EqualsTheListEntry()
        {
            using var client = await lab.ConnectAsync();
            var listed = await client.ListVmsAsync(default);

            foreach (var vm in listed)
            {
                var one = await client.GetVmAsync(vm.MoRef, default);
                Assert.NotNull(one);
                Assert.Equivalent(vm, one, strict: true);
            }
        }

        [Fact]
        public async Task GetVm_OfAnUnknownMoRef_IsNull()
        {
            using var client = await lab.ConnectAsync();

            Assert.Null(await client.GetVmAsync("vm-999999", default));
        }
    }
}
