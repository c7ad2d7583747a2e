using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Core.Replication.Sources
{
    /// <summary>
    /// The VM a replication cycle copies, as the cycle uses it: the protected VM on its vSphere site,
    /// or, once reprotected, the recovered VM on the recovery site (a vSphere VM or an Azure VM).
    /// One implementation per site kind in this folder; <see cref="ReplicationSources"/> picks it.
    /// </summary>
    internal interface IReplicationSource : IDisposable
    {
        /// <summary>The site the VM is on.</summary>
        string SiteName { get; }

        /// <summary>
        /// Before anything is read: the site and VM are the ones protected or recovered (VmIdentityChanged),
        /// and the snapshots a killed cycle left behind are removed.
        /// </summary>
        Task PrepareAsync(CancellationToken cancellationToken);

        /// <summary>The VM's hardware as the site reports it, recorded with the point (a recovered copy's is not the protected VM's: null).</summary>
        Task<DiscoveredVm?> ReadHardwareAsync(CancellationToken cancellationToken);

        /// <summary>Takes the point's snapshot (quiesced when asked and the guest can); the caller always removes it.</summary>
        Task<ISourceSnapshot> TakeSnapshotAsync(string pointId, bool quiesce, CancellationToken cancellationToken);

        /// <summary>
        /// Invoke-Reprotect: makes the recovered VM ready to be copied (CBT on, where the site has it) and returns
        /// its disks as the vault records them from now on. VmGone when the VM is not there.
        /// </summary>
        Task<IReadOnlyList<ProtectedDisk>> StartReprotectAsync(CancellationToken cancellationToken);
    }

    /// <summary>One point's snapshot of the source VM: its disks, what changed, and a reader per disk.</summary>
    internal interface ISourceSnapshot
    {
        PointConsistency Consistency { get; }

        /// <summary>The disks as of the snapshot; their keys name them in the point's manifest.</summary>
        IReadOnlyList<VmDisk> Disks { get; }

        /// <summary>What to read of a disk: the changed areas since the last point (with the baseline they apply to), or everything (Full/Digest).</summary>
        Task<ChangedAreas> ChangedAreasAsync(VmDisk disk, DiskManifest? previousDisk, string? previousChangeId, CancellationToken cancellationToken);

        /// <summary>Reads the snapshot's bytes of <paramref name="disk"/>.</summary>
        DiskReader ReaderOf(VmDisk disk);

        /// <summary>Removes the snapshot (and anything that came with it); called always, also after a failure.</summary>
        Task RemoveAsync(CancellationToken cancellationToken);
    }

    /// <summary>What a cycle copies of one disk: with a baseline and changed extents only those; without, every chunk (compared with the store).</summary>
    internal sealed record ChangedAreas(DiskManifest? Baseline, IReadOnlyList<DiskExtent>? Changed, string Mode)
    {
        /// <summary>Read the whole disk: Full for the first copy, Digest when there is a point to compare with.</summary>
        public static ChangedAreas Everything(DiskManifest? previousDisk) => new ChangedAreas(null, null, previousDisk is null ? "Full" : "Digest");
    }
}
