using System;
using System.Threading;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Sites.Azure;
using AzureSiteRecovery.DR.Core.Storage;
using AzureSiteRecovery.DR.Core.Vault;
using AzureSiteRecovery.DR.Core.Vault.Connection;

namespace AzureSiteRecovery.DR.Core.Replication
{
    /// <summary>
    /// The chunk store a vault is configured with (Set-DRChunkStore): the folder beside the vault, or an
    /// Azure Blob container signed in to with a managed identity, the account key or a SAS from the vault.
    /// The setting (and credential) is read once, on the first <see cref="Open"/>; each Open is a new
    /// <see cref="ReplicationStore"/> handle (one per cycle) spooling beside the vault as ever. The chunks are sealed
    /// with the key of the vault's connection (read once), or the key file beside a SQLite vault.
    /// </summary>
    public sealed class ConfiguredChunkStore
    {
        private readonly IVault vault;
        private readonly VaultConnection connection;
        private readonly ChunkStoreOptions? options;
        private readonly object gate = new object();
        private Func<IObjectStore>? primary;
        private VaultKey? key;

        /// <summary>The chunk store of a SQLite vault keyed by the file beside it.</summary>
        public ConfiguredChunkStore(IVault vault, ChunkStoreOptions? options = null)
            : this(vault, VaultConnection.ForFile(vault?.Location ?? throw new ArgumentNullException(nameof(vault))), options)
        {
        }

        /// <summary>The chunk store of the vault <paramref name="connection"/> opened (its key source, its local folders).</summary>
        public ConfiguredChunkStore(IVault vault, VaultConnection connection, ChunkStoreOptions? options = null)
        {
            this.vault = vault ?? throw new ArgumentNullException(nameof(vault));
            this.connection = connection ?? throw new ArgumentNullException(nameof(connection));
            this.options = options;
        }

        /// <summary>A new handle on the chunk store; the caller disposes it. Safe to call from several threads.</summary>
        public ReplicationStore Open()
        {
            Func<IObjectStore> open;
            VaultKey? given;
            lock (gate)
            {
                open = primary ??= Resolve();
                given = key ??= connection.OpenKeyAsync(CancellationToken.None).GetAwaiter().GetResult();
            }
            return given is null
                ? ReplicationStore.Open(connection.LocalPath, open(), options)
                : ReplicationStore.Open(given.Copy(), connection.LocalPath, open(), options);
        }

        private Func<IObjectStore> Resolve()
        {
            var setting = vault.GetChunkStoreAsync(CancellationToken.None).GetAwaiter().GetResult();
            if (setting.Kind == ChunkStoreKind.LocalFolder)
            {
                var folder = ReplicationStore.StoreFolderFor(connection.LocalPath);
                return () => new LocalFolderStore(folder);
            }

            var container = setting.BlobContainer!;
            // Checked again: a vault edited by hand must not send a key over plain http.
            ChunkStoreSetting.ValidateContainerUrl(container);
            switch (setting.Authentication ?? BlobAuthentication.ManagedIdentity)
            {
                case BlobAuthentication.SharedKey:
                {
                    var key = ReadSecret(setting);
                    var shared = new StorageSharedKeyCredential(new BlobUriBuilder(container).AccountName, key);
                    return () => BlobStore.Create(container, shared);
                }
                case BlobAuthentication.Sas:
                {
                    var sas = new AzureSasCredential(ReadSecret(setting).TrimStart('?'));
                    return () => BlobStore.Create(container, sas);
                }
                default:
                {
                    // The public cloud's default transport: this AzureTransport holds no HttpClient, so it needs no disposing.
                    var credential = AzureCredentials.ManagedIdentity(setting.ClientId, new AzureTransport(null, customCloud: false));
                    return () => BlobStore.Create(container, credential);
                }
            }
        }

        private string ReadSecret(ChunkStoreSetting setting) =>
            vault.ReadChunkStoreSecretAsync(CancellationToken.None).GetAwaiter().GetResult()
            ?? throw new Errors.InvalidSettingException("ChunkStore", "chunk store", nameof(ChunkStoreSetting.Authentication),
                $"The chunk store '{setting.BlobContainer}' signs in with {setting.Authentication}, but the vault holds no key or SAS for it; set it with Set-DRChunkStore.");
    }
}
