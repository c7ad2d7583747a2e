using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Text.RegularExpressions;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Sites.Azure;

namespace AzureSiteRecovery.DR.Core.Vault.Connection
{
    /// <summary>Which implementation a vault has.</summary>
    public enum VaultKind
    {
        Sqlite,
        Table,
    }

    /// <summary>How a Table vault signs in to its storage account.</summary>
    public enum VaultAuthentication
    {
        /// <summary>The managed identity of the Automation account or VM (https only).</summary>
        ManagedIdentity,
        /// <summary>The storage account key (the lab's Azurite, or where shared keys are allowed).</summary>
        SharedKey,
        /// <summary>A SAS token with table permissions.</summary>
        Sas,
    }

    /// <summary>
    /// Which vault to use and how: a SQLite file, or a table endpoint with a table prefix, the sign-in for
    /// it and the source of the vault key. Immutable; <see cref="ToString"/> and every error name the
    /// vault and never a key, account key or SAS. <see cref="OpenAsync"/> (VaultConnection.Open.cs) opens it.
    /// </summary>
    public sealed partial class VaultConnection
    {
        public const string VaultVariable = VaultLocation.EnvironmentVariable;
        public const string TablePrefixVariable = "AZSR_DR_VAULT_TABLE_PREFIX";
        public const string AuthenticationVariable = "AZSR_DR_VAULT_AUTHENTICATION";
        public const string SecretVariable = "AZSR_DR_VAULT_SECRET";
        public const string ClientIdVariable = "AZSR_DR_VAULT_CLIENT_ID";
        public const string KeyVariable = "AZSR_DR_VAULT_KEY";
        public const string CertificateThumbprintVariable = "AZSR_DR_VAULT_CERTIFICATE_THUMBPRINT";

        /// <summary>The table prefix when none is given (TableVault.DefaultTablePrefix).</summary>
        public const string DefaultTablePrefix = Tables.TableVault.DefaultTablePrefix;

        private static readonly Regex PrefixRule = new Regex("^[A-Za-z][A-Za-z0-9]{0,39}$", RegexOptions.CultureInvariant);
        private readonly string? secret;
        private AzureTransport? transport;

        private VaultConnection(VaultKind kind, string location, Uri? endpoint, string? tablePrefix, VaultAuthentication authentication,
            string? secret, string? clientId, VaultKeySource? keySource, string? certificateThumbprint)
        {
            Kind = kind;
            Location = location;
            Endpoint = endpoint;
            TablePrefix = tablePrefix;
            Authentication = authentication;
            this.secret = secret;
            ClientId = clientId;
            KeySource = keySource;
            CertificateThumbprint = certificateThumbprint;
        }

        public VaultKind Kind { get; }

        /// <summary>The vault file (Sqlite), or the table endpoint URL without any secret (Table): what IVault.Location says.</summary>
        public string Location { get; }

        /// <summary>The table endpoint (Table).</summary>
        public Uri? Endpoint { get; }

        /// <summary>The prefix of the vault's table names (Table).</summary>
        public string? TablePrefix { get; }

        /// <summary>How a Table vault signs in (ManagedIdentity for a SQLite vault, which signs in to nothing but a Key Vault).</summary>
        public VaultAuthentication Authentication { get; }

        /// <summary>A user-assigned managed identity's client id (tables and Key Vault); null: system-assigned.</summary>
        public string? ClientId { get; }

        /// <summary>Where the vault key comes from; null: the key file beside a SQLite vault.</summary>
        public VaultKeySource? KeySource { get; }

        /// <summary>SHA-256 of a certificate to trust for the table endpoint and Key Vault (a lab); null: the system's trust only.</summary>
        public string? CertificateThumbprint { get; }

        /// <summary>Whether an account key or SAS is held (never the secret itself).</summary>
        public bool HasSecret => !string.IsNullOrEmpty(secret);

        /// <summary>The account key or SAS, for the sign-in and for handing on to a child process only.</summary>
        internal string? Secret => secret;

