using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Vault;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests
{
    public sealed class SiteSecretTests : IDisposable
    {
        private const string Password = "Tr0ub4dor&3-Pässwörd-4711";
        private readonly TemporaryFolder folder = new TemporaryFolder();
        private readonly CancellationToken none = CancellationToken.None;

        public void Dispose() => folder.Dispose();

        [Fact]
        public async Task A_password_never_appears_in_the_vault_files_and_reads_back()
        {
            using (var vault = SqliteVault.Open(folder.VaultPath))
            {
                await vault.AddSiteAsync(Samples.VSphereSite(), Password, none);
                // While open, the change may sit in the -wal file; check every file beside the vault.
                AssertNotInVaultFiles(Password);
                Assert.Equal(Password, await vault.ReadSiteSecretAsync("onprem", none));
            }
            AssertNotInVaultFiles(Password);

            using (var reopened = SqliteVault.Open(folder.VaultPath))
            {
                Assert.Equal(Password, await reopened.ReadSiteSecretAsync("ONPREM", none));
            }
        }

        [Fact]
        public async Task A_site_without_a_secret_reads_null_and_a_new_secret_replaces_the_old()
        {
            using var vault = SqliteVault.Open(folder.VaultPath);
            await vault.AddSiteAsync(Samples.VSphereSite(), null, none);
            Assert.Null(await vault.ReadSiteSecretAsync("onprem", none));
            Assert.False(File.Exists(vault.KeyPath));

            var updated = await vault.UpdateSiteAsync("onprem", site => site, "first", none);
            await vault.UpdateSiteAsync("onprem", site => site with { Description = "kept" }, null, none);
            Assert.True(updated.HasSecret);
            Assert.Equal("first", await vault.ReadSiteSecretAsync("onprem", none));

            await vault.UpdateSiteAsync("onprem", site => site, "second", none);
            Assert.Equal("second", await vault.ReadSiteSecretAsync("onprem", none));
            AssertNotInVaultFiles("second");
        }

        [Fact]
        public async Task The_key_file_sits_beside_the_vault_with_mode_0600()
        {
            using var vault = SqliteVault.Open(folder.VaultPath);
            await vault.AddSiteAsync(Samples.VSphereSite(), Password, none);

            Assert.Equal(folder.VaultPath + ".key", vault.KeyPath);
            Assert.True(File.Exists(vault.KeyPath));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(vault.KeyPath));
            }
            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(folder.VaultPath)!, "*.tmp"));
        }

        [Fact]
        public async Task A_secret_read_with_another_key_is_VaultKeyMismatch()
        {
            string keyPath;
            using (var vault = SqliteVault.Open(folder.VaultPath))
            {
                await vault.AddSiteAsync(Samples.VSphereSite(), Password, none);
                keyPath = vault.KeyPath;
            }
            File.Delete(keyPath);
            VaultKey.OpenOrCreate(keyPath, () => false).Dispose();

            using var reopened = SqliteVault.Open(folder.VaultPath);
            var error = await Assert.ThrowsAsync<VaultException>(() => reopened.ReadSiteSecretAsync("onprem", none));

            Assert.Equal("VaultKeyMismatch", error.ErrorId);
            Assert.Contains(keyPath, error.Message);
        }

        [Fact]
        public async Task A_secret_whose_key_file_is_gone_is_VaultKeyMissing()
        {
            using (var vault = SqliteVault.Open(folder.VaultPath))
            {
                await vault.AddSiteAsync(Samples.VSphereSite(), Password, none);
                File.Delete(vault.KeyPath);
            }

            using var reopened = SqliteVault.Open(folder.VaultPath);
            var error = await Assert.ThrowsAsync<VaultException>(() => reopened.ReadSiteSecretAsync("onprem", none));

            Assert.Equal("VaultKeyMissing", error.ErrorId);
            Assert.False(File.Exists(reopened.KeyPath));
        }

        [Fact]
        public async Task A_key_file_readable_by_others_is_refused_with_the_chmod_fix()
        {
            if (OperatingSystem.IsWindows()) return;
            using (var vault = SqliteVault.Open(folder.VaultPath))
            {
                await vault.AddSiteAsync(Samples.VSphereSite(), Password, none);
                File.SetUnixFileMode(vault.KeyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }

            using var reopened = SqliteVault.Open(folder.VaultPath);
            var error = await Assert.ThrowsAsync<VaultException>(() => reopened.ReadSiteSecretAsync("onprem", none));

            Assert.Equal("VaultKeyFileInsecure", error.ErrorId);
            Assert.Equal(reopened.KeyPath, error.Target);
            Assert.Contains($"chmod 600 '{reopened.KeyPath}'", error.Message);
        }

        [Fact]
        public async Task A_secret_moved_onto_another_site_does_not_open()
        {
            using (var vault = SqliteVault.Open(folder.VaultPath))
            {
                await vault.AddSiteAsync(Samples.VSphereSite("onprem"), Password, none);
                await vault.AddSiteAsync(Samples.VSphereSite("branch"), "other", none);
            }
            using (var connection = Samples.OpenFile(folder.VaultPath))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "UPDATE site_secrets SET ciphertext = (SELECT ciphertext FROM site_secrets WHERE site_name = 'onprem') WHERE site_name = 'branch';";
                command.ExecuteNonQuery();
            }

            using var reopened = SqliteVault.Open(folder.VaultPath);
            var error = await Assert.ThrowsAsync<VaultException>(() => reopened.ReadSiteSecretAsync("branch", none));

            Assert.Equal("VaultSecretTampered", error.ErrorId);
            Assert.Equal(Password, await reopened.ReadSiteSecretAsync("onprem", none));
        }

        private void AssertNotInVaultFiles(string secret)
        {
            var folderPath = Path.GetDirectoryName(folder.VaultPath)!;
            var vaultFiles = Directory.GetFiles(folderPath).Where(path => path.StartsWith(folder.VaultPath, StringComparison.Ordinal)).ToArray();
            Assert.Contains(folder.VaultPath, vaultFiles);
            foreach (var path in vaultFiles)
            {
                var bytes = ReadShared(path);
                Assert.False(Contains(bytes, Encoding.UTF8.GetBytes(secret)), $"The secret appears as UTF-8 in {path}.");
                Assert.False(Contains(bytes, Encoding.Unicode.GetBytes(secret)), $"The secret appears as UTF-16 in {path}.");
            }
        }

        private static byte[] ReadShared(string path)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }

        private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
    }
}
