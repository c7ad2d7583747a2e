using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.ProtectionGroups
{
    /// <summary>Changes a protection group's policy or description.</summary>
    /// <remarks>
    /// The new policy applies from the next replication cycle of the group's VMs. The sites of a
    /// group are fixed: to move VMs to other sites, create a new group.
    /// </remarks>
    /// <example>
    /// <code>Set-ProtectionGroup erp -Policy platinum</code>
    /// <para>Replicates the group 'erp' under the policy 'platinum' from now on.</para>
    /// </example>
    /// <example>
    /// <code>Get-ProtectionGroup -RecoverySite dr | Set-ProtectionGroup -Policy gold -WhatIf</code>
    /// <para>Shows which groups would change policy.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Set, "ProtectionGroup", SupportsShouldProcess = true)]
    [OutputType(typeof(ProtectionGroup))]
    public sealed class SetProtectionGroupCommand : DRCmdlet
    {
        /// <summary>The name of the group to change.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(ProtectionGroupNameCompleter))]
        public string Name { get; set; } = "";

        /// <summary>The replication policy to use: a name or a policy object.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(PolicyNameCompleter))]
        public string? Policy { get; set; }

        /// <summary>A free text description.</summary>
        [Parameter]
        public string? Description { get; set; }

        /// <summary>Writes the changed group to the pipeline.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessItem()
        {
            if (!ShouldProcess($"protection group '{Name}'", "Change"))
            {
                return;
            }

            var describe = MyInvocation.BoundParameters.ContainsKey(nameof(Description));
            ForItem(Name, () =>
            {
                var group = Await(ct => OpenVault().UpdateGroupAsync(Name, g => g with
                {
                    Policy = Policy ?? g.Policy,
                    Description = describe ? Description : g.Description,
                }, ct));
                if (PassThru)
                {
                    WriteObject(group);
                }
            });
        }
    }
}
