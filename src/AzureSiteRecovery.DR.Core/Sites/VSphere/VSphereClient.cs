using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using System.Xml.Linq;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Transfers.Retries;
using static AzureSiteRecovery.DR.Core.Sites.VSphere.VimXml;

namespace AzureSiteRecovery.DR.Core.Sites.VSphere
{
    /// <summary>
    /// A logged-in session to one vCenter or ESXi host: inventory, snapshots and changed block
    /// tracking, datastore file transfer, and VMs on a recovery site. Safe for concurrent calls.
    /// Layers underneath: <see cref="SoapTransport"/> (envelope, faults, cookie, TLS) →
    /// <see cref="VimClient"/> (typed vim25 calls, session) → <see cref="PropertyCollector"/>,
    /// <see cref="TaskWaiter"/>, <see cref="VmInventory"/>, <see cref="DatastoreFiles"/>.
    /// </summary>
    public sealed class VSphereClient : IDisposable
    {
        // Every second a recovered VM is up but not yet seen adds to its RTO: back off gently and never wait more than 2 s between looks.
        private static readonly Backoff GuestPolls = new Backoff(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(2), 1.5);

        private readonly VimClient vim;
        private readonly PropertyCollector collector;
        private readonly TaskWaiter tasks;
        private readonly VmInventory inventory;
        private readonly InventoryLookup lookup;
        private readonly DatastoreFiles files;
        private readonly PropertyWaiter? waiter;
        private readonly string? pollingReason;
        private int disposed;

        /// <summary>Environment variable: "Polling" makes guest and power waits poll instead of using WaitForUpdatesEx (the benchmark's baseline).</summary>
        public const string WaitModeVariable = "AZSR_VSPHERE_WAIT";

        private VSphereClient(VimClient vim, string siteName)
        {
            this.vim = vim;
            SiteName = siteName;
            collector = new PropertyCollector(vim);
            tasks = new TaskWaiter(collector);
            inventory = new VmInventory(vim, collector, siteName);
            lookup = new InventoryLookup(vim, collector, siteName);
            files = new DatastoreFiles(vim);
            var mode = Environment.GetEnvironmentVariable(WaitModeVariable);
            if (string.Equals(mode?.Trim(), "Polling", StringComparison.OrdinalIgnoreCase))
            {
                pollingReason = $"{WaitModeVariable}=Polling";
            }
            else
            {
                waiter = new PropertyWaiter(vim, siteName);
            }
        }

        /// <summary>
        /// How guest and power waits watch VMs: "WaitForUpdatesEx", or "Polling" with the reason
        /// (AZSR_VSPHERE_WAIT=Polling, or the server faulted the update calls).
        /// </summary>
        public string GuestWaitMethod =>
            (pollingReason ?? waiter?.FallbackReason) is string why ? $"Polling ({why})" : "WaitForUpdatesEx";

        internal int UpdateRoundTrips => waiter?.UpdateRoundTrips ?? 0;

        public string SiteName { get; }

        public VSphereAbout About => vim.Content.About;

        /// <summary>The SDK URL the client talks to.</summary>
        public Uri Server => vim.Transport.SdkUrl;

        /// <summary>Objects per RetrievePropertiesEx page (default 1000).</summary>
        internal int PageSize { get => collector.MaxObjects; set => collector.MaxObjects = value; }

        internal int PropertyCollectorRoundTrips => collector.RoundTrips;

        internal int Relogins => vim.Relogins;

        internal TimeSpan KeepAliveAfter { get => vim.KeepAliveAfter; set => vim.KeepAliveAfter = value; }

        internal VimClient Vim => vim;

        /// <summary>RetrieveServiceContent, then Login. Wrong credentials: VSphereFaultException VSphereInvalidLogin.</summary>
        public static async Task<VSphereClient> ConnectAsync(VSphereEndpoint endpoint, string siteName, CancellationToken ct)
        {
            if (endpoint is null) throw new ArgumentNullException(nameof(endpoint));
            var vim = await VimClient.ConnectAsync(endpoint, siteName ?? "", ct).ConfigureAwait(false);
            return new VSphereClient(vim, siteName ?? "");
        }

        // ---- inventory ----

