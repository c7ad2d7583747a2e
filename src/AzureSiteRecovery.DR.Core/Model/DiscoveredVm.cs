using System;
using System.Collections.Generic;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>A VM's power state as vSphere reports it.</summary>
    public enum VmPowerState
    {
        PoweredOff,
        PoweredOn,
        Suspended,
    }

    /// <summary>One virtual disk of a discovered VM.</summary>
    public sealed record VmDisk
    {
        /// <summary>The device key, which QueryChangedDiskAreas and reconfigurations name the disk by.</summary>
        public int Key { get; init; }
        public string Label { get; init; } = "";
        public long CapacityBytes { get; init; }
        /// <summary>The descriptor path as vSphere writes it: "[datastore] folder/disk.vmdk".</summary>
        public string FileName { get; init; } = "";
        public string Datastore { get; init; } = "";
        /// <summary>The CBT change id of the disk's current backing; null when tracking is off.</summary>
        public string? ChangeId { get; init; }
        public bool ThinProvisioned { get; init; }

        public override string ToString() => $"{Label} {CapacityBytes / (1024 * 1024)} MiB {FileName}";
    }

    /// <summary>A VM as found on a vSphere site: what Get-DRVm shows and Enable-VmProtection takes.</summary>
    public sealed record DiscoveredVm
    {
        /// <summary>The site the VM was discovered on.</summary>
        public string Site { get; init; } = "";
        public string Name { get; init; } = "";
        /// <summary>The managed object reference value, such as vm-42.</summary>
        public string MoRef { get; init; } = "";
        public string? InstanceUuid { get; init; }
        public string? BiosUuid { get; init; }
        public VmPowerState PowerState { get; init; }
        public string? GuestOS { get; init; }
        /// <summary>vSphere's guest OS identifier (config.guestId), what a recovered copy is created with.</summary>
        public string? GuestId { get; init; }
        public int NumCpu { get; init; }
        public int MemoryMB { get; init; }
        /// <summary>The VM's firmware (config.firmware): "bios" or "efi"; null when vSphere does not say.</summary>
        public string? Firmware { get; init; }
        public IReadOnlyList<VmDisk> Disks { get; init; } = Array.Empty<VmDisk>();
        /// <summary>Names of the networks (port groups) the VM's NICs connect to.</summary>
        public IReadOnlyList<string> Networks { get; init; } = Array.Empty<string>();
        /// <summary>The name of the host the VM runs on.</summary>
        public string? Host { get; init; }
        public bool ChangeTrackingEnabled { get; init; }
        /// <summary>The guest heartbeat status (green, yellow, red, gray); null when unknown.</summary>
        public string? GuestHeartbeat { get; init; }
        public string? IpAddress { get; init; }
        public bool IsTemplate { get; init; }

        public override string ToString() => Name;
    }
}
