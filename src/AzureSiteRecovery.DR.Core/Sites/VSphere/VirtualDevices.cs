using System;
using System.Collections.Generic;
using System.Linq;
using System.Xml.Linq;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Sites.VSphere
{
    /// <summary>Reading config.hardware.device (ArrayOfVirtualDevice): disks and NICs.</summary>
    internal static class VirtualDevices
    {
        public static IEnumerable<XElement> All(XElement? arrayOfVirtualDevice) =>
            arrayOfVirtualDevice?.Children("VirtualDevice") ?? Enumerable.Empty<XElement>();

        public static IEnumerable<VmDisk> Disks(XElement? arrayOfVirtualDevice) =>
            All(arrayOfVirtualDevice).Where(d => VimXml.TypeOf(d) == "VirtualDisk").Select(ToDisk);

        /// <summary>Ethernet cards are the devices whose backing is one of the VirtualEthernetCard*BackingInfo types.</summary>
        public static IEnumerable<XElement> Nics(XElement? arrayOfVirtualDevice) =>
            All(arrayOfVirtualDevice).Where(d => d.Child("backing") is XElement b && (VimXml.TypeOf(b) ?? "").StartsWith("VirtualEthernetCard", StringComparison.Ordinal));

        public static VmDisk ToDisk(XElement disk)
        {
            var backing = disk.Child("backing");
            var fileName = backing?.ChildValue("fileName") ?? "";
            var capacity = disk.ChildLong("capacityInBytes") ?? (disk.ChildLong("capacityInKB") ?? 0) * 1024;
            return new VmDisk
            {
                Key = disk.ChildInt("key") ?? 0,
                Label = disk.Child("deviceInfo")?.ChildValue("label") ?? "",
                CapacityBytes = capacity,
                FileName = fileName,
                Datastore = DatastorePath.TryParse(fileName, out var path) ? path.Datastore : "",
                ChangeId = NullIfEmpty(backing?.ChildValue("changeId")),
                ThinProvisioned = backing?.ChildBool("thinProvisioned") ?? false,
            };
        }

        /// <summary>What a NIC connects to: the standard port group name, or "dvpg:&lt;portgroupKey&gt;" to resolve through the network names.</summary>
        public static string? NetworkOf(XElement nic, IReadOnlyDictionary<string, string> networkNames)
        {
            var backing = nic.Child("backing");
            if (backing is null) return null;
            switch (VimXml.TypeOf(backing))
            {
                case "VirtualEthernetCardNetworkBackingInfo":
                    return NullIfEmpty(backing.ChildValue("deviceName"))
                        ?? (backing.ChildValue("network") is string net && networkNames.TryGetValue(net, out var byRef) ? byRef : null);
                case "VirtualEthernetCardDistributedVirtualPortBackingInfo":
                    var key = backing.Child("port")?.ChildValue("portgroupKey");
                    // A distributed port group's key is its moref value.
                    return key is null ? null : networkNames.TryGetValue(key, out var name) ? name : key;
                case "VirtualEthernetCardOpaqueNetworkBackingInfo":
                    return backing.ChildValue("opaqueNetworkId");
                default:
                    return NullIfEmpty(backing.ChildValue("deviceName"));
            }
        }

        private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
    }

    /// <summary>A datastore path "[datastore] folder/file.vmdk".</summary>
    internal readonly record struct DatastorePath(string Datastore, string Path)
    {
        public static bool TryParse(string? text, out DatastorePath path)
        {
            path = default;
            if (text is null || text.Length < 2 || text[0] != '[') return false;
            var close = text.IndexOf(']');
            if (close < 1) return false;
            path = new DatastorePath(text.Substring(1, close - 1), text.Substring(close + 1).TrimStart());
            return true;
        }

        public static DatastorePath Parse(string text) =>
            TryParse(text, out var path) && path.Datastore.Length > 0
                ? path
                : throw new ArgumentException($"'{text}' is not a datastore path like \"[datastore] folder/file.vmdk\".", nameof(text));

        public override string ToString() => $"[{Datastore}] {Path}";
    }
}
