using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.ProtectionGroups
{
    /// <summary>Gets the protection groups in the vault.</summary>
    /// <remarks>
    /// Lists every group, or those whose name matches -Name (wildcards allowed), optionally only
    /// those of one protected or recovery site. Each group shows its sites, its policy and how
    /// many protected VMs it has. A name without wildcards that matches nothing is reported
    /// (ProtectionGroupNotFound).
    /// </remarks>
    /// <example>
    /// <code>Get-ProtectionGroup erp</code>
    /// <para>Shows the group 'erp'.</para>
    /// </example>
    /// <example>
    /// <code>Get-ProtectionGroup -RecoverySite dr</code>
    /// <para>Lists the groups that recover to the site 'dr'.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "ProtectionGroup")]
    [OutputType(typeof(ProtectionGroup))]
    public sealed class GetProtectionGroupCommand : DRCmdlet
    {
        /// <summary>Names of the groups to get; wildcards are allowed. All groups when omitted.</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("ProtectionGroup")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ProtectionGroupNameCompleter))]
        public string[]? Name { get; set; }

        /// <summary>Only groups protecting VMs of this site.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(SiteNameCompleter))]
        public string? ProtectedSite { get; set; }

        /// <summary>Only groups recovering to this site.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(SiteNameCompleter))]
        public string? RecoverySite { get; set; }

        protected override void ProcessItem()
        {
            var vault = OpenVault();
            foreach (var group in SelectByName(Name, "ProtectionGroup", g => g.Name, vault.ListGroupsAsync, vault.FindGroupAsync))
            {
                if (Matches(ProtectedSite, group.ProtectedSite) && Matches(RecoverySite, group.RecoverySite))
                {
                    WriteObject(group);
                }
            }
        }

        private static bool Matches(string? wanted, string actual) =>
            wanted is null || string.Equals(wanted, actual, System.StringComparison.OrdinalIgnoreCase);
    }
}