        /// <summary>Every VM of the site, with disks, networks and host names: one ContainerView, paged RetrievePropertiesEx.</summary>
        public Task<IReadOnlyList<DiscoveredVm>> ListVmsAsync(CancellationToken ct) => inventory.ListAsync(ct);

        /// <summary>One VM by moref (e.g. vm-42); null when it does not exist.</summary>
        public Task<DiscoveredVm?> GetVmAsync(string moRef, CancellationToken ct) => inventory.GetAsync(moRef, ct);

        public Task<IReadOnlyList<string>> ListVmMoRefsAsync(CancellationToken ct) => inventory.ListMoRefsAsync(ct);

        /// <summary>VMs whose extraConfig has <paramref name="key"/> (with <paramref name="value"/>, when given): one bulk call.</summary>
        public Task<IReadOnlyList<DiscoveredVm>> FindVmsByExtraConfigAsync(string key, string? value, CancellationToken ct)
        {
            if (string.IsNullOrEmpty(key)) throw new ArgumentException("An extraConfig key is required.", nameof(key));
            return inventory.ListAsync(options => options.TryGetValue(key, out var v) && (value is null || v == value), ct);
        }

        /// <summary>VMs whose extraConfig entries satisfy <paramref name="match"/> (such as several tags at once): one bulk call.</summary>
        public Task<IReadOnlyList<DiscoveredVm>> FindVmsByExtraConfigAsync(Func<IReadOnlyDictionary<string, string>, bool> match, CancellationToken ct) =>
            inventory.ListAsync(options => match(options), ct);

        /// <summary>The VM's extraConfig entries (keys and values).</summary>
        public async Task<IReadOnlyDictionary<string, string>> GetExtraConfigAsync(string vmMoRef, CancellationToken ct)
        {
            var o = await collector.RetrieveOneAsync(MoRef.VirtualMachine(vmMoRef), new[] { "config.extraConfig" }, ct).ConfigureAwait(false);
            return VmInventory.ExtraConfig(o);
        }

        /// <summary>Adds or changes extraConfig entries (an empty value removes one on vSphere). In vcsim, SET.guest.* keys set guest properties.</summary>
        public Task SetExtraConfigAsync(string vmMoRef, IReadOnlyDictionary<string, string> options, CancellationToken ct) =>
            ReconfigureAsync(vmMoRef, ConfigSpecs.ExtraConfigOnly(options), ct);

        // ---- change tracking and snapshots ----

        public Task SetChangeTrackingAsync(string vmMoRef, bool enabled, CancellationToken ct) =>
            ReconfigureAsync(vmMoRef, ConfigSpecs.ChangeTracking(enabled), ct);

        /// <summary>Takes a snapshot and waits for it; returns the snapshot's moref.</summary>
        public Task<string> CreateSnapshotAsync(string vmMoRef, string name, string? description, bool quiesce, bool memory, CancellationToken ct)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("A snapshot name is required.", nameof(name));
            var vm = MoRef.VirtualMachine(vmMoRef);
            // A connection that broke after the call may have reached vCenter: look for the snapshot by name before asking again.
            return ChangeAsync(async () => (await ListSnapshotsAsync(vmMoRef, ct).ConfigureAwait(false)).FirstOrDefault(s => s.Name == name)?.MoRef, async () =>
            {
                var task = await vim.StartTaskAsync("CreateSnapshot_Task", vm, ct,
                    El("name", name), El("description", description ?? ""), El("memory", memory), El("quiesce", quiesce)).ConfigureAwait(false);
                var result = await tasks.WaitAsync(task, vmMoRef, null, ct).ConfigureAwait(false);
                return result?.Value ?? throw new VSphereFaultException("InvalidResponse", "CreateSnapshot_Task returned no snapshot", vmMoRef);
            }, ct);
        }

        /// <summary>Removes one snapshot (not its children), consolidating its delta into the parent.</summary>
        public Task RemoveSnapshotAsync(string snapshotMoRef, CancellationToken ct) =>
            ChangeAsync(null, async () =>
            {
                var task = await vim.StartTaskAsync("RemoveSnapshot_Task", MoRef.Snapshot(snapshotMoRef), ct,
                    El("removeChildren", false), El("consolidate", true)).ConfigureAwait(false);
                await tasks.WaitAsync(task, snapshotMoRef, null, ct).ConfigureAwait(false);
                return snapshotMoRef;
            }, ct, goneMeansDone: "ManagedObjectNotFound");

