using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using AzureSiteRecovery.DR.Core.Transfers.Retries;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Transfers
{
    /// <summary>
    /// The retry layer against the lab's vcsim behind drfaultproxy: the proxy breaks, stalls or refuses
    /// real connections, and the module's vSphere client must ride it out (or give up in our words).
    /// </summary>
    public sealed class VSphereTransferRetryTests : IClassFixture<PacedVcsimLab>, IAsyncLifetime
    {
        private const int FileBytes = 8 << 20;
        private const string Folder = "retry-test";
        private readonly VcsimLab lab;
        private readonly string proxyDir = Path.Combine(Path.GetTempPath(), "azsr-dr-proxy-" + Guid.NewGuid().ToString("N"));
        private readonly byte[] content = new byte[FileBytes];
        private string file = "";

        public VSphereTransferRetryTests(PacedVcsimLab lab)
        {
            this.lab = lab;
            new Random(14).NextBytes(content);
        }

        public Task InitializeAsync()
        {
            var name = Guid.NewGuid().ToString("N") + "-flat.vmdk";
            Directory.CreateDirectory(Path.Combine(lab.DatastoreFolder, Folder));
            File.WriteAllBytes(Path.Combine(lab.DatastoreFolder, Folder, name), content);
            file = $"[{VcsimLab.Datastore}] {Folder}/{name}";
            Directory.CreateDirectory(proxyDir);
            return Task.CompletedTask;
        }

        public async Task DisposeAsync()
        {
            await LabScript.RunAsync("lab.sh", "stop", proxyDir);
            Directory.Delete(proxyDir, recursive: true);
        }

        private Task<FaultProxy> ProxyAsync(params string[] flags) => FaultProxy.StartAsync(proxyDir, $"{lab.Url.Host}:{lab.Url.Port}", flags);

        private static Task<VSphereClient> ConnectAsync(FaultProxy proxy, VcsimLab lab, string? password = null) =>
            VSphereClient.ConnectAsync(new VSphereEndpoint(proxy.Through(lab.Url), VcsimLab.UserName, password ?? VcsimLab.Password, null, true), VcsimLab.SiteName, default);

        [Fact]
        public async Task AReadCutInTheMiddle_IsReadAgainFromTheByteItReached()
        {
            var proxy = await ProxyAsync();
            using var client = await ConnectAsync(proxy, lab);
            var warmUp = new byte[4096];
            await client.ReadDiskAsync(file, 0, warmUp, warmUp.Length, default);
            var before = await proxy.StatAsync("bytesDown");

            // One cut, 3 MiB into the traffic that follows: inside the 8 MiB read.
            await proxy.SetFaultsAsync(new { cutAtTotalBytes = 3L << 20 });
            var buffer = new byte[FileBytes];
            await client.ReadDiskAsync(file, 0, buffer, buffer.Length, default);

            Assert.True(buffer.SequenceEqual(content), "the bytes read through a cut equal the file");
            Assert.Equal(1, await proxy.StatAsync("cuts"));
            var down = await proxy.StatAsync("bytesDown") - before;
            // Resumed, not restarted: a restart would fetch all 8 MiB after the ~3 MiB forwarded before the cut. What the client
            // had received of those 3 MiB is less (the rest died in socket buffers with the connection), but not nothing.
            Assert.InRange(down, FileBytes, FileBytes + (3 << 20) - (64 << 10));
        }

        [Fact]
        public async Task AStalledRead_IsAbortedAfterTheStallTimeoutAndRetried()
        {
            var proxy = await ProxyAsync();
            using var client = await ConnectAsync(proxy, lab);
            var buffer = new byte[FileBytes];
            await client.ReadDiskAsync(file, 0, new byte[4096], 4096, default);

            // The open connection is cut (so the next ones are new), and every new one stalls for 20 s somewhere in its first
            // 4 MiB; the first stall seen turns the stalls off.
            await proxy.SetFaultsAsync(new { stall = 1.0, stallForMs = 20_000, maxBytes = 4L << 20, cutAtTotalBytes = 1 });
            using var stop = new CancellationTokenSource();
            var watcher = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested && await proxy.StatAsync("stalls") == 0) await Task.Delay(20);
                await proxy.SetFaultsAsync(new { stall = 0.0 });
            });
            var clock = Stopwatch.StartNew();
            using (RetryBudget.Begin(RetrySettings.Default with { StallTimeout = TimeSpan.FromSeconds(1) }))
            {
                await client.ReadDiskAsync(file, 0, buffer, buffer.Length, default);
            }
            clock.Stop();
            stop.Cancel();
            await watcher;

            Assert.True(buffer.SequenceEqual(content));
            Assert.True(await proxy.StatAsync("stalls") >= 1);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"the stalled transfer was given up after the 1 s stall timeout, not waited out (took {clock.Elapsed})");
        }

        [Fact]
        public async Task AWrongPassword_IsNotRetried()
        {
            var proxy = await ProxyAsync("-mode", "https");

            var e = await Assert.ThrowsAsync<VSphereFaultException>(() => ConnectAsync(proxy, lab, "not the password"));

            Assert.Equal("InvalidLogin", e.FaultName);
            // RetrieveServiceContent and one Login: the refusal is not asked again.
            Assert.Equal(2, await proxy.StatAsync("requests"));
        }

        [Fact]
        public async Task ServiceUnavailable_IsRetriedAfterItsRetryAfter()
        {
            var proxy = await ProxyAsync("-mode", "https");
            using var client = await ConnectAsync(proxy, lab);
            await proxy.SetFaultsAsync(new { http503 = 1.0, retryAfterSeconds = 1 });
            var clock = Stopwatch.StartNew();
            var call = client.ListVmsAsync(default);
            while (await proxy.StatAsync("answered503") < 2) await Task.Delay(20);
            await proxy.SetFaultsAsync(new { http503 = 0.0 });
            var vms = await call;
            clock.Stop();

            Assert.NotEmpty(vms);
            Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2), $"two 503 answers with Retry-After: 1 took {clock.Elapsed}");
        }

        [Fact]
        public async Task ACutThatOutlastsTheBudget_IsTransferFailedNamingFileOffsetAndAttempts()
        {
            var proxy = await ProxyAsync();
            using var client = await ConnectAsync(proxy, lab);
            await client.ReadDiskAsync(file, 0, new byte[4096], 4096, default);

            // The open connection is cut, and every new one dies within its first 16 KiB; the budget allows 3 retries.
            await proxy.SetFaultsAsync(new { cut = 1.0, maxBytes = 16L << 10, cutAtTotalBytes = 1 });
            TransferFailedException e;
            using (RetryBudget.Begin(RetrySettings.Default with { CycleRetries = 3, Backoff = new Backoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50)) }))
            {
                e = await Assert.ThrowsAsync<TransferFailedException>(() => client.ReadDiskAsync(file, 1 << 20, new byte[FileBytes / 2], FileBytes / 2, default));
            }

            Assert.Equal("VSphereTransferFailed", e.ErrorId);
            Assert.Equal(FailureKind.Unavailable, e.Kind);
            Assert.Equal(4, e.Attempts);
            Assert.Equal(file, e.File);
            Assert.True(e.Offset >= 1 << 20, $"offset {e.Offset} is where the read had got to");
            Assert.Contains(proxy.Address, e.Server);
            Assert.Contains("after 4 attempts", e.Message);
        }

        [Fact]
        public async Task APowerOnWhoseAnswerIsLost_IsCheckedAndNotSentAgain()
        {
            var proxy = await ProxyAsync("-mode", "https");
            using var client = await ConnectAsync(proxy, lab);
            var vm = (await client.ListVmsAsync(default)).First().MoRef;
            await client.PowerOffAsync(vm, default);

            // vCenter powers the VM on; the client sees its connection reset. A second PowerOnVM_Task would fail (InvalidPowerState).
            await proxy.SetFaultsAsync(new { loseAnswerTo = "PowerOnVM_Task" });
            await client.PowerOnAsync(vm, default);

            Assert.Equal(1, await proxy.StatAsync("answersLost"));
            Assert.Equal("PoweredOn", (await client.ListVmsAsync(default)).Single(v => v.MoRef == vm).PowerState.ToString());
        }

        [Fact]
        public async Task ASnapshotWhoseAnswerIsLost_IsFoundByNameNotTakenTwice()
        {
            var proxy = await ProxyAsync("-mode", "https");
            using var client = await ConnectAsync(proxy, lab);
            var vm = (await client.ListVmsAsync(default)).First().MoRef;
            var name = "azsr-dr-lost-" + Guid.NewGuid().ToString("N");

            await proxy.SetFaultsAsync(new { loseAnswerTo = "CreateSnapshot_Task" });
            var snapshot = await client.CreateSnapshotAsync(vm, name, null, quiesce: false, memory: false, default);

            Assert.Equal(1, await proxy.StatAsync("answersLost"));
            var named = (await client.ListSnapshotsAsync(vm, default)).Where(s => s.Name == name).ToList();
            Assert.Equal(snapshot, Assert.Single(named).MoRef);
            await client.RemoveSnapshotAsync(snapshot, default);
        }

        [Fact]
        public async Task ACallThatChangesSomethingWithoutACheck_IsNotSentAgainAfterALostAnswer()
        {
            var proxy = await ProxyAsync("-mode", "https");
            using var client = await ConnectAsync(proxy, lab);
            var vm = (await client.ListVmsAsync(default)).First().MoRef;
            await proxy.SetFaultsAsync(new { loseAnswerTo = "ShutdownGuest" });
            var before = await proxy.StatAsync("requests");

            var e = await Assert.ThrowsAsync<SiteUnreachableException>(() => client.ShutdownGuestAsync(vm, default));

            Assert.True(e.OutcomeUnknown);
            Assert.Equal("VSphereUnreachable", e.ErrorId);
            Assert.Contains("may have taken effect, so it was not sent again", e.Message);
            Assert.Equal(1, await proxy.StatAsync("requests") - before);
        }
    }
}
