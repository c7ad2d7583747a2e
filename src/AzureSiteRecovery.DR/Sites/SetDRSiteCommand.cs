using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Security;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites;

namespace AzureSiteRecovery.DR.Sites
{
    /// <summary>Changes a registered site.</summary>
    /// <remarks>
    /// Changes the settings given and keeps the others. A new -Credential or -ClientSecret
    /// replaces the stored secret (for an Azure service principal, -Credential's user name is the
    /// client id and its password the secret: rotating the secret is Set-DRSite -ClientSecret).
    /// -Environment, -ArmEndpoint, -AuthorityHost and -ArmCertificateThumbprint change an Azure
    /// site's cloud; a site moved to a public cloud drops its custom endpoint settings. The change is one atomic step in the vault: a concurrent
    /// change by another process is never lost. Sites cannot be renamed or change kind.
    /// A new -Server of a vSphere site is connected to first: a different vCenter (another
    /// about.instanceUuid than the one recorded) is refused with SiteServerChanged unless -Force,
    /// as the protected VMs' morefs would then name other VMs.
    /// -BandwidthLimitMiBps and -BandwidthSchedule change the site's bandwidth cap (a running worker follows from its next
    /// connection to the site); -NoBandwidthLimit removes it.
    /// </remarks>
    /// <example>
    /// <code>Set-DRSite onprem -Credential (Get-Credential)</code>
    /// <para>Stores a new vCenter password for the site 'onprem'.</para>
    /// </example>
    /// <example>
    /// <code>Set-DRSite onprem -Server https://vc01-new.contoso.local/sdk</code>
    /// <para>Moves the site to a new URL of the same vCenter (a different vCenter is refused unless -Force).</para>
    /// </example>
    /// <example>
    /// <code>Set-DRSite azure-weu -ClientSecret (Read-Host -AsSecureString 'New client secret')</code>
    /// <para>Rotates the client secret of an Azure site that signs in as a service principal.</para>
    /// </example>
    /// <example>
    /// <code>Set-DRSite lab-azure -ArmEndpoint https://127.0.0.1:5443/ -ArmCertificateThumbprint (Get-Content ./arm/arm.thumbprint)</code>
    /// <para>Points a Custom-cloud site (the lab's Resource Manager) at a new endpoint with its certificate pinned.</para>
    /// </example>
    /// <example>
    /// <code>Set-DRSite onprem -BandwidthLimitMiBps 20 -BandwidthSchedule '08:00-18:00=5,22:00-06:00=0'</code>
    /// <para>Caps replication at 5 MiB/s during working hours, not at all at night, and 20 MiB/s otherwise; Set-DRSite onprem -NoBandwidthLimit removes the cap.</para>
    /// </example>
    /// <example>
    /// <code>Get-DRSite dr | Set-DRSite -Role Both -PassThru</code>
    /// <para>Lets the site 'dr' be used as protected site too (for reprotect and failback), and shows the result.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Set, "DRSite", SupportsShouldProcess = true)]
    [OutputType(typeof(Site))]
    public sealed class SetDRSiteCommand : DRCmdlet
    {
        /// <summary>The name of the site to change.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(SiteNameCompleter))]
        public string Name { get; set; } = "";

        /// <summary>What the site is for: Protected, Recovery or Both.</summary>
        [Parameter]
        public SiteRole? Role { get; set; }

        /// <summary>A free text description.</summary>
        [Parameter]
        public string? Description { get; set; }

        /// <summary>A new vSphere SDK URL; a bare host name or host:port (vc01.contoso.local) means https://vc01.contoso.local/sdk.</summary>
        [Parameter]
        [ValidateNotNull]
        [SiteServerTransformation]
        public Uri? Server { get; set; }

        /// <summary>A new vSphere user name and password; for an Azure service principal, its client id and a new client secret.</summary>
        [Parameter]
        [Credential]
        [ValidateNotNull]
        public PSCredential? Credential { get; set; }

        /// <summary>The SHA-256 thumbprint of the vCenter certificate to trust; an empty string removes the pin.</summary>
        [Parameter]
        [Alias("CertificateThumbprint")]
        [AllowEmptyString]
        [ValidatePattern("^(([0-9A-Fa-f]{2}[:]?){31}[0-9A-Fa-f]{2})?$")]
        public string? Thumbprint { get; set; }

        /// <summary>The Microsoft Entra tenant id of the service principal (Azure sites).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? TenantId { get; set; }

        /// <summary>Accept any vCenter certificate ($true, only for labs) or validate it again ($false).</summary>
        [Parameter]
        public SwitchParameter SkipCertificateCheck { get; set; }

        /// <summary>Allow ($true) or refuse again ($false) a plain http:// Server URL, which sends the password in clear; warns when allowed.</summary>
        [Parameter]
        public SwitchParameter AllowInsecureHttp { get; set; }

