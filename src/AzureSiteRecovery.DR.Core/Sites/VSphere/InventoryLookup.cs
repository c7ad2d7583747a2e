using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using static AzureSiteRecovery.DR.Core.Sites.VSphere.PropertyCollector;

namespace AzureSiteRecovery.DR.Core.Sites.VSphere
{
    /// <summary>A datacenter and its root folders.</summary>
    internal sealed record DatacenterInfo(string Name, MoRef Ref, MoRef VmFolder);

    /// <summary>A host or cluster and its root resource pool.</summary>
    internal sealed record ComputeInfo(string Name, MoRef Ref, MoRef? ResourcePool, IReadOnlyList<MoRef> Hosts);

    /// <summary>What CreateVmAsync needs to know about one datacenter, read in one bulk call.</summary>
    internal sealed record DatacenterContents(
        DatacenterInfo Datacenter,
        IReadOnlyList<ComputeInfo> Compute,
        IReadOnlyDictionary<string, MoRef> HostsByName,
        IReadOnlyDictionary<string, NetworkTarget> NetworksByName);

    /// <summary>Finding inventory objects by name in bulk: datacenters, their hosts and pools, networks, datastores.</summary>
    internal sealed class InventoryLookup
    {
        private readonly VimClient vim;
        private readonly PropertyCollector collector;
        private readonly string siteName;
        private readonly object datastoreCacheLock = new object();
        private Dictionary<string, string> datacenterOfDatastore = new Dictionary<string, string>(StringComparer.Ordinal);

        public InventoryLookup(VimClient vim, PropertyCollector collector, string siteName)
        {
            this.vim = vim;
            this.collector = collector;
            this.siteName = siteName;
        }

        public async Task<DatacenterInfo> FindDatacenterAsync(string? name, CancellationToken ct)
        {
            var all = new List<DatacenterInfo>();
            await collector.RetrieveFromContainerAsync(vim.Content.RootFolder, new[] { "Datacenter" },
                new[] { PropertySpec("Datacenter", new[] { "name", "vmFolder" }) },
                o => all.Add(new DatacenterInfo(o.String("name") ?? "", o.Obj, o.MoRef("vmFolder") ?? default)), ct).ConfigureAwait(false);
            var found = name is null ? all.FirstOrDefault() : all.FirstOrDefault(d => d.Name == name);
            return found ?? throw new VSphereFaultException("ManagedObjectNotFound",
                $"Datacenter '{name}' was not found on site '{siteName}'. Datacenters: {string.Join(", ", all.Select(d => d.Name))}.", name ?? siteName);
        }

        /// <summary>Compute resources, hosts and networks of a datacenter, in one ContainerView request.</summary>
        public async Task<DatacenterContents> ReadDatacenterAsync(DatacenterInfo dc, CancellationToken ct)
        {
            var compute = new List<ComputeInfo>();
            var hosts = new Dictionary<string, MoRef>(StringComparer.Ordinal);
            var networks = new List<ObjectContent>();
            var switches = new Dictionary<string, string>(StringComparer.Ordinal);
            await collector.RetrieveFromContainerAsync(dc.Ref, new[] { "ComputeResource", "HostSystem", "Network", "DistributedVirtualSwitch" },
                new[]
                {
                    PropertySpec("ComputeResource", new[] { "name", "resourcePool", "host" }),
                    PropertySpec("HostSystem", new[] { "name" }),
                    PropertySpec("Network", new[] { "name" }),
                    PropertySpec("DistributedVirtualPortgroup", new[] { "config.distributedVirtualSwitch" }),
                    PropertySpec("DistributedVirtualSwitch", new[] { "uuid" }),
                },
                o =>
                {
                    switch (o.Obj.Type)
                    {
                        case "HostSystem":
                            if (o.String("name") is string hostName) hosts[hostName] = o.Obj;
                            break;
                        case "Network":
                        case "DistributedVirtualPortgroup":
                        case "OpaqueNetwork":
                            networks.Add(o);
                            break;
                        case "DistributedVirtualSwitch":
                        case "VmwareDistributedVirtualSwitch":
                            if (o.String("uuid") is string uuid) switches[o.Obj.Value] = uuid;
                            break;
                        default:
                            compute.Add(new ComputeInfo(o.String("name") ?? "", o.Obj, o.MoRef("resourcePool"), o.MoRefs("host")));
                            break;
                    }
                },
                ct).ConfigureAwait(false);
            return new DatacenterContents(dc, compute, hosts, ToNetworkTargets(networks, switches));
        }

