using System.Linq;

namespace AzureSiteRecovery.DR.Core.Errors
{
    /// <summary>A vCenter/ESXi certificate that the system does not trust and that is not pinned by thumbprint.</summary>
    public sealed class CertificateUntrustedException : DRException
    {
        public CertificateUntrustedException(string server, string thumbprint, string? siteName)
            : base("VSphereCertificateUntrusted", FailureKind.Security, server, Describe(server, thumbprint, siteName))
        {
            Thumbprint = thumbprint;
        }

        /// <summary>SHA-256 of the server's certificate: upper-case hex, no separators (what -Thumbprint takes).</summary>
        public string Thumbprint { get; }

        private static string Describe(string server, string thumbprint, string? siteName)
        {
            var colons = string.Join(":", Enumerable.Range(0, thumbprint.Length / 2).Select(i => thumbprint.Substring(i * 2, 2)));
            var site = string.IsNullOrEmpty(siteName) ? "<site>" : siteName;
            return $"The certificate of '{server}' is not trusted by this system. Its SHA-256 thumbprint is {colons} ({thumbprint}). " +
                $"If that is the certificate you expect, pin it: New-DRSite ... -Thumbprint {thumbprint} (or Set-DRSite -Name {site} -Thumbprint {thumbprint}); " +
                "or install the issuing CA in the system trust store. For labs only: -SkipCertificateCheck.";
        }
    }
}
