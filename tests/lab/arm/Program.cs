using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ArmLab
{
    /// <summary>
    /// armlab: the lab's Azure Resource Manager (HTTPS, self-signed certificate) or, with --identity,
    /// its managed-identity endpoint (HTTP, as App Service / Automation). Started by tests/lab/arm/arm.sh.
    /// </summary>
    public static class Program
    {
        public static async Task<int> Main(string[] args)
        {
            if (args.Length > 0 && args[0] == "probe-identity") return await Probe.IdentityAsync(args);
            LabOptions options;
            try
            {
                options = LabOptions.Parse(args);
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                Console.Error.WriteLine("armlab: " + e.Message);
                return 2;
            }
            Directory.CreateDirectory(options.StateDir);
            var tokens = new Tokens(options.StateDir);
            return options.Mode == "identity" ? await IdentityAsync(options, tokens) : await ArmAsync(options, tokens);
        }

        private static WebApplication Build(Action<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions> listen)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.WebHost.ConfigureKestrel(k =>
            {
                k.AddServerHeader = false;
                k.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
                listen(k);
            });
            return builder.Build();
        }

        private static string BoundUrl(WebApplication app, string scheme)
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var port = new Uri(address).Port;
            return $"{scheme}://127.0.0.1:{port}/";
        }

        private static void WriteAtomically(string path, string content)
        {
            File.WriteAllText(path + ".tmp", content);
            File.Move(path + ".tmp", path, overwrite: true);
        }

        private static async Task<int> ArmAsync(LabOptions options, Tokens tokens)
        {
            using var cert = SelfSigned();
            var thumbprint = cert.GetCertHashString(HashAlgorithmName.SHA256);
            SpecValidator? specs = null;
            if (options.ValidateSpecs)
            {
                specs = new SpecValidator(options.SpecDir);
                Console.WriteLine($"armlab: {specs.OperationCount} operations in the swagger files under {options.SpecDir}");
            }
            var server = new ArmServer(options, tokens, specs);
            var app = Build(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(cert)));
            app.Run(server.HandleAsync);
            await app.StartAsync();
            server.BaseUrl = BoundUrl(app, "https");
            WriteAtomically(Path.Combine(options.StateDir, "arm.thumbprint"), thumbprint + "\n");
            WriteAtomically(Path.Combine(options.StateDir, "arm.url"), server.BaseUrl + "\n");
            Console.WriteLine($"armlab: listening on {server.BaseUrl} (lro {options.Lro}, subscription {options.Subscription}, certificate SHA-256 {thumbprint})");
            await app.WaitForShutdownAsync();
            File.Delete(Path.Combine(options.StateDir, "arm.url"));
            Console.WriteLine("armlab: stopped");
            return 0;
        }

        /// <summary>A self-signed certificate for 127.0.0.1 and localhost, new at each start.</summary>
        private static X509Certificate2 SelfSigned()
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=azsr-dr lab ARM", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid("1.3.6.1.5.5.7.3.1") }, false));
            var now = DateTimeOffset.UtcNow;
            using var cert = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(30));
            // Kestrel wants a certificate whose private key it can use on every platform: round-trip through PKCS#12.
            return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
        }

        /// <summary>
        /// The managed-identity endpoint (App Service / Azure Automation form, as MSAL's AppService source calls it):
        /// GET /msi/token?api-version=2019-08-01&amp;resource=...[&amp;client_id=...] with header X-IDENTITY-HEADER.
        /// </summary>
        private static async Task<int> IdentityAsync(LabOptions options, Tokens tokens)
        {
            var header = File.ReadAllText(Path.Combine(options.StateDir, "identity.header")).Trim();
            var log = Path.Combine(options.StateDir, "identity-requests.jsonl");
            var gate = new object();
            var app = Build(k => k.Listen(IPAddress.Loopback, 0));
            app.Run(async ctx =>
            {
                var q = ctx.Request.Query;
                int status;
                JsonObject body;
                if (!string.Equals(ctx.Request.Path.Value?.TrimEnd('/'), "/msi/token", StringComparison.OrdinalIgnoreCase))
                {
                    (status, body) = (404, new JsonObject { ["statusCode"] = 404, ["message"] = "Not found: the identity endpoint is /msi/token." });
                }
                else if (ctx.Request.Headers["X-IDENTITY-HEADER"].ToString() != header)
                {
                    (status, body) = (401, new JsonObject { ["statusCode"] = 401, ["message"] = "Unauthorized: the X-IDENTITY-HEADER header is missing or wrong." });
                }
                else if (q["api-version"] != "2019-08-01")
                {
                    (status, body) = (400, new JsonObject { ["statusCode"] = 400, ["message"] = $"The api-version '{q["api-version"]}' could not be found. Supported: 2019-08-01." });
                }
                else if (string.IsNullOrEmpty(q["resource"]))
                {
                    (status, body) = (400, new JsonObject { ["statusCode"] = 400, ["message"] = "Required query parameter 'resource' is missing." });
                }
                else if (!string.IsNullOrEmpty(q["mi_res_id"]) || !string.IsNullOrEmpty(q["object_id"]) ||
                         (!string.IsNullOrEmpty(q["client_id"]) && !options.UserAssigned.Contains(q["client_id"].ToString(), StringComparer.OrdinalIgnoreCase)))
                {
                    (status, body) = (400, new JsonObject { ["statusCode"] = 400, ["message"] = "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.", ["correlationId"] = Guid.NewGuid().ToString() });
                }
                else
                {
                    var clientId = string.IsNullOrEmpty(q["client_id"]) ? options.SystemAssignedClientId : q["client_id"].ToString();
                    var (token, expires) = tokens.Mint(q["resource"].ToString(), options.Tenant, clientId, string.IsNullOrEmpty(q["client_id"]) ? "system-assigned" : "user-assigned");
                    (status, body) = (200, new JsonObject
                    {
                        ["access_token"] = token,
                        ["expires_on"] = expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                        ["resource"] = q["resource"].ToString(),
                        ["token_type"] = "Bearer",
                        ["client_id"] = clientId,
                    });
                }
                var record = new JsonObject
                {
                    ["time"] = DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture),
                    ["method"] = ctx.Request.Method,
                    ["path"] = ctx.Request.Path.Value,
                    ["apiVersion"] = q["api-version"].ToString(),
                    ["resource"] = q["resource"].ToString(),
                    ["clientId"] = q["client_id"].ToString(),
                    ["status"] = status,
                };
                lock (gate) File.AppendAllText(log, record.ToJsonString(ArmServer.Compact) + "\n");
                ctx.Response.StatusCode = status;
                ctx.Response.ContentType = "application/json; charset=utf-8";
                await ctx.Response.WriteAsync(body.ToJsonString(ArmServer.Compact));
            });
            await app.StartAsync();
            var url = BoundUrl(app, "http") + "msi/token";
            WriteAtomically(Path.Combine(options.StateDir, "identity.url"), url + "\n");
            Console.WriteLine($"armlab identity: listening on {url}");
            await app.WaitForShutdownAsync();
            File.Delete(Path.Combine(options.StateDir, "identity.url"));
            return 0;
        }
    }
}
