using System;
using System.Management.Automation;
using System.Security;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites;
using AzureSiteRecovery.DR.Core.Sites.Azure;

namespace AzureSiteRecovery.DR.Sites
{
    /// <summary>Registers a vSphere or Azure site in the vault.</summary>
    /// <remarks>
    /// A site is a place VMs are protected from or recovered to: a vCenter Server or ESXi host
    /// (-VSphere), or an Azure subscription and resource group (-Azure). Its -Role says whether
    /// protection groups may use it as protected site, recovery site or both.
    /// Passwords and client secrets are stored encrypted in the vault; the key is kept outside
    /// the vault file (a per-user key file with mode 0600 on Linux and macOS, DPAPI on Windows).
    /// An Azure site signs in with -Authentication: ManagedIdentity (the default: the system-assigned
    /// identity of the Automation account or VM, or a user-assigned one named by -ClientId),
    /// ServicePrincipalSecret (-TenantId, and -ClientId with -ClientSecret, or -Credential whose user
    /// name is the client id and password the secret), ServicePrincipalCertificate (-TenantId,
    /// -ClientId, -ClientCertificateThumbprint of a certificate in the certificate store), or
    /// CurrentContext (the signed-in Azure CLI or Azure PowerShell of an admin at a shell).
    /// -Environment picks the cloud (AzureCloud, AzureChinaCloud, AzureUSGovernment, or Custom with
    /// -ArmEndpoint and, optionally, -AuthorityHost and -ArmCertificateThumbprint).
    /// A VM recovered into Azure boots only when its guest has the Hyper-V drivers (Windows: storvsc
    /// and vmbus set to start at boot; Linux: hv_vmbus and hv_storvsc in the initrd): a prerequisite
    /// of the guest; the module injects no drivers.
    /// A site is contacted before it is stored: a wrong password, an unreachable URL or an
    /// untrusted certificate fails early (the certificate error shows the thumbprint to pin); an
    /// Azure site signs in and reads its resource group and storage account.
    /// -BandwidthLimitMiBps caps the bandwidth replication uses to and from the site (every transfer of
    /// every VM a process replicates, together), as ASR's process-server throttling; -BandwidthSchedule
    /// gives time-of-day windows with their own cap ('08:00-18:00=5', local time).
    /// -SkipConnectionTest registers the site without contacting it, to stage a site before it
    /// is reachable.
    /// </remarks>
    /// <example>
    /// <code>$cred = Get-Credential administrator@vsphere.local
    /// New-DRSite -Name onprem -VSphere -Server https://vc01.contoso.local/sdk -Credential $cred -Role Protected</code>
    /// <para>Registers the production vCenter as a protected site.</para>
    /// </example>
    /// <example>
    /// <code>New-DRSite -Name azure-weu -Azure -SubscriptionId $sub -ResourceGroup rg-dr -Location westeurope -StorageAccount stdrreplica -Role Recovery</code>
    /// <para>Registers an Azure recovery site that an Azure Automation runbook reaches with its system-assigned managed identity (the default -Authentication ManagedIdentity).</para>
    /// </example>
    /// <example>
    /// <code>New-DRSite -Name azure-weu -Azure -SubscriptionId $sub -ResourceGroup rg-dr -Location westeurope -StorageAccount stdrreplica -ClientId 5b1e0f0c-1111-2222-3333-444455556666 -Role Recovery</code>
    /// <para>The same with a user-assigned managed identity, named by its client id.</para>
    /// </example>
    /// <example>
    /// <code>$sp = Get-Credential -UserName 7f3c2a10-aaaa-bbbb-cccc-0123456789ab -Message 'Client secret'
    /// New-DRSite -Name azure-weu -Azure -Authentication ServicePrincipalSecret -TenantId $tenant -Credential $sp -SubscriptionId $sub -ResourceGroup rg-dr -Location westeurope -StorageAccount stdrreplica -Role Recovery</code>
    /// <para>Signs in as a service principal: the user name is its application (client) id, the password its client secret, which the vault keeps encrypted (-ClientId with -ClientSecret does the same).</para>
    /// </example>
    /// <example>
    /// <code>New-DRSite -Name azure-weu -Azure -Authentication ServicePrincipalCertificate -TenantId $tenant -ClientId $appId -ClientCertificateThumbprint 0123456789ABCDEF0123456789ABCDEF01234567 -SubscriptionId $sub -ResourceGroup rg-dr -Location westeurope -Role Recovery</code>
    /// <para>Signs in as a service principal with a certificate from the certificate store (CurrentUser\My, then LocalMachine\My), found by its thumbprint.</para>
    /// </example>
    /// <example>
    /// <code>New-DRSite -Name lab-azure -Azure -Environment Custom -ArmEndpoint https://127.0.0.1:5443/ -ArmCertificateThumbprint (Get-Content ./arm/arm.thumbprint) -SubscriptionId $sub -ResourceGroup rg-dr -Location westeurope -StorageAccount drreplica -Role Recovery</code>
    /// <para>Registers the lab's Resource Manager (a custom cloud) with its self-signed certificate pinned by its SHA-256 thumbprint.</para>
    /// </example>
    /// <example>
    /// <code>New-DRSite -Name onprem -VSphere -Server vc01.contoso.local -Credential $cred -BandwidthLimitMiBps 20 -BandwidthSchedule '08:00-18:00=5'</code>
    /// <para>Caps replication from the vCenter at 5 MiB/s during working hours and 20 MiB/s otherwise, for all VMs a process replicates together.</para>
    /// </example>
    /// <example>
    /// <code>New-DRSite -Name azure-cn -Azure -Environment AzureChinaCloud -Authentication CurrentContext -SubscriptionId $sub -ResourceGroup rg-dr -Location chinanorth3 -Role Recovery</code>
    /// <para>An admin at a shell: uses whatever Azure CLI or Azure PowerShell is signed in with, in Azure China.</para>
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