        /// <summary>
        /// A call that changes something, sent again when its connection broke after it may have reached vCenter
        /// (SiteUnreachableException.OutcomeUnknown), but only after <paramref name="done"/> shows it did not take effect
        /// (its result, or null), or, with <paramref name="goneMeansDone"/>, when a repeat answers with that fault (the
        /// object the first try removed is gone). Other faults end it as they are.
        /// </summary>
        private Task<T> ChangeAsync<T>(Func<Task<T?>>? done, Func<Task<T>> change, CancellationToken ct, string? goneMeansDone = null) where T : class =>
            Retrier.RunAsync(async attempt =>
            {
                if (attempt.Number > 1 && done != null && await done().ConfigureAwait(false) is T already) return already;
                try
                {
                    return await change().ConfigureAwait(false);
                }
                catch (VSphereFaultException e) when (attempt.Number > 1 && e.FaultName == goneMeansDone)
                {
                    return default(T)!;
                }
            }, changesState: false, outcome => outcome.Last, ct);

        /// <summary><paramref name="state"/> when the VM's power state is it, else null.</summary>
        private async Task<string?> PowerStateIsAsync(string vmMoRef, string state, CancellationToken ct)
        {
            var o = await collector.RetrieveOneAsync(MoRef.VirtualMachine(vmMoRef), new[] { "runtime.powerState" }, ct).ConfigureAwait(false);
            return o.String("runtime.powerState") == state ? state : null;
        }

        /// <summary>The VM's snapshot tree, flattened: parents before children.</summary>
        public async Task<IReadOnlyList<VmSnapshotInfo>> ListSnapshotsAsync(string vmMoRef, CancellationToken ct)
        {
            var o = await collector.RetrieveOneAsync(MoRef.VirtualMachine(vmMoRef), new[] { "snapshot" }, ct).ConfigureAwait(false);
            var list = new List<VmSnapshotInfo>();
            void Walk(IEnumerable<XElement> trees, string? parent)
            {
                foreach (var t in trees)
                {
                    var moRef = t.ChildValue("snapshot") ?? "";
                    list.Add(new VmSnapshotInfo(moRef, t.ChildValue("name") ?? "", NullIfEmpty(t.ChildValue("description")),
                        t.ChildDate("createTime") ?? DateTimeOffset.MinValue, t.ChildBool("quiesced") ?? false, parent));
                    Walk(t.Children("childSnapshotList"), moRef);
                }
            }
            Walk(o.Value("snapshot")?.Children("rootSnapshotList") ?? Enumerable.Empty<XElement>(), null);
            return list;
        }

        /// <summary>The disks as of the snapshot (its config.hardware.device), with the changeId each had then.</summary>
        public async Task<IReadOnlyList<VmDisk>> GetSnapshotDisksAsync(string snapshotMoRef, CancellationToken ct)
        {
            var o = await collector.RetrieveOneAsync(MoRef.Snapshot(snapshotMoRef), new[] { "config.hardware.device" }, ct).ConfigureAwait(false);
            return VirtualDevices.Disks(o.Value("config.hardware.device")).ToList();
        }

        /// <summary>
        /// The areas of a disk that changed since <paramref name="changeId"/> ("*": all allocated areas), as of the
        /// snapshot. Calls QueryChangedDiskAreas from each answer's startOffset+length until the whole disk is covered.
        /// </summary>
        public async Task<IReadOnlyList<DiskExtent>> QueryChangedDiskAreasAsync(string vmMoRef, string snapshotMoRef, int deviceKey, long capacityBytes, string changeId, CancellationToken ct)
        {
            if (capacityBytes <= 0) throw new ArgumentOutOfRangeException(nameof(capacityBytes), "The disk capacity must be positive.");
            if (string.IsNullOrEmpty(changeId)) throw new ArgumentException("A changeId (or \"*\") is required.", nameof(changeId));
            var vm = MoRef.VirtualMachine(vmMoRef);
            var snapshot = MoRef.Snapshot(snapshotMoRef);
            var extents = new List<DiskExtent>();
            long start = 0;
            while (start < capacityBytes)
            {
                var page = await vim.QueryChangedDiskAreasAsync(vm, snapshot, deviceKey, start, changeId, ct).ConfigureAwait(false);
                extents.AddRange(page.ChangedArea);
                var next = page.StartOffset + page.Length;
                if (next <= start)
                {
                    throw new VSphereFaultException("InvalidResponse",
                        $"QueryChangedDiskAreas made no progress at offset {start} of disk {deviceKey} (answered startOffset {page.StartOffset}, length {page.Length})", vmMoRef);
                }
                start = next;
            }
            return extents;
        }