        /// <summary>The storage account of a table endpoint: the first path segment on a loopback or IP host (Azurite), else the first label of the host.</summary>
        public string? AccountName => Endpoint is null ? null
            : IsPathStyle(Endpoint) ? Endpoint.AbsolutePath.Trim('/').Split('/')[0] : Endpoint.Host.Split('.')[0];

        /// <summary>
        /// A file path that stands for the vault on this machine: the vault file itself (Sqlite), or a per-user path named after the endpoint
        /// and prefix (Table), beside which the default local chunk store (.store) and the spool (.spool) live.
        /// </summary>
        public string LocalPath
        {
            get
            {
                if (Kind == VaultKind.Sqlite) return Location;
                string folder;
                try
                {
                    folder = Path.GetDirectoryName(VaultLocation.DefaultPath())!;
                }
                catch (VaultException)
                {
                    // An Automation sandbox has no HOME: the spool is short-lived, a temporary folder holds it.
                    folder = Path.Combine(Path.GetTempPath(), VaultLocation.FolderName);
                }
                var name = Regex.Replace($"{Endpoint!.Host}_{Endpoint.Port}_{AccountName}_{TablePrefix}", "[^A-Za-z0-9_.-]", "_");
                return Path.Combine(folder, "tables", name + ".db");
            }
        }

        /// <summary>Whether <paramref name="text"/> names a table endpoint (http or https URL) rather than a vault file.</summary>
        public static bool IsTableEndpoint(string? text) =>
            text != null && (text.TrimStart().StartsWith("https://", StringComparison.OrdinalIgnoreCase) || text.TrimStart().StartsWith("http://", StringComparison.OrdinalIgnoreCase));

        /// <summary>A SQLite vault at <paramref name="path"/> (absolute); its key from <paramref name="keySource"/>, or the file beside it when null.</summary>
        public static VaultConnection ForFile(string path, VaultKeySource? keySource = null, string? clientId = null, string? certificateThumbprint = null)
        {
            if (string.IsNullOrEmpty(path)) throw new ArgumentException("A vault path is required.", nameof(path));
            if (!Path.IsPathRooted(path)) throw new ArgumentException($"The vault path '{path}' is relative; resolve it first.", nameof(path));
            return new VaultConnection(VaultKind.Sqlite, path, null, null, VaultAuthentication.ManagedIdentity, null, Blank(clientId), keySource, Thumbprint(certificateThumbprint));
        }

