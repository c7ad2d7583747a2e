using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace ArmLab
{
    /// <summary>
    /// Access tokens of the lab: JWTs signed with HMAC-SHA256 by a key in the state dir (arm.key, written
    /// by arm.sh), so the identity endpoint (its own process) and the ARM server agree without talking.
    /// </summary>
    public sealed class Tokens
    {
        private readonly byte[] key;

        public Tokens(string stateDir)
        {
            var path = Path.Combine(stateDir, "arm.key");
            if (!File.Exists(path)) throw new InvalidOperationException($"{path} is missing (arm.sh writes it)");
            key = Convert.FromBase64String(File.ReadAllText(path).Trim());
        }

        public static readonly string[] Audiences = { "https://management.azure.com", "https://management.core.windows.net" };

        /// <summary>The resource a scope or resource names, without a trailing slash or '/.default'.</summary>
        public static string NormalizeResource(string resource)
        {
            var r = resource.Trim();
            if (r.EndsWith("/.default", StringComparison.OrdinalIgnoreCase)) r = r.Substring(0, r.Length - "/.default".Length);
            return r.TrimEnd('/');
        }

        public (string Token, DateTimeOffset Expires) Mint(string audience, string tenant, string subject, string kind)
        {
            var now = DateTimeOffset.UtcNow;
            var exp = now.AddHours(1);
            var header = new JsonObject { ["alg"] = "HS256", ["typ"] = "JWT" };
            var payload = new JsonObject
            {
                ["aud"] = NormalizeResource(audience),
                ["iss"] = $"https://sts.lab.invalid/{tenant}/",
                ["iat"] = now.ToUnixTimeSeconds(),
                ["nbf"] = now.ToUnixTimeSeconds(),
                ["exp"] = exp.ToUnixTimeSeconds(),
                ["tid"] = tenant,
                ["oid"] = subject,
                ["appid"] = subject,
                ["sub"] = subject,
                ["idtyp"] = kind,
            };
            var signed = B64(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + B64(Encoding.UTF8.GetBytes(payload.ToJsonString()));
            return (signed + "." + B64(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(signed))), exp);
        }

        /// <summary>Checks signature, expiry and audience; returns the payload or an error message.</summary>
        public JsonObject? Verify(string token, string? ownAudience, out string error)
        {
            error = "";
            var parts = token.Split('.');
            if (parts.Length != 3) { error = "The access token is not a JWT."; return null; }
            var expected = HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
            byte[] given;
            try { given = UnB64(parts[2]); } catch (FormatException) { error = "The access token signature is malformed."; return null; }
            if (!CryptographicOperations.FixedTimeEquals(expected, given)) { error = "The access token has an invalid signature."; return null; }
            var payload = JsonNode.Parse(UnB64(parts[1]))!.AsObject();
            if ((long)payload["exp"]! < DateTimeOffset.UtcNow.ToUnixTimeSeconds()) { error = "The access token expiry UTC time is earlier than current UTC time."; return null; }
            var aud = (string)payload["aud"]!;
            if (Array.IndexOf(Audiences, aud) < 0 && (ownAudience == null || aud != NormalizeResource(ownAudience))) { error = $"The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.azure.com/'."; return null; }
            return payload;
        }

        private static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        private static byte[] UnB64(string s)
        {
            s = s.Replace('-', '+').Replace('_', '/');
            return Convert.FromBase64String(s + new string('=', (4 - s.Length % 4) % 4));
        }
    }
}
