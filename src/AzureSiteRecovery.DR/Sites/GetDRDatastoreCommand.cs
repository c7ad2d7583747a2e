using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites;

namespace AzureSiteRecovery.DR.Sites
{
    /// <summary>Gets the datastores a vSphere site offers: the names a recovery plan's datastore mappings use.</summary>
    /// <remarks>
    /// Connects to the site and lists its datastores: name, site, datacenter, capacity, free space
    /// (bytes) and whether it is accessible. -Name filters (wildcards allowed); a name without
    /// wildcards that the site does not have is reported as SiteDatastoreNotFound.
    /// </remarks>
    /// <example>
    /// <code>Get-DRDatastore -Site dr | Where-Object Accessible | Sort-Object FreeSpace -Descending</code>
    /// <para>The accessible datastores of the recovery site 'dr', the emptiest first.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "DRDatastore")]
    [OutputType(typeof(SiteDatastore))]
    public sealed class GetDRDatastoreCommand : DRCmdlet
    {
        /// <summary>The vSphere site: a site name, or the site from Get-DRSite through the pipeline.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(SiteNameCompleter))]
        public string Site { get; set; } = "";

        /// <summary>Names of the datastores to get; wildcards are allowed. All datastores when omitted.</summary>
        [Parameter(Position = 1)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(SiteDatastoreNameCompleter))]
        public string[]? Name { get; set; }

        protected override void ProcessItem()
        {
            ForItem(Site, () =>
            {
                foreach (var datastore in SelectByName(Name, "SiteDatastore", d => d.Name, ct => SiteInventoryReader.ListDatastoresAsync(OpenVault(), Site, ct),
                    where: $"on site '{Site}' (Get-DRDatastore -Site {Site} lists what it has)"))
                {
                    WriteObject(datastore);
                }
            });
        }
    }
}