        /// <summary>All networks of the site by name (the first one wins when two datacenters use a name).</summary>
        public async Task<IReadOnlyDictionary<string, NetworkTarget>> ReadNetworksAsync(CancellationToken ct)
        {
            var networks = new List<ObjectContent>();
            var switches = new Dictionary<string, string>(StringComparer.Ordinal);
            await collector.RetrieveFromContainerAsync(vim.Content.RootFolder, new[] { "Network", "DistributedVirtualSwitch" },
                new[]
                {
                    PropertySpec("Network", new[] { "name" }),
                    PropertySpec("DistributedVirtualPortgroup", new[] { "config.distributedVirtualSwitch" }),
                    PropertySpec("DistributedVirtualSwitch", new[] { "uuid" }),
                },
                o =>
                {
                    if (o.String("uuid") is string uuid) switches[o.Obj.Value] = uuid;
                    else networks.Add(o);
                },
                ct).ConfigureAwait(false);
            return ToNetworkTargets(networks, switches);
        }

        /// <summary>Every datastore of the site with its datacenter, capacity and free space (a datastore shared by two datacenters is listed once).</summary>
        public async Task<IReadOnlyList<DatastoreInfo>> ListDatastoresAsync(CancellationToken ct)
        {
            var datastores = new Dictionary<string, ObjectContent>(StringComparer.Ordinal);
            var datacenters = new List<(string Name, IReadOnlyList<MoRef> Datastores)>();
            await collector.RetrieveFromContainerAsync(vim.Content.RootFolder, new[] { "Datacenter", "Datastore" },
                new[]
                {
                    PropertySpec("Datacenter", new[] { "name", "datastore" }),
                    PropertySpec("Datastore", new[] { "name", "summary.capacity", "summary.freeSpace", "summary.accessible" }),
                },
                o =>
                {
                    if (o.Obj.Type == "Datacenter") datacenters.Add((o.String("name") ?? "", o.MoRefs("datastore")));
                    else datastores[o.Obj.Value] = o;
                },
                ct).ConfigureAwait(false);
            var listed = new HashSet<string>(StringComparer.Ordinal);
            var result = new List<DatastoreInfo>();
            foreach (var (dcName, refs) in datacenters)
            {
                foreach (var ds in refs)
                {
                    if (datastores.TryGetValue(ds.Value, out var o) && listed.Add(ds.Value))
                    {
                        result.Add(new DatastoreInfo(o.String("name") ?? ds.Value, dcName, o.Long("summary.capacity") ?? 0, o.Long("summary.freeSpace") ?? 0,
                            o.Bool("summary.accessible") ?? true));
                    }
                }
            }
            return result;
        }

        /// <summary>The name of the datacenter holding a datastore (the dcPath of datastore file URLs); cached per client.</summary>
        public async Task<string> DatacenterOfDatastoreAsync(string datastore, CancellationToken ct)
        {
            lock (datastoreCacheLock)
            {
                if (datacenterOfDatastore.TryGetValue(datastore, out var cached)) return cached;
            }
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var info in await ListDatastoresAsync(ct).ConfigureAwait(false))
            {
                if (!map.ContainsKey(info.Name)) map[info.Name] = info.Datacenter;
            }
            lock (datastoreCacheLock)
            {
                datacenterOfDatastore = map;
            }
            return map.TryGetValue(datastore, out var found)
                ? found
                : throw new VSphereFaultException("ManagedObjectNotFound", $"Datastore '{datastore}' was not found in any datacenter of site '{siteName}'.", datastore);
        }

        private static IReadOnlyDictionary<string, NetworkTarget> ToNetworkTargets(IEnumerable<ObjectContent> networks, IReadOnlyDictionary<string, string> switchUuids)
        {
            var byName = new Dictionary<string, NetworkTarget>(StringComparer.Ordinal);
            foreach (var n in networks)
            {
                var name = n.String("name");
                if (name is null || byName.ContainsKey(name)) continue;
                var dvs = n.MoRef("config.distributedVirtualSwitch");
                var uuid = dvs is MoRef s && switchUuids.TryGetValue(s.Value, out var u) ? u : null;
                byName[name] = new NetworkTarget(name, n.Obj, uuid);
            }
            return byName;
        }
    }
}
