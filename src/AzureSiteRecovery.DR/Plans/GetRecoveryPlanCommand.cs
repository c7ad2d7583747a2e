using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Plans;

namespace AzureSiteRecovery.DR.Plans
{
    /// <summary>Gets the recovery plans in the vault.</summary>
    /// <remarks>
    /// Lists every plan, or those whose name matches -Name (wildcards allowed), with their sites and
    /// how many groups and VMs they name. The objects carry the whole plan (Groups,
    /// NetworkMappings, and the YAML text), and their Name binds to the other *-RecoveryPlan
    /// cmdlets. A name without wildcards that matches nothing is reported (RecoveryPlanNotFound).
    /// </remarks>
    /// <example>
    /// <code>Get-RecoveryPlan</code>
    /// <para>Lists every recovery plan in the vault.</para>
    /// </example>
    /// <example>
    /// <code>(Get-RecoveryPlan erp).Groups | Format-Table Name, Vms, ProtectionGroups</code>
    /// <para>Shows the groups of the plan 'erp' in the order they start.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "RecoveryPlan")]
    [OutputType(typeof(RecoveryPlan))]
    public sealed class GetRecoveryPlanCommand : DRCmdlet
    {
        /// <summary>Names of the plans to get; wildcards are allowed. All plans when omitted.</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("RecoveryPlan")]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(RecoveryPlanNameCompleter))]
        public string[]? Name { get; set; }

        protected override void ProcessItem()
        {
            var catalog = new RecoveryPlanCatalog(OpenVault());
            foreach (var plan in SelectByName(Name, "RecoveryPlan", p => p.Name, catalog.ListAsync, catalog.FindAsync))
            {
                WriteObject(plan);
            }
        }
    }
}
