using System;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>
    /// How often a protection group's VMs are replicated and how long their recovery points are kept.
    /// Defaults follow Azure Site Recovery: a crash-consistent point every 5 minutes, an
    /// app-consistent one every 4 hours, 24 hours of retention, an RPO alert threshold of 15 minutes.
    /// </summary>
    public sealed record ReplicationPolicy
    {
        public static readonly TimeSpan DefaultReplicationInterval = TimeSpan.FromMinutes(5);
        public static readonly TimeSpan DefaultRpoThreshold = TimeSpan.FromMinutes(15);
        public static readonly TimeSpan DefaultRecoveryPointRetention = TimeSpan.FromHours(24);
        public static readonly TimeSpan DefaultAppConsistentFrequency = TimeSpan.FromHours(4);

        public static readonly TimeSpan MinReplicationInterval = TimeSpan.FromSeconds(5);
        public static readonly TimeSpan MaxReplicationInterval = TimeSpan.FromHours(24);
        public static readonly TimeSpan MinRpoThreshold = TimeSpan.FromSeconds(30);
        public static readonly TimeSpan MaxRpoThreshold = TimeSpan.FromHours(24);
        public static readonly TimeSpan MaxRecoveryPointRetention = TimeSpan.FromDays(15);
        public static readonly TimeSpan MinAppConsistentFrequency = TimeSpan.FromHours(1);
        public static readonly TimeSpan MaxAppConsistentFrequency = TimeSpan.FromHours(12);
        public static readonly TimeSpan DefaultTransferStallTimeout = TimeSpan.FromSeconds(60);
        public static readonly TimeSpan MinTransferStallTimeout = TimeSpan.FromSeconds(1);
        public static readonly TimeSpan MaxTransferStallTimeout = TimeSpan.FromHours(1);

        public string Name { get; init; } = "";
        public string? Description { get; init; }
        /// <summary>How often a replication cycle runs (a crash-consistent recovery point each time).</summary>
        public TimeSpan ReplicationInterval { get; init; } = DefaultReplicationInterval;
        /// <summary>A VM whose newest point is older than this is reported unhealthy.</summary>
        public TimeSpan RpoThreshold { get; init; } = DefaultRpoThreshold;
        /// <summary>How long recovery points are kept; zero keeps only the newest one.</summary>
        public TimeSpan RecoveryPointRetention { get; init; } = DefaultRecoveryPointRetention;
        /// <summary>How often a cycle takes a quiesced (app-consistent) snapshot; zero turns them off.</summary>
        public TimeSpan AppConsistentFrequency { get; init; } = DefaultAppConsistentFrequency;
        /// <summary>A transfer (a SOAP call, a disk read, a write) that makes no progress for this long is aborted and retried.</summary>
        public TimeSpan TransferStallTimeout { get; init; } = DefaultTransferStallTimeout;

        public DateTimeOffset Created { get; init; }
        public DateTimeOffset Modified { get; init; }

        /// <summary>Throws <see cref="InvalidSettingException"/> naming the first setting out of bounds and the bounds.</summary>
        public void Validate()
        {
            NameRules.Validate("ReplicationPolicy", Name);
            Within(nameof(ReplicationInterval), ReplicationInterval, MinReplicationInterval, MaxReplicationInterval);
            Within(nameof(RpoThreshold), RpoThreshold, MinRpoThreshold, MaxRpoThreshold);
            Within(nameof(RecoveryPointRetention), RecoveryPointRetention, TimeSpan.Zero, MaxRecoveryPointRetention);
            Within(nameof(TransferStallTimeout), TransferStallTimeout, MinTransferStallTimeout, MaxTransferStallTimeout);
            if (AppConsistentFrequency != TimeSpan.Zero)
            {
                Within(nameof(AppConsistentFrequency), AppConsistentFrequency, MinAppConsistentFrequency, MaxAppConsistentFrequency);
                if (AppConsistentFrequency < ReplicationInterval)
                {
                    throw new InvalidSettingException("ReplicationPolicy", Name, nameof(AppConsistentFrequency),
                        $"AppConsistentFrequency ({AppConsistentFrequency}) is shorter than ReplicationInterval ({ReplicationInterval}); " +
                        "an app-consistent point is taken by a replication cycle, so make it at least the interval, or 0 to turn app-consistent points off.");
                }
            }
            if (ReplicationInterval > RpoThreshold)
            {
                throw new InvalidSettingException("ReplicationPolicy", Name, nameof(ReplicationInterval),
                    $"ReplicationInterval ({ReplicationInterval}) is longer than RpoThreshold ({RpoThreshold}), so the RPO could never be met; " +
                    "shorten the interval or raise the threshold.");
            }
        }

        private void Within(string setting, TimeSpan value, TimeSpan min, TimeSpan max)
        {
            if (value < min || value > max)
            {
                throw new InvalidSettingException("ReplicationPolicy", Name, setting,
                    $"{setting} must be between {min} and {max}; {value} was given.");
            }
        }
    }
}
