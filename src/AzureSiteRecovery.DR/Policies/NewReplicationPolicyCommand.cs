using System;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Policies
{
    /// <summary>Creates a replication policy.</summary>
    /// <remarks>
    /// A replication policy says how often protected VMs are replicated (-ReplicationInterval,
    /// one crash-consistent recovery point per cycle), how often a cycle takes a quiesced,
    /// app-consistent snapshot (-AppConsistentFrequency, 0 turns them off), how long recovery
    /// points are kept (-RecoveryPointRetention, 0 keeps only the newest) and when a VM counts as
    /// unhealthy (-RpoThreshold), and how long a transfer may make no progress before it is aborted and
    /// retried (-TransferStallTimeout). Omitted settings take Azure Site Recovery's defaults: every
    /// 5 minutes, app-consistent every 4 hours, 24 hours of retention, an RPO threshold of 15 minutes,
    /// a transfer stall timeout of 60 seconds. Settings out of bounds fail with InvalidReplicationPolicySetting and nothing is stored.
    /// </remarks>
    /// <example>
    /// <code>New-ReplicationPolicy -Name gold -RpoThreshold 00:15:00 -RecoveryPointRetention 1.00:00:00 -AppConsistentFrequency 04:00:00</code>
    /// <para>Creates the policy 'gold': 15 minute RPO threshold, a day of recovery points, app-consistent every 4 hours.</para>
    /// </example>
    [Cmdlet(VerbsCommon.New, "ReplicationPolicy", SupportsShouldProcess = true)]
    [OutputType(typeof(ReplicationPolicy))]
    public sealed class NewReplicationPolicyCommand : DRCmdlet
    {
        /// <summary>The name of the policy (letters, digits, '.', '_', '-').</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Name { get; set; } = "";

        /// <summary>How often a replication cycle runs, from 00:00:05 to 1.00:00:00. Default 00:05:00.</summary>
        [Parameter]
        public TimeSpan ReplicationInterval { get; set; } = ReplicationPolicy.DefaultReplicationInterval;

        /// <summary>A VM whose newest recovery point is older than this is unhealthy, from 00:00:30 to 1.00:00:00. Default 00:15:00.</summary>
        [Parameter]
        public TimeSpan RpoThreshold { get; set; } = ReplicationPolicy.DefaultRpoThreshold;

        /// <summary>How long recovery points are kept, from 0 (only the newest) to 15.00:00:00. Default 1.00:00:00.</summary>
        [Parameter]
        public TimeSpan RecoveryPointRetention { get; set; } = ReplicationPolicy.DefaultRecoveryPointRetention;

        /// <summary>How often a cycle takes an app-consistent (quiesced) snapshot, from 01:00:00 to 12:00:00, or 0 for none. Default 04:00:00.</summary>
        [Parameter]
        public TimeSpan AppConsistentFrequency { get; set; } = ReplicationPolicy.DefaultAppConsistentFrequency;

        /// <summary>A transfer (SOAP call, disk read, write) with no progress for this long is aborted and retried, from 00:00:01 to 01:00:00. Default 00:01:00.</summary>
        [Parameter]
        public TimeSpan TransferStallTimeout { get; set; } = ReplicationPolicy.DefaultTransferStallTimeout;

        /// <summary>A free text description.</summary>
        [Parameter]
        public string? Description { get; set; }

        protected override void ProcessItem()
        {
            var policy = new ReplicationPolicy
            {
                Name = Name,
                Description = Description,
                ReplicationInterval = ReplicationInterval,
                RpoThreshold = RpoThreshold,
                RecoveryPointRetention = RecoveryPointRetention,
                AppConsistentFrequency = AppConsistentFrequency,
                TransferStallTimeout = TransferStallTimeout,
            };
            ForItem(Name, () =>
            {
                // Validate first so -WhatIf also tells about a bad setting.
                policy.Validate();
                if (ShouldProcess($"replication policy '{Name}'", "Create"))
                {
                    WriteObject(Await(ct => OpenVault().AddPolicyAsync(policy, ct)));
                }
            });
        }
    }
}
