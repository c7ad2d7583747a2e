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
using AzureSiteRecovery.DR.Core.Transfers.Retries;

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
            // No client-wide timeout: disk transfers run for hours; each try is bounded by the stall timeout instead.
            http = new HttpClient(chain, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        }

        public Uri SdkUrl { get; }

        /// <summary>scheme://host:port/ of the server, for /folder URLs.</summary>
        public Uri BaseUrl { get; }

        /// <summary>Sent as SOAPAction urn:vim25/&lt;version&gt;; set to the server's apiVersion after RetrieveServiceContent.</summary>
        public string ApiVersion { get; set; } = "6.5";

        /// <summary>
        /// Posts one request element (e.g. &lt;Login&gt;) and returns the response element (&lt;LoginResponse&gt;).
        /// Transient faults are retried (<see cref="Retrier"/>): any call that only reads, and a call that changes
        /// something when the server provably did not act on it; each try is bounded by the stall timeout.
        /// </summary>
        public Task<XElement> InvokeAsync(XElement request, CancellationToken ct)
        {
            var envelope = Serialize(new XElement(VimXml.Soap + "Envelope",
                new XAttribute(XNamespace.Xmlns + "soapenv", VimXml.Soap),
                new XAttribute(XNamespace.Xmlns + "xsi", VimXml.Xsi),
                new XAttribute(XNamespace.Xmlns + "xsd", VimXml.Xsd),
                new XElement(VimXml.Soap + "Body", request)));
            var method = request.Name.LocalName;
            var changesState = !SafeToRepeat(method);
            return Retrier.RunAsync(attempt => InvokeOnceAsync(envelope, attempt.Token), changesState, outcome => MapFailure(outcome, method, changesState), ct);
        }

        /// <summary>Calls that only read (or whose repetition leaves nothing behind but an unused view): sent again after any transient fault.</summary>
        private static bool SafeToRepeat(string method) => method switch
        {
            "RetrieveServiceContent" or "Login" or "CurrentTime" or "RetrievePropertiesEx" or "QueryChangedDiskAreas" or "WaitForUpdatesEx"
                or "CancelWaitForUpdates" or "CancelRetrievePropertiesEx" or "CreateContainerView" or "CreatePropertyCollector" => true,
            _ => false,
        };

        private async Task<XElement> InvokeOnceAsync(byte[] envelope, CancellationToken token)
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, SdkUrl) { Content = new ByteArrayContent(envelope) };
            message.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/xml") { CharSet = "utf-8" };
            message.Headers.TryAddWithoutValidation("SOAPAction", "urn:vim25/" + ApiVersion);

            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseContentRead, token).ConfigureAwait(false);
            XDocument document;
            try
            {
                using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
                using var reader = XmlReader.Create(stream, ReaderSettings);
                document = XDocument.Load(reader);
            }
            catch (XmlException e)
            {
                ThrowIfTransient(response);
                throw NotAnSdk($"HTTP {(int)response.StatusCode}, not a SOAP envelope: {e.Message}", e);
            }

            var body = document.Root?.Element(VimXml.Soap + "Body")?.Elements().FirstOrDefault();
            if (body is null)
            {
                ThrowIfTransient(response);
                throw NotAnSdk($"HTTP {(int)response.StatusCode}, no SOAP body", null);
            }
            if (body.Name == VimXml.Soap + "Fault")
            {
                throw ParseFault(body);
            }
            if (!response.IsSuccessStatusCode)
            {
                ThrowIfTransient(response);
                throw NotAnSdk($"HTTP {(int)response.StatusCode}", null);
            }
            return body;
        }

        /// <summary>Sends one request (a datastore file transfer) as it is: no retry, no mapping; the caller's retry loop does both.</summary>
        public Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage message, HttpCompletionOption completion, CancellationToken token) =>
            http.SendAsync(message, completion, token);

        /// <summary>An answer that asks to come back later (503 with Retry-After, 502, 504, ...) as a fault the retry loop retries.</summary>
        public void ThrowIfTransient(HttpResponseMessage response)
        {
            if (TransientFault.IsTransientStatus(response.StatusCode))
            {
                throw new TransientHttpStatusException(response.StatusCode, TransientHttpStatusException.RetryAfterOf(response), response.RequestMessage?.RequestUri?.GetLeftPart(UriPartial.Path) ?? SdkUrl.ToString());
            }
        }

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

        /// <summary>
        /// The error a call ends with after its retries: its own typed error (a vim25 fault, not an SDK), a certificate we do not
        /// trust, or the site unreachable, naming the attempts and the last transport error.
        /// </summary>
        private Exception MapFailure(RetryOutcome outcome, string what, bool changesState)
        {
            var refused = refusedThumbprint;
            if (refused != null && !(outcome.Last is DRException))
            {
                return new CertificateUntrustedException(SdkUrl.ToString(), refused, siteName);
            }
            if (outcome.Fault is null)
            {
                return outcome.Last is DRException ? outcome.Last : new SiteUnreachableException("VSphereUnreachable", SdkUrl.ToString(),
                    $"Cannot reach vSphere at '{SdkUrl}'{SiteSuffix()}: {outcome.LastError}. Check the URL, the name resolution and the firewall, and that the server is running.", outcome.Last);
            }
            var unknown = changesState && !outcome.Fault.NotSent;
            return new SiteUnreachableException("VSphereUnreachable", SdkUrl.ToString(),
                $"vSphere at '{SdkUrl}'{SiteSuffix()} did not complete {what} after {outcome.AttemptsText}: {outcome.LastError}." +
                (unknown ? " The call changes the server's state and may have taken effect, so it was not sent again." : "") +
                " Check the network path to the server and that it is running.", outcome.Last)
            {
                OutcomeUnknown = unknown,
            };
        }

        private SiteUnreachableException NotAnSdk(string what, Exception? inner) =>
            new SiteUnreachableException("VSphereUnreachable", SdkUrl.ToString(),
                $"'{SdkUrl}'{SiteSuffix()} did not answer as a vSphere SDK endpoint ({what}). The URL usually ends in /sdk.", inner);

        private string SiteSuffix() => string.IsNullOrEmpty(siteName) ? "" : $" (site '{siteName}')";
    }
}
