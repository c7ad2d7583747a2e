using System;
using System.Collections.Generic;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Sites.VSphere
{
    /// <summary>Where and how to reach a vCenter or ESXi host.</summary>
    /// <param name="Server">The SDK URL, e.g. https://vcenter.example.com/sdk (a URL without a path gets /sdk).</param>
    /// <param name="UserName">The vCenter user, e.g. administrator@vsphere.local.</param>
    /// <param name="Password">The user's password; never shown by ToString.</param>
    /// <param name="Thumbprint">SHA-256 of the server certificate (upper-case hex, no separators) to accept when the system does not trust it.</param>
    /// <param name="SkipCertificateCheck">Accept any certificate (labs only).</param>
    /// <param name="BandwidthLimit">The site's cap on every transfer to and from the server (shared by the process); null: none.</param>
    public sealed record VSphereEndpoint(Uri Server, string UserName, string Password, string? Thumbprint = null, bool SkipCertificateCheck = false,
        BandwidthLimit? BandwidthLimit = null)
    {
        // The password never shows up in logs or error records.
        public override string ToString() => $"{UserName}@{Server}";
    }

    /// <summary>What the server says it is (ServiceContent.about).</summary>
    public sealed record VSphereAbout(string Name, string FullName, string Version, string Build, string ApiVersion, string ApiType, string? InstanceUuid);

    /// <summary>One snapshot of a VM, from the flattened snapshot tree (parents before children).</summary>
    public sealed record VmSnapshotInfo(string MoRef, string Name, string? Description, DateTimeOffset Created, bool Quiesced, string? ParentMoRef);

    /// <summary>What the guest reports: heartbeat (green, yellow, red, gray) and primary IP address.</summary>
    /// <summary>A datastore of a site: where recovered VMs' files can go.</summary>
    public sealed record DatastoreInfo(string Name, string Datacenter, long CapacityBytes, long FreeBytes, bool Accessible);

    public sealed record GuestState(string? HeartbeatStatus, string? IpAddress, string? HostName);

    /// <summary>The virtual NIC models CreateVmAsync and ReconfigureNicsAsync add.</summary>
    public enum VmNicAdapter
    {
        Vmxnet3,
        E1000,
    }

    /// <summary>A disk of a VM to create: an existing VMDK to attach, or a new empty disk of a size.</summary>
    public sealed record VmDiskSpec
    {
        /// <summary>"[datastore] folder/disk.vmdk" of an existing descriptor; null creates a new disk in the VM's folder.</summary>
        public string? ExistingFileName { get; init; }
        public long CapacityBytes { get; init; }
        public bool ThinProvisioned { get; init; } = true;

        public static VmDiskSpec Existing(string fileName, long capacityBytes) => new VmDiskSpec { ExistingFileName = fileName, CapacityBytes = capacityBytes };
        public static VmDiskSpec New(long capacityBytes, bool thin = true) => new VmDiskSpec { CapacityBytes = capacityBytes, ThinProvisioned = thin };
    }

    /// <summary>A NIC of a VM to create: the network (standard port group or distributed port group) by name.</summary>
    public sealed record VmNicSpec(string NetworkName, VmNicAdapter Adapter = VmNicAdapter.Vmxnet3);

    /// <summary>A VM to create. Null placement settings take the datacenter's first ones.</summary>
    public sealed record VmCreateSpec
    {
        public string Name { get; init; } = "";
        /// <summary>Datacenter name; null: the first datacenter.</summary>
        public string? Datacenter { get; init; }
        /// <summary>VM folder moref (e.g. group-v3); null: the datacenter's vmFolder.</summary>
        public string? FolderMoRef { get; init; }
        /// <summary>Resource pool moref; null: the root pool of the host's compute resource (or of the first compute resource).</summary>
        public string? ResourcePoolMoRef { get; init; }
        /// <summary>Host name; null: vCenter picks (DRS) within the pool.</summary>
        public string? Host { get; init; }
        /// <summary>Datastore name for the VM's files; required.</summary>
        public string Datastore { get; init; } = "";
        public string GuestId { get; init; } = "otherGuest64";
        public int NumCpu { get; init; } = 1;
        public int MemoryMB { get; init; } = 512;
        public IReadOnlyList<VmDiskSpec> Disks { get; init; } = Array.Empty<VmDiskSpec>();
        public IReadOnlyList<VmNicSpec> Nics { get; init; } = Array.Empty<VmNicSpec>();
        /// <summary>extraConfig entries; tag what we create (e.g. "azsr-dr.job") so that it can be found again.</summary>
        public IReadOnlyDictionary<string, string> ExtraConfig { get; init; } = new Dictionary<string, string>();
        public string? Annotation { get; init; }
    }
}
