using System;
using System.Collections.Generic;
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
    /// replaces the stored secret. The change is one atomic step in the vault: a concurrent
    /// change by another process is never lost. Sites cannot be renamed or change kind.
    /// A new -Server of a vSphere site is connected to first: a different vCenter (another
    /// about.instanceUuid than the one recorded) is refused with SiteServerChanged unless -Force,
    /// as the protected VMs' morefs would then name other VMs.
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

        /// <summary>A new vSphere user name and password.</summary>
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

        /// <summary>A new client secret for the service principal (Azure sites).</summary>
        [Parameter]
        [ValidateNotNull]
        public SecureString? ClientSecret { get; set; }

        /// <summary>Writes the changed site to the pipeline.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessItem()
        {
            if (!ShouldProcess($"site '{Name}'", "Change"))
            {
                return;
            }

            string? secret = Credential?.GetNetworkCredential().Password
                ?? (ClientSecret is null ? null : new System.Net.NetworkCredential("", ClientSecret).Password);
            var bound = MyInvocation.BoundParameters;
            if (AllowInsecureHttp)
            {
                WriteWarning($"Site '{Name}' may use plain http: the vCenter password then goes over the network in clear. Use https outside a lab.");
            }
            ForItem(Name, () =>
            {
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

        private Site Change(Site s, Dictionary<string, object> bound) => s with
        {
            Role = Role ?? s.Role,
            Description = bound.ContainsKey(nameof(Description)) ? Description : s.Description,
            Server = Server ?? s.Server,
            UserName = Credential?.UserName ?? s.UserName,
            CertificateThumbprint = bound.ContainsKey(nameof(Thumbprint))
                ? (string.IsNullOrEmpty(Thumbprint) ? null : Thumbprint!.Replace(":", "").ToUpperInvariant())
                : s.CertificateThumbprint,
            SkipCertificateCheck = bound.ContainsKey(nameof(SkipCertificateCheck)) ? SkipCertificateCheck.IsPresent : s.SkipCertificateCheck,
            StorageAccount = StorageAccount ?? s.StorageAccount,
            Authentication = Authentication ?? s.Authentication,
            ClientId = ClientId ?? s.ClientId,
            AllowInsecureHttp = bound.ContainsKey(nameof(AllowInsecureHttp)) ? AllowInsecureHttp.IsPresent : s.AllowInsecureHttp,
        };
    }
}
