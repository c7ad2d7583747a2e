using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace ArmLab
{
    /// <summary>
    /// The Key Vault secrets data plane on the lab's host: GET /secrets/{name}[/{version}], with Key Vault's challenge
    /// (401 + WWW-Authenticate naming the authority and resource https://vault.azure.net) for a request without a
    /// token, a bearer token for that audience otherwise; answers and errors as the published examples. Secrets are put
    /// through the lab back door PUT /lab/secrets/{name} {"value": ...} (each put a new version), kept in memory.
    /// </summary>
    public sealed partial class ArmServer
    {
        private const string KeyVaultAudience = "https://vault.azure.net";
        private readonly ConcurrentDictionary<string, List<(string Version, string Value, long Created)>> secrets =
            new ConcurrentDictionary<string, List<(string, string, long)>>(StringComparer.OrdinalIgnoreCase);

        private static bool IsKeyVaultPath(string path) =>
            path.Equals("/secrets", StringComparison.OrdinalIgnoreCase) || path.StartsWith("/secrets/", StringComparison.OrdinalIgnoreCase);

        private async Task KeyVaultAsync(HttpContext ctx, string path)
        {
            var record = new JsonObject
            {
                ["time"] = DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture),
                ["method"] = ctx.Request.Method.ToUpperInvariant(),
                ["path"] = path,
                ["query"] = ctx.Request.QueryString.Value ?? "",
                ["apiVersion"] = ctx.Request.Query["api-version"].ToString(),
                ["service"] = "keyvault",
            };
            var answer = KeyVaultAnswer(ctx, path, record);
            record["status"] = answer.Status;
            if (answer.Body?["error"]?["code"] is JsonNode code) record["error"] = code.GetValue<string>();
            Log(record);
            await WriteAsync(ctx, answer);
        }

        private Answer KeyVaultAnswer(HttpContext ctx, string path, JsonObject record)
        {
            var auth = ctx.Request.Headers.Authorization.ToString();
            if (!auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                // The challenge the SDK's ChallengeBasedAuthenticationPolicy reads: authority (tenant) and resource.
                return new Answer(401, ErrorBody("Unauthorized", "AKV10000: Request is missing a Bearer or PoP token."),
                    new Dictionary<string, string> { ["WWW-Authenticate"] = $"Bearer authorization=\"{BaseUrl}{options.Tenant}\", resource=\"{KeyVaultAudience}\"" });
            }
            var claims = tokens.Verify(auth.Substring(7).Trim(), KeyVaultAudience, out var why);
            var audience = (string?)claims?["aud"] ?? "";
            if (claims != null && Tokens.NormalizeResource(audience) != KeyVaultAudience)
            {
                // Tokens.Verify also takes ARM's audiences; Key Vault takes its own only.
                claims = null;
                why = $"AKV10022: Invalid audience. Expected {KeyVaultAudience}, found: {audience}.";
            }
            if (claims == null)
            {
                return new Answer(401, ErrorBody("Unauthorized", why),
                    new Dictionary<string, string> { ["WWW-Authenticate"] = $"Bearer authorization=\"{BaseUrl}{options.Tenant}\", resource=\"{KeyVaultAudience}\"" });
            }
            record["caller"] = (string?)claims["idtyp"] + ":" + (string?)claims["sub"];

            var m = Regex.Match(path, @"^/secrets/(?<name>[^/]+)(/(?<version>[^/]*))?/?$", RegexOptions.IgnoreCase);
            if (!m.Success || !HttpMethods.IsGet(ctx.Request.Method))
            {
                return Error(405, "BadParameter", $"The lab Key Vault answers GET /secrets/{{name}}[/{{version}}] only, not {ctx.Request.Method} {path}.");
            }
            var name = Uri.UnescapeDataString(m.Groups["name"].Value);
            var version = m.Groups["version"].Value;

            if (specs != null && options.ValidateSpecs)
            {
                // The swagger's GetSecret has {secret-version} "optional: if not specified, the latest version"; the SDK asks for
                // the latest as /secrets/{name}/, which the path template cannot match: checked as if a version were given.
                var checkedPath = version.Length == 0 ? $"/secrets/{m.Groups["name"].Value}/latest" : path;
                var query = ctx.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString());
                var check = specs.Check("GET", checkedPath, query, null, ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString()));
                record["spec"] = check.Spec;
                if (check.Violations.Count > 0)
                {
                    record["violations"] = new JsonArray(check.Violations.Select(v => (JsonNode)v).ToArray());
                    return Error(400, "LabSpecViolation", $"The request does not conform to {check.Spec}: " + string.Join("; ", check.Violations));
                }
            }

            if (!secrets.TryGetValue(name, out var versions))
            {
                return Error(404, "SecretNotFound", $"A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182");
            }
            (string Version, string Value, long Created) found;
            lock (versions)
            {
                found = version.Length == 0 ? versions[^1] : versions.FirstOrDefault(v => string.Equals(v.Version, version, StringComparison.OrdinalIgnoreCase));
            }
            if (found.Version is null)
            {
                return Error(404, "SecretNotFound", $"A secret with (name/id) {name}/{version} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182");
            }
            return new Answer(200, SecretBundle(name, found));
        }

        private JsonObject SecretBundle(string name, (string Version, string Value, long Created) secret) => new JsonObject
        {
            ["value"] = secret.Value,
            ["id"] = $"{BaseUrl}secrets/{name}/{secret.Version}",
            ["attributes"] = new JsonObject
            {
                ["enabled"] = true,
                ["created"] = secret.Created,
                ["updated"] = secret.Created,
                ["recoveryLevel"] = "Recoverable+Purgeable",
                ["recoverableDays"] = 90,
            },
            ["tags"] = new JsonObject(),
        };

        /// <summary>PUT /lab/secrets/{name} {"value": "..."}: a lab back door standing in for SetSecret (a new version each time); answers the secret's id and version.</summary>
        private async Task<Answer> PutLabSecretAsync(HttpContext ctx, string name)
        {
            if (!HttpMethods.IsPut(ctx.Request.Method)) return Error(405, "MethodNotAllowed", "PUT /lab/secrets/{name} with {\"value\": \"...\"}");
            using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
            var body = JsonNode.Parse(await reader.ReadToEndAsync()) as JsonObject;
            if (body?["value"] is not JsonValue value || value.GetValueKind() != System.Text.Json.JsonValueKind.String)
            {
                return Error(400, "BadParameter", "PUT /lab/secrets/{name} takes {\"value\": \"<string>\"}.");
            }
            var version = Guid.NewGuid().ToString("N");
            var versions = secrets.GetOrAdd(name, _ => new List<(string, string, long)>());
            lock (versions) versions.Add((version, value.GetValue<string>(), DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
            return new Answer(200, new JsonObject { ["id"] = $"{BaseUrl}secrets/{name}/{version}", ["version"] = version });
        }
    }
}
