using System;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites.Azure;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Sites
{
    /// <summary>Opens a connection to a site registered in the vault, with its stored secret.</summary>
    public static class SiteConnector
    {
        /// <summary>
        /// Connects to a stored vSphere site. A site stored before the vault recorded vCenter identities
        /// gets the vCenter's about.instanceUuid recorded now (what identity checks compare with later).
        /// </summary>
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
            var client = await ConnectVSphereAsync(site, password ?? "", cancellationToken).ConfigureAwait(false);
            if (site.ServerInstanceUuid is null && !string.IsNullOrEmpty(client.About.InstanceUuid))
            {
                try
                {
                    await vault.UpdateSiteAsync(site.Name, s => s.ServerInstanceUuid is null ? s with { ServerInstanceUuid = client.About.InstanceUuid } : s,
                        null, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    client.Dispose();
                    throw;
                }
            }
            return client;
        }

        /// <summary>Connects to a vSphere site that may not be stored yet (New-DRSite tests before it stores). Plain http only with AllowInsecureHttp.</summary>
        public static Task<VSphereClient> ConnectVSphereAsync(Site site, string password, CancellationToken cancellationToken)
        {
            // A bad server URL (InvalidSiteSetting) or plain http without consent (InsecureHttpRefused) is found before a byte is sent.
            site.Validate();
            return VSphereClient.ConnectAsync(
                new VSphereEndpoint(site.Server!, site.UserName ?? "", password, site.CertificateThumbprint, site.SkipCertificateCheck, site.BandwidthLimit),
                site.Name,
                cancellationToken);
        }

        /// <summary>Opens a connection to a stored Azure site, signing in with its method (the vault's secret slot holds a service principal's client secret). Nothing is sent yet.</summary>
        public static async Task<AzureSiteConnection> ConnectAzureAsync(IVault vault, string siteName, CancellationToken cancellationToken)
        {
            var site = await vault.FindSiteAsync(siteName, cancellationToken).ConfigureAwait(false)
                ?? throw new ObjectNotFoundException("Site", siteName, "Register it with New-DRSite.");
            if (site.Kind != SiteKind.Azure)
            {
                throw new InvalidSettingException("Site", site.Name, nameof(Site.Kind),
                    $"Site '{site.Name}' is a {site.Kind} site; this needs an Azure site.");
            }
            var secret = site.Authentication == AzureAuthentication.ServicePrincipalSecret
                ? await vault.ReadSiteSecretAsync(site.Name, cancellationToken).ConfigureAwait(false)
                : null;
            return AzureSiteConnection.Open(site, secret);
        }

        /// <summary>
        /// Fails with VmIdentityChanged unless the connected vCenter is the one the site was first
        /// connected to (about.instanceUuid as recorded in the vault).
        /// </summary>
        public static async Task VerifyServerAsync(IVault vault, VSphereClient client, CancellationToken cancellationToken)
        {
            var site = await vault.FindSiteAsync(client.SiteName, cancellationToken).ConfigureAwait(false)
                ?? throw new ObjectNotFoundException("Site", client.SiteName);
            if (site.ServerInstanceUuid != null && !string.Equals(site.ServerInstanceUuid, client.About.InstanceUuid, StringComparison.OrdinalIgnoreCase))
            {
                throw new IdentityChangedException("VmIdentityChanged", site.Name,
                    $"Site '{site.Name}' ({site.Server}) now answers as vCenter {client.About.InstanceUuid ?? "<none>"}, but it was vCenter {site.ServerInstanceUuid} " +
                    "when its VMs were protected: nothing was read or written. Point the site back at its vCenter with Set-DRSite -Server, " +
                    "or, if this really is the same vCenter rebuilt, accept it with Set-DRSite -Server <url> -Force.");
            }
        }
    }
}
