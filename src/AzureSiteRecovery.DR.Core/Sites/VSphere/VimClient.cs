using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using System.Xml.Linq;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using static AzureSiteRecovery.DR.Core.Sites.VSphere.VimXml;

namespace AzureSiteRecovery.DR.Core.Sites.VSphere
{
    /// <summary>The service content's references we use, and the server's about info.</summary>
    internal sealed record ServiceContent(MoRef RootFolder, MoRef PropertyCollector, MoRef ViewManager, MoRef SessionManager, VSphereAbout About, MoRef? FileManager);

    /// <summary>The changedArea page of one QueryChangedDiskAreas call.</summary>
    internal sealed record DiskChangeInfo(long StartOffset, long Length, IReadOnlyList<DiskExtent> ChangedArea);

    /// <summary>
    /// The typed vim25 layer: one method per vim25 call we use, over <see cref="SoapTransport"/>,
    /// with the session kept alive (a CurrentTime call before the next request after a long idle)
    /// and restored (one re-login and retry after a NotAuthenticated fault).
    /// </summary>
    internal sealed class VimClient : IDisposable
    {
        private readonly SoapTransport transport;
        private readonly VSphereEndpoint endpoint;
        private readonly string siteName;
        private readonly SemaphoreSlim loginTurn = new SemaphoreSlim(1, 1);
        private readonly Stopwatch sinceLastUse = Stopwatch.StartNew();
        private long sessionGeneration;
        private volatile bool loggedIn;

        private VimClient(SoapTransport transport, VSphereEndpoint endpoint, string siteName)
        {
            this.transport = transport;
            this.endpoint = endpoint;
            this.siteName = siteName;
        }

        public ServiceContent Content { get; private set; } = null!;

        public SoapTransport Transport => transport;

        /// <summary>Idle time after which the next call is preceded by CurrentTime (vCenter drops idle sessions after 30 minutes by default).</summary>
        public TimeSpan KeepAliveAfter { get; set; } = TimeSpan.FromMinutes(10);

        /// <summary>How many times the session was re-established after the server forgot it (for tests and diagnostics).</summary>
        public int Relogins { get; private set; }

        public string SiteName => siteName;

