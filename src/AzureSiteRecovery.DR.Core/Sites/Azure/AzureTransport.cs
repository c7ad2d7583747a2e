using System;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Azure.Core;
using Azure.Core.Pipeline;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using AzureSiteRecovery.DR.Core.Transfers.Bandwidth;
using AzureSiteRecovery.DR.Core.Transfers.Retries;

namespace AzureSiteRecovery.DR.Core.Sites.Azure
{
    /// <summary>
    /// The HTTP transport of an Azure site. A custom cloud gets one HttpClient whose handler also accepts
    /// the certificate with the SHA-256 ArmCertificateThumbprint (the lab), and remembers the thumbprint of
    /// a certificate it refused (so the error can name it), used by Resource Manager, the credentials and
    /// storage alike; the public clouds use the SDK's default transport (their certificates rotate). A site with a bandwidth
    /// cap gets its own HttpClient in any cloud, whose handler paces every body (<see cref="PacedHandler"/>).
    /// </summary>
    internal sealed class AzureTransport : IDisposable
    {
        private readonly string? pinned;
        private readonly HttpClient? http;
        private volatile string? refused;

        public AzureTransport(string? thumbprint, bool customCloud, BandwidthLimiter? limiter = null)
        {
            pinned = string.IsNullOrWhiteSpace(thumbprint) ? null : thumbprint!.Replace(":", "").Replace(" ", "").Replace("-", "").ToUpperInvariant();
            if (pinned is null && !customCloud && limiter is null) return;
            var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = Validate };
            HttpMessageHandler chain = limiter is null ? handler : new PacedHandler(limiter, handler);
            // No client-wide timeout: the SDK's retry policy times each try out (NetworkTimeout).
            http = new HttpClient(chain, disposeHandler: true) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
            Transport = new HttpClientTransport(http);
        }

        /// <summary>The pinning transport; null: the SDK's default.</summary>
        public HttpPipelineTransport? Transport { get; }

        /// <summary>SHA-256 of the last certificate refused (neither trusted by the system nor pinned).</summary>
        public string? RefusedThumbprint => refused;

        /// <summary>The site's transport, and the module's one retry budget in place of the SDK's own defaults (not stacked on ours).</summary>
        public void Apply(ClientOptions options)
        {
            if (Transport != null) options.Transport = Transport;
            RetrySettings.Default.ApplyTo(options.Retry);
        }

        private bool Validate(HttpRequestMessage request, X509Certificate2? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            if (errors == SslPolicyErrors.None) return true;
            if (certificate is null) return false;
            var thumbprint = SoapTransport.Sha256Hex(certificate.RawData);
            if (pinned != null && string.Equals(thumbprint, pinned, StringComparison.Ordinal)) return true;
            refused = thumbprint;
            return false;
        }

        public void Dispose() => http?.Dispose();
    }
}
