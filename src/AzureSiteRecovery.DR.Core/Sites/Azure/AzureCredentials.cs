using System;
using System.Security.Cryptography.X509Certificates;
using Azure.Core;
using Azure.Identity;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Sites.Azure
{
    /// <summary>The token credential of an Azure site's sign-in method (Site.Authentication).</summary>
    internal static class AzureCredentials
    {
        public static TokenCredential Create(Site site, string? secret, AzureCloud cloud, AzureTransport transport)
        {
            T With<T>(T options) where T : TokenCredentialOptions
            {
                options.AuthorityHost = cloud.AuthorityHost;
                transport.Apply(options);
                return options;
            }

            var custom = AzureClouds.IsCustom(site.Environment);
            switch (site.Authentication ?? AzureAuthentication.ManagedIdentity)
            {
                case AzureAuthentication.ManagedIdentity:
                    // System-assigned unless a client id is configured (user-assigned ids are refused by some Automation sandboxes: research 5.1).
                    return ManagedIdentity(site.ClientId, transport, cloud.AuthorityHost);
                case AzureAuthentication.ServicePrincipalSecret:
                    if (string.IsNullOrEmpty(secret))
                    {
                        throw new InvalidSettingException("Site", site.Name, "ClientSecret",
                            $"Azure site '{site.Name}' signs in as service principal {site.ClientId} with a secret, but the vault holds none; set it with Set-DRSite {site.Name} -ClientSecret.");
                    }
                    // A custom cloud's authority is not one Entra ID knows: no instance discovery (it would ask login.microsoftonline.com).
                    return new ClientSecretCredential(site.TenantId, site.ClientId, secret, With(new ClientSecretCredentialOptions { DisableInstanceDiscovery = custom }));
                case AzureAuthentication.ServicePrincipalCertificate:
                    return new ClientCertificateCredential(site.TenantId, site.ClientId, FindCertificate(site), With(new ClientCertificateCredentialOptions { DisableInstanceDiscovery = custom }));
                case AzureAuthentication.CurrentContext:
                    // An admin at a shell: whoever is signed in to the Azure CLI, else to Azure PowerShell.
                    return new ChainedTokenCredential(
                        new AzureCliCredential(With(new AzureCliCredentialOptions())),
                        new AzurePowerShellCredential(With(new AzurePowerShellCredentialOptions())));
                default:
                    throw new InvalidSettingException("Site", site.Name, nameof(Site.Authentication), $"Azure site '{site.Name}' has an unknown Authentication '{site.Authentication}'.");
            }
        }

        /// <summary>
        /// The managed identity of the Automation account or VM: system-assigned unless <paramref name="clientId"/> names a user-assigned one
        /// (user-assigned ids are refused by some Automation sandboxes: research 5.1). For Azure sites and the Blob chunk store alike.
        /// </summary>
        public static TokenCredential ManagedIdentity(string? clientId, AzureTransport transport, Uri? authorityHost = null)
        {
            var id = string.IsNullOrWhiteSpace(clientId) ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId!.Trim());
            var options = new ManagedIdentityCredentialOptions(id);
            if (authorityHost != null) options.AuthorityHost = authorityHost;
            transport.Apply(options);
            return new ManagedIdentityCredential(options);
        }

        /// <summary>The service principal's certificate, with its private key, from the current user's store or the machine's.</summary>
        private static X509Certificate2 FindCertificate(Site site)
        {
            var thumbprint = (site.ClientCertificateThumbprint ?? "").Replace(" ", "").Replace(":", "").ToUpperInvariant();
            foreach (var location in new[] { StoreLocation.CurrentUser, StoreLocation.LocalMachine })
            {
                using var store = new X509Store(StoreName.My, location);
                try
                {
                    store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
                }
                catch (Exception e) when (e is System.Security.Cryptography.CryptographicException || e is PlatformNotSupportedException)
                {
                    continue; // no such store here
                }
                foreach (var certificate in store.Certificates.Find(X509FindType.FindByThumbprint, thumbprint, validOnly: false))
                {
                    if (certificate.HasPrivateKey) return certificate;
                }
            }
            throw new InvalidSettingException("Site", site.Name, nameof(Site.ClientCertificateThumbprint),
                $"Azure site '{site.Name}' signs in with certificate {thumbprint}, but no certificate with that thumbprint and its private key is in the current user's or the machine's personal store (My). " +
                "Import it (with its private key) there, or change the thumbprint with Set-DRSite.");
        }
    }
}
