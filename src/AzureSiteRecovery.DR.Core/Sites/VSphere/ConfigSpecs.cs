using System;
using System.Collections.Generic;
using System.Linq;
using System.Xml.Linq;
using static AzureSiteRecovery.DR.Core.Sites.VSphere.VimXml;

namespace AzureSiteRecovery.DR.Core.Sites.VSphere
{
    /// <summary>A network to connect a NIC to: a standard port group, or a distributed port group of a switch.</summary>
    internal sealed record NetworkTarget(string Name, MoRef Ref, string? SwitchUuid)
    {
        public bool IsDistributed => Ref.Type == "DistributedVirtualPortgroup";
    }

    /// <summary>
    /// VirtualMachineConfigSpec and its device changes as vim25 XML. Elements follow the order of
    /// the vim25 schema's sequences, which vSphere's parser expects.
    /// </summary>
    internal static class ConfigSpecs
    {
        private const int ScsiControllerKey = -100;

        public static XElement ChangeTracking(bool enabled) =>
            Typed("spec", "VirtualMachineConfigSpec", El("changeTrackingEnabled", enabled));

        public static XElement ExtraConfigOnly(IEnumerable<KeyValuePair<string, string>> extraConfig) =>
            Typed("spec", "VirtualMachineConfigSpec", ExtraConfig(extraConfig));

        public static XElement DeviceChanges(IEnumerable<XElement> deviceChanges) =>
            Typed("spec", "VirtualMachineConfigSpec", deviceChanges);

        /// <summary>The config of CreateVM_Task: a paravirtual SCSI controller for the disks, the disks, the NICs, extraConfig.</summary>
        public static XElement Create(VmCreateSpec spec, IReadOnlyList<NetworkTarget> nics)
        {
            var changes = new List<XElement>();
            if (spec.Disks.Count > 0)
            {
                changes.Add(DeviceChange("add", null, Typed("device", "ParaVirtualSCSIController",
                    El("key", ScsiControllerKey),
                    Typed("deviceInfo", "Description", El("label", "SCSI controller 0"), El("summary", "VMware paravirtual SCSI")),
                    El("busNumber", 0),
                    El("sharedBus", "noSharing"))));
            }
            var unit = 0;
            for (var i = 0; i < spec.Disks.Count; i++)
            {
                if (unit == 7) unit++; // the controller's own unit
                changes.Add(AddDisk(spec.Disks[i], spec.Datastore, -101 - i, unit++, i));
            }
            for (var i = 0; i < nics.Count; i++)
            {
                changes.Add(AddNic(nics[i], spec.Nics[i].Adapter, -201 - i, i));
            }
            return Typed("config", "VirtualMachineConfigSpec",
                El("name", spec.Name),
                El("guestId", spec.GuestId),
                El("annotation", spec.Annotation),
                Typed("files", "VirtualMachineFileInfo", El("vmPathName", $"[{spec.Datastore}]")),
                El("numCPUs", spec.NumCpu),
                El("memoryMB", (long)spec.MemoryMB),
                changes,
                ExtraConfig(spec.ExtraConfig));
        }

        public static XElement AddNic(NetworkTarget network, VmNicAdapter adapter, int key, int index) =>
            DeviceChange("add", null, Typed("device", adapter == VmNicAdapter.E1000 ? "VirtualE1000" : "VirtualVmxnet3",
                El("key", key),
                Typed("deviceInfo", "Description", El("label", $"Network adapter {index + 1}"), El("summary", network.Name)),
                Backing(network),
                Typed("connectable", "VirtualDeviceConnectInfo", El("startConnected", true), El("allowGuestControl", true), El("connected", false)),
                El("addressType", "generated")));

        /// <summary>
        /// An edit of an existing NIC: the full device as read (key, deviceInfo, MAC, slot ...) with a
        /// new backing. vSphere replaces the device with what is sent, and vcsim crashes without deviceInfo.
        /// </summary>
        public static XElement EditNic(XElement currentDevice, NetworkTarget network)
        {
            var device = new XElement(Vim + "device", currentDevice.Attributes().Where(a => !a.IsNamespaceDeclaration),
                currentDevice.Elements().Select(e => e.Name == Vim + "backing" ? Backing(network) : new XElement(e)));
            return DeviceChange("edit", null, device);
        }

        public static XElement RemoveDevice(XElement currentDevice) =>
            DeviceChange("remove", null, new XElement(Vim + "device", currentDevice.Attributes().Where(a => !a.IsNamespaceDeclaration), currentDevice.Elements()));

        private static XElement AddDisk(VmDiskSpec disk, string datastore, int key, int unit, int index)
        {
            var existing = disk.ExistingFileName;
            return DeviceChange("add", existing is null ? "create" : null, Typed("device", "VirtualDisk",
                El("key", key),
                Typed("deviceInfo", "Description", El("label", $"Hard disk {index + 1}"), El("summary", $"{disk.CapacityBytes / 1024} KB")),
                Typed("backing", "VirtualDiskFlatVer2BackingInfo",
                    // "[ds]" alone lets vSphere name the new disk after the VM, in the VM's folder.
                    El("fileName", existing ?? $"[{datastore}]"),
                    El("diskMode", "persistent"),
                    El("thinProvisioned", disk.ThinProvisioned)),
                El("controllerKey", ScsiControllerKey),
                El("unitNumber", unit),
                El("capacityInKB", disk.CapacityBytes / 1024),
                El("capacityInBytes", disk.CapacityBytes)));
        }

        private static XElement Backing(NetworkTarget network) => network.IsDistributed
            ? Typed("backing", "VirtualEthernetCardDistributedVirtualPortBackingInfo",
                Typed("port", "DistributedVirtualSwitchPortConnection", El("switchUuid", network.SwitchUuid), El("portgroupKey", network.Ref.Value)))
            : Typed("backing", "VirtualEthernetCardNetworkBackingInfo",
                El("deviceName", network.Name),
                network.Ref.ToElement("network"));

        private static XElement DeviceChange(string operation, string? fileOperation, XElement device) =>
            Typed("deviceChange", "VirtualDeviceConfigSpec", El("operation", operation), El("fileOperation", fileOperation), device);

        private static IEnumerable<XElement> ExtraConfig(IEnumerable<KeyValuePair<string, string>> options) =>
            options.Select(o => Typed("extraConfig", "OptionValue",
                El("key", o.Key),
                new XElement(Vim + "value", new XAttribute(Xsi + "type", "xsd:string"), o.Value ?? "")));
    }
}
