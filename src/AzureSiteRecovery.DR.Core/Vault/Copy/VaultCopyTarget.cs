using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Storage;
using AzureSiteRecovery.DR.Core.Vault.Connection;

namespace AzureSiteRecovery.DR.Core.Vault.Copy
{
    /// <summary>
    /// The destination of a <see cref="VaultCopy"/> as Copy-DRVault prepares it from a <see cref="VaultConnection"/>:
    /// <see cref="CheckKeyAsync"/> first proves, writing nothing, that the destination is keyed with the source's key
    /// (chunks are copied as they are, encrypted); <see cref="OpenAsync"/> then gives a new vault the source's key
    /// (its key file), opens the vault, records its chunk store setting (as Set-DRChunkStore does) and opens that
    /// store without a spool: a copy must land in the store itself or fail, never wait in a local spool.
    /// </summary>
    public sealed class VaultCopyTarget : IDisposable
    {
        private readonly ReplicationStore store;

        private VaultCopyTarget(IVault vault, ReplicationStore store, ChunkStore chunks, ChunkStoreSetting setting)
        {
            Vault = vault;
            this.store = store;
            Chunks = chunks;
            Setting = setting;
        }

        public IVault Vault { get; }

        /// <summary>The destination chunk store, on its primary (a Blob container or the folder beside the vault), sealed with the source's key.</summary>
        public ChunkStore Chunks { get; }

        /// <summary>The destination vault's chunk store setting after the copy recorded it.</summary>
        public ChunkStoreSetting Setting { get; }

        /// <summary>
        /// The key a vault's data is sealed with, as a copy sees it, never creating one: its key source's, or the key file beside a
        /// SQLite vault; null when that key is a file that does not exist yet. The caller disposes it.
        /// </summary>
        public static async Task<VaultKey?> PeekKeyAsync(VaultConnection connection, CancellationToken cancellationToken)
        {
            if (connection is null) throw new ArgumentNullException(nameof(connection));
            var source = connection.KeySource;
            if (source is null) return VaultKey.OpenExisting(VaultKey.PathFor(connection.Location));
            if (source.Kind == VaultKeySourceKind.File) return VaultKey.OpenExisting(source.FilePath!);
            var (key, _) = await source.OpenAsync(() => false, connection.ClientId, connection.Transport, cancellationToken).ConfigureAwait(false);
            return key;
        }

        /// <summary>
        /// Checks, writing nothing, that <paramref name="destination"/> is keyed with <paramref name="sourceKey"/> (the key of the vault
        /// <paramref name="source"/>). Returns the key file to create holding the source's key (the destination's key is a file that does not
        /// exist yet: a new vault), or null when the destination's key is the source's already. Another key is VaultCopyKeyMismatch,
        /// saying how to give the destination the source's key.
        /// </summary>
        public static async Task<string?> CheckKeyAsync(VaultConnection source, VaultKey sourceKey, VaultConnection destination, CancellationToken cancellationToken)
        {
            if (source is null) throw new ArgumentNullException(nameof(source));
            if (sourceKey is null) throw new ArgumentNullException(nameof(sourceKey));
            if (destination is null) throw new ArgumentNullException(nameof(destination));
            using var destinationKey = await PeekKeyAsync(destination, cancellationToken).ConfigureAwait(false);
            if (destinationKey is null)
            {
                var keyFile = destination.KeySource?.FilePath ?? VaultKey.PathFor(destination.Location);
                if (destination.Kind == VaultKind.Sqlite && destination.KeySource is null && SqliteVault.HoldsSealedData(destination.Location))
                {
                    throw VaultKey.Missing(keyFile);
                }
                return keyFile;
            }
            if (!destinationKey.Id.SequenceEqual(sourceKey.Id))
            {
                throw new VaultException("VaultCopyKeyMismatch", FailureKind.InvalidArgument, destination.Location,
                    $"The destination vault '{destination}' is keyed by {destinationKey.Description}, which is not the key of the source vault '{source}' ({sourceKey.Description}). " +
                    "Chunks are copied as they are (encrypted), so both vaults must use one key; nothing was copied. " + HowToGiveTheKey(sourceKey));
            }
            return null;
        }

