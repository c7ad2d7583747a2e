using System.Management.Automation;
using AzureSiteRecovery.DR.Common;

namespace AzureSiteRecovery.DR.Plans
{
    /// <summary>Removes a recovery plan from the vault.</summary>
    /// <remarks>
    /// Forgets the plan; its VMs, their protection and recovery points are untouched. Export the
    /// plan first (Export-RecoveryPlan -Path) to keep its YAML. A plan with a job that has not
    /// finished (not started, running, interrupted or waiting for the user) is kept
    /// (RecoveryPlanInUse names the job: finish it with Resume-DRJob, or Stop-DRJob then Resume-DRJob).
    /// </remarks>
    /// <example>
    /// <code>Remove-RecoveryPlan erp</code>
    /// <para>Removes the plan 'erp'.</para>
    /// </example>
    /// <example>
    /// <code>Get-RecoveryPlan 'test-*' | Remove-RecoveryPlan -WhatIf</code>
    /// <para>Shows which plans would be removed, and removes nothing.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Remove, "RecoveryPlan", SupportsShouldProcess = true)]
    public sealed class RemoveRecoveryPlanCommand : DRCmdlet
    {
        /// <summary>The name of the plan to remove.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("RecoveryPlan")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(RecoveryPlanNameCompleter))]
        public string Name { get; set; } = "";

        protected override void ProcessItem()
        {
            if (ShouldProcess($"recovery plan '{Name}'", "Remove"))
            {
                ForItem(Name, () => Await(ct => OpenVault().RemoveRecoveryPlanAsync(Name, ct)));
            }
        }
    }
}
