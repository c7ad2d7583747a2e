using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Sites
{
    /// <summary>Opens a connection to a site registered in the vault, with its stored secret.</summary>
    public static class SiteConnector
    {
        public static async Task<VSphereClient> ConnectVSphereAsync(IVault vault, string siteName, CancellationToken cancellationToken)
        {
            var site = await vault.FindSiteAsync(siteName, cancellationToken).ConfigureAwait(false)
                ?? throw new ObjectNotFoundException("Site", siteName, "Register it with New-DRSite.");
            if (site.Kind != SiteKind.VSphere)
            {
                throw new InvalidSettingException("Site", site.Name, nameof(Site.Kind),
                    $"Site '{site.Name}' is an {site.Kind} site; this needs a vSphere site.");
            }

            var password = await vault.ReadSiteSecretAsync(site.Name, cancellationToken).ConfigureAwait(false);
            return await ConnectVSphereAsync(site, password ?? "", cancellationToken).ConfigureAwait(false);
        }

        /// <summary>Connects to a vSphere site that may not be stored yet (New-DRSite tests before it stores).</summary>
        public static Task<VSphereClient> ConnectVSphereAsync(Site site, string password, CancellationToken cancellationToken)
        {
            // A bad server URL is the user's setting (InvalidSiteSetting), found before any connection.
            site.Validate();
            return VSphereClient.ConnectAsync(
                new VSphereEndpoint(site.Server!, site.UserName ?? "", password, site.CertificateThumbprint, site.SkipCertificateCheck),
                site.Name,
                cancellationToken);
        }
    }
}