        /// <summary>
        /// Opens the destination for a copy: writes <paramref name="keyFileToCreate"/> (from <see cref="CheckKeyAsync"/>) holding
        /// <paramref name="sourceKey"/>, opens the vault, records <paramref name="chunkStore"/> (with <paramref name="chunkStoreSecret"/>)
        /// when given, and opens its chunk store. A Table vault must end up with a Blob chunk store (VaultCopyChunkStoreRequired):
        /// its local folder one is on this machine and would not outlive the site.
        /// </summary>
        public static async Task<VaultCopyTarget> OpenAsync(VaultConnection destination, VaultKey sourceKey, string? keyFileToCreate,
            ChunkStoreSetting? chunkStore, string? chunkStoreSecret, CancellationToken cancellationToken)
        {
            if (destination is null) throw new ArgumentNullException(nameof(destination));
            if (sourceKey is null) throw new ArgumentNullException(nameof(sourceKey));
            var created = keyFileToCreate != null && sourceKey.TryWriteNewFile(keyFileToCreate);
            if (keyFileToCreate != null && !created)
            {
                // Made by someone else since the check: it must hold the source's key all the same.
                await CheckKeyAsync(destination, sourceKey, destination, cancellationToken).ConfigureAwait(false);
            }

            IVault? vault = null;
            ReplicationStore? store = null;
            try
            {
                vault = await destination.OpenAsync(cancellationToken).ConfigureAwait(false);
                var setting = chunkStore is null
                    ? await vault.GetChunkStoreAsync(cancellationToken).ConfigureAwait(false)
                    : await vault.SetChunkStoreAsync(chunkStore, chunkStoreSecret, false, cancellationToken).ConfigureAwait(false);
                if (destination.Kind == VaultKind.Table && setting.Kind != ChunkStoreKind.AzureBlob)
                {
                    throw new VaultException("VaultCopyChunkStoreRequired", FailureKind.InvalidArgument, destination.Location,
                        $"The destination Table vault '{destination}' has no Blob chunk store, and a local folder one would not survive the loss of this machine. " +
                        "Give -DestinationChunkStore https://<account>.blob.core.windows.net/<container> (with -ChunkStoreAccountKey, -ChunkStoreSasToken, or the managed identity), " +
                        "or set it first with Set-DRChunkStore -BlobContainer.");
                }
                store = new ConfiguredChunkStore(vault, destination).Open();
                var chunks = new ChunkStore(store.Objects.Primary, sourceKey.Material);
                return new VaultCopyTarget(vault, store, chunks, setting);
            }
            catch
            {
                store?.Dispose();
                vault?.Dispose();
                if (created && vault is null) TryDelete(keyFileToCreate!);
                throw;
            }
        }

        /// <summary>The fix for a destination with another key: give it the source's key, as a file or (for a runbook) a Key Vault secret.</summary>
        private static string HowToGiveTheKey(VaultKey sourceKey)
        {
            if (sourceKey.FilePath is null)
            {
                return $"Give the destination the source's key: the same -KeySecretUri or -Key as the source ({sourceKey.Description}), or a -KeyFile that does not exist yet (it is created holding the source's key).";
            }
            var file = sourceKey.FilePath.Replace("'", "''");
            // On Windows the key file holds the key protected by DPAPI for the user: the base64 of the key is that of the unprotected bytes.
            var base64 = RuntimeInformation.IsOSPlatform(OSPlatform.Windows)
                ? $"Add-Type -AssemblyName System.Security; $k = [Convert]::ToBase64String([Security.Cryptography.ProtectedData]::Unprotect([IO.File]::ReadAllBytes('{file}'), [Text.Encoding]::UTF8.GetBytes('{VaultKey.DpapiEntropyText}'), 'CurrentUser'))"
                : $"$k = [Convert]::ToBase64String([IO.File]::ReadAllBytes('{file}'))";
            return $"Give the destination the source's key: -KeyFile '{sourceKey.FilePath}' (or a -KeyFile that does not exist yet: it is created holding the source's key). " +
                $"For a runbook put that key into Key Vault: {base64}; Set-AzKeyVaultSecret -VaultName <kv> -Name dr-vault-key -SecretValue (ConvertTo-SecureString $k -AsPlainText -Force); " +
                "then -KeySecretUri https://<kv>.vault.azure.net/secrets/dr-vault-key (or keep $k in an encrypted Automation variable and give -Key).";
        }

        private static void TryDelete(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                // Left behind: it holds the source's key, owner-only, like the source's own key file.
            }
        }

        public void Dispose()
        {
            Chunks.Dispose();
            store.Dispose();
            Vault.Dispose();
        }
    }
}
