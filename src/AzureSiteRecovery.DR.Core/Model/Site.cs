using System;
using System.Linq;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>What a site is: a vCenter/ESXi endpoint or an Azure subscription.</summary>
    public enum SiteKind
    {
        VSphere,
        Azure,
    }

    /// <summary>What a site is used for in protection groups and recovery plans.</summary>
    public enum SiteRole
    {
        Protected,
        Recovery,
        Both,
    }

    /// <summary>How the module authenticates to Azure for an Azure site.</summary>
    public enum AzureAuthentication
    {
        /// <summary>The managed identity of the Automation account or VM (system or user assigned).</summary>
        ManagedIdentity,
        /// <summary>A service principal with a client secret (stored encrypted in the vault).</summary>
        ServicePrincipalSecret,
        /// <summary>A service principal with a certificate from the certificate store, by thumbprint.</summary>
        ServicePrincipalCertificate,
        /// <summary>Whatever the current session is signed in with (Azure CLI, Az PowerShell, environment).</summary>
        CurrentContext,
    }

    /// <summary>
    /// A protected or recovery site. Secrets (the vCenter password, a client secret) are never part
    /// of this record: the vault keeps them encrypted and hands them only to the site providers.
    /// </summary>
    public sealed record Site
    {
        public string Name { get; init; } = "";
        public SiteKind Kind { get; init; }
        public SiteRole Role { get; init; }
        public string? Description { get; init; }

        // vSphere
        public Uri? Server { get; init; }
        public string? UserName { get; init; }
        /// <summary>SHA-256 thumbprint (hex, no separators) of the vCenter certificate to trust; null: the system trust store decides.</summary>
        public string? CertificateThumbprint { get; init; }
        public bool SkipCertificateCheck { get; init; }
        /// <summary>Plain http:// is allowed (the password goes in clear): only when the site was created or changed with -AllowInsecureHttp.</summary>
        public bool AllowInsecureHttp { get; init; }
        /// <summary>The vCenter's about.instanceUuid, recorded at the first connection: a site never silently follows its URL to another vCenter.</summary>
        public string? ServerInstanceUuid { get; init; }
        /// <summary>Whether the datastore file interface was shown to take ranged writes (probed once); null: not probed yet.</summary>
        public bool? RangedWrites { get; init; }

        // Azure
        public string? TenantId { get; init; }
        public string? SubscriptionId { get; init; }
        public string? ResourceGroup { get; init; }
        public string? Location { get; init; }
        public string? StorageAccount { get; init; }
        public AzureAuthentication? Authentication { get; init; }
        /// <summary>The application (client) id of a service principal, or of a user-assigned managed identity.</summary>
        public string? ClientId { get; init; }
        /// <summary>Thumbprint of the service principal's certificate in the certificate store (ServicePrincipalCertificate).</summary>
        public string? ClientCertificateThumbprint { get; init; }
        /// <summary>The Azure cloud: AzureCloud (default), AzureChinaCloud, AzureUSGovernment, or Custom (ArmEndpoint and AuthorityHost given).</summary>
        public string? Environment { get; init; }
        /// <summary>Custom clouds (and the lab): the Azure Resource Manager endpoint, e.g. https://127.0.0.1:5443/.</summary>
        public Uri? ArmEndpoint { get; init; }
        /// <summary>Custom clouds: the Entra ID authority host for service-principal sign-in; null: derived from Environment.</summary>
        public Uri? AuthorityHost { get; init; }
        /// <summary>SHA-256 thumbprint (hex, no separators) of the ARM endpoint's TLS certificate to trust (a custom endpoint, e.g. the lab); null: the system trust store decides.</summary>
        public string? ArmCertificateThumbprint { get; init; }

        /// <summary>The cap on replication's bandwidth to and from the site (all VMs of a process together), by time of day; null: none.</summary>
        public BandwidthLimit? BandwidthLimit { get; init; }

        /// <summary>True when the vault holds a secret (password or client secret) for this site.</summary>
        public bool HasSecret { get; init; }

        public DateTimeOffset Created { get; init; }
        public DateTimeOffset Modified { get; init; }

        /// <summary>Where the site is, in one line: the vCenter URL or the Azure resource group path.</summary>
        public string Endpoint => Kind == SiteKind.VSphere
            ? Server?.ToString() ?? ""
            : $"/subscriptions/{SubscriptionId}/resourceGroups/{ResourceGroup} ({Location}, " +
              (AzureClouds.IsCustom(Environment) ? $"{AzureClouds.Custom} {ArmEndpoint}" : AzureClouds.NameOf(Environment)) + ")";

        /// <summary>The Azure Resource Manager endpoint of an Azure site: its cloud's, or ArmEndpoint for a Custom one.</summary>
        public Uri? GetArmEndpoint() => Kind != SiteKind.Azure ? null : AzureClouds.IsCustom(Environment) ? ArmEndpoint : AzureClouds.ArmEndpointOf(Environment);

        /// <summary>The Entra ID authority host a service principal signs in at: AuthorityHost when given, else the cloud's, else (Custom) the ARM endpoint's host.</summary>
        public Uri? GetAuthorityHost() => Kind != SiteKind.Azure ? null
            : AuthorityHost ?? (AzureClouds.IsCustom(Environment)
                ? (ArmEndpoint is null ? null : new Uri(ArmEndpoint.GetLeftPart(UriPartial.Authority) + "/"))
                : AzureClouds.AuthorityHostOf(Environment));

        public override string ToString() => Name;

        /// <summary>Throws <see cref="InvalidSettingException"/> naming the first setting the site's kind requires and lacks.</summary>
        public void Validate()
        {
            NameRules.Validate("Site", Name);
            if (BandwidthLimit?.Problem() is (string setting, string problem))
            {
                throw Invalid(setting, $"Site '{Name}': {problem}");
            }
            if (Kind == SiteKind.VSphere)
            {
                if (Server is null || !Server.IsAbsoluteUri || (Server.Scheme != Uri.UriSchemeHttps && Server.Scheme != Uri.UriSchemeHttp))
                {
                    throw Invalid(nameof(Server), $"vSphere site '{Name}' needs Server, the absolute http or https URL of the vCenter or ESXi host (e.g. https://vcenter.example.com/sdk), or a bare host name or host:port (vcenter.example.com, meaning https://vcenter.example.com/sdk); '{Server}' was given.");
                }
                Require(nameof(UserName), UserName, "the vCenter user name");
                if (Server.Scheme == Uri.UriSchemeHttp && !AllowInsecureHttp)
                {
                    throw new InsecureHttpRefusedException(Name, Server.ToString());
                }
            }
            else
            {
                Require(nameof(SubscriptionId), SubscriptionId, "the Azure subscription id");
                Require(nameof(ResourceGroup), ResourceGroup, "the resource group that recovered VMs go to");
                Require(nameof(Location), Location, "the Azure region, e.g. westeurope");
                if (Authentication is null)
                {
                    throw Invalid(nameof(Authentication), $"Azure site '{Name}' needs Authentication: one of {string.Join(", ", Enum.GetNames(typeof(AzureAuthentication)))}.");
                }
                if (Authentication == AzureAuthentication.ServicePrincipalSecret || Authentication == AzureAuthentication.ServicePrincipalCertificate)
                {
                    Require(nameof(TenantId), TenantId, "the tenant id of the service principal");
                    Require(nameof(ClientId), ClientId, "the application (client) id of the service principal");
                }
                if (Authentication == AzureAuthentication.ServicePrincipalSecret && !HasSecret)
                {
                    throw Invalid("ClientSecret", $"Azure site '{Name}' signs in as a service principal with a secret, but no secret was given: pass -ClientSecret (a SecureString), " +
                        "or -Credential with the client id as user name and the secret as password.");
                }
                if (Authentication == AzureAuthentication.ServicePrincipalCertificate)
                {
                    Require(nameof(ClientCertificateThumbprint), ClientCertificateThumbprint, "the thumbprint of the service principal's certificate in the certificate store (40 hex digits)");
                    if (!IsHex(ClientCertificateThumbprint!, 40))
                    {
                        throw Invalid(nameof(ClientCertificateThumbprint),
                            $"Azure site '{Name}' needs ClientCertificateThumbprint as the certificate store shows it: 40 hex digits (SHA-1), not '{NameRules.Printable(ClientCertificateThumbprint!)}'.");
                    }
                }
                ValidateCloud();
            }
        }

        private void ValidateCloud()
        {
            if (Environment is not null && !AzureClouds.Names.Contains(Environment))
            {
                throw Invalid(nameof(Environment),
                    $"Azure site '{Name}' has Environment '{NameRules.Printable(Environment)}'; it must be one of {string.Join(", ", AzureClouds.Names)} (Custom with -ArmEndpoint for another cloud or the lab).");
            }
            var custom = AzureClouds.IsCustom(Environment);
            if (custom && ArmEndpoint is null)
            {
                throw Invalid(nameof(ArmEndpoint), $"Azure site '{Name}' is in a Custom cloud, so it needs ArmEndpoint: the https URL of its Azure Resource Manager, e.g. https://management.contoso.local/.");
            }
            if (!custom && ArmEndpoint is not null)
            {
                throw Invalid(nameof(ArmEndpoint),
                    $"Azure site '{Name}' is in {AzureClouds.NameOf(Environment)}, whose Resource Manager endpoint is {AzureClouds.ArmEndpointOf(Environment)}; ArmEndpoint '{ArmEndpoint}' goes with Environment Custom.");
            }
            RequireHttps(nameof(ArmEndpoint), ArmEndpoint, "the Azure Resource Manager endpoint");
            RequireHttps(nameof(AuthorityHost), AuthorityHost, "the Entra ID authority host");
            if (ArmCertificateThumbprint is not null)
            {
                if (!IsHex(ArmCertificateThumbprint, 64))
                {
                    throw Invalid(nameof(ArmCertificateThumbprint),
                        $"Azure site '{Name}' has ArmCertificateThumbprint '{NameRules.Printable(ArmCertificateThumbprint)}'; it must be the SHA-256 thumbprint of the ARM endpoint's certificate: 64 hex digits.");
                }
                if (!custom)
                {
                    throw Invalid(nameof(ArmCertificateThumbprint),
                        $"Azure site '{Name}' pins the ARM certificate, but {AzureClouds.NameOf(Environment)} rotates its certificates (a pin would break sign-in); pin only a Custom cloud's endpoint.");
                }
            }
        }

        private void RequireHttps(string setting, Uri? uri, string what)
        {
            if (uri is not null && (!uri.IsAbsoluteUri || uri.Scheme != Uri.UriSchemeHttps))
            {
                throw Invalid(setting, $"Azure site '{Name}' needs {setting} as an absolute https URL ({what}; tokens go over it), not '{uri}'.");
            }
        }

        private static bool IsHex(string text, int length) =>
            text.Length == length && text.All(c => (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'));

        private void Require(string setting, string? value, string what)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw Invalid(setting, $"{Kind} site '{Name}' needs {setting}: {what}.");
            }
        }

        private InvalidSettingException Invalid(string setting, string message) => new InvalidSettingException("Site", Name, setting, message);
    }
}
