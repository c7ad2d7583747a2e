using System;
using System.Collections.Generic;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>Where a protected VM is in its life: first full copy, replicating, or failing.</summary>
    public enum ProtectionState
    {
        /// <summary>Registered; the first full replication has not finished yet.</summary>
        InitialSync,
        /// <summary>Replicating; the newest recovery point is usable.</summary>
        Protected,
        /// <summary>The last replication cycle failed; LastError says why.</summary>
        Error,
        /// <summary>Failed over: the VM runs on the recovery site from a recovery point; replication of the source is paused. Complete-Failover commits, Undo-Failover goes back.</summary>
        FailedOver,
        /// <summary>The failover is committed: the recovered VM is the VM now. Invoke-Reprotect replicates it back.</summary>
        FailoverCommitted,
        /// <summary>Reprotected: the recovered VM on the recovery site is replicated back into the chunk store; Invoke-Failback brings it home.</summary>
        Reprotected,
    }

    /// <summary>How the VM's current RPO compares with its policy's RPO threshold.</summary>
    public enum ReplicationHealth
    {
        /// <summary>The newest point is younger than the threshold.</summary>
        Healthy,
        /// <summary>No recovery point yet (initial sync running).</summary>
        Pending,
        /// <summary>The newest point is older than the threshold.</summary>
        Critical,
        /// <summary>The newest point is younger than the threshold, but the last cycle failed (LastError says why; the next one retries and resumes).</summary>
        Warning,
    }

    /// <summary>A disk of a protected VM and where change tracking left off.</summary>
    public sealed record ProtectedDisk
    {
        public int Key { get; init; }
        public string Label { get; init; } = "";
        /// <summary>The descriptor path as vSphere writes it: "[datastore] folder/disk.vmdk".</summary>
        public string FileName { get; init; } = "";
        public long CapacityBytes { get; init; }
        /// <summary>The CBT change id of the newest recovery point's snapshot; null until the first point, or when CBT is not used.</summary>
        public string? ChangeId { get; init; }

        /// <summary>"label size file", such as "Hard disk 1 16 GiB [ds1] vm/vm.vmdk": what Format-List shows.</summary>
        public override string ToString() => $"{Label} {SizeText(CapacityBytes)} {FileName}";

        private static string SizeText(long bytes) =>
            bytes >= 1L << 30 && bytes % (1L << 30) == 0 ? $"{bytes >> 30} GiB"
            : bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.0} GiB"
            : $"{bytes / (double)(1L << 20):0.#} MiB";
    }

    /// <summary>A VM under protection: what Get-ProtectedVm shows.</summary>
    public sealed record ProtectedVm
    {
        public string VmId { get; init; } = "";
        public string Name { get; init; } = "";
        public string ProtectionGroup { get; init; } = "";
        /// <summary>The protected site the VM runs on.</summary>
        public string Site { get; init; } = "";
        public string MoRef { get; init; } = "";
        public string? InstanceUuid { get; init; }
        public ProtectionState State { get; init; }
        public IReadOnlyList<ProtectedDisk> Disks { get; init; } = Array.Empty<ProtectedDisk>();
        /// <summary>The VM's hardware as last read from the protected site: what a recovered copy is created with (the source may be gone by then).</summary>
        public string? GuestId { get; init; }
        public int NumCpu { get; init; }
        public int MemoryMB { get; init; }
        /// <summary>The VM's firmware as vSphere reports it (config.firmware): "bios" or "efi"; null when not read yet. Azure recovers bios as a generation 1 VM, efi as generation 2.</summary>
        public string? Firmware { get; init; }
        /// <summary>The networks of the VM's NICs on the protected site; a recovery plan's network mappings translate them.</summary>
        public IReadOnlyList<string> Networks { get; init; } = Array.Empty<string>();
        /// <summary>While failed over or reprotected: the recovered VM's site and moref.</summary>
        public string? RecoveredSite { get; init; }
        public string? RecoveredMoRef { get; init; }
        public string? LastRecoveryPointId { get; init; }
        /// <summary>From failover to the end of failback: the last point taken before the failover, the only copy of the original disks' old state (retention keeps it).</summary>
        public string? PreFailoverPointId { get; init; }
        public DateTimeOffset? LastRecoveryPointTime { get; init; }
        public DateTimeOffset? LastAppConsistentPointTime { get; init; }
        public DateTimeOffset? LastCycleTime { get; init; }
        /// <summary>Bytes sent to the chunk store over the VM's life (after dedup and compression).</summary>
        public long BytesSent { get; init; }
        /// <summary>The rate the last committed cycle read the source at (MiB/s: bytes read / copy time); null before one read anything.</summary>
        public double? LastTransferMiBps { get; init; }
        public string? LastError { get; init; }
        /// <summary>The RPO threshold of the group's policy, read with the VM.</summary>
        public TimeSpan RpoThreshold { get; init; }
        /// <summary>How often its RPO went over the threshold in the last <see cref="RpoBreachWindow"/> (RpoBreached events); filled in by Get-ProtectedVm, not stored with the VM.</summary>
        [System.Text.Json.Serialization.JsonIgnore]
        public int RpoBreaches { get; init; }

        /// <summary>The window <see cref="RpoBreaches"/> counts over: a day, as ASR's replication health reports.</summary>
        public static readonly TimeSpan RpoBreachWindow = TimeSpan.FromHours(24);
        public DateTimeOffset Created { get; init; }
        public DateTimeOffset Modified { get; init; }

        /// <summary>False while failed over (until Invoke-Reprotect): there is nothing to replicate then.</summary>
        public bool IsReplicating => State != ProtectionState.FailedOver && State != ProtectionState.FailoverCommitted;

        /// <summary>The VM replication copies: the recovered VM on the recovery site once reprotected, else the VM on the protected site.</summary>
        public (string Site, string MoRef) ReplicationSource => State == ProtectionState.Reprotected && RecoveredSite != null && RecoveredMoRef != null
            ? (RecoveredSite, RecoveredMoRef)
            : (Site, MoRef);

        /// <summary>How old the newest recovery point is now; null before the first.</summary>
        public TimeSpan? CurrentRpo => LastRecoveryPointTime is DateTimeOffset last ? DateTimeOffset.UtcNow - last : (TimeSpan?)null;

        public ReplicationHealth Health => CurrentRpo is TimeSpan rpo
            ? (rpo > RpoThreshold ? ReplicationHealth.Critical : LastError is null ? ReplicationHealth.Healthy : ReplicationHealth.Warning)
            : ReplicationHealth.Pending;

        public override string ToString() => Name;
    }

    /// <summary>Whether a point was taken with the guest quiesced (the byte values are stored in manifests).</summary>
    public enum PointConsistency : byte
    {
        CrashConsistent = 0,
        AppConsistent = 1,
    }

    /// <summary>A recovery point: the VM's disks as they were at one snapshot, recoverable byte for byte.</summary>
    public sealed record RecoveryPoint
    {
        public string RecoveryPointId { get; init; } = "";
        public string VmId { get; init; } = "";
        public string VmName { get; init; } = "";
        /// <summary>When the snapshot was taken.</summary>
        public DateTimeOffset Time { get; init; }
        public PointConsistency Consistency { get; init; }
        /// <summary>The disks' total capacity.</summary>
        public long SizeBytes { get; init; }
        /// <summary>Bytes read from the source for this point (changed areas, or whole disks).</summary>
        public long ChangedBytes { get; init; }
        /// <summary>Bytes this point added to the chunk store (new chunks, compressed and encrypted).</summary>
        public long StoredBytes { get; init; }
        public int ChunkCount { get; init; }
        /// <summary>Where the point's manifest is in the chunk store.</summary>
        public string ManifestKey { get; init; } = "";
        /// <summary>For a group recovered to Azure: per disk, the snapshot of its replica page blob that holds this point; empty otherwise.</summary>
        public IReadOnlyList<ReplicaSnapshot> ReplicaSnapshots { get; init; } = Array.Empty<ReplicaSnapshot>();

        public override string ToString() => $"{VmName} {Time:u} {Consistency}";
    }
}

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>What Test-RecoveryPoint found when it re-read every chunk of a point.</summary>
    public sealed record RecoveryPointCheck
    {
        public string RecoveryPointId { get; init; } = "";
        public string VmName { get; init; } = "";
        public DateTimeOffset Time { get; init; }
        /// <summary>True when every chunk was there, authentic and hashed to its name (and, for a point with a replica in Azure, the replica matched).</summary>
        public bool Intact { get; init; }
        public int ChunksChecked { get; init; }
        public long BytesChecked { get; init; }
        /// <summary>True when the point's Azure replica snapshots were read and compared too (each chunk and the VHD footer).</summary>
        public bool ReplicaChecked { get; init; }
        /// <summary>One line per bad chunk (of the chunk store, then of the replica): disk, chunk index, offset and what is wrong.</summary>
        public IReadOnlyList<string> Problems { get; init; } = Array.Empty<string>();
    }
}