        /// <summary>
        /// A Table vault at <paramref name="endpoint"/> whose tables start with <paramref name="tablePrefix"/> (default drvault),
        /// signing in with <paramref name="authentication"/> (<paramref name="secret"/>: the account key or SAS), keyed by <paramref name="keySource"/> (required).
        /// </summary>
        public static VaultConnection ForTables(Uri endpoint, string? tablePrefix, VaultAuthentication authentication, string? secret,
            string? clientId, VaultKeySource? keySource, string? certificateThumbprint = null)
        {
            if (endpoint is null) throw new ArgumentNullException(nameof(endpoint));
            var shown = endpoint.IsAbsoluteUri ? endpoint.GetLeftPart(UriPartial.Path) : "";
            if (!endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttps && endpoint.Scheme != Uri.UriSchemeHttp) || !string.IsNullOrEmpty(endpoint.UserInfo))
            {
                throw Invalid(shown, $"'{shown}' is not a table endpoint URL. Give https://<account>.table.core.windows.net/ (or Azurite's http://127.0.0.1:<port>/devstoreaccount1).");
            }
            if (!string.IsNullOrEmpty(endpoint.Query) || !string.IsNullOrEmpty(endpoint.Fragment))
            {
                // Whatever follows '?' may be a SAS: it is never repeated back.
                throw Invalid(shown, $"The table endpoint '{shown}' has a query string. Give the endpoint alone, and a SAS with -SasToken (or {SecretVariable}) and -Authentication Sas.");
            }
            if (!Enum.IsDefined(typeof(VaultAuthentication), authentication))
            {
                throw Invalid(shown, $"Unknown vault sign-in '{authentication}'. Use ManagedIdentity, SharedKey or Sas.");
            }
            var prefix = string.IsNullOrWhiteSpace(tablePrefix) ? DefaultTablePrefix : tablePrefix!.Trim();
            if (!PrefixRule.IsMatch(prefix))
            {
                throw Invalid(shown, $"The table prefix '{prefix}' is not usable: table names are letters and digits starting with a letter; give a prefix of 1 to 40 of them (-TablePrefix or {TablePrefixVariable}).");
            }
            secret = Blank(secret);
            if (authentication == VaultAuthentication.ManagedIdentity)
            {
                if (endpoint.Scheme != Uri.UriSchemeHttps)
                {
                    throw Invalid(shown, $"The Table vault '{shown}' signs in with a managed identity, which sends its token over https only. Use the https endpoint, or -Authentication SharedKey/Sas for Azurite.");
                }
                if (secret != null)
                {
                    throw Invalid(shown, $"The Table vault '{shown}' signs in with a managed identity, but an account key or SAS was given too. Add -Authentication SharedKey or Sas, or drop the secret.");
                }
            }
            else
            {
                if (secret is null)
                {
                    var what = authentication == VaultAuthentication.SharedKey ? "account key (-AccountKey" : "SAS token (-SasToken";
                    throw new VaultException("VaultSecretMissing", FailureKind.InvalidArgument, shown,
                        $"The Table vault '{shown}' signs in with {authentication}, but no {what} or {SecretVariable}) was given.");
                }
                if (endpoint.Scheme != Uri.UriSchemeHttps && !IsLoopback(endpoint))
                {
                    throw Invalid(shown, $"The Table vault '{shown}' would send its {authentication} credential over plain http. Use https (plain http is allowed for a loopback emulator only).");
                }
            }
            if (keySource is null)
            {
                throw new VaultException("VaultKeyRequired", FailureKind.InvalidArgument, shown,
                    $"The Table vault '{shown}' needs a vault key source; its key is never stored in the tables. Give one with Connect-DRVault -KeyFile <path>, -KeySecretUri https://<kv>.vault.azure.net/secrets/<name> or -Key <base64>, " +
                    $"or set {KeyVariable} (a key file path, a Key Vault secret URI, or {VaultKeySource.LiteralPrefix}<base64>).");
            }
            var location = endpoint.GetLeftPart(UriPartial.Path);
            return new VaultConnection(VaultKind.Table, location, new Uri(location), prefix, authentication, secret, Blank(clientId), keySource, Thumbprint(certificateThumbprint));
        }

        /// <summary>
        /// The connection <paramref name="vault"/> names (a path or a table endpoint URL; null or empty: AZSR_DR_VAULT, else the per-user
        /// default path), with the table prefix, sign-in, key source and thumbprint from the AZSR_DR_VAULT_* variables of <paramref name="environment"/>.
        /// <paramref name="resolvePath"/> makes a relative path absolute (the cmdlets: against the PowerShell location).
        /// </summary>
        public static VaultConnection FromEnvironment(string? vault, Func<string, string?> environment, Func<string, string> resolvePath)
        {
            if (environment is null) throw new ArgumentNullException(nameof(environment));
            var text = string.IsNullOrWhiteSpace(vault) ? Blank(environment(VaultVariable)) : vault!.Trim();
            var keyText = Blank(environment(KeyVariable));
            var key = keyText is null ? null : VaultKeySource.Parse(keyText, resolvePath);
            var clientId = environment(ClientIdVariable);
            var thumbprint = environment(CertificateThumbprintVariable);
            if (!IsTableEndpoint(text))
            {
                return ForFile(text is null ? VaultLocation.DefaultPath() : resolvePath(text), key, clientId, thumbprint);
            }
            if (!Uri.TryCreate(text, UriKind.Absolute, out var endpoint))
            {
                throw Invalid(text!.Split('?')[0], $"'{text!.Split('?')[0]}' is not a table endpoint URL.");
            }
            var authenticationText = Blank(environment(AuthenticationVariable));
            var authentication = VaultAuthentication.ManagedIdentity;
            if (authenticationText != null && !Enum.TryParse(authenticationText, ignoreCase: true, out authentication))
            {
                throw Invalid(endpoint.GetLeftPart(UriPartial.Path), $"{AuthenticationVariable} is '{authenticationText}'; use ManagedIdentity, SharedKey or Sas.");
            }
            return ForTables(endpoint, environment(TablePrefixVariable), authentication, environment(SecretVariable), clientId, key, thumbprint);
        }

