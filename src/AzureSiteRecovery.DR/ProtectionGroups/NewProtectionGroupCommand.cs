using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.ProtectionGroups
{
    /// <summary>Creates a protection group: a named set of VMs replicated from a protected site to a recovery site under one policy.</summary>
    /// <remarks>
    /// The protected site must have the role Protected or Both, the recovery site Recovery or Both,
    /// and the policy must exist. Sites and the policy can be given by name or as objects, and the
    /// protected site can come from the pipeline (Get-DRSite). VMs join the group with
    /// Enable-VmProtection.
    /// </remarks>
    /// <example>
    /// <code>New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold</code>
    /// <para>Creates the group 'erp' replicating from 'onprem' to 'dr' under the policy 'gold'.</para>
    /// </example>
    /// <example>
    /// <code>Get-DRSite onprem | New-ProtectionGroup -Name erp -RecoverySite dr -Policy gold</code>
    /// <para>The same, with the protected site from the pipeline.</para>
    /// </example>
    [Cmdlet(VerbsCommon.New, "ProtectionGroup", SupportsShouldProcess = true)]
    [OutputType(typeof(ProtectionGroup))]
    public sealed class NewProtectionGroupCommand : DRCmdlet
    {
        /// <summary>The name of the group (letters, digits, '.', '_', '-').</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Name { get; set; } = "";

        /// <summary>The site the VMs run on: a site name or a site object from Get-DRSite.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(SiteNameCompleter))]
        public string ProtectedSite { get; set; } = "";

        /// <summary>The site the VMs are recovered to: a site name or a site object.</summary>
        [Parameter(Mandatory = true)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(SiteNameCompleter))]
        public string RecoverySite { get; set; } = "";

        /// <summary>The replication policy: a policy name or a policy object from Get-ReplicationPolicy.</summary>
        [Parameter(Mandatory = true)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(PolicyNameCompleter))]
        public string Policy { get; set; } = "";

        /// <summary>A free text description.</summary>
        [Parameter]
        public string? Description { get; set; }

        protected override void ProcessItem()
        {
            if (!ShouldProcess($"protection group '{Name}' ({ProtectedSite} -> {RecoverySite}, policy {Policy})", "Create"))
            {
                return;
            }

            var group = new ProtectionGroup
            {
                Name = Name,
                Description = Description,
                ProtectedSite = ProtectedSite,
                RecoverySite = RecoverySite,
                Policy = Policy,
            };
            ForItem(Name, () => WriteObject(Await(ct => OpenVault().AddGroupAsync(group, ct))));
        }
    }
}
