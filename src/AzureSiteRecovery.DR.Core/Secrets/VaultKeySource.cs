using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Security.KeyVault.Secrets;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Sites.Azure;

namespace AzureSiteRecovery.DR.Core.Secrets
{
    /// <summary>How a vault key is given: a key file, a Key Vault secret, or the key itself (e.g. from an Automation variable).</summary>
    public enum VaultKeySourceKind
    {
        File,
        KeyVaultSecret,
        Literal,
    }

    /// <summary>
    /// Where a vault's key comes from when it is not the file beside a SQLite vault: a key file (created
    /// when missing, like the SQLite one), a Key Vault secret holding the base64 of 32 bytes (read with
    /// the vault's managed identity), or that base64 given directly. <see cref="ToString"/> and
    /// <see cref="Description"/> never show a key.
    /// </summary>
    public sealed class VaultKeySource
    {
        /// <summary>The prefix that marks a literal key in AZSR_DR_VAULT_KEY (a path or URI otherwise).</summary>
        public const string LiteralPrefix = "base64:";

        private readonly byte[]? literal;

        private VaultKeySource(VaultKeySourceKind kind, string? filePath, Uri? secretUri, byte[]? literal)
        {
            Kind = kind;
            FilePath = filePath;
            SecretUri = secretUri;
            this.literal = literal;
        }

        public VaultKeySourceKind Kind { get; }

        /// <summary>The key file (File).</summary>
        public string? FilePath { get; }

        /// <summary>https://&lt;vault&gt;/secrets/&lt;name&gt;[/&lt;version&gt;] (KeyVaultSecret).</summary>
        public Uri? SecretUri { get; }

        /// <summary>What the key is, for output and errors; never the key.</summary>
        public string Description => Kind switch
        {
            VaultKeySourceKind.File => $"key file '{FilePath}'",
            VaultKeySourceKind.KeyVaultSecret => $"Key Vault secret {SecretUri}",
            _ => "a key given as a value (-Key)",
        };

        public override string ToString() => Description;

        /// <summary>What AZSR_DR_VAULT_KEY holds for this source (<see cref="Parse"/> reads it back): for a child process's environment only, never to print.</summary>
        internal string ToEnvironmentValue() => Kind switch
        {
            VaultKeySourceKind.File => FilePath!,
            VaultKeySourceKind.KeyVaultSecret => SecretUri!.ToString(),
            _ => LiteralPrefix + Convert.ToBase64String(literal!),
        };

        /// <summary>A key file (absolute path; the caller resolves a relative one).</summary>
        public static VaultKeySource File(string path)
        {
            if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("A key file path is required.", nameof(path));
            if (!Path.IsPathRooted(path)) throw new ArgumentException($"The key file path '{path}' is relative; resolve it first.", nameof(path));
            return new VaultKeySource(VaultKeySourceKind.File, path, null, null);
        }

        /// <summary>A Key Vault secret: https://&lt;vault&gt;/secrets/&lt;name&gt;[/&lt;version&gt;].</summary>
        public static VaultKeySource KeyVaultSecret(Uri secretUri)
        {
            if (secretUri is null) throw new ArgumentNullException(nameof(secretUri));
            ParseSecretUri(secretUri);
            return new VaultKeySource(VaultKeySourceKind.KeyVaultSecret, null, secretUri, null);
        }

        /// <summary>The key itself: the base64 of 32 bytes (an Automation variable, a pipeline secret). The text is never echoed in an error.</summary>
        public static VaultKeySource Literal(string base64)
        {
            var bytes = DecodeKey(base64, "the key given with -Key");
            return new VaultKeySource(VaultKeySourceKind.Literal, null, null, bytes);
        }

        /// <summary>
        /// What AZSR_DR_VAULT_KEY holds: "base64:&lt;key&gt;" is a literal key, an https URL a Key Vault secret,
        /// anything else a key file path (made absolute by <paramref name="resolvePath"/>).
        /// </summary>
        public static VaultKeySource Parse(string text, Func<string, string> resolvePath)
        {
            if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException("A vault key source is required.", nameof(text));
            var trimmed = text.Trim();
            if (trimmed.StartsWith(LiteralPrefix, StringComparison.OrdinalIgnoreCase))
            {
                return Literal(trimmed.Substring(LiteralPrefix.Length));
            }
            if (trimmed.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            {
                if (!Uri.TryCreate(trimmed, UriKind.Absolute, out var uri)) throw BadSecretUri(trimmed);
                return KeyVaultSecret(uri);
            }
            return File(resolvePath(trimmed));
        }

        /// <summary>The Key Vault, secret name and version (null: the latest) of a secret URI; VaultKeySourceInvalid otherwise.</summary>
        public static (Uri Vault, string Name, string? Version) ParseSecretUri(Uri uri)
        {
            if (!uri.IsAbsoluteUri || uri.Scheme != Uri.UriSchemeHttps || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.UserInfo))
            {
                throw BadSecretUri(uri.IsAbsoluteUri ? uri.GetLeftPart(UriPartial.Path) : uri.ToString());
            }
            var segments = uri.AbsolutePath.Trim('/').Split('/');
            if ((segments.Length != 2 && segments.Length != 3) || !string.Equals(segments[0], "secrets", StringComparison.OrdinalIgnoreCase) || segments[1].Length == 0)
            {
                throw BadSecretUri(uri.ToString());
            }
            return (new Uri(uri.GetLeftPart(UriPartial.Authority) + "/"), segments[1], segments.Length == 3 && segments[2].Length > 0 ? segments[2] : null);
        }

