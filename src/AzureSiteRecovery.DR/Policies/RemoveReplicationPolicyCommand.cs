using System.Management.Automation;
using AzureSiteRecovery.DR.Common;

namespace AzureSiteRecovery.DR.Policies
{
    /// <summary>Removes a replication policy.</summary>
    /// <remarks>
    /// A policy that a protection group still uses cannot be removed (ReplicationPolicyInUse):
    /// give those groups another policy first with Set-ProtectionGroup -Policy.
    /// </remarks>
    /// <example>
    /// <code>Remove-ReplicationPolicy bronze</code>
    /// <para>Removes the policy 'bronze'.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Remove, "ReplicationPolicy", SupportsShouldProcess = true)]
    public sealed class RemoveReplicationPolicyCommand : DRCmdlet
    {
        /// <summary>The name of the policy to remove.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(PolicyNameCompleter))]
        public string Name { get; set; } = "";

        protected override void ProcessItem()
        {
            if (ShouldProcess($"replication policy '{Name}'", "Remove"))
            {
                ForItem(Name, () => Await(ct => OpenVault().RemovePolicyAsync(Name, ct)));
            }
        }
    }
}