        // ---- datastore files ----

        /// <summary>
        /// Reads bytes [offset, offset+length) of a datastore file, e.g. "[ds] vm/disk-flat.vmdk", in the
        /// datacenter that holds the datastore. The stream returns what the server has: fewer bytes when the
        /// file ends inside the range, none when offset is at or past its end (use <see cref="GetFileLengthAsync(string, CancellationToken)"/>).
        /// </summary>
        public async Task<Stream> OpenDiskReadAsync(string datastorePath, long offset, long length, CancellationToken ct)
        {
            var path = DatastorePath.Parse(datastorePath);
            var dc = await lookup.DatacenterOfDatastoreAsync(path.Datastore, ct).ConfigureAwait(false);
            return await files.OpenReadAsync(path, dc, offset, length, ct).ConfigureAwait(false);
        }

        /// <summary>
        /// Fills <paramref name="buffer"/> with bytes [offset, offset+count) of a disk's flat file; past the end of a short file (thin,
        /// or vcsim's empty files) the disk reads as zeros. A broken transfer is retried from the byte it reached (VSphereTransferFailed after the retries).
        /// </summary>
        public async Task ReadDiskAsync(string flatFile, long offset, byte[] buffer, int count, CancellationToken ct)
        {
            var path = DatastorePath.Parse(flatFile);
            var dc = await lookup.DatacenterOfDatastoreAsync(path.Datastore, ct).ConfigureAwait(false);
            var filled = await files.ReadAsync(path, dc, offset, buffer, count, ct).ConfigureAwait(false);
            Array.Clear(buffer, filled, count - filled);
        }

        /// <summary>As <see cref="OpenDiskReadAsync(string, long, long, CancellationToken)"/>, with the datacenter (dcPath) given.</summary>
        public Task<Stream> OpenDiskReadAsync(string datastorePath, string datacenter, long offset, long length, CancellationToken ct) =>
            files.OpenReadAsync(DatastorePath.Parse(datastorePath), datacenter, offset, length, ct);

        /// <summary>The length of a datastore file in bytes; null when the server does not say.</summary>
        public async Task<long?> GetFileLengthAsync(string datastorePath, CancellationToken ct)
        {
            var path = DatastorePath.Parse(datastorePath);
            var dc = await lookup.DatacenterOfDatastoreAsync(path.Datastore, ct).ConfigureAwait(false);
            return await files.GetLengthAsync(path, dc, ct).ConfigureAwait(false);
        }

        /// <summary>Streams <paramref name="length"/> bytes into a datastore file (created or replaced). The folder must exist.</summary>
        public Task UploadFileAsync(string datastorePath, string datacenter, Stream content, long length, CancellationToken ct) =>
            files.UploadAsync(DatastorePath.Parse(datastorePath), datacenter, content, length, ct);

        /// <summary>Creates or replaces a datastore file whose <paramref name="length"/> bytes <paramref name="write"/> streams into the upload.</summary>
        public Task UploadFileAsync(string datastorePath, string datacenter, Func<Stream, CancellationToken, Task> write, long length, CancellationToken ct) =>
            files.UploadAsync(DatastorePath.Parse(datastorePath), datacenter, write, length, ct);

        /// <summary>As <see cref="UploadFileAsync(string, string, Func{Stream, CancellationToken, Task}, long, CancellationToken)"/>, in the datacenter that holds the datastore.</summary>
        public async Task UploadFileAsync(string datastorePath, Func<Stream, CancellationToken, Task> write, long length, CancellationToken ct)
        {
            var path = DatastorePath.Parse(datastorePath);
            var dc = await lookup.DatacenterOfDatastoreAsync(path.Datastore, ct).ConfigureAwait(false);
            await files.UploadAsync(path, dc, write, length, ct).ConfigureAwait(false);
        }

