using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using System.Xml.Linq;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using static AzureSiteRecovery.DR.Core.Sites.VSphere.PropertyCollector;

namespace AzureSiteRecovery.DR.Core.Sites.VSphere
{
    /// <summary>
    /// The inventory layer: VMs as <see cref="DiscoveredVm"/>, read in bulk through one ContainerView
    /// over the root folder whose types include HostSystem and Network, so host and network names
    /// come back in the same paged RetrievePropertiesEx as the VMs (never one call per VM).
    /// </summary>
    internal sealed class VmInventory
    {
        private static readonly string[] VmPaths =
        {
            "name", "config.instanceUuid", "config.uuid", "runtime.powerState", "config.guestFullName", "config.guestId",
            "config.hardware.numCPU", "config.hardware.memoryMB", "config.hardware.device", "network", "runtime.host",
            "config.changeTrackingEnabled", "guestHeartbeatStatus", "guest.ipAddress", "config.template", "config.firmware",
        };

        private static readonly IReadOnlyDictionary<string, string> NoNames = new Dictionary<string, string>();

        private static readonly string[] ViewTypes = { "VirtualMachine", "HostSystem", "Network" };

        private readonly VimClient vim;
        private readonly PropertyCollector collector;
        private readonly string siteName;

        public VmInventory(VimClient vim, PropertyCollector collector, string siteName)
        {
            this.vim = vim;
            this.collector = collector;
            this.siteName = siteName;
        }

        public Task<IReadOnlyList<DiscoveredVm>> ListAsync(CancellationToken ct) => ListAsync(extraConfigFilter: null, ct);

        /// <summary>Every VM, or those whose config.extraConfig passes <paramref name="extraConfigFilter"/>.</summary>
        public async Task<IReadOnlyList<DiscoveredVm>> ListAsync(Func<IReadOnlyDictionary<string, string>, bool>? extraConfigFilter, CancellationToken ct)
        {
            var vmPaths = extraConfigFilter is null ? VmPaths : VmPaths.Concat(new[] { "config.extraConfig" }).ToArray();
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            // Mapped as each page arrives (so no page's XML outlives it); names of hosts and networks
            // may come on a later page and are filled in at the end.
            var vms = new List<DiscoveredVm>();
            await collector.RetrieveFromContainerAsync(vim.Content.RootFolder, ViewTypes,
                new[] { PropertySpec("VirtualMachine", vmPaths), PropertySpec("HostSystem", new[] { "name" }), PropertySpec("Network", new[] { "name" }) },
                o =>
                {
                    if (o.Obj.Type == "VirtualMachine")
                    {
                        if (extraConfigFilter is null || extraConfigFilter(ExtraConfig(o)))
                        {
                            vms.Add(ToDiscoveredVm(o, NoNames));
                        }
                    }
                    else if (o.String("name") is string name)
                    {
                        names[o.Obj.Value] = name;
                    }
                },
                ct).ConfigureAwait(false);
            return vms.Select(vm => vm with
            {
                Host = vm.Host is string h && names.TryGetValue(h, out var host) ? host : vm.Host,
                Networks = vm.Networks.Select(n => names.TryGetValue(n, out var network) ? network : n).Distinct(StringComparer.Ordinal).ToList(),
            }).ToList();
        }

        /// <summary>The morefs of all VMs: one ContainerView, name-less property specs, paged.</summary>
        public async Task<IReadOnlyList<string>> ListMoRefsAsync(CancellationToken ct)
        {
            var refs = new List<string>();
            await collector.RetrieveFromContainerAsync(vim.Content.RootFolder, new[] { "VirtualMachine" },
                new[] { PropertySpec("VirtualMachine", Array.Empty<string>()) }, o => refs.Add(o.Obj.Value), ct).ConfigureAwait(false);
            return refs;
        }

