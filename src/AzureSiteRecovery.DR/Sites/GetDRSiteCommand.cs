using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Sites
{
    /// <summary>Gets the sites registered in the vault.</summary>
    /// <remarks>
    /// Lists every site, or those whose name matches -Name (wildcards allowed). A name without
    /// wildcards that matches no site is reported as an error (SiteNotFound). Secrets are never
    /// part of the output; HasSecret tells whether the vault holds one.
    /// </remarks>
    /// <example>
    /// <code>Get-DRSite</code>
    /// <para>Lists all sites with their kind, role and endpoint.</para>
    /// </example>
    /// <example>
    /// <code>Get-DRSite onprem | New-ProtectionGroup -Name erp -RecoverySite dr -Policy gold</code>
    /// <para>Uses the site 'onprem' as the protected site of a new protection group.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "DRSite")]
    [OutputType(typeof(Site))]
    public sealed class GetDRSiteCommand : DRCmdlet
    {
        /// <summary>Names of the sites to get; wildcards are allowed. All sites when omitted.</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(SiteNameCompleter))]
        public string[]? Name { get; set; }

        /// <summary>Only sites of this kind: VSphere or Azure.</summary>
        [Parameter]
        public SiteKind? Kind { get; set; }

        /// <summary>Only sites with this role: Protected, Recovery or Both.</summary>
        [Parameter]
        public SiteRole? Role { get; set; }

        protected override void ProcessItem()
        {
            var vault = OpenVault();
            foreach (var site in SelectByName(Name, "Site", s => s.Name, vault.ListSitesAsync, vault.FindSiteAsync))
            {
                if ((Kind is null || site.Kind == Kind) && (Role is null || site.Role == Role))
                {
                    WriteObject(site);
                }
            }
        }
    }
}
