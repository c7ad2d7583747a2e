using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Policies
{
    /// <summary>Gets the replication policies in the vault.</summary>
    /// <remarks>
    /// Lists every policy, or those whose name matches -Name (wildcards allowed). A name without
    /// wildcards that matches nothing is reported (ReplicationPolicyNotFound).
    /// </remarks>
    /// <example>
    /// <code>Get-ReplicationPolicy</code>
    /// <para>Lists all replication policies with their interval, RPO threshold and retention.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "ReplicationPolicy")]
    [OutputType(typeof(ReplicationPolicy))]
    public sealed class GetReplicationPolicyCommand : DRCmdlet
    {
        /// <summary>Names of the policies to get; wildcards are allowed. All policies when omitted.</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(PolicyNameCompleter))]
        public string[]? Name { get; set; }

        protected override void ProcessItem()
        {
            var vault = OpenVault();
            WriteObject(SelectByName(Name, "ReplicationPolicy", p => p.Name, vault.ListPoliciesAsync, vault.FindPolicyAsync), enumerateCollection: true);
        }
    }
}
