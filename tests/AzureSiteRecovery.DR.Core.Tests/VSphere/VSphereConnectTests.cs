using System;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using System.Xml.Linq;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VSphere
{
    public sealed class VSphereConnectTests : IClassFixture<VcsimLab>
    {
        private readonly VcsimLab lab;

        public VSphereConnectTests(VcsimLab lab)
        {
            this.lab = lab;
        }

        [Fact]
        public async Task Connect_ReportsWhatTheServerIs()
        {
            using var client = await lab.ConnectAsync();

            Assert.Equal("VirtualCenter", client.About.ApiType);
            Assert.Equal("6.5", client.About.ApiVersion);
            Assert.Equal("VMware vCenter Server", client.About.Name);
            Assert.False(string.IsNullOrEmpty(client.About.InstanceUuid));
            Assert.Equal(VcsimLab.SiteName, client.SiteName);
        }

        [Fact]
        public async Task WrongPassword_IsInvalidLogin_NamingUserSiteAndFix()
        {
            var e = await Assert.ThrowsAsync<VSphereFaultException>(() => VSphereClient.ConnectAsync(lab.Endpoint(password: "wrong"), "onprem", default));

            Assert.Equal("VSphereInvalidLogin", e.ErrorId);
            Assert.Equal(FailureKind.Unauthorized, e.Kind);
            Assert.Equal("InvalidLogin", e.FaultName);
            Assert.Contains(VcsimLab.UserName, e.Message);
            Assert.Contains("'onprem'", e.Message);
            Assert.Contains("Set-DRSite -Name onprem -Credential", e.Message);
            Assert.DoesNotContain("wrong", e.Message);
        }

        [Fact]
        public async Task ClosedPort_IsUnreachable_NamingTheUrl()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            var url = new Uri($"https://127.0.0.1:{port}/sdk");

            var e = await Assert.ThrowsAsync<SiteUnreachableException>(() =>
                VSphereClient.ConnectAsync(new VSphereEndpoint(url, "u", "p", SkipCertificateCheck: true), "onprem", default));

            Assert.Equal("VSphereUnreachable", e.ErrorId);
            Assert.Equal(FailureKind.Unavailable, e.Kind);
            Assert.Contains(url.ToString(), e.Message);
        }

        [Fact]
        public async Task UntrustedCertificate_ShowsThumbprint_WhichThenPins()
        {
            var e = await Assert.ThrowsAsync<CertificateUntrustedException>(() =>
                VSphereClient.ConnectAsync(lab.Endpoint(skipCertificateCheck: false), "onprem", default));

            Assert.Equal("VSphereCertificateUntrusted", e.ErrorId);
            Assert.Equal(FailureKind.Security, e.Kind);
            Assert.Matches("^[0-9A-F]{64}$", e.Thumbprint);
            Assert.Contains(e.Thumbprint, e.Message);
            Assert.Contains(e.Thumbprint.Substring(0, 2) + ":" + e.Thumbprint.Substring(2, 2) + ":", e.Message);
            Assert.Contains("-Thumbprint " + e.Thumbprint, e.Message);
            Assert.Contains("New-DRSite", e.Message);
            Assert.Contains("-SkipCertificateCheck", e.Message);

            using (var pinned = await VSphereClient.ConnectAsync(lab.Endpoint(thumbprint: e.Thumbprint, skipCertificateCheck: false), "onprem", default))
            {
                Assert.NotEmpty(await pinned.ListVmMoRefsAsync(default));
            }

            var otherPin = new string('A', 64);
            await Assert.ThrowsAsync<CertificateUntrustedException>(() =>
                VSphereClient.ConnectAsync(lab.Endpoint(thumbprint: otherPin, skipCertificateCheck: false), "onprem", default));

            using var skipping = await VSphereClient.ConnectAsync(lab.Endpoint(skipCertificateCheck: true), "onprem", default);
            Assert.Equal("VirtualCenter", skipping.About.ApiType);
        }

        [Fact]
        public async Task LostSession_IsRestoredOnce_AndTheCallSucceeds()
        {
            using var client = await lab.ConnectAsync();
            var before = await client.ListVmMoRefsAsync(default);

            // The server forgets the session behind the client's back.
            await client.Vim.Transport.InvokeAsync(new XElement(VimXml.Vim + "Logout", client.Vim.Content.SessionManager.ToElement("_this")), default);

            var after = await client.ListVmMoRefsAsync(default);
            Assert.Equal(before, after);
            Assert.Equal(1, client.Relogins);
        }

        [Fact]
        public async Task IdleSession_IsKeptAliveBeforeTheNextCall()
        {
            using var client = await lab.ConnectAsync();
            client.KeepAliveAfter = TimeSpan.Zero;
            await Task.Delay(10);

            Assert.NotEmpty(await client.ListVmMoRefsAsync(default));
            Assert.Equal(0, client.Relogins);
        }

        [Fact]
        public async Task AfterLogout_TheClientRefusesCalls()
        {
            var client = await lab.ConnectAsync();
            await client.LogoutAsync(default);

            await Assert.ThrowsAsync<ObjectDisposedException>(() => client.ListVmMoRefsAsync(default));
            client.Dispose();
        }

        [Fact]
        public async Task Cancellation_IsHonoured()
        {
            using var client = await lab.ConnectAsync();
            using var cts = new System.Threading.CancellationTokenSource();
            cts.Cancel();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ListVmsAsync(cts.Token));
        }
    }
}
