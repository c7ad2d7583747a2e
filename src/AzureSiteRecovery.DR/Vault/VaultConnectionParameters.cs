using System;
using System.Net;
using System.Security;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Vault.Connection;

namespace AzureSiteRecovery.DR.Vault
{
    /// <summary>
    /// The one way a cmdlet turns a vault location and sign-in parameters into a <see cref="VaultConnection"/>: Connect-DRVault's
    /// -Vault and Copy-DRVault's -Destination, each with -TablePrefix, -Authentication, -ClientId, -AccountKey, -SasToken,
    /// -KeyFile, -KeySecretUri, -Key and -CertificateThumbprint.
    /// </summary>
    internal sealed class VaultConnectionParameters
    {
        public string? TablePrefix { get; set; }
        public VaultAuthentication? Authentication { get; set; }
        public string? ClientId { get; set; }
        public SecureString? AccountKey { get; set; }
        public SecureString? SasToken { get; set; }
        public string? KeyFile { get; set; }
        public Uri? KeySecretUri { get; set; }
        public SecureString? Key { get; set; }
        public string? CertificateThumbprint { get; set; }

        /// <summary>
        /// The connection to <paramref name="vault"/> (a vault file path, made absolute by <paramref name="resolvePath"/>, or a table
        /// endpoint URL); VaultConnectionInvalid (and the connection's own errors) for parameters that do not go together.
        /// </summary>
        public VaultConnection Describe(string vault, Func<string, string> resolvePath)
        {
            var given = (KeyFile != null ? 1 : 0) + (KeySecretUri != null ? 1 : 0) + (Key != null ? 1 : 0);
            if (given > 1)
            {
                throw new VaultException("VaultConnectionInvalid", FailureKind.InvalidArgument, vault,
                    "Give one vault key source: -KeyFile, -KeySecretUri or -Key.");
            }
            if (AccountKey != null && SasToken != null)
            {
                throw new VaultException("VaultConnectionInvalid", FailureKind.InvalidArgument, vault, "Give -AccountKey or -SasToken, not both.");
            }
            var keySource = KeyFile != null ? VaultKeySource.File(resolvePath(KeyFile))
                : KeySecretUri != null ? VaultKeySource.KeyVaultSecret(KeySecretUri)
                : Key != null ? VaultKeySource.Literal(Plain(Key))
                : null;
            if (!VaultConnection.IsTableEndpoint(vault))
            {
                if (AccountKey != null || SasToken != null || Authentication != null || TablePrefix != null)
                {
                    throw new VaultException("VaultConnectionInvalid", FailureKind.InvalidArgument, vault,
                        $"'{vault}' is a vault file; -Authentication, -AccountKey, -SasToken and -TablePrefix are for a Table vault (a table endpoint URL).");
                }
                return VaultConnection.ForFile(resolvePath(vault), keySource, ClientId, CertificateThumbprint);
            }
            if (!Uri.TryCreate(vault.Trim(), UriKind.Absolute, out var endpoint))
            {
                throw new VaultException("VaultConnectionInvalid", FailureKind.InvalidArgument, vault.Split('?')[0], $"'{vault.Split('?')[0]}' is not a table endpoint URL.");
            }
            var secret = AccountKey != null ? Plain(AccountKey) : SasToken != null ? Plain(SasToken) : null;
            var authentication = Authentication
                ?? (AccountKey != null ? VaultAuthentication.SharedKey : SasToken != null ? VaultAuthentication.Sas : VaultAuthentication.ManagedIdentity);
            return VaultConnection.ForTables(endpoint, TablePrefix, authentication, secret, ClientId, keySource, CertificateThumbprint);
        }

        /// <summary>The text of a SecureString parameter, for handing to the service library only.</summary>
        public static string Plain(SecureString secure) => new NetworkCredential("", secure).Password;
    }
}
