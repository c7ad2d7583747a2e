using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Vault;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests
{
    /// <summary>The vault file, its -wal/-shm, the key and the chunk store are readable by their owner only (Linux and macOS).</summary>
    public sealed class OwnerOnlyFilesTests : IDisposable
    {
        private const UnixFileMode File0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        private const UnixFileMode Folder0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        private readonly TemporaryFolder folder = new TemporaryFolder();

        [Fact]
        public async Task A_new_vault_and_its_store_are_created_owner_only()
        {
            if (OperatingSystem.IsWindows()) return;
            using (var vault = SqliteVault.Open(folder.VaultPath))
            {
                await vault.AddSiteAsync(Samples.VSphereSite("onprem"), "pw", default);
                using var store = ReplicationStore.OpenLocal(vault.Location);
                await store.Chunks.WriteDiskAsync("2000", new MemoryStream(Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray()), 5000, default);

                Assert.Equal(Folder0700, File.GetUnixFileMode(Path.GetDirectoryName(folder.VaultPath)!));
                foreach (var file in new[] { folder.VaultPath, folder.VaultPath + "-wal", folder.VaultPath + "-shm", vault.KeyPath })
                {
                    Assert.True(File.Exists(file), file);
                    Assert.Equal(File0600, File.GetUnixFileMode(file));
                }

                var storeFolder = ReplicationStore.StoreFolderFor(vault.Location);
                var folders = Directory.GetDirectories(storeFolder, "*", SearchOption.AllDirectories).Append(storeFolder).ToList();
                var files = Directory.GetFiles(storeFolder, "*", SearchOption.AllDirectories);
                Assert.NotEmpty(files);
                foreach (var f in folders) Assert.Equal(Folder0700, File.GetUnixFileMode(f));
                foreach (var f in files) Assert.Equal(File0600, File.GetUnixFileMode(f));
            }
        }

        [Fact]
        public void An_existing_folder_keeps_its_mode()
        {
            if (OperatingSystem.IsWindows()) return;
            var parent = Path.GetDirectoryName(folder.VaultPath)!;
            Directory.CreateDirectory(parent);
            File.SetUnixFileMode(parent, Folder0700 | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);

            SqliteVault.Open(folder.VaultPath).Dispose();

            Assert.Equal(Folder0700 | UnixFileMode.GroupRead | UnixFileMode.GroupExecute, File.GetUnixFileMode(parent));
            Assert.Equal(File0600, File.GetUnixFileMode(folder.VaultPath));
        }

        public void Dispose() => folder.Dispose();
    }
}