        private static VaultException BadSecretUri(string shown) =>
            new VaultException("VaultKeySourceInvalid", FailureKind.InvalidArgument, shown,
                $"'{shown}' is not a Key Vault secret URI. Give it as https://<vault>.vault.azure.net/secrets/<name>[/<version>] (-KeySecretUri or AZSR_DR_VAULT_KEY).");

        /// <summary>
        /// Reads the key. A key file is created (random, owner only) when missing unless <paramref name="sealedDataExists"/>
        /// says data sealed with the missing key exists (VaultKeyMissing); Created tells the caller a new file was made.
        /// A Key Vault secret is read with the managed identity <paramref name="clientId"/> (system-assigned when null) over <paramref name="transport"/>.
        /// </summary>
        internal async Task<(VaultKey Key, bool Created)> OpenAsync(Func<bool> sealedDataExists, string? clientId, AzureTransport transport, CancellationToken cancellationToken)
        {
            switch (Kind)
            {
                case VaultKeySourceKind.File:
                {
                    var existing = VaultKey.OpenExisting(FilePath!);
                    if (existing != null) return (existing, false);
                    return (VaultKey.OpenOrCreate(FilePath!, sealedDataExists), true);
                }
                case VaultKeySourceKind.Literal:
                    return (VaultKey.FromBytes(literal!, Description), false);
                default:
                    return (VaultKey.FromBytes(await ReadSecretAsync(clientId, transport, cancellationToken).ConfigureAwait(false), Description), false);
            }
        }

        private async Task<byte[]> ReadSecretAsync(string? clientId, AzureTransport transport, CancellationToken cancellationToken)
        {
            var (vault, name, version) = ParseSecretUri(SecretUri!);
            // Pinned, like the ARM API versions: the version the lab's swagger check knows (tests/lab/arm/specs).
            var options = new SecretClientOptions(SecretClientOptions.ServiceVersion.V2025_07_01)
            {
                // A lab or sovereign endpoint's challenge names a resource that is not under *.vault.azure.net.
                DisableChallengeResourceVerification = transport.Transport != null,
            };
            transport.Apply(options);
            var client = new SecretClient(vault, AzureCredentials.ManagedIdentity(clientId, transport), options);
            string? value;
            try
            {
                value = (await client.GetSecretAsync(name, version, cancellationToken).ConfigureAwait(false)).Value.Value;
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                throw new VaultException("VaultKeyUnreadable", FailureKind.NotFound, SecretUri!.ToString(),
                    $"The {Description} does not exist. Create it with the base64 of 32 random bytes (Set-AzKeyVaultSecret, az keyvault secret set), or name another with -KeySecretUri.", e);
            }
            catch (RequestFailedException e) when (e.Status == 401 || e.Status == 403)
            {
                throw new VaultException("VaultKeyUnreadable", FailureKind.Unauthorized, SecretUri!.ToString(),
                    $"The {Description} cannot be read: Key Vault refused the managed identity{(clientId is null ? "" : " " + clientId)} ({e.Status} {e.ErrorCode}). " +
                    "Give it the 'Key Vault Secrets User' role on the vault (or a get-secret access policy).", e);
            }
            catch (Exception e) when (e is RequestFailedException || e is global::Azure.Identity.AuthenticationFailedException || e is global::Azure.Identity.CredentialUnavailableException)
            {
                var refused = transport.RefusedThumbprint;
                var why = refused != null ? $"its certificate (SHA-256 {refused}) is not trusted; pin it with -CertificateThumbprint" : e.Message;
                throw new VaultException("VaultKeyUnreadable", FailureKind.Unavailable, SecretUri!.ToString(), $"The {Description} cannot be read: {why}", e);
            }
            return DecodeKey(value, "the " + Description);
        }

        /// <summary>The 32 bytes of a base64 key; VaultKeyInvalid (without the text) otherwise.</summary>
        private static byte[] DecodeKey(string? base64, string what)
        {
            byte[]? bytes = null;
            try
            {
                if (!string.IsNullOrWhiteSpace(base64)) bytes = Convert.FromBase64String(base64!.Trim());
            }
            catch (FormatException)
            {
            }
            if (bytes is null || bytes.Length != AuthenticatedCipher.MasterKeyLength)
            {
                if (bytes != null) Array.Clear(bytes, 0, bytes.Length);
                throw new VaultException("VaultKeyInvalid", FailureKind.InvalidArgument, what,
                    $"The vault key from {what} is not the base64 of {AuthenticatedCipher.MasterKeyLength} bytes. Make one with: " +
                    "$b = [byte[]]::new(32); [Security.Cryptography.RandomNumberGenerator]::Create().GetBytes($b); [Convert]::ToBase64String($b)");
            }
            return bytes;
        }
    }
}
