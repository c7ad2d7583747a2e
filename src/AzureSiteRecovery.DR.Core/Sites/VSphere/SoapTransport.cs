using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using System.Xml;
using System.Xml.Linq;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Transfers.Bandwidth;

namespace AzureSiteRecovery.DR.Core.Sites.VSphere
{
    /// <summary>
    /// The bottom layer: one HttpClient (session cookie, certificate policy) that posts SOAP
    /// envelopes to /sdk, turns faults into <see cref="VSphereFaultException"/> and network
    /// failures into <see cref="SiteUnreachableException"/> / <see cref="CertificateUntrustedException"/>.
    /// The datastore file transfers share its client, so they carry the session cookie.
    /// </summary>
    internal sealed class SoapTransport : IDisposable
    {
        private static readonly XmlReaderSettings ReaderSettings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            CloseInput = false,
        };

        private readonly HttpClient http;
        private readonly string? pinnedThumbprint;
        private readonly bool skipCertificateCheck;
        private readonly string? siteName;
        // Set by the certificate callback when it refuses a certificate, so the failure can name the thumbprint.
        private volatile string? refusedThumbprint;

        public SoapTransport(VSphereEndpoint endpoint, string? siteName)
        {
            if (endpoint is null) throw new ArgumentNullException(nameof(endpoint));
            if (!endpoint.Server.IsAbsoluteUri || (endpoint.Server.Scheme != Uri.UriSchemeHttps && endpoint.Server.Scheme != Uri.UriSchemeHttp))
            {
                throw new ArgumentException($"The vSphere server '{endpoint.Server}' must be an absolute http or https URL.", nameof(endpoint));
            }
            SdkUrl = endpoint.Server.AbsolutePath == "/" ? new Uri(endpoint.Server, "/sdk") : endpoint.Server;
            BaseUrl = new Uri(SdkUrl.GetLeftPart(UriPartial.Authority) + "/");
            pinnedThumbprint = NormalizeThumbprint(endpoint.Thumbprint);
            skipCertificateCheck = endpoint.SkipCertificateCheck;
            this.siteName = siteName;

            var handler = new HttpClientHandler
            {
                CookieContainer = new CookieContainer(),
                UseCookies = true,
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate,
                ServerCertificateCustomValidationCallback = ValidateCertificate,
            };
            // The site's bandwidth cap paces every body to and from the server, shared with all connections of the process to it.
            var limiter = BandwidthLimiter.ForLink(BandwidthLimiter.VSphereLink(BaseUrl), endpoint.BandwidthLimit);
            HttpMessageHandler chain = limiter is null ? handler : new PacedHandler(limiter, handler);
            // No client-wide timeout: disk transfers run for hours; SOAP calls get CallTimeout each.
            http = new HttpClient(chain, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        }

        public Uri SdkUrl { get; }

        /// <summary>scheme://host:port/ of the server, for /folder URLs.</summary>
        public Uri BaseUrl { get; }

        /// <summary>Sent as SOAPAction urn:vim25/&lt;version&gt;; set to the server's apiVersion after RetrieveServiceContent.</summary>
        public string ApiVersion { get; set; } = "6.5";

        public TimeSpan CallTimeout { get; set; } = TimeSpan.FromMinutes(5);

        /// <summary>Posts one request element (e.g. &lt;Login&gt;) and returns the response element (&lt;LoginResponse&gt;).</summary>
        public async Task<XElement> InvokeAsync(XElement request, CancellationToken ct)
        {
            var envelope = new XElement(VimXml.Soap + "Envelope",
                new XAttribute(XNamespace.Xmlns + "soapenv", VimXml.Soap),
                new XAttribute(XNamespace.Xmlns + "xsi", VimXml.Xsi),
                new XAttribute(XNamespace.Xmlns + "xsd", VimXml.Xsd),
                new XElement(VimXml.Soap + "Body", request));

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(CallTimeout);
            using var message = new HttpRequestMessage(HttpMethod.Post, SdkUrl) { Content = new ByteArrayContent(Serialize(envelope)) };
            message.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/xml") { CharSet = "utf-8" };
            message.Headers.TryAddWithoutValidation("SOAPAction", "urn:vim25/" + ApiVersion);

            using var response = await SendAsync(message, HttpCompletionOption.ResponseContentRead, timeout.Token, ct).ConfigureAwait(false);
            XDocument document;
            try
            {
                using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
                using var reader = XmlReader.Create(stream, ReaderSettings);
                document = XDocument.Load(reader);
            }
            catch (XmlException e)
            {
                throw NotAnSdk($"HTTP {(int)response.StatusCode}, not a SOAP envelope: {e.Message}", e);
            }

            var body = document.Root?.Element(VimXml.Soap + "Body")?.Elements().FirstOrDefault();
            if (body is null)
            {
                throw NotAnSdk($"HTTP {(int)response.StatusCode}, no SOAP body", null);
            }
            if (body.Name == VimXml.Soap + "Fault")
            {
                throw ParseFault(body);
            }
            if (!response.IsSuccessStatusCode)
            {
                throw NotAnSdk($"HTTP {(int)response.StatusCode}", null);
            }
            return body;
        }

        /// <summary>Sends any request (SOAP or datastore file) and maps network and certificate failures.</summary>
        public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage message, HttpCompletionOption completion, CancellationToken requestToken, CancellationToken callerToken)
        {
            try
            {
                return await http.SendAsync(message, completion, requestToken).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                throw MapFailure(e);
            }
            catch (OperationCanceledException e) when (!callerToken.IsCancellationRequested)
            {
                throw new SiteUnreachableException("VSphereUnreachable", SdkUrl.ToString(),
                    $"vSphere at '{SdkUrl}'{SiteSuffix()} did not answer within {CallTimeout.TotalSeconds:0} s.", e);
            }
        }