        public static async Task<VimClient> ConnectAsync(VSphereEndpoint endpoint, string siteName, CancellationToken ct)
        {
            var transport = new SoapTransport(endpoint, siteName);
            var client = new VimClient(transport, endpoint, siteName);
            try
            {
                client.Content = await client.RetrieveServiceContentAsync(ct).ConfigureAwait(false);
                transport.ApiVersion = client.Content.About.ApiVersion;
                await client.LoginAsync(ct).ConfigureAwait(false);
                return client;
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }

        // ---- session ----

        private async Task<ServiceContent> RetrieveServiceContentAsync(CancellationToken ct)
        {
            var response = await transport.InvokeAsync(Node("RetrieveServiceContent", new MoRef("ServiceInstance", "ServiceInstance").ToElement("_this")), ct).ConfigureAwait(false);
            var r = response.Child("returnval") ?? throw new SiteUnreachableException("VSphereUnreachable", transport.SdkUrl.ToString(), $"'{transport.SdkUrl}' returned no service content.");
            var about = r.Child("about")!;
            MoRef Ref(string name) => r.ChildMoRef(name) ?? throw new VSphereFaultException("NotSupported", $"the server has no {name}", transport.SdkUrl.ToString());
            return new ServiceContent(
                Ref("rootFolder"), Ref("propertyCollector"), Ref("viewManager"), Ref("sessionManager"),
                new VSphereAbout(
                    about.ChildValue("name") ?? "", about.ChildValue("fullName") ?? "", about.ChildValue("version") ?? "",
                    about.ChildValue("build") ?? "", about.ChildValue("apiVersion") ?? "", about.ChildValue("apiType") ?? "",
                    about.ChildValue("instanceUuid")),
                r.ChildMoRef("fileManager"));
        }

        private async Task LoginAsync(CancellationToken ct)
        {
            try
            {
                await transport.InvokeAsync(Node("Login", Content.SessionManager.ToElement("_this"),
                    El("userName", endpoint.UserName), El("password", endpoint.Password)), ct).ConfigureAwait(false);
            }
            catch (VSphereFaultException e) when (e.FaultName == "InvalidLogin")
            {
                throw new VSphereFaultException(e.FaultName, e.ServerMessage, siteName,
                    $"vSphere at '{transport.SdkUrl}' refused the login of user '{endpoint.UserName}' for site '{siteName}': {e.ServerMessage} " +
                    $"Fix the credentials with: Set-DRSite -Name {siteName} -Credential (Get-Credential)", e);
            }
            Interlocked.Increment(ref sessionGeneration);
            loggedIn = true;
            sinceLastUse.Restart();
        }

        public async Task LogoutAsync(CancellationToken ct)
        {
            if (!loggedIn) return;
            loggedIn = false;
            try
            {
                await transport.InvokeAsync(Node("Logout", Content.SessionManager.ToElement("_this")), ct).ConfigureAwait(false);
            }
            catch (VSphereFaultException e) when (e.FaultName == "NotAuthenticated")
            {
                // Already gone on the server: the goal is reached.
            }
        }

        /// <summary>Sends one request element; re-logs in once when the server no longer knows the session.</summary>
        public async Task<XElement> InvokeAsync(XElement request, CancellationToken ct)
        {
            if (!loggedIn) throw new ObjectDisposedException(nameof(VSphereClient), $"The session to site '{siteName}' was logged out.");
            if (sinceLastUse.Elapsed > KeepAliveAfter)
            {
                await InvokeWithReloginAsync(Node("CurrentTime", new MoRef("ServiceInstance", "ServiceInstance").ToElement("_this")), ct).ConfigureAwait(false);
            }
            return await InvokeWithReloginAsync(request, ct).ConfigureAwait(false);
        }

        private async Task<XElement> InvokeWithReloginAsync(XElement request, CancellationToken ct)
        {
            var generation = Interlocked.Read(ref sessionGeneration);
            XElement response;
            try
            {
                response = await transport.InvokeAsync(request, ct).ConfigureAwait(false);
            }
            catch (VSphereFaultException e) when (e.FaultName == "NotAuthenticated" && loggedIn)
            {
                await ReloginAsync(generation, ct).ConfigureAwait(false);
                response = await transport.InvokeAsync(request, ct).ConfigureAwait(false);
            }
            sinceLastUse.Restart();
            return response;
        }

        private async Task ReloginAsync(long failedGeneration, CancellationToken ct)
        {
            await loginTurn.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                // Another call may have logged in again while this one waited.
                if (Interlocked.Read(ref sessionGeneration) != failedGeneration) return;
                await LoginAsync(ct).ConfigureAwait(false);
                Relogins++;
            }
            finally
            {
                loginTurn.Release();
            }
        }

        public Task<XElement> CallAsync(string method, MoRef @this, CancellationToken ct, params object?[] args) =>
            InvokeAsync(new XElement(Vim + method, @this.ToElement("_this"), args.Where(a => a != null)), ct);

        // ---- typed calls ----

        public async Task<DateTimeOffset> CurrentTimeAsync(CancellationToken ct)
        {
            var r = await CallAsync("CurrentTime", new MoRef("ServiceInstance", "ServiceInstance"), ct).ConfigureAwait(false);
            return r.ChildDate("returnval") ?? DateTimeOffset.MinValue;
        }

        public async Task<MoRef> CreateContainerViewAsync(MoRef container, IEnumerable<string> types, bool recursive, CancellationToken ct)
        {
            var r = await CallAsync("CreateContainerView", Content.ViewManager, ct,
                container.ToElement("container"), types.Select(t => El("type", t)), El("recursive", recursive)).ConfigureAwait(false);
            return ReturnedMoRef(r, "CreateContainerView");
        }

        public Task DestroyViewAsync(MoRef view, CancellationToken ct) => CallAsync("DestroyView", view, ct);

        /// <summary>RetrievePropertiesEx: the returnval (token + objects), or null when nothing matched.</summary>
        public async Task<XElement?> RetrievePropertiesExAsync(IEnumerable<XElement> specSet, int maxObjects, CancellationToken ct)
        {
            var r = await CallAsync("RetrievePropertiesEx", Content.PropertyCollector, ct,
                specSet, Node("options", El("maxObjects", maxObjects))).ConfigureAwait(false);
            return r.Child("returnval");
        }

        public async Task<XElement?> ContinueRetrievePropertiesExAsync(string token, CancellationToken ct)
        {
            var r = await CallAsync("ContinueRetrievePropertiesEx", Content.PropertyCollector, ct, El("token", token)).ConfigureAwait(false);
            return r.Child("returnval");
        }