        /// <summary>One VM with its network names (a TraversalSpec over its network property), then its host's name.</summary>
        public async Task<DiscoveredVm?> GetAsync(string moRef, CancellationToken ct)
        {
            var vm = MoRef.VirtualMachine(moRef);
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            ObjectContent? found = null;
            try
            {
                var spec = FilterSpec(
                    new[] { PropertySpec("VirtualMachine", VmPaths), PropertySpec("Network", new[] { "name" }) },
                    ObjectSpec(vm, skip: false, TraversalSpec("VirtualMachine", "network")));
                await collector.RetrieveAsync(new[] { spec }, o =>
                {
                    if (o.Obj.Type == "VirtualMachine") found = o;
                    else if (o.String("name") is string name) names[o.Obj.Value] = name;
                }, ct).ConfigureAwait(false);
            }
            catch (VSphereFaultException e) when (e.FaultName == "ManagedObjectNotFound")
            {
                return null;
            }
            if (found is null) return null;
            if (found.MoRef("runtime.host") is MoRef host)
            {
                try
                {
                    var h = await collector.RetrieveOneAsync(host, new[] { "name" }, ct).ConfigureAwait(false);
                    if (h.String("name") is string hostName) names[host.Value] = hostName;
                }
                catch (VSphereFaultException e) when (e.FaultName == "ManagedObjectNotFound")
                {
                    // The VM moved or the host went away in between: leave the host unnamed.
                }
            }
            return ToDiscoveredVm(found, names);
        }

        public static IReadOnlyDictionary<string, string> ExtraConfig(ObjectContent o)
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var option in o.Value("config.extraConfig")?.Children("OptionValue") ?? Enumerable.Empty<XElement>())
            {
                if (option.ChildValue("key") is string key) map[key] = option.ChildValue("value") ?? "";
            }
            return map;
        }

        private DiscoveredVm ToDiscoveredVm(ObjectContent o, IReadOnlyDictionary<string, string> names)
        {
            var devices = o.Value("config.hardware.device");
            var networks = VirtualDevices.Nics(devices).Select(n => VirtualDevices.NetworkOf(n, names)).OfType<string>().ToList();
            if (networks.Count == 0)
            {
                // No NIC backings to go by (e.g. no config read permission): the VM's network property still names them.
                networks = o.MoRefs("network").Select(n => names.TryGetValue(n.Value, out var name) ? name : n.Value).ToList();
            }
            var host = o.MoRef("runtime.host");
            return new DiscoveredVm
            {
                Site = siteName,
                Name = o.String("name") ?? "",
                MoRef = o.Obj.Value,
                InstanceUuid = o.String("config.instanceUuid"),
                BiosUuid = o.String("config.uuid"),
                PowerState = o.String("runtime.powerState") switch
                {
                    "poweredOn" => VmPowerState.PoweredOn,
                    "suspended" => VmPowerState.Suspended,
                    _ => VmPowerState.PoweredOff,
                },
                GuestOS = o.String("config.guestFullName") is string full && full.Length > 0 ? full : o.String("config.guestId"),
                GuestId = o.String("config.guestId"),
                NumCpu = o.Int("config.hardware.numCPU") ?? 0,
                MemoryMB = o.Int("config.hardware.memoryMB") ?? 0,
                Firmware = o.String("config.firmware") is string firmware && firmware.Length > 0 ? firmware : null,
                Disks = VirtualDevices.Disks(devices).ToList(),
                Networks = networks.Distinct(StringComparer.Ordinal).ToList(),
                Host = host is MoRef h ? (names.TryGetValue(h.Value, out var hostName) ? hostName : h.Value) : null,
                ChangeTrackingEnabled = o.Bool("config.changeTrackingEnabled") ?? false,
                GuestHeartbeat = o.String("guestHeartbeatStatus") is string heartbeat && heartbeat.Length > 0 ? heartbeat : null,
                IpAddress = o.String("guest.ipAddress") is string ip && ip.Length > 0 ? ip : null,
                IsTemplate = o.Bool("config.template") ?? false,
            };
        }
    }
}
