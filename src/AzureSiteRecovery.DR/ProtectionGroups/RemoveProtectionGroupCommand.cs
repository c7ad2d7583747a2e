using System.Management.Automation;
using AzureSiteRecovery.DR.Common;

namespace AzureSiteRecovery.DR.ProtectionGroups
{
    /// <summary>Removes a protection group.</summary>
    /// <remarks>
    /// A group that still has protected VMs cannot be removed (ProtectionGroupHasProtectedVms):
    /// disable protection of its VMs first with Disable-VmProtection, or use -Force to remove the
    /// group and forget its VMs' protection. Recovery points already replicated are not deleted here.
    /// </remarks>
    /// <example>
    /// <code>Remove-ProtectionGroup erp</code>
    /// <para>Removes the empty group 'erp'.</para>
    /// </example>
    /// <example>
    /// <code>Get-ProtectionGroup | Remove-ProtectionGroup -WhatIf</code>
    /// <para>Shows which groups would be removed, and removes nothing.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Remove, "ProtectionGroup", SupportsShouldProcess = true)]
    public sealed class RemoveProtectionGroupCommand : DRCmdlet
    {
        /// <summary>The name of the group to remove.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(ProtectionGroupNameCompleter))]
        public string Name { get; set; } = "";

        /// <summary>Removes the group even when it still has protected VMs; their protection is forgotten.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void ProcessItem()
        {
            var action = Force ? "Remove, with the protection of its VMs" : "Remove";
            if (ShouldProcess($"protection group '{Name}'", action))
            {
                ForItem(Name, () => Await(ct => OpenVault().RemoveGroupAsync(Name, Force, ct)));
            }
        }
    }
}
