using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites;

namespace AzureSiteRecovery.DR.Sites
{
    /// <summary>Gets the networks a vSphere site offers: the names a recovery plan's network mappings use.</summary>
    /// <remarks>
    /// Connects to the site and lists its networks in one inventory query: name, site, and kind
    /// (StandardPortgroup or DistributedPortgroup). -Name filters (wildcards allowed); a name
    /// without wildcards that the site does not have is reported as SiteNetworkNotFound.
    /// </remarks>
    /// <example>
    /// <code>Get-DRNetwork -Site dr</code>
    /// <para>Lists the networks of the recovery site 'dr', to write a plan's network mappings.</para>
    /// </example>
    /// <example>
    /// <code>Get-DRSite dr | Get-DRNetwork -Name '*Test*'</code>
    /// <para>The test networks of the site 'dr'.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "DRNetwork")]
    [OutputType(typeof(SiteNetwork))]
    public sealed class GetDRNetworkCommand : DRCmdlet
    {
        /// <summary>The vSphere site: a site name, or the site from Get-DRSite through the pipeline.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(SiteNameCompleter))]
        public string Site { get; set; } = "";

        /// <summary>Names of the networks to get; wildcards are allowed. All networks when omitted.</summary>
        [Parameter(Position = 1)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(SiteNetworkNameCompleter))]
        public string[]? Name { get; set; }

        protected override void ProcessItem()
        {
            ForItem(Site, () =>
            {
                foreach (var network in SelectByName(Name, "SiteNetwork", n => n.Name, ct => SiteInventoryReader.ListNetworksAsync(OpenVault(), Site, ct),
                    where: $"on site '{Site}' (Get-DRNetwork -Site {Site} lists what it has)"))
                {
                    WriteObject(network);
                }
            });
        }
    }
}
