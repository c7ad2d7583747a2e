using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.ProtectionGroups
{
    /// <summary>Creates a protection group: a named set of VMs replicated from a protected site to a recovery site under one policy.</summary>
    /// <remarks>
    /// The protected site must have the role Protected or Both, the recovery site Recovery or Both,
    /// and the policy must exist. Without -Policy the group uses the policy 'default', which is
    /// created on first use with the product's defaults (a point every 5 minutes, RPO threshold
    /// 15 minutes, 24 hours kept, an app-consistent point every 4 hours) and can be changed with
    /// Set-ReplicationPolicy default. Sites and the policy can be given by name or as objects, and the
    /// protected site can come from the pipeline (Get-DRSite). VMs join the group with
    /// Enable-VmProtection.
    /// </remarks>
    /// <example>
    /// <code>New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold</code>
    /// <para>Creates the group 'erp' replicating from 'onprem' to 'dr' under the policy 'gold'.</para>
    /// </example>
    /// <example>
    /// <code>New-ProtectionGroup -Name web -ProtectedSite onprem -RecoverySite dr</code>
    /// <para>Creates the group 'web' under the policy 'default' (created with the default settings if needed).</para>
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

        /// <summary>The replication policy: a policy name or a policy object from Get-ReplicationPolicy. Default: the policy 'default', created with the product's defaults when it does not exist.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(PolicyNameCompleter))]
        public string Policy { get; set; } = DefaultPolicyName;

        private const string DefaultPolicyName = "default";

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
            ForItem(Name, () =>
            {
                if (!MyInvocation.BoundParameters.ContainsKey(nameof(Policy)) && Await(ct => OpenVault().FindPolicyAsync(DefaultPolicyName, ct)) is null)
                {
                    WriteVerbose($"Creating the replication policy '{DefaultPolicyName}' with the default settings.");
                    try
                    {
                        Await(ct => OpenVault().AddPolicyAsync(new ReplicationPolicy { Name = DefaultPolicyName, Description = "Created by New-ProtectionGroup without -Policy." }, ct));
                    }
                    catch (ObjectAlreadyExistsException)
                    {
                        // Another process created it meanwhile: the same defaults.
                    }
                }

                WriteObject(Await(ct => OpenVault().AddGroupAsync(group, ct)));
            });
        }
    }
}
