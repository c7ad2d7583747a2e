using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Replication;

namespace AzureSiteRecovery.DR.ProtectionGroups
{
    /// <summary>Removes a protection group.</summary>
    /// <remarks>
    /// A group that still has protected VMs cannot be removed (ProtectionGroupHasProtectedVms):
    /// disable protection of its VMs first with Disable-VmProtection, or use -Force to remove the
    /// group and stop the protection of its VMs the way Disable-VmProtection does (our snapshots
    /// removed, changed block tracking turned off). Their recovery points stay in the chunk store
    /// unless -RemoveData is given. A group with a VM that is failed over or reprotected is
    /// refused (VmFailedOver) and nothing changes: bring the VMs back first.
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

        /// <summary>Removes the group even when it still has protected VMs; their protection stops as with Disable-VmProtection.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>With -Force: also deletes the recovery points of the group's VMs.</summary>
        [Parameter]
        public SwitchParameter RemoveData { get; set; }

        protected override void ProcessItem()
        {
            var action = !Force ? "Remove" : RemoveData ? "Remove, stopping the protection of its VMs and deleting their recovery points" : "Remove, stopping the protection of its VMs";
            if (ShouldProcess($"protection group '{Name}'", action))
            {
                ForItem(Name, () => Await(ct => Force
                    ? new VmReplicator(OpenVault(), OpenStoreForCycle, ReplicaContainers.For(OpenVault())).RemoveGroupAsync(Name, RemoveData, ct)
                    : OpenVault().RemoveGroupAsync(Name, false, ct)));
            }
        }
    }
}