        /// <summary>With -Server: accept a different vCenter (another about.instanceUuid) than the one the site was connected to before.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>The storage account that holds replicated disks (Azure sites).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? StorageAccount { get; set; }

        /// <summary>How to sign in to Azure (Azure sites).</summary>
        [Parameter]
        public AzureAuthentication? Authentication { get; set; }

        /// <summary>The application (client) id of the service principal or user-assigned managed identity (Azure sites).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? ClientId { get; set; }

        /// <summary>A new client secret for the service principal (Azure sites, ServicePrincipalSecret). Stored encrypted; never shown.</summary>
        [Parameter]
        [ValidateNotNull]
        public SecureString? ClientSecret { get; set; }

        /// <summary>The SHA-1 thumbprint of the service principal's certificate in the certificate store (Azure sites, ServicePrincipalCertificate).</summary>
        [Parameter]
        [ValidatePattern("^([0-9A-Fa-f]{2}[:]?){19}[0-9A-Fa-f]{2}$")]
        public string? ClientCertificateThumbprint { get; set; }

        /// <summary>The Azure cloud: AzureCloud, AzureChinaCloud, AzureUSGovernment or Custom (Azure sites). -ArmEndpoint alone means Custom.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(AzureEnvironmentCompleter))]
        public string? Environment { get; set; }

        /// <summary>A Custom cloud's Azure Resource Manager endpoint, an https URL (Azure sites).</summary>
        [Parameter]
        [ValidateNotNull]
        public Uri? ArmEndpoint { get; set; }

        /// <summary>The Entra ID authority host service principals sign in at (Azure sites); by default the cloud's, and for Custom the -ArmEndpoint's host.</summary>
        [Parameter]
        [ValidateNotNull]
        public Uri? AuthorityHost { get; set; }

        /// <summary>The SHA-256 thumbprint of a Custom -ArmEndpoint's TLS certificate to trust (Azure sites); an empty string removes the pin.</summary>
        [Parameter]
        [AllowEmptyString]
        [ValidatePattern("^(([0-9A-Fa-f]{2}[:]?){31}[0-9A-Fa-f]{2})?$")]
        public string? ArmCertificateThumbprint { get; set; }

        /// <summary>Caps the bandwidth replication uses to and from the site, all VMs of a process together, in MiB/s; 0 alone removes the cap (with -BandwidthSchedule: no cap outside its windows).</summary>
        [Parameter]
        [ValidateRange(0.0, BandwidthLimit.MaxMiBps)]
        public double? BandwidthLimitMiBps { get; set; }

        /// <summary>Time-of-day windows (local time) with their own cap, 'HH:mm-HH:mm=MiBps' separated by commas, such as '08:00-18:00=5'; an empty string removes the windows.</summary>
        [Parameter]
        [AllowEmptyString]
        public string? BandwidthSchedule { get; set; }

        /// <summary>Removes the site's bandwidth cap and its windows.</summary>
        [Parameter]
        public SwitchParameter NoBandwidthLimit { get; set; }

        /// <summary>Writes the changed site to the pipeline.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessItem()
        {
            if (!ShouldProcess($"site '{Name}'", "Change"))
            {
                return;
            }

            var bound = MyInvocation.BoundParameters;
            if (AllowInsecureHttp)
            {
                WriteWarning($"Site '{Name}' may use plain http: the vCenter password then goes over the network in clear. Use https outside a lab.");
            }
            ForItem(Name, () =>
            {
                // For an Azure site, ChangeAzure checks how the secret was given (AzureSignIn).
                var secret = Credential?.GetNetworkCredential().Password
                    ?? (ClientSecret is null ? null : new System.Net.NetworkCredential("", ClientSecret).Password);
                var identity = Server is null ? null : NewServerIdentity(secret, bound);
                var site = Await(ct => OpenVault().UpdateSiteAsync(Name, s => identity is null ? Change(s, bound) : Change(s, bound) with
                {
                    ServerInstanceUuid = identity,
                    // Another server: its datastore interface is probed again.
                    RangedWrites = null,
                }, secret, ct));
                if (PassThru)
                {
                    WriteObject(site);
                }
            });
        }

