using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VSphere
{
    /// <summary>A lab whose vcsim faults WaitForUpdatesEx (MethodNotFound), like a server without it.</summary>
    public sealed class NoUpdatesVcsimLab : VcsimLab
    {
        public NoUpdatesVcsimLab()
            : base("-vm", "1", "-cluster", "0", "-disk-mb", "1", "-wait-for-updates=false")
        {
        }
    }

    /// <summary>
    /// Guest and power waits through WaitForUpdatesEx (PropertyWaiter), the fallback to polling on a server without it,
    /// and the AZSR_VSPHERE_WAIT=Polling switch. One class: the switch is process-wide, so these run one after another.
    /// </summary>
    public sealed class VSphereGuestWaitTests : IClassFixture<VcsimLab>, IClassFixture<NoUpdatesVcsimLab>
    {
        private readonly VcsimLab lab;
        private readonly NoUpdatesVcsimLab noUpdates;

        public VSphereGuestWaitTests(VcsimLab lab, NoUpdatesVcsimLab noUpdates)
        {
            this.lab = lab;
            this.noUpdates = noUpdates;
        }

        [Fact]
        public async Task WaitForGuest_WithUpdates_SeesTheGuestComeUp()
        {
            using var client = await lab.ConnectAsync();
            var moRef = await CreateVmAsync(client, "wfu-guest", bootSeconds: "0.5");
            try
            {
                await client.PowerOnAsync(moRef, default);
                var clock = Stopwatch.StartNew();

                var guest = await client.WaitForGuestAsync(moRef, needIp: true, TimeSpan.FromSeconds(30), default);

                Assert.Equal("green", guest.HeartbeatStatus);
                Assert.Equal("127.0.0.1", guest.IpAddress);
                Assert.Equal("wfu-guest", guest.HostName);
                Assert.Equal("WaitForUpdatesEx", client.GuestWaitMethod);
                Assert.True(client.UpdateRoundTrips > 0, "no WaitForUpdatesEx round trip was made");
                // Not before the guest booted: what was seen came from the server, not from an earlier state.
                Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(300), $"guest seen up {clock.Elapsed} after power on, boot takes 0.5 s");
            }
            finally
            {
                await client.DestroyVmAsync(moRef, default);
            }
        }

        [Fact]
        public async Task WaitForGuest_WithUpdates_WaitsForSeveralVmsAtOnce()
        {
            using var client = await lab.ConnectAsync();
            var boots = new[] { "0", "0.3", "0.8", "1.2" };
            var vms = new List<string>();
            try
            {
                for (var i = 0; i < boots.Length; i++) vms.Add(await CreateVmAsync(client, $"wfu-many-{i}", boots[i]));
                await Task.WhenAll(vms.Select(vm => client.PowerOnAsync(vm, default)));

                var guests = await Task.WhenAll(vms.Select(vm => client.WaitForGuestAsync(vm, needIp: false, TimeSpan.FromSeconds(30), default)));

                Assert.All(guests, g => Assert.Equal("green", g.HeartbeatStatus));
                Assert.Equal(vms.Select((_, i) => $"wfu-many-{i}"), guests.Select(g => g.HostName));
                Assert.Equal("WaitForUpdatesEx", client.GuestWaitMethod);

                // A VM already up: answered from the watched state or the new filter's full state, not after a timeout.
                var again = await client.WaitForGuestAsync(vms[0], needIp: true, TimeSpan.FromSeconds(30), default);
                Assert.Equal("127.0.0.1", again.IpAddress);
            }
            finally
            {
                foreach (var vm in vms) await client.DestroyVmAsync(vm, default);
            }
        }

        [Fact]
        public async Task ShutdownGuest_WithUpdates_ReturnsOncePoweredOff()
        {
            using var client = await lab.ConnectAsync();
            var moRef = await CreateVmAsync(client, "wfu-shutdown", bootSeconds: "0");
            try
            {
                await client.PowerOnAsync(moRef, default);
                await client.WaitForGuestAsync(moRef, needIp: false, TimeSpan.FromSeconds(30), default);

                await client.ShutdownGuestAsync(moRef, TimeSpan.FromSeconds(30), default);

                Assert.Equal(Model.VmPowerState.PoweredOff, (await client.GetVmAsync(moRef, default))!.PowerState);
                Assert.Equal("WaitForUpdatesEx", client.GuestWaitMethod);
            }
            finally
            {
                await client.DestroyVmAsync(moRef, default);
            }
        }

        [Fact]
        public async Task WaitForGuest_WithUpdates_TimesOutNamingTheState()
        {
            using var client = await lab.ConnectAsync();
            var moRef = await client.CreateVmAsync(new VmCreateSpec
            {
                Name = "wfu-never",
                Datastore = VcsimLab.Datastore,
                ExtraConfig = new Dictionary<string, string> { ["guestinfo.lab.boot"] = "never" },
            }, default);
            try
            {
                await client.PowerOnAsync(moRef, default);

                var e = await Assert.ThrowsAsync<VSphereTimeoutException>(() => client.WaitForGuestAsync(moRef, needIp: false, TimeSpan.FromSeconds(1.5), default));

                Assert.Equal("VSphereGuestTimeout", e.ErrorId);
                Assert.Contains(moRef, e.Message);
                Assert.Contains("power poweredOn", e.Message);
                Assert.Equal("WaitForUpdatesEx", client.GuestWaitMethod);
            }
            finally
            {
                await client.DestroyVmAsync(moRef, default);
            }
        }

        [Fact]
        public async Task WaitForGuest_OfAVmDeletedMeanwhile_FailsAsNotFound()
        {
            using var client = await lab.ConnectAsync();
            var moRef = await client.CreateVmAsync(new VmCreateSpec
            {
                Name = "wfu-deleted",
                Datastore = VcsimLab.Datastore,
                ExtraConfig = new Dictionary<string, string> { ["guestinfo.lab.boot"] = "never" },
            }, default);
            await client.PowerOnAsync(moRef, default);
            var wait = client.WaitForGuestAsync(moRef, needIp: false, TimeSpan.FromSeconds(30), default);
            await Task.Delay(500);

            using (var other = await lab.ConnectAsync())
            {
                await other.DestroyVmAsync(moRef, default);
            }

            var e = await Assert.ThrowsAsync<VSphereFaultException>(() => wait);
            Assert.Equal("ManagedObjectNotFound", e.FaultName);
        }

        [Fact]
        public async Task WaitForGuest_OnAServerWithoutUpdates_FallsBackToPolling()
        {
            using var client = await noUpdates.ConnectAsync();
            var moRef = await CreateVmAsync(client, "poll-guest", bootSeconds: "0.3");
            try
            {
                await client.PowerOnAsync(moRef, default);

                var guest = await client.WaitForGuestAsync(moRef, needIp: true, TimeSpan.FromSeconds(30), default);

                Assert.Equal("green", guest.HeartbeatStatus);
                Assert.Equal("127.0.0.1", guest.IpAddress);
                Assert.StartsWith("Polling (", client.GuestWaitMethod);
                Assert.Contains("MethodNotFound", client.GuestWaitMethod);
                Assert.Equal(0, client.UpdateRoundTrips);

                await client.ShutdownGuestAsync(moRef, TimeSpan.FromSeconds(30), default);
                Assert.Equal(Model.VmPowerState.PoweredOff, (await client.GetVmAsync(moRef, default))!.PowerState);
            }
            finally
            {
                await client.DestroyVmAsync(moRef, default);
            }
        }

        [Fact]
        public async Task WaitForGuest_WithThePollingSwitch_NeverAsksForUpdates()
        {
            var before = Environment.GetEnvironmentVariable(VSphereClient.WaitModeVariable);
            Environment.SetEnvironmentVariable(VSphereClient.WaitModeVariable, "Polling");
            VSphereClient client;
            try
            {
                client = await lab.ConnectAsync();
            }
            finally
            {
                Environment.SetEnvironmentVariable(VSphereClient.WaitModeVariable, before);
            }
            using (client)
            {
                var moRef = await CreateVmAsync(client, "switch-guest", bootSeconds: "0.3");
                try
                {
                    await client.PowerOnAsync(moRef, default);

                    var guest = await client.WaitForGuestAsync(moRef, needIp: true, TimeSpan.FromSeconds(30), default);

                    Assert.Equal("green", guest.HeartbeatStatus);
                    Assert.Equal("Polling (AZSR_VSPHERE_WAIT=Polling)", client.GuestWaitMethod);
                    Assert.Equal(0, client.UpdateRoundTrips);
                }
                finally
                {
                    await client.DestroyVmAsync(moRef, default);
                }
            }
        }

        private static Task<string> CreateVmAsync(VSphereClient client, string name, string bootSeconds) =>
            client.CreateVmAsync(new VmCreateSpec
            {
                Name = name,
                Datastore = VcsimLab.Datastore,
                ExtraConfig = new Dictionary<string, string> { ["guestinfo.lab.bootSeconds"] = bootSeconds },
            }, default);
    }
}
