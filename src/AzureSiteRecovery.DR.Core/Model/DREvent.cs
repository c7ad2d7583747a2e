using System;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>What happened, for a runbook or an admin polling the vault's events (Get-DREvent -Kind).</summary>
    public enum DREventKind
    {
        /// <summary>A protected VM's newest recovery point grew older than its policy's RPO threshold.</summary>
        RpoBreached,
    }

    /// <summary>Something a replication worker saw that an admin must know, recorded once in the vault (Get-DREvent).</summary>
    public sealed record DREvent
    {
        /// <summary>Names the occurrence, so that several workers seeing it record it once: "RpoBreached:&lt;vm id&gt;:&lt;newest point id&gt;".</summary>
        public string EventId { get; init; } = "";
        public DREventKind Kind { get; init; }
        /// <summary>When it was seen.</summary>
        public DateTimeOffset Time { get; init; }
        public string VmId { get; init; } = "";
        public string VmName { get; init; } = "";
        public string ProtectionGroup { get; init; } = "";
        /// <summary>The VM's newest recovery point when the event was seen (for RpoBreached: the point that grew too old).</summary>
        public string? RecoveryPointId { get; init; }
        public DateTimeOffset? RecoveryPointTime { get; init; }
        /// <summary>The policy's RPO threshold the VM went over.</summary>
        public TimeSpan RpoThreshold { get; init; }
        public string Message { get; init; } = "";

        /// <summary>For RpoBreached: how old the newest point was when the breach was seen.</summary>
        public TimeSpan? Rpo => RecoveryPointTime is DateTimeOffset point ? Time - point : (TimeSpan?)null;

        public override string ToString() => Message;
    }
}
