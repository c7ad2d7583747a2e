using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace ArmLab
{
    public sealed partial class ArmServer
    {
        private static readonly Regex TokenPath = new Regex(@"^/(?<tenant>[^/]+)/oauth2/v2\.0/token/?$", RegexOptions.IgnoreCase);
        private static readonly Regex OidcPath = new Regex(@"^/(?<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration/?$", RegexOptions.IgnoreCase);
        private static readonly Regex DiscoveryPath = new Regex(@"^/(?<tenant>[^/]+)/discovery/instance/?$", RegexOptions.IgnoreCase);

        /// <summary>
        /// An Entra-like sign-in for service principals with a secret (client credentials), enough for
        /// MSAL with a custom authority host: openid-configuration, instance discovery, the token endpoint.
        /// </summary>
        private async Task<bool> EntraAsync(HttpContext ctx, string path)
        {
            Match m;
            if ((m = OidcPath.Match(path)).Success)
            {
                var t = m.Groups["tenant"].Value;
                var issuerTenant = IsCommon(t) ? "{tenantid}" : t;
                await WriteAsync(ctx, new Answer(200, new JsonObject
                {
                    ["token_endpoint"] = $"{BaseUrl}{t}/oauth2/v2.0/token",
                    ["token_endpoint_auth_methods_supported"] = new JsonArray("client_secret_post", "private_key_jwt", "client_secret_basic"),
                    ["jwks_uri"] = $"{BaseUrl}{t}/discovery/v2.0/keys",
                    ["response_modes_supported"] = new JsonArray("query", "fragment", "form_post"),
                    ["subject_types_supported"] = new JsonArray("pairwise"),
                    ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
                    ["response_types_supported"] = new JsonArray("code", "id_token", "code id_token", "id_token token"),
                    ["scopes_supported"] = new JsonArray("openid", "profile", "email", "offline_access"),
                    ["issuer"] = $"{BaseUrl}{issuerTenant}/v2.0",
                    ["authorization_endpoint"] = $"{BaseUrl}{t}/oauth2/v2.0/authorize",
                    ["device_authorization_endpoint"] = $"{BaseUrl}{t}/oauth2/v2.0/devicecode",
                    ["end_session_endpoint"] = $"{BaseUrl}{t}/oauth2/v2.0/logout",
                    ["tenant_region_scope"] = "EU",
                    ["cloud_instance_name"] = "lab.invalid",
                }));
                return true;
            }
            if ((m = DiscoveryPath.Match(path)).Success)
            {
                var host = new Uri(BaseUrl).Authority;
                await WriteAsync(ctx, new Answer(200, new JsonObject
                {
                    ["tenant_discovery_endpoint"] = $"{BaseUrl}{m.Groups["tenant"].Value}/v2.0/.well-known/openid-configuration",
                    ["api-version"] = "1.1",
                    ["metadata"] = new JsonArray(new JsonObject { ["preferred_network"] = host, ["preferred_cache"] = host, ["aliases"] = new JsonArray(host) }),
                }));
                return true;
            }
            if ((m = TokenPath.Match(path)).Success && HttpMethods.IsPost(ctx.Request.Method))
            {
                var record = new JsonObject { ["time"] = DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture), ["method"] = "POST", ["path"] = path, ["query"] = "", ["apiVersion"] = "" };
                var answer = await TokenAsync(ctx, m.Groups["tenant"].Value);
                record["status"] = answer.Status;
                if (answer.Status != 200) record["error"] = (string?)answer.Body?["error"];
                Log(record);
                await WriteAsync(ctx, answer);
                return true;
            }
            return false;
        }

        private static bool IsCommon(string tenant) => tenant is "common" or "organizations" or "consumers";

        private async Task<Answer> TokenAsync(HttpContext ctx, string tenant)
        {
            static Answer Fail(int status, string error, int code, string description) => new Answer(status, new JsonObject
            {
                ["error"] = error,
                ["error_description"] = $"AADSTS{code}: {description} Trace ID: {Guid.NewGuid()} Correlation ID: {Guid.NewGuid()} Timestamp: {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z",
                ["error_codes"] = new JsonArray(code),
                ["timestamp"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ssZ", CultureInfo.InvariantCulture),
                ["trace_id"] = Guid.NewGuid().ToString(),
                ["correlation_id"] = Guid.NewGuid().ToString(),
            });

            if (!ctx.Request.HasFormContentType) return Fail(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.");
            var form = await ctx.Request.ReadFormAsync();
            if (!string.Equals(tenant, options.Tenant, StringComparison.OrdinalIgnoreCase))
            {
                return Fail(400, "invalid_tenant", 90002, $"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.");
            }
            if (form["grant_type"] != "client_credentials") return Fail(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type 'client_credentials' only is supported by the lab.");
            var clientId = form["client_id"].ToString();
            var secret = form["client_secret"].ToString();
            if (string.IsNullOrEmpty(secret) && ctx.Request.Headers.Authorization.ToString() is { Length: > 6 } basic && basic.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
            {
                var pair = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(basic.Substring(6))).Split(':', 2);
                clientId = Uri.UnescapeDataString(pair[0]);
                secret = pair.Length > 1 ? Uri.UnescapeDataString(pair[1]) : "";
            }
            if (!options.Clients.TryGetValue(clientId, out var expected))
            {
                return Fail(400, "unauthorized_client", 700016, $"Application with identifier '{clientId}' was not found in the directory 'Lab'.");
            }
            if (!string.Equals(secret, expected, StringComparison.Ordinal))
            {
                return Fail(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + clientId + "'.");
            }
            var scope = form["scope"].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var resource = scope.Length > 0 ? scope[0] : "https://management.azure.com/.default";
            var (token, expires) = tokens.Mint(resource, options.Tenant, clientId, "app");
            var seconds = (long)(expires - DateTimeOffset.UtcNow).TotalSeconds;
            return new Answer(200, new JsonObject
            {
                ["token_type"] = "Bearer",
                ["expires_in"] = seconds,
                ["ext_expires_in"] = seconds,
                ["access_token"] = token,
            });
        }
    }
}
