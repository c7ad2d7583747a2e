using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Data.Tables;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Sites.Azure;
using AzureSiteRecovery.DR.Core.Vault.Tables;

namespace AzureSiteRecovery.DR.Core.Vault.Connection
{
    public sealed partial class VaultConnection
    {
        /// <summary>
        /// Opens the vault: the SQLite file (created when missing), or the tables (created when missing) signed in as this
        /// connection says. The vault key is read from <see cref="KeySource"/> first; a key file it names is created when
        /// missing, and removed again when the vault turns out to hold data sealed with another key (VaultKeyMissing).
        /// </summary>
        public async Task<IVault> OpenAsync(CancellationToken cancellationToken)
        {
            if (Kind == VaultKind.Sqlite)
            {
                if (KeySource is null) return SqliteVault.Open(Location);
                var (fileKey, _) = await KeySource.OpenAsync(() => SqliteVault.HoldsSealedData(Location), ClientId, Transport, cancellationToken).ConfigureAwait(false);
                try
                {
                    return SqliteVault.Open(Location, fileKey);
                }
                catch
                {
                    fileKey.Dispose();
                    throw;
                }
            }

            var (key, created) = await KeySource!.OpenAsync(() => false, ClientId, Transport, cancellationToken).ConfigureAwait(false);
            try
            {
                return await TableVault.OpenAsync(TableService(), TablePrefix!, key, Location, cancellationToken).ConfigureAwait(false);
            }
            catch (VaultException e) when (e.ErrorId == "VaultKeyMismatch" && created)
            {
                key.Dispose();
                // The file did not exist: the key it now holds is a new one, and the vault's data needs the old one.
                TryDelete(KeySource.FilePath!);
                throw new VaultException("VaultKeyMissing", Location,
                    $"The {KeySource.Description} did not exist, but the Table vault '{Location}' (tables {TablePrefix}*) holds data sealed with a key. " +
                    "Name the key the vault was made with (-KeyFile, -KeySecretUri, -Key or AZSR_DR_VAULT_KEY); a new key would not open that data.", e);
            }
            catch (Exception e) when (e is RequestFailedException || e is global::Azure.Identity.AuthenticationFailedException || e is global::Azure.Identity.CredentialUnavailableException)
            {
                key.Dispose();
                throw Unreachable(e);
            }
            catch
            {
                key.Dispose();
                throw;
            }
        }

        /// <summary>
        /// The vault key as the chunk store needs it: from <see cref="KeySource"/>; null when a SQLite vault keeps its key file
        /// beside it (the chunk store then opens or creates that file as ever). The caller disposes it.
        /// </summary>
        public async Task<VaultKey?> OpenKeyAsync(CancellationToken cancellationToken)
        {
            if (KeySource is null) return null;
            var (key, _) = await KeySource.OpenAsync(() => Kind == VaultKind.Sqlite && SqliteVault.HoldsSealedData(Location), ClientId, Transport, cancellationToken).ConfigureAwait(false);
            return key;
        }

        /// <summary>A client of the table endpoint, signed in as this connection says.</summary>
        internal TableServiceClient TableService()
        {
            var options = new TableClientOptions();
            Transport.Apply(options);
            switch (Authentication)
            {
                case VaultAuthentication.SharedKey:
                    return new TableServiceClient(Endpoint, new TableSharedKeyCredential(AccountName, Secret), options);
                case VaultAuthentication.Sas:
                    return new TableServiceClient(Endpoint, new AzureSasCredential(Secret!.TrimStart('?')), options);
                default:
                    return new TableServiceClient(Endpoint, AzureCredentials.ManagedIdentity(ClientId, Transport), options);
            }
        }

        private VaultException Unreachable(Exception e)
        {
            var status = e is RequestFailedException failed ? failed.Status : 0;
            var code = e is RequestFailedException f ? f.ErrorCode : null;
            var refused = Transport.RefusedThumbprint;
            string why;
            if (refused != null)
            {
                why = $"its certificate (SHA-256 {refused}) is not trusted. Pin it with -CertificateThumbprint (or {CertificateThumbprintVariable}) if it is your lab's.";
            }
            else if (status == 401 || status == 403)
            {
                why = Authentication == VaultAuthentication.ManagedIdentity
                    ? $"the storage account refused the managed identity ({status} {code}). Give it the 'Storage Table Data Contributor' role on the account."
                    : $"the storage account refused the {(Authentication == VaultAuthentication.SharedKey ? "account key" : "SAS")} ({status} {code}). Check it, and that the SAS allows table read, add, update, delete, list and create.";
            }
            else
            {
                why = status != 0 ? $"the table endpoint answered {status} {code}." : $"{e.GetType().Name}: {FirstLine(e.Message)}";
            }
            return new VaultException(status == 401 || status == 403 ? "VaultAccessDenied" : "VaultUnreachable",
                status == 401 || status == 403 ? FailureKind.Unauthorized : FailureKind.Unavailable, Location,
                $"The Table vault '{Location}' (tables {TablePrefix}*) cannot be opened: {why}", e);
        }

        // Exception messages of the SDK can be long (headers, content); the first line says what went wrong.
        private static string FirstLine(string message)
        {
            var end = message.IndexOfAny(new[] { '\r', '\n' });
            return end < 0 ? message : message.Substring(0, end);
        }

        private static void TryDelete(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                // Left behind: the error names the right fix either way.
            }
        }
    }
}
