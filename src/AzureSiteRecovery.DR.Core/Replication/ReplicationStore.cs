using System;
using System.IO;
using System.Linq;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Storage;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Replication
{
    /// <summary>
    /// The chunk store of a vault: the embedded default is a folder beside the vault file
    /// (<c>vault.store/</c>), with a spool folder (<c>vault.spool/</c>) that takes chunks while the
    /// store cannot be reached. Chunks are sealed with keys derived from the vault key.
    /// </summary>
    public sealed class ReplicationStore : IDisposable
    {
        private readonly VaultKey key;

        private ReplicationStore(VaultKey key, SpoolingObjectStore objects, ChunkStore chunks)
        {
            this.key = key;
            Objects = objects;
            Chunks = chunks;
        }

        public SpoolingObjectStore Objects { get; }
        public ChunkStore Chunks { get; }

        public static string StoreFolderFor(string vaultPath) => Path.ChangeExtension(vaultPath, ".store");

        public static string SpoolFolderFor(string vaultPath) => Path.ChangeExtension(vaultPath, ".spool");

        /// <summary>Opens the local chunk store of the vault at <paramref name="vaultPath"/>, creating it, and the vault key when nothing sealed with one exists yet.</summary>
        public static ReplicationStore OpenLocal(string vaultPath, ChunkStoreOptions? options = null) =>
            Open(vaultPath, new LocalFolderStore(StoreFolderFor(vaultPath)), options);

        /// <summary>Opens the vault's chunk store on <paramref name="primary"/> (a local folder or Azure Blob storage), spooling beside the vault.</summary>
        public static ReplicationStore Open(string vaultPath, IObjectStore primary, ChunkStoreOptions? options = null)
        {
            var key = VaultKey.OpenOrCreate(VaultKey.PathFor(vaultPath),
                () => HasFiles(StoreFolderFor(vaultPath)) || HasFiles(SpoolFolderFor(vaultPath)) || SqliteVault.HoldsSealedData(vaultPath));
            return Open(key, vaultPath, primary, options);
        }

        /// <summary>
        /// Opens the chunk store on <paramref name="primary"/> sealed with <paramref name="key"/> (given by the vault's key source; the store
        /// owns and disposes it), spooling beside <paramref name="localPath"/> (the vault file, or a Table vault's local stand-in).
        /// </summary>
        public static ReplicationStore Open(VaultKey key, string localPath, IObjectStore primary, ChunkStoreOptions? options = null)
        {
            if (key is null) throw new ArgumentNullException(nameof(key));
            var objects = new SpoolingObjectStore(primary, SpoolFolderFor(localPath));
            return new ReplicationStore(key, objects, new ChunkStore(objects, key.Material, options));
        }

        private static bool HasFiles(string folder) =>
            Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Any();

        public void Dispose()
        {
            Chunks.Dispose();
            key.Dispose();
        }
    }
}