        /// <summary>Overwrites part of an existing datastore file (a ranged PUT; see DatastoreFiles.WriteRangeAsync for which servers take it).</summary>
        public async Task WriteFileRangeAsync(string datastorePath, long offset, byte[] data, int count, CancellationToken ct)
        {
            var path = DatastorePath.Parse(datastorePath);
            var dc = await lookup.DatacenterOfDatastoreAsync(path.Datastore, ct).ConfigureAwait(false);
            await files.WriteRangeAsync(path, dc, offset, data, count, ct).ConfigureAwait(false);
        }

        /// <summary>Deletes a datastore file (FileManager.DeleteDatastoreFile_Task); one already gone counts as deleted.</summary>
        public async Task DeleteDatastoreFileAsync(string datastorePath, CancellationToken ct)
        {
            var path = DatastorePath.Parse(datastorePath);
            var fileManager = vim.Content.FileManager ?? throw new VSphereFaultException("NotSupported", "the server has no fileManager", SiteName);
            var dc = await lookup.FindDatacenterAsync(await lookup.DatacenterOfDatastoreAsync(path.Datastore, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            try
            {
                // Deleting twice is harmless: a repeat after an unknown outcome needs no check.
                await ChangeAsync(null, async () =>
                {
                    var task = await vim.StartTaskAsync("DeleteDatastoreFile_Task", fileManager, ct, El("name", path.ToString()), dc.Ref.ToElement("datacenter")).ConfigureAwait(false);
                    await tasks.WaitAsync(task, path.ToString(), null, ct).ConfigureAwait(false);
                    return datastorePath;
                }, ct).ConfigureAwait(false);
            }
            catch (VSphereFaultException e) when (e.FaultName == "FileNotFound")
            {
            }
        }

        /// <summary>
        /// Whether the site's datastore interface takes ranged writes, tried on a scratch file in the
        /// folder of <paramref name="datastorePath"/> (a file of a VM: the probe runs where that VM's disks are).
        /// </summary>
        public async Task<bool> ProbeRangedWritesAsync(string datastorePath, CancellationToken ct)
        {
            var path = DatastorePath.Parse(datastorePath);
            var slash = path.Path.LastIndexOf('/');
            var folder = new DatastorePath(path.Datastore, slash < 0 ? "" : path.Path.Substring(0, slash));
            var dc = await lookup.DatacenterOfDatastoreAsync(path.Datastore, ct).ConfigureAwait(false);
            return await files.ProbeRangedWritesAsync(folder, dc, (scratch, c) => DeleteDatastoreFileAsync(scratch.ToString(), c), ct).ConfigureAwait(false);
        }

        /// <summary>The data file of a flat disk: "[ds] vm/disk1.vmdk" (the descriptor) is stored in "[ds] vm/disk1-flat.vmdk".</summary>
        public static string FlatExtentOf(string descriptor) =>
            descriptor.EndsWith(".vmdk", StringComparison.OrdinalIgnoreCase) && !descriptor.EndsWith("-flat.vmdk", StringComparison.OrdinalIgnoreCase)
                ? descriptor.Substring(0, descriptor.Length - ".vmdk".Length) + "-flat.vmdk"
                : descriptor;

        /// <summary>The names of the site's networks (standard and distributed port groups).</summary>
        public async Task<IReadOnlyCollection<string>> ListNetworkNamesAsync(CancellationToken ct) =>
            (await lookup.ReadNetworksAsync(ct).ConfigureAwait(false)).Keys.ToList();

        /// <summary>The site's networks with their kind (standard or distributed port group), by name.</summary>
        public async Task<IReadOnlyList<(string Name, string? SwitchUuid)>> ListNetworksAsync(CancellationToken ct) =>
            (await lookup.ReadNetworksAsync(ct).ConfigureAwait(false)).Values.Select(n => (n.Name, n.SwitchUuid)).ToList();

        /// <summary>The site's datastores with their datacenter and free space.</summary>
        public Task<IReadOnlyList<DatastoreInfo>> ListDatastoresAsync(CancellationToken ct) => lookup.ListDatastoresAsync(ct);

        // ---- VMs on a recovery site ----

        /// <summary>Creates a VM (powered off) and returns its moref.</summary>
        public async Task<string> CreateVmAsync(VmCreateSpec spec, CancellationToken ct)
        {
            if (spec is null) throw new ArgumentNullException(nameof(spec));
            if (string.IsNullOrEmpty(spec.Name)) throw new ArgumentException("The VM needs a name.", nameof(spec));
            if (string.IsNullOrEmpty(spec.Datastore)) throw new ArgumentException("The VM needs a datastore for its files.", nameof(spec));

            var dc = await lookup.FindDatacenterAsync(spec.Datacenter, ct).ConfigureAwait(false);
            var contents = await lookup.ReadDatacenterAsync(dc, ct).ConfigureAwait(false);
            MoRef? host = null;
            if (spec.Host != null)
            {
                host = contents.HostsByName.TryGetValue(spec.Host, out var h) ? h
                    : throw new VSphereFaultException("ManagedObjectNotFound", $"Host '{spec.Host}' was not found in datacenter '{dc.Name}'.", spec.Host);
            }
            MoRef pool;
            if (spec.ResourcePoolMoRef != null)
            {
                pool = new MoRef("ResourcePool", spec.ResourcePoolMoRef);
            }
            else
            {
                var compute = host is MoRef hr ? contents.Compute.FirstOrDefault(c => c.Hosts.Contains(hr)) : contents.Compute.FirstOrDefault(c => c.ResourcePool != null);
                pool = compute?.ResourcePool ?? throw new VSphereFaultException("ManagedObjectNotFound",
                    $"Datacenter '{dc.Name}' has no resource pool{(spec.Host is null ? "" : " for host " + spec.Host)}.", dc.Name);
            }
            var nics = spec.Nics.Select(n => Network(contents.NetworksByName, n.NetworkName, dc.Name)).ToList();
            var folder = spec.FolderMoRef is null ? dc.VmFolder : new MoRef("Folder", spec.FolderMoRef);

            // After an unknown outcome the VM is looked for by its name (unique in its folder) before it is asked for again.
            return await ChangeAsync(async () => (await ListVmsAsync(ct).ConfigureAwait(false)).FirstOrDefault(v => v.Name == spec.Name)?.MoRef, async () =>
            {
                var task = await vim.StartTaskAsync("CreateVM_Task", folder, ct,
                    ConfigSpecs.Create(spec, nics), pool.ToElement("pool"), host?.ToElement("host")).ConfigureAwait(false);
                var result = await tasks.WaitAsync(task, spec.Name, null, ct).ConfigureAwait(false);
                return result?.Value ?? throw new VSphereFaultException("InvalidResponse", "CreateVM_Task returned no VM", spec.Name);
            }, ct).ConfigureAwait(false);
        }

        /// <summary>
        /// Connects the VM's NICs, in device order, to <paramref name="networkNames"/>: existing NICs are edited
        /// (the full device with the new backing), missing ones added (vmxnet3), extra ones removed.
        /// </summary>
        public async Task ReconfigureNicsAsync(string vmMoRef, IReadOnlyList<string> networkNames, CancellationToken ct)
        {
            if (networkNames is null) throw new ArgumentNullException(nameof(networkNames));
            var vm = MoRef.VirtualMachine(vmMoRef);
            var o = await collector.RetrieveOneAsync(vm, new[] { "config.hardware.device" }, ct).ConfigureAwait(false);
            var current = VirtualDevices.Nics(o.Value("config.hardware.device")).ToList();
            var networks = await lookup.ReadNetworksAsync(ct).ConfigureAwait(false);
            var changes = new List<XElement>();
            for (var i = 0; i < networkNames.Count; i++)
            {
                var target = Network(networks, networkNames[i], SiteName);
                changes.Add(i < current.Count ? ConfigSpecs.EditNic(current[i], target) : ConfigSpecs.AddNic(target, VmNicAdapter.Vmxnet3, -201 - i, i));
            }
            changes.AddRange(current.Skip(networkNames.Count).Select(ConfigSpecs.RemoveDevice));
            if (changes.Count > 0)
            {
                await ReconfigureAsync(vmMoRef, ConfigSpecs.DeviceChanges(changes), ct).ConfigureAwait(false);
            }
        }

        public Task PowerOnAsync(string vmMoRef, CancellationToken ct) =>
            ChangeAsync(() => PowerStateIsAsync(vmMoRef, "poweredOn", ct), async () =>
            {
                var task = await vim.StartTaskAsync("PowerOnVM_Task", MoRef.VirtualMachine(vmMoRef), ct).ConfigureAwait(false);
                await tasks.WaitAsync(task, vmMoRef, null, ct).ConfigureAwait(false);
                return "poweredOn";
            }, ct);

        /// <summary>Hard power off (no guest shutdown).</summary>
        public Task PowerOffAsync(string vmMoRef, CancellationToken ct) =>
            ChangeAsync(() => PowerStateIsAsync(vmMoRef, "poweredOff", ct), async () =>
            {
                var task = await vim.StartTaskAsync("PowerOffVM_Task", MoRef.VirtualMachine(vmMoRef), ct).ConfigureAwait(false);
                await tasks.WaitAsync(task, vmMoRef, null, ct).ConfigureAwait(false);
                return "poweredOff";
            }, ct);

        /// <summary>Asks the guest (VMware Tools) to shut down and returns; the VM powers off some time later.</summary>
        public Task ShutdownGuestAsync(string vmMoRef, CancellationToken ct) =>
            vim.CallAsync("ShutdownGuest", MoRef.VirtualMachine(vmMoRef), ct);

        /// <summary>Asks the guest to shut down and waits until the VM is powered off; VSphereGuestShutdownTimeout after <paramref name="timeout"/>.</summary>
        public async Task ShutdownGuestAsync(string vmMoRef, TimeSpan timeout, CancellationToken ct)
        {
            await ShutdownGuestAsync(vmMoRef, ct).ConfigureAwait(false);
            await WaitForAsync(vmMoRef, new[] { "runtime.powerState" }, o => o.String("runtime.powerState") == "poweredOff", timeout,
                "VSphereGuestShutdownTimeout", "power off after a guest shutdown", ct).ConfigureAwait(false);
        }

        /// <summary>
        /// Waits until the guest heartbeat is green and, with <paramref name="needIp"/>, the guest reports an IP
        /// address; VSphereTimeoutException (VSphereGuestTimeout) after <paramref name="timeout"/>.
        /// </summary>
        public async Task<GuestState> WaitForGuestAsync(string vmMoRef, bool needIp, TimeSpan timeout, CancellationToken ct)
        {
            var o = await WaitForAsync(vmMoRef, new[] { "guestHeartbeatStatus", "guest.ipAddress", "guest.hostName", "runtime.powerState" },
                g => g.String("guestHeartbeatStatus") == "green" && (!needIp || !string.IsNullOrEmpty(g.String("guest.ipAddress"))),
                timeout, "VSphereGuestTimeout", needIp ? "a green guest heartbeat and an IP address" : "a green guest heartbeat", ct).ConfigureAwait(false);
            return ToGuestState(o);
        }

        /// <summary>Destroys the VM and its files, powering it off first when it is on.</summary>
        public async Task DestroyVmAsync(string vmMoRef, CancellationToken ct)
        {
            var vm = MoRef.VirtualMachine(vmMoRef);
            var o = await collector.RetrieveOneAsync(vm, new[] { "runtime.powerState" }, ct).ConfigureAwait(false);
            if (o.String("runtime.powerState") != "poweredOff")
            {
                try
                {
                    await PowerOffAsync(vmMoRef, ct).ConfigureAwait(false);
                }
                catch (VSphereFaultException e) when (e.FaultName == "InvalidPowerState")
                {
                    // Powered off in between: what we wanted.
                }
            }
            await ChangeAsync(null, async () =>
            {
                var task = await vim.StartTaskAsync("Destroy_Task", vm, ct).ConfigureAwait(false);
                await tasks.WaitAsync(task, vmMoRef, null, ct).ConfigureAwait(false);
                return vmMoRef;
            }, ct, goneMeansDone: "ManagedObjectNotFound").ConfigureAwait(false);
        }

        // ---- session ----

        public Task LogoutAsync(CancellationToken ct) => vim.LogoutAsync(ct);

        /// <summary>Logs out (best effort, a few seconds at most) and releases the connection.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) != 0) return;
            try
            {
                // Its collector first: the session it lives in is logged out next.
                waiter?.Dispose();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                // No SynchronizationContext is captured (ConfigureAwait(false) throughout), so blocking here cannot deadlock.
                vim.LogoutAsync(cts.Token).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is DRException || e is OperationCanceledException || e is ObjectDisposedException)
            {
                // The session dies with the server's timeout anyway.
            }
            finally
            {
                vim.Dispose();
            }
        }

        private async Task ReconfigureAsync(string vmMoRef, XElement spec, CancellationToken ct)
        {
            var task = await vim.StartTaskAsync("ReconfigVM_Task", MoRef.VirtualMachine(vmMoRef), ct, spec).ConfigureAwait(false);
            await tasks.WaitAsync(task, vmMoRef, null, ct).ConfigureAwait(false);
        }

        /// <summary>
        /// Waits until <paramref name="done"/> holds for the VM: through WaitForUpdatesEx (<see cref="PropertyWaiter"/>), or by
        /// polling when the waiter is off or unavailable (for whatever is left of <paramref name="timeout"/>).
        /// </summary>
        private async Task<ObjectContent> WaitForAsync(string vmMoRef, string[] paths, Func<ObjectContent, bool> done, TimeSpan timeout, string errorId, string what, CancellationToken ct)
        {
            var started = DateTime.UtcNow;
            if (waiter != null)
            {
                var vm = MoRef.VirtualMachine(vmMoRef);
                var result = await waiter.WaitAsync(vm, done, timeout, ct).ConfigureAwait(false);
                if (result is { Reached: true, Last: ObjectContent seen }) return seen;
                if (result != null)
                {
                    // Timed out: the properties as the server has them now make the message.
                    var now = await collector.RetrieveOneAsync(vm, paths, ct).ConfigureAwait(false);
                    if (done(now)) return now;
                    throw TimedOut(vmMoRef, now, timeout, errorId, what);
                }
            }
            var left = timeout - (DateTime.UtcNow - started);
            return await PollAsync(vmMoRef, paths, done, left > TimeSpan.Zero ? left : TimeSpan.Zero, timeout, errorId, what, ct).ConfigureAwait(false);
        }

        private VSphereTimeoutException TimedOut(string vmMoRef, ObjectContent o, TimeSpan timeout, string errorId, string what)
        {
            var state = ToGuestState(o);
            return new VSphereTimeoutException(errorId, vmMoRef, timeout,
                $"VM {vmMoRef} on site '{SiteName}' did not show {what} within {timeout} (power {o.String("runtime.powerState") ?? "unknown"}, " +
                $"heartbeat {state.HeartbeatStatus ?? "none"}, IP {state.IpAddress ?? "none"}).");
        }

        private async Task<ObjectContent> PollAsync(string vmMoRef, string[] paths, Func<ObjectContent, bool> done, TimeSpan left, TimeSpan timeout, string errorId, string what, CancellationToken ct)
        {
            var vm = MoRef.VirtualMachine(vmMoRef);
            var deadline = DateTime.UtcNow + left;
            var polls = 0;
            while (true)
            {
                var o = await collector.RetrieveOneAsync(vm, paths, ct).ConfigureAwait(false);
                if (done(o)) return o;
                var remaining = deadline - DateTime.UtcNow;
                if (remaining <= TimeSpan.Zero) throw TimedOut(vmMoRef, o, timeout, errorId, what);
                var delay = GuestPolls.After(++polls);
                await Task.Delay(remaining < delay ? remaining : delay, ct).ConfigureAwait(false);
            }
        }

        private static GuestState ToGuestState(ObjectContent o) =>
            new GuestState(NullIfEmpty(o.String("guestHeartbeatStatus")), NullIfEmpty(o.String("guest.ipAddress")), NullIfEmpty(o.String("guest.hostName")));

        private static NetworkTarget Network(IReadOnlyDictionary<string, NetworkTarget> networks, string name, string where) =>
            networks.TryGetValue(name, out var n) ? n
                : throw new VSphereFaultException("ManagedObjectNotFound",
                    $"Network '{name}' was not found in '{where}'. Networks: {string.Join(", ", networks.Keys.OrderBy(k => k, StringComparer.Ordinal))}.", name);

        private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
    }
}
