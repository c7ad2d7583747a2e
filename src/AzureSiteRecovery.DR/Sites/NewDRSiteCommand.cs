using System;
using System.Management.Automation;
using System.Security;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites;

namespace AzureSiteRecovery.DR.Sites
{
    /// <summary>Registers a vSphere or Azure site in the vault.</summary>
    /// <remarks>
    /// A site is a place VMs are protected from or recovered to: a vCenter Server or ESXi host
    /// (-VSphere), or an Azure subscription and resource group (-Azure). Its -Role says whether
    /// protection groups may use it as protected site, recovery site or both.
    /// Passwords and client secrets are stored encrypted in the vault; the key is kept outside
    /// the vault file (a per-user key file with mode 0600 on Linux and macOS, DPAPI on Windows).
    /// A vSphere site is contacted before it is stored: a wrong password, an unreachable URL or
    /// an untrusted certificate fails early (the certificate error shows the thumbprint to pin).
    /// -SkipConnectionTest registers the site without contacting it, to stage a site before it
    /// is reachable.
    /// </remarks>
    /// <example>
    /// <code>$cred = Get-Credential administrator@vsphere.local
    /// New-DRSite -Name onprem -VSphere -Server https://vc01.contoso.local/sdk -Credential $cred -Role Protected</code>
    /// <para>Registers the production vCenter as a protected site.</para>
    /// </example>
    /// <example>
    /// <code>New-DRSite -Name azure-weu -Azure -TenantId $tenant -SubscriptionId $sub -ResourceGroup rg-dr -Location westeurope -StorageAccount stdrcache -Authentication ManagedIdentity -Role Recovery</code>
    /// <para>Registers an Azure recovery site that a runbook reaches with its managed identity.</para>
    /// </example>
    [Cmdlet(VerbsCommon.New, "DRSite", SupportsShouldProcess = true, DefaultParameterSetName = VSphereSet)]
    [OutputType(typeof(Site))]
    public sealed class NewDRSiteCommand : DRCmdlet
    {
        private const string VSphereSet = "VSphere";
        private const string AzureSet = "Azure";

        /// <summary>The name of the site, used by protection groups and recovery plans (letters, digits, '.', '_', '-').</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Name { get; set; } = "";

        /// <summary>Registers a vCenter Server or ESXi host.</summary>
        [Parameter(Mandatory = true, ParameterSetName = VSphereSet)]
        public SwitchParameter VSphere { get; set; }

        /// <summary>Registers an Azure subscription and resource group.</summary>
        [Parameter(Mandatory = true, ParameterSetName = AzureSet)]
        public SwitchParameter Azure { get; set; }

        /// <summary>The vSphere SDK URL, such as https://vc01.contoso.local/sdk; a bare host name or host:port (vc01.contoso.local) means https://vc01.contoso.local/sdk.</summary>
        [Parameter(Mandatory = true, ParameterSetName = VSphereSet)]
        [ValidateNotNull]
        [SiteServerTransformation]
        public Uri? Server { get; set; }

        /// <summary>The vSphere user name and password. The password is stored encrypted.</summary>
        [Parameter(Mandatory = true, ParameterSetName = VSphereSet)]
        [Credential]
        [ValidateNotNull]
        public PSCredential? Credential { get; set; }

        /// <summary>The SHA-256 thumbprint of the vCenter certificate to trust even when the system does not (certificate pinning).</summary>
        [Parameter(ParameterSetName = VSphereSet)]
        [Alias("CertificateThumbprint")]
        [ValidatePattern("^([0-9A-Fa-f]{2}[:]?){31}[0-9A-Fa-f]{2}$")]
        public string? Thumbprint { get; set; }

        /// <summary>Accepts any vCenter certificate. Only for labs: prefer -Thumbprint.</summary>
        [Parameter(ParameterSetName = VSphereSet)]
        public SwitchParameter SkipCertificateCheck { get; set; }

        /// <summary>Allows a plain http:// -Server URL, which sends the vCenter password in clear. Only for labs on a trusted network; warns.</summary>
        [Parameter(ParameterSetName = VSphereSet)]
        public SwitchParameter AllowInsecureHttp { get; set; }

        /// <summary>The Microsoft Entra tenant id; required for service principals.</summary>
        [Parameter(ParameterSetName = AzureSet)]
        [ValidateNotNullOrEmpty]
        public string? TenantId { get; set; }

        /// <summary>The Azure subscription id recovered VMs are created in.</summary>
        [Parameter(Mandatory = true, ParameterSetName = AzureSet)]
        [ValidateNotNullOrEmpty]
        public string? SubscriptionId { get; set; }

        /// <summary>The resource group recovered VMs, disks and NICs are created in.</summary>
        [Parameter(Mandatory = true, ParameterSetName = AzureSet)]
        [ValidateNotNullOrEmpty]
        public string? ResourceGroup { get; set; }

