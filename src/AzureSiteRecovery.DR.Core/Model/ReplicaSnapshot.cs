using System;
using System.Collections.Generic;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>
    /// One disk of a recovery point in the Azure replica: a snapshot of the disk's page blob (a
    /// fixed VHD) in the recovery site's storage account, container <c>azsr-dr-replica</c>.
    /// </summary>
    public sealed record ReplicaSnapshot
    {
        /// <summary>The disk of the point's manifest (the vSphere device key).</summary>
        public string DiskKey { get; init; } = "";
        /// <summary>The page blob, <c>&lt;vmId&gt;/&lt;diskKey&gt;.vhd</c>.</summary>
        public string BlobName { get; init; } = "";
        /// <summary>The blob snapshot's timestamp (the <c>snapshot=</c> query value).</summary>
        public string Snapshot { get; init; } = "";

        public override string ToString() => $"{BlobName}?snapshot={Snapshot}";
    }

    /// <summary>
    /// What a VM's replica blobs may hold: <see cref="Container"/> names the storage account and
    /// container they are in; each chunk of each blob holds that chunk of one of the points in
    /// <see cref="PointIds"/> (the first is the last committed point written there; the others are
    /// points a killed cycle began to write, whose manifests may still be in the chunk store).
    /// </summary>
    public sealed record ReplicaState
    {
        public string VmId { get; init; } = "";
        /// <summary>"account/container" of the blobs.</summary>
        public string Container { get; init; } = "";
        public IReadOnlyList<string> PointIds { get; init; } = Array.Empty<string>();
    }
}
