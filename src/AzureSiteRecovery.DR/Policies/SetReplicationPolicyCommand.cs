using System;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Policies
{
    /// <summary>Changes a replication policy.</summary>
    /// <remarks>
    /// Changes the settings given and keeps the others; the result is validated as a whole and
    /// nothing is stored when a setting is out of bounds. Protection groups using the policy
    /// follow the change from their next replication cycle.
    /// </remarks>
    /// <example>
    /// <code>Set-ReplicationPolicy gold -RecoveryPointRetention 3.00:00:00</code>
    /// <para>Keeps three days of recovery points for groups using 'gold'.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Set, "ReplicationPolicy", SupportsShouldProcess = true)]
    [OutputType(typeof(ReplicationPolicy))]
    public sealed class SetReplicationPolicyCommand : DRCmdlet
    {
        /// <summary>The name of the policy to change.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(PolicyNameCompleter))]
        public string Name { get; set; } = "";

        /// <summary>How often a replication cycle runs, from 00:00:05 to 1.00:00:00.</summary>
        [Parameter]
        public TimeSpan? ReplicationInterval { get; set; }

        /// <summary>The RPO alert threshold, from 00:00:30 to 1.00:00:00.</summary>
        [Parameter]
        public TimeSpan? RpoThreshold { get; set; }

        /// <summary>How long recovery points are kept, from 0 to 15.00:00:00.</summary>
        [Parameter]
        public TimeSpan? RecoveryPointRetention { get; set; }

        /// <summary>How often an app-consistent snapshot is taken, from 01:00:00 to 12:00:00, or 0 for none.</summary>
        [Parameter]
        public TimeSpan? AppConsistentFrequency { get; set; }

        /// <summary>A transfer with no progress for this long is aborted and retried, from 00:00:01 to 01:00:00.</summary>
        [Parameter]
        public TimeSpan? TransferStallTimeout { get; set; }

        /// <summary>A free text description.</summary>
        [Parameter]
        public string? Description { get; set; }

        /// <summary>Writes the changed policy to the pipeline.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessItem()
        {
            if (!ShouldProcess($"replication policy '{Name}'", "Change"))
            {
                return;
            }

            var describe = MyInvocation.BoundParameters.ContainsKey(nameof(Description));
            ForItem(Name, () =>
            {
                var policy = Await(ct => OpenVault().UpdatePolicyAsync(Name, p => p with
                {
                    ReplicationInterval = ReplicationInterval ?? p.ReplicationInterval,
                    RpoThreshold = RpoThreshold ?? p.RpoThreshold,
                    RecoveryPointRetention = RecoveryPointRetention ?? p.RecoveryPointRetention,
                    AppConsistentFrequency = AppConsistentFrequency ?? p.AppConsistentFrequency,
                    TransferStallTimeout = TransferStallTimeout ?? p.TransferStallTimeout,
                    Description = describe ? Description : p.Description,
                }, ct));
                if (PassThru)
                {
                    WriteObject(policy);
                }
            });
        }
    }
}