        /// <summary>
        /// Whether <paramref name="vault"/> (a -Vault text: a path made absolute by <paramref name="resolvePath"/>, or an endpoint URL with
        /// <paramref name="tablePrefix"/>, default drvault) names this vault; never throws for a text that names no vault at all.
        /// </summary>
        public bool Names(string vault, string? tablePrefix, Func<string, string> resolvePath)
        {
            if (string.IsNullOrWhiteSpace(vault)) return false;
            if (!IsTableEndpoint(vault))
            {
                return Kind == VaultKind.Sqlite && string.Equals(resolvePath(vault.Trim()), Location, StringComparison.Ordinal);
            }
            var prefix = string.IsNullOrWhiteSpace(tablePrefix) ? DefaultTablePrefix : tablePrefix!.Trim();
            return Kind == VaultKind.Table && Uri.TryCreate(vault.Trim(), UriKind.Absolute, out var uri)
                && string.Equals(uri.GetLeftPart(UriPartial.Path).TrimEnd('/'), Location.TrimEnd('/'), StringComparison.OrdinalIgnoreCase)
                && string.Equals(prefix, TablePrefix, StringComparison.OrdinalIgnoreCase);
        }

        /// <summary>
        /// The AZSR_DR_VAULT_* variables that make a child process (a worker, a benchmark) use this same vault, secrets included:
        /// for the child's environment only, never to print.
        /// </summary>
        public System.Collections.Generic.IReadOnlyDictionary<string, string?> ToEnvironment()
        {
            var variables = new System.Collections.Generic.Dictionary<string, string?>
            {
                [VaultVariable] = Location,
                [TablePrefixVariable] = TablePrefix,
                [AuthenticationVariable] = Kind == VaultKind.Table ? Authentication.ToString() : null,
                [SecretVariable] = secret,
                [ClientIdVariable] = ClientId,
                [CertificateThumbprintVariable] = CertificateThumbprint,
                [KeyVariable] = KeySource?.ToEnvironmentValue(),
            };
            return variables;
        }

        public override string ToString() => Kind == VaultKind.Sqlite
            ? Location
            : $"{Location} (tables {TablePrefix}*, {Authentication})";

        /// <summary>One transport per connection (a pinned one holds an HttpClient, reused by every open); never disposed, like a shared HttpClient.</summary>
        internal AzureTransport Transport => System.Threading.LazyInitializer.EnsureInitialized(ref transport, () => new AzureTransport(CertificateThumbprint, customCloud: false))!;

        private static bool IsPathStyle(Uri endpoint) =>
            endpoint.IsLoopback || endpoint.HostNameType == UriHostNameType.IPv4 || endpoint.HostNameType == UriHostNameType.IPv6;

        private static bool IsLoopback(Uri endpoint) =>
            endpoint.IsLoopback || (IPAddress.TryParse(endpoint.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

        private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text!.Trim();

        private static string? Thumbprint(string? text) =>
            Blank(text)?.Replace(":", "").Replace(" ", "").Replace("-", "").ToUpperInvariant();

        private static VaultException Invalid(string target, string message) =>
            new VaultException("VaultConnectionInvalid", FailureKind.InvalidArgument, target, message);
    }
}