        /// <summary>Connects to the new -Server; its about.instanceUuid, after checking it is the vCenter recorded (unless -Force).</summary>
        private string? NewServerIdentity(string? secret, Dictionary<string, object> bound)
        {
            var vault = OpenVault();
            var current = Await(ct => vault.FindSiteAsync(Name, ct)) ?? throw new ObjectNotFoundException("Site", Name);
            if (current.Kind != SiteKind.VSphere)
            {
                return current.ServerInstanceUuid;
            }
            var changed = Change(current, bound);
            changed.Validate();
            var password = secret ?? Await(ct => vault.ReadSiteSecretAsync(Name, ct)) ?? "";
            WriteVerbose($"Connecting to {changed.Server} as {changed.UserName}.");
            using var client = Await(ct => SiteConnector.ConnectVSphereAsync(changed, password, ct));
            var found = client.About.InstanceUuid;
            if (current.ServerInstanceUuid != null && !string.Equals(current.ServerInstanceUuid, found, StringComparison.OrdinalIgnoreCase) && !Force)
            {
                throw new IdentityChangedException("SiteServerChanged", Name,
                    $"{changed.Server} is vCenter {found ?? "<none>"}, but site '{Name}' was vCenter {current.ServerInstanceUuid} ({current.Server}): " +
                    "the VMs protected from it would not be the same VMs there. Nothing was changed. Register the other vCenter as a new site with New-DRSite, " +
                    $"or, if it is the same vCenter rebuilt and its VMs are the ones protected, use Set-DRSite -Name {Name} -Server {changed.Server} -Force.");
            }
            return found;
        }

        private static readonly string[] AzureOnly =
        {
            nameof(TenantId), nameof(StorageAccount), nameof(Authentication), nameof(ClientId), nameof(ClientSecret), nameof(ClientCertificateThumbprint),
            nameof(Environment), nameof(ArmEndpoint), nameof(AuthorityHost), nameof(ArmCertificateThumbprint),
        };

        private static readonly string[] VSphereOnly = { nameof(Server), nameof(Thumbprint), nameof(SkipCertificateCheck), nameof(AllowInsecureHttp) };

        private Site Change(Site s, Dictionary<string, object> bound)
        {
            var misplaced = (s.Kind == SiteKind.Azure ? VSphereOnly : AzureOnly).FirstOrDefault(bound.ContainsKey);
            if (misplaced != null)
            {
                throw new InvalidSettingException("Site", s.Name, misplaced,
                    $"-{misplaced} is a setting of {(s.Kind == SiteKind.Azure ? SiteKind.VSphere : SiteKind.Azure)} sites; site '{s.Name}' is an {s.Kind} site.");
            }

            var changed = s with
            {
                Role = Role ?? s.Role,
                Description = bound.ContainsKey(nameof(Description)) ? Description : s.Description,
                BandwidthLimit = BandwidthLimitParameters.Apply(s.Name, s.BandwidthLimit, BandwidthLimitMiBps, BandwidthSchedule,
                    bound.ContainsKey(nameof(BandwidthSchedule)), NoBandwidthLimit.IsPresent),
            };
            return s.Kind == SiteKind.VSphere ? ChangeVSphere(changed, bound) : ChangeAzure(changed, bound);
        }

        private Site ChangeVSphere(Site s, Dictionary<string, object> bound) => s with
        {
            Server = Server ?? s.Server,
            UserName = Credential?.UserName ?? s.UserName,
            CertificateThumbprint = bound.ContainsKey(nameof(Thumbprint)) ? NullIfEmpty(Thumbprints.Normalize(Thumbprint)) : s.CertificateThumbprint,
            SkipCertificateCheck = bound.ContainsKey(nameof(SkipCertificateCheck)) ? SkipCertificateCheck.IsPresent : s.SkipCertificateCheck,
            AllowInsecureHttp = bound.ContainsKey(nameof(AllowInsecureHttp)) ? AllowInsecureHttp.IsPresent : s.AllowInsecureHttp,
        };

        private Site ChangeAzure(Site s, Dictionary<string, object> bound)
        {
            var signIn = new AzureSignIn(s.Name, ClientId, ClientSecret, Credential);
            var environment = AzureClouds.Canonical(Environment) ?? (ArmEndpoint != null ? AzureClouds.Custom : s.Environment);
            var custom = AzureClouds.IsCustom(environment);
            var changed = s with
            {
                TenantId = TenantId ?? s.TenantId,
                StorageAccount = StorageAccount ?? s.StorageAccount,
                Authentication = Authentication ?? s.Authentication,
                ClientId = signIn.ClientId ?? s.ClientId,
                ClientCertificateThumbprint = Thumbprints.Normalize(ClientCertificateThumbprint) ?? s.ClientCertificateThumbprint,
                Environment = environment,
                // The endpoint settings belong to a Custom cloud: moving to a public one drops them.
                ArmEndpoint = ArmEndpoint ?? (custom ? s.ArmEndpoint : null),
                AuthorityHost = AuthorityHost ?? (custom || !bound.ContainsKey(nameof(Environment)) ? s.AuthorityHost : null),
                ArmCertificateThumbprint = bound.ContainsKey(nameof(ArmCertificateThumbprint))
                    ? NullIfEmpty(Thumbprints.Normalize(ArmCertificateThumbprint))
                    : (custom ? s.ArmCertificateThumbprint : null),
            };
            signIn.RefuseSecretFor(changed.Authentication ?? AzureAuthentication.ManagedIdentity);
            return changed;
        }

        private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
    }
}
