using System;
using System.Collections.Generic;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>Whether a replication worker still reports: Running, Stopped (it ended itself) or Lost (not seen for several lease durations).</summary>
    public enum WorkerStatus
    {
        Running,
        Stopped,
        Lost,
    }

    /// <summary>
    /// A process running the replication scheduler (Sync-VmReplication -Continuous) against the vault, as it last
    /// reported itself: its id (machine/pid/suffix), when it started and last reported, and the VMs it was cycling.
    /// </summary>
    public sealed record ReplicationWorker
    {
        /// <summary>A worker not seen for this many lease durations is Lost: its VMs went (or go) to the other workers.</summary>
        public const int LostAfterLeaseDurations = 3;

        public string WorkerId { get; init; } = "";
        /// <summary>The machine name (or AZSR_DR_WORKER_NAME, for tests and containers).</summary>
        public string Machine { get; init; } = "";
        public int ProcessId { get; init; }
        public DateTimeOffset Started { get; init; }
        public DateTimeOffset LastHeartbeat { get; init; }
        /// <summary>The lease duration the worker takes on a VM; its heartbeat comes at least every third of it.</summary>
        public TimeSpan LeaseDuration { get; init; }
        /// <summary>Names of the VMs it was cycling when it last reported.</summary>
        public IReadOnlyList<string> CurrentVms { get; init; } = Array.Empty<string>();
        /// <summary>When it ended by itself (Ctrl+C, Stop-Job); null while it runs or after it died.</summary>
        public DateTimeOffset? Stopped { get; init; }

        /// <summary>What the worker was when it was read (see <see cref="Observe"/>); as stored, Running unless it stopped.</summary>
        public WorkerStatus Status { get; init; }

        /// <summary>The worker with <see cref="Status"/> as it is at <paramref name="now"/>.</summary>
        public ReplicationWorker Observe(DateTimeOffset now) => this with { Status = StatusAt(now) };

        /// <summary>What the worker is at <paramref name="now"/>.</summary>
        public WorkerStatus StatusAt(DateTimeOffset now) =>
            Stopped != null ? WorkerStatus.Stopped
            : now - LastHeartbeat > TimeSpan.FromTicks(LeaseDuration.Ticks * LostAfterLeaseDurations) ? WorkerStatus.Lost
            : WorkerStatus.Running;
    }

    /// <summary>A lease a caller claims to hold, checked again inside a write that must not happen once another owner took it.</summary>
    public sealed record LeaseClaim(string Resource, string Owner);
}