        /// <summary>The vSphere user name and password; for an Azure service principal (ServicePrincipalSecret), its client id as user name and its client secret as password. The password is stored encrypted.</summary>
        [Parameter(Mandatory = true, ParameterSetName = VSphereSet)]
        [Parameter(ParameterSetName = AzureSet)]
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

        /// <summary>How to sign in to Azure: ManagedIdentity (the default; system-assigned, or user-assigned with -ClientId), ServicePrincipalSecret, ServicePrincipalCertificate or CurrentContext (Azure CLI / Azure PowerShell). -ClientSecret or -Credential alone mean ServicePrincipalSecret, -ClientCertificateThumbprint alone ServicePrincipalCertificate.</summary>
        [Parameter(ParameterSetName = AzureSet)]
        public AzureAuthentication Authentication { get; set; } = AzureAuthentication.ManagedIdentity;

        /// <summary>The Azure cloud: AzureCloud (the default), AzureChinaCloud, AzureUSGovernment, or Custom (another cloud, or the lab: give -ArmEndpoint). -ArmEndpoint alone means Custom.</summary>
        [Parameter(ParameterSetName = AzureSet)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(AzureEnvironmentCompleter))]
        public string? Environment { get; set; }

        /// <summary>A Custom cloud's Azure Resource Manager endpoint, an https URL such as https://management.contoso.local/.</summary>
        [Parameter(ParameterSetName = AzureSet)]
        [ValidateNotNull]
        public Uri? ArmEndpoint { get; set; }

        /// <summary>The Entra ID authority host service principals sign in at; by default the cloud's (login.microsoftonline.com for AzureCloud), and for Custom the -ArmEndpoint's host.</summary>
        [Parameter(ParameterSetName = AzureSet)]
        [ValidateNotNull]
        public Uri? AuthorityHost { get; set; }

        /// <summary>The SHA-256 thumbprint of a Custom -ArmEndpoint's TLS certificate to trust even when the system does not (certificate pinning, e.g. the lab's self-signed certificate).</summary>
        [Parameter(ParameterSetName = AzureSet)]
        [ValidatePattern("^([0-9A-Fa-f]{2}[:]?){31}[0-9A-Fa-f]{2}$")]
        public string? ArmCertificateThumbprint { get; set; }

        /// <summary>The application (client) id of the service principal, or of a user-assigned managed identity.</summary>
        [Parameter(ParameterSetName = AzureSet)]
        [ValidateNotNullOrEmpty]
        public string? ClientId { get; set; }

        /// <summary>The client secret of the service principal (ServicePrincipalSecret), with -ClientId. Stored encrypted; never shown.</summary>
        [Parameter(ParameterSetName = AzureSet)]
        [ValidateNotNull]
        public SecureString? ClientSecret { get; set; }

        /// <summary>The SHA-1 thumbprint of the service principal's certificate in the certificate store (ServicePrincipalCertificate), as Get-ChildItem Cert:\CurrentUser\My shows it.</summary>
        [Parameter(ParameterSetName = AzureSet)]
        [ValidatePattern("^([0-9A-Fa-f]{2}[:]?){19}[0-9A-Fa-f]{2}$")]
        public string? ClientCertificateThumbprint { get; set; }

        /// <summary>What the site is for: Protected, Recovery or Both (the default, as after a failback a site is both).</summary>
        [Parameter]
        public SiteRole Role { get; set; } = SiteRole.Both;

        /// <summary>A free text description.</summary>
        [Parameter]
        public string? Description { get; set; }

        /// <summary>Caps the bandwidth replication uses to and from the site, all VMs of a process together, in MiB/s (0: no cap outside the -BandwidthSchedule windows).</summary>
        [Parameter]
        [ValidateRange(0.0, BandwidthLimit.MaxMiBps)]
        public double? BandwidthLimitMiBps { get; set; }

        /// <summary>Time-of-day windows (local time of the replicating process) with their own cap, 'HH:mm-HH:mm=MiBps' separated by commas, such as '08:00-18:00=5' (0 in a window: no cap then); outside them -BandwidthLimitMiBps applies.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? BandwidthSchedule { get; set; }

        /// <summary>Registers the site without contacting it.</summary>
        [Parameter]
        public SwitchParameter SkipConnectionTest { get; set; }

        protected override void ProcessItem()
        {
            if (ParameterSetName == VSphereSet && SkipCertificateCheck)
            {
                WriteWarning($"Site '{Name}' will accept any certificate from {Server}; pin it with -Thumbprint instead outside a lab.");
            }
            if (ParameterSetName == VSphereSet && AllowInsecureHttp)
            {
                WriteWarning($"Site '{Name}' may use plain http: the vCenter password then goes over the network in clear. Use https outside a lab.");
            }

            ForItem(Name, () =>
            {
                var (site, secret) = ParameterSetName == VSphereSet ? VSphereSite() : AzureSite();
                site = site with
                {
                    BandwidthLimit = BandwidthLimitParameters.Apply(Name, null, BandwidthLimitMiBps, BandwidthSchedule, BandwidthSchedule != null, noLimit: false),
                };
                // Refused before any connection: an http URL without -AllowInsecureHttp would send the password in clear.
                (site with { HasSecret = secret is not null }).Validate();
                if (!ShouldProcess($"{site.Kind} site '{Name}' ({site.Endpoint})", "Register"))
                {
                    return;
                }

                if (!SkipConnectionTest)
                {
                    site = TestConnection(site, secret);
                }

                WriteObject(Await(ct => OpenVault().AddSiteAsync(site, secret, ct)));
            });
        }

        private (Site Site, string? Secret) VSphereSite() => (new Site
        {
            Name = Name,
            Kind = SiteKind.VSphere,
            Role = Role,
            Description = Description,
            Server = Server,
            UserName = Credential!.UserName,
            CertificateThumbprint = Thumbprints.Normalize(Thumbprint),
            SkipCertificateCheck = SkipCertificateCheck,
            AllowInsecureHttp = AllowInsecureHttp,
        }, Credential.GetNetworkCredential().Password);

        private (Site Site, string? Secret) AzureSite()
        {
            var signIn = new AzureSignIn(Name, ClientId, ClientSecret, Credential);
            // A secret or a certificate alone says which service principal sign-in is meant.
            var authentication = MyInvocation.BoundParameters.ContainsKey(nameof(Authentication)) ? Authentication
                : signIn.Secret != null ? AzureAuthentication.ServicePrincipalSecret
                : ClientCertificateThumbprint != null ? AzureAuthentication.ServicePrincipalCertificate
                : Authentication;
            signIn.RefuseSecretFor(authentication);
            return (new Site
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
                Authentication = authentication,
                ClientId = signIn.ClientId,
                ClientCertificateThumbprint = Thumbprints.Normalize(ClientCertificateThumbprint),
                Environment = AzureClouds.Canonical(Environment) ?? (ArmEndpoint is null ? AzureClouds.AzureCloud : AzureClouds.Custom),
                ArmEndpoint = ArmEndpoint,
                AuthorityHost = AuthorityHost,
                ArmCertificateThumbprint = Thumbprints.Normalize(ArmCertificateThumbprint),
            }, signIn.Secret);
        }

        // Fails early (wrong password, unreachable, untrusted certificate, no access) so nothing unusable is stored; the vCenter's identity is recorded.
        private Site TestConnection(Site site, string? secret)
        {
            if (site.Kind == SiteKind.Azure)
            {
                WriteVerbose($"Signing in to {site.GetArmEndpoint()} ({site.Authentication}) for resource group {site.ResourceGroup}.");
                using var connection = AzureSiteConnection.Open(site with { HasSecret = secret is not null }, secret);
                var found = Await(ct => AzureSiteCheck.RunAsync(connection, ct));
                WriteVerbose($"Found {found.ResourceGroupId}{(found.BlobEndpoint is null ? "" : $" and the storage account at {found.BlobEndpoint}")}.");
                return site;
            }

            WriteVerbose($"Connecting to {site.Server} as {site.UserName}.");
            using var client = Await(ct => SiteConnector.ConnectVSphereAsync(site, secret ?? "", ct));
            WriteVerbose($"Connected: {client.About.FullName} (API {client.About.ApiVersion}, instance {client.About.InstanceUuid}).");
            return site with { ServerInstanceUuid = client.About.InstanceUuid };
        }
    }
}
