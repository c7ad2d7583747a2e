using System.Management.Automation;
using AzureSiteRecovery.DR.Common;

namespace AzureSiteRecovery.DR.Sites
{
    /// <summary>Removes a site from the vault.</summary>
    /// <remarks>
    /// Removes the site and its stored secret. A site that a protection group still uses cannot be
    /// removed (SiteInUse): remove or change those groups first. Nothing on the site itself is touched.
    /// </remarks>
    /// <example>
    /// <code>Remove-DRSite lab-old</code>
    /// <para>Removes the site 'lab-old'.</para>
    /// </example>
    /// <example>
    /// <code>Get-DRSite lab-* | Remove-DRSite -WhatIf</code>
    /// <para>Shows which sites would be removed.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Remove, "DRSite", SupportsShouldProcess = true)]
    public sealed class RemoveDRSiteCommand : DRCmdlet
    {
        /// <summary>The name of the site to remove.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(SiteNameCompleter))]
        public string Name { get; set; } = "";

        protected override void ProcessItem()
        {
            if (ShouldProcess($"site '{Name}'", "Remove"))
            {
                ForItem(Name, () => Await(ct => OpenVault().RemoveSiteAsync(Name, ct)));
            }
        }
    }
}