        public Task CancelRetrievePropertiesExAsync(string token, CancellationToken ct) =>
            CallAsync("CancelRetrievePropertiesEx", Content.PropertyCollector, ct, El("token", token));

        // ---- property updates (PropertyWaiter) ----

        /// <summary>A PropertyCollector of this session's own, for filters and WaitForUpdatesEx apart from other callers.</summary>
        public async Task<MoRef> CreatePropertyCollectorAsync(CancellationToken ct)
        {
            var r = await CallAsync("CreatePropertyCollector", Content.PropertyCollector, ct).ConfigureAwait(false);
            return ReturnedMoRef(r, "CreatePropertyCollector");
        }

        public Task DestroyPropertyCollectorAsync(MoRef collector, CancellationToken ct) => CallAsync("DestroyPropertyCollector", collector, ct);

        /// <summary>
        /// CreateFilter on <paramref name="collector"/> with a spec of property specs and object specs (whole values, no partial
        /// updates); an object deleted meanwhile is left out of the results rather than failing every later update.
        /// </summary>
        public async Task<MoRef> CreateFilterAsync(MoRef collector, IEnumerable<XElement> propertySpecs, IEnumerable<XElement> objectSpecs, CancellationToken ct)
        {
            var spec = Node("spec", propertySpecs, objectSpecs, El("reportMissingObjectsInResults", true));
            var r = await CallAsync("CreateFilter", collector, ct, spec, El("partialUpdates", false)).ConfigureAwait(false);
            return ReturnedMoRef(r, "CreateFilter");
        }

        public Task DestroyPropertyFilterAsync(MoRef filter, CancellationToken ct) => CallAsync("DestroyPropertyFilter", filter, ct);

        /// <summary>
        /// WaitForUpdatesEx: the UpdateSet (version, filterSet) after <paramref name="version"/> (null: the full state of every
        /// filter), or null when nothing changed within <paramref name="maxWaitSeconds"/>.
        /// </summary>
        public async Task<XElement?> WaitForUpdatesExAsync(MoRef collector, string? version, int maxWaitSeconds, CancellationToken ct)
        {
            var r = await CallAsync("WaitForUpdatesEx", collector, ct, El("version", string.IsNullOrEmpty(version) ? null : version),
                Node("options", El("maxWaitSeconds", maxWaitSeconds))).ConfigureAwait(false);
            return r.Child("returnval");
        }

        /// <summary>Makes a WaitForUpdatesEx in progress on <paramref name="collector"/> return at once (with a RequestCanceled fault).</summary>
        public Task CancelWaitForUpdatesAsync(MoRef collector, CancellationToken ct) => CallAsync("CancelWaitForUpdates", collector, ct);

        /// <summary>Calls a *_Task method and returns the task's reference.</summary>
        public async Task<MoRef> StartTaskAsync(string method, MoRef @this, CancellationToken ct, params object?[] args)
        {
            var r = await CallAsync(method, @this, ct, args).ConfigureAwait(false);
            return ReturnedMoRef(r, method);
        }

        public async Task<DiskChangeInfo> QueryChangedDiskAreasAsync(MoRef vm, MoRef snapshot, int deviceKey, long startOffset, string changeId, CancellationToken ct)
        {
            var r = await CallAsync("QueryChangedDiskAreas", vm, ct,
                snapshot.ToElement("snapshot"), El("deviceKey", deviceKey), El("startOffset", startOffset), El("changeId", changeId)).ConfigureAwait(false);
            var info = r.Child("returnval") ?? throw new VSphereFaultException("InvalidResponse", "QueryChangedDiskAreas returned nothing", vm.Value);
            var areas = info.Children("changedArea")
                .Select(a => new DiskExtent(a.ChildLong("start") ?? 0, a.ChildLong("length") ?? 0))
                .ToList();
            return new DiskChangeInfo(info.ChildLong("startOffset") ?? startOffset, info.ChildLong("length") ?? 0, areas);
        }

        private static MoRef ReturnedMoRef(XElement response, string method)
        {
            var value = response.Child("returnval");
            return value is null ? throw new VSphereFaultException("InvalidResponse", $"{method} returned no reference", null) : MoRef.Parse(value);
        }

        public void Dispose()
        {
            transport.Dispose();
            loginTurn.Dispose();
        }
    }
}