        public Task<HttpResponseMessage> SendAsync(HttpRequestMessage message, HttpCompletionOption completion, CancellationToken ct) =>
            SendAsync(message, completion, ct, ct);

        /// <summary>The vim25 fault of a SOAP Fault element, or of a LocalizedMethodFault of a failed task.</summary>
        public static VSphereFaultException ParseFault(XElement fault, string? target = null)
        {
            var message = fault.Element("faultstring")?.Value ?? "";
            var detail = fault.Element("detail")?.Elements().FirstOrDefault();
            var name = detail is null ? "RuntimeFault" : VimXml.TypeOf(detail) ?? StripFault(detail.Name.LocalName);
            target ??= detail?.Element(VimXml.Vim + "obj")?.Value;
            return new VSphereFaultException(name, message, target);
        }

        public static string Sha256Hex(byte[] data)
        {
            using var sha = SHA256.Create();
            return string.Concat(sha.ComputeHash(data).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
        }

        public void Dispose() => http.Dispose();

        private static string StripFault(string name) => name.EndsWith("Fault", StringComparison.Ordinal) && name.Length > 5 ? name.Substring(0, name.Length - 5) : name;

        private static string? NormalizeThumbprint(string? thumbprint) =>
            string.IsNullOrWhiteSpace(thumbprint) ? null : thumbprint!.Replace(":", "").Replace(" ", "").Replace("-", "").ToUpperInvariant();

        private static byte[] Serialize(XElement envelope)
        {
            using var buffer = new MemoryStream();
            using (var writer = XmlWriter.Create(buffer, new XmlWriterSettings { Encoding = new UTF8Encoding(false) }))
            {
                envelope.WriteTo(writer);
            }
            return buffer.ToArray();
        }

        private bool ValidateCertificate(HttpRequestMessage request, X509Certificate2? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            if (errors == SslPolicyErrors.None || skipCertificateCheck)
            {
                return true;
            }
            if (certificate is null)
            {
                return false;
            }
            var thumbprint = Sha256Hex(certificate.RawData);
            if (pinnedThumbprint != null && string.Equals(pinnedThumbprint, thumbprint, StringComparison.Ordinal))
            {
                return true;
            }
            refusedThumbprint = thumbprint;
            return false;
        }

        private DRException MapFailure(HttpRequestException e)
        {
            var refused = refusedThumbprint;
            if (refused != null)
            {
                return new CertificateUntrustedException(SdkUrl.ToString(), refused, siteName);
            }
            Exception inner = e;
            while (inner.InnerException != null) inner = inner.InnerException;
            return new SiteUnreachableException("VSphereUnreachable", SdkUrl.ToString(),
                $"Cannot reach vSphere at '{SdkUrl}'{SiteSuffix()}: {inner.Message}. Check the URL, the name resolution and the firewall, and that the server is running.", e);
        }

        private SiteUnreachableException NotAnSdk(string what, Exception? inner) =>
            new SiteUnreachableException("VSphereUnreachable", SdkUrl.ToString(),
                $"'{SdkUrl}'{SiteSuffix()} did not answer as a vSphere SDK endpoint ({what}). The URL usually ends in /sdk.", inner);

        private string SiteSuffix() => string.IsNullOrEmpty(siteName) ? "" : $" (site '{siteName}')";
    }
}