        /// <summary>The Azure region, such as westeurope.</summary>
        [Parameter(Mandatory = true, ParameterSetName = AzureSet)]
        [ValidateNotNullOrEmpty]
        public string? Location { get; set; }

        /// <summary>The storage account that holds replicated disks.</summary>
        [Parameter(ParameterSetName = AzureSet)]
        [ValidateNotNullOrEmpty]
        public string? StorageAccount { get; set; }

        /// <summary>How to sign in to Azure: ManagedIdentity (the default), ServicePrincipalSecret, ServicePrincipalCertificate or CurrentContext.</summary>
        [Parameter(ParameterSetName = AzureSet)]
        public AzureAuthentication Authentication { get; set; } = AzureAuthentication.ManagedIdentity;

        /// <summary>The application (client) id of the service principal, or of a user-assigned managed identity.</summary>
        [Parameter(ParameterSetName = AzureSet)]
        [ValidateNotNullOrEmpty]
        public string? ClientId { get; set; }

        /// <summary>The client secret of the service principal (ServicePrincipalSecret). Stored encrypted.</summary>
        [Parameter(ParameterSetName = AzureSet)]
        [ValidateNotNull]
        public SecureString? ClientSecret { get; set; }

        /// <summary>The thumbprint of the service principal's certificate in the certificate store (ServicePrincipalCertificate).</summary>
        [Parameter(ParameterSetName = AzureSet)]
        [ValidateNotNullOrEmpty]
        public string? ClientCertificateThumbprint { get; set; }

        /// <summary>What the site is for: Protected, Recovery or Both (the default, as after a failback a site is both).</summary>
        [Parameter]
        public SiteRole Role { get; set; } = SiteRole.Both;

        /// <summary>A free text description.</summary>
        [Parameter]
        public string? Description { get; set; }

        /// <summary>Registers the site without contacting it.</summary>
        [Parameter]
        public SwitchParameter SkipConnectionTest { get; set; }

        protected override void ProcessItem()
        {
            Site site;
            string? secret;
            if (ParameterSetName == VSphereSet)
            {
                if (SkipCertificateCheck)
                {
                    WriteWarning($"Site '{Name}' will accept any certificate from {Server}; pin it with -Thumbprint instead outside a lab.");
                }

                if (AllowInsecureHttp)
                {
                    WriteWarning($"Site '{Name}' may use plain http: the vCenter password then goes over the network in clear. Use https outside a lab.");
                }

                site = new Site
                {
                    Name = Name,
                    Kind = SiteKind.VSphere,
                    Role = Role,
                    Description = Description,
                    Server = Server,
                    UserName = Credential!.UserName,
                    CertificateThumbprint = Thumbprint?.Replace(":", "").ToUpperInvariant(),
                    SkipCertificateCheck = SkipCertificateCheck,
                    AllowInsecureHttp = AllowInsecureHttp,
                };
                secret = Credential.GetNetworkCredential().Password;
            }
            else
            {
                site = new Site
                {
                    Name = Name,
                    Kind = SiteKind.Azure,
                    Role = Role,
                    Description = Description,
                    TenantId = TenantId,
                    SubscriptionId = SubscriptionId,
                    ResourceGroup = ResourceGroup,
                    Location = Location,
                    StorageAccount = StorageAccount,
                    Authentication = Authentication,
                    ClientId = ClientId,
                    ClientCertificateThumbprint = ClientCertificateThumbprint,
                };
                secret = ClientSecret is null ? null : new System.Net.NetworkCredential("", ClientSecret).Password;
            }

            if (!ShouldProcess($"{site.Kind} site '{Name}' ({site.Endpoint})", "Register"))
            {
                return;
            }

            ForItem(Name, () =>
            {
                // Refused before any connection: an http URL without -AllowInsecureHttp would send the password in clear.
                site.Validate();
                if (!SkipConnectionTest)
                {
                    site = TestConnection(site, secret);
                }

                WriteObject(Await(ct => OpenVault().AddSiteAsync(site, secret, ct)));
            });
        }

        // Fails early (wrong password, unreachable, untrusted certificate) so nothing unusable is stored; the vCenter's identity is recorded.
        private Site TestConnection(Site site, string? secret)
        {
            if (site.Kind != SiteKind.VSphere)
            {
                WriteWarning($"Connection tests for {site.Kind} sites are not available in this version; site '{Name}' is registered without contacting it.");
                return site;
            }

            WriteVerbose($"Connecting to {site.Server} as {site.UserName}.");
            using var client = Await(ct => SiteConnector.ConnectVSphereAsync(site, secret ?? "", ct));
            WriteVerbose($"Connected: {client.About.FullName} (API {client.About.ApiVersion}, instance {client.About.InstanceUuid}).");
            return site with { ServerInstanceUuid = client.About.InstanceUuid };
        }
    }
}
