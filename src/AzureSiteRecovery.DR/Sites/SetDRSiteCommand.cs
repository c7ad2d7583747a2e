using System;
using System.Management.Automation;
using System.Security;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Sites
{
    /// <summary>Changes a registered site.</summary>
    /// <remarks>
    /// Changes the settings given and keeps the others. A new -Credential or -ClientSecret
    /// replaces the stored secret. The change is one atomic step in the vault: a concurrent
    /// change by another process is never lost. Sites cannot be renamed or change kind.
    /// </remarks>
    /// <example>
    /// <code>Set-DRSite onprem -Credential (Get-Credential)</code>
    /// <para>Stores a new vCenter password for the site 'onprem'.</para>
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

        /// <summary>A new vSphere SDK URL.</summary>
        [Parameter]
        [ValidateNotNull]
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
            ForItem(Name, () =>
            {
                var site = Await(ct => OpenVault().UpdateSiteAsync(Name, s => s with
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
                }, secret, ct));
                if (PassThru)
                {
                    WriteObject(site);
                }
            });
        }
    }
}
