using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Secrets;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests
{
    public sealed class VaultKeyTests : IDisposable
    {
        private readonly TemporaryFolder folder = new TemporaryFolder();

        public void Dispose() => folder.Dispose();

        private string KeyPath => VaultKey.PathFor(folder.VaultPath);

        [Fact]
        public void A_new_key_file_holds_32_bytes_readable_only_by_the_owner()
        {
            using var key = VaultKey.OpenOrCreate(KeyPath, () => false);

            Assert.Equal(KeyPath, key.FilePath);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(32, new FileInfo(KeyPath).Length);
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyPath));
            }
        }

        [Fact]
        public void Reopening_the_key_file_gives_the_same_key()
        {
            using var created = VaultKey.OpenOrCreate(KeyPath, () => false);
            using var reopened = VaultKey.OpenExisting(KeyPath)!;
            using var sealer = created.CreateCipher("test");
            using var opener = reopened.CreateCipher("test");

            Assert.Equal(created.Id, reopened.Id);
            var sealedData = sealer.Seal(new ArraySegment<byte>(new byte[] { 1, 2, 3 }));
            Assert.Equal(new byte[] { 1, 2, 3 }, opener.Open(new ArraySegment<byte>(sealedData)));
        }

        [Fact]
        public void A_missing_key_file_is_null_and_not_created()
        {
            Assert.Null(VaultKey.OpenExisting(KeyPath));
            Assert.False(File.Exists(KeyPath));
        }

        [Fact]
        public async Task Racing_creators_all_end_up_with_the_winners_key()
        {
            var keys = await Concurrently.Run(16, _ => VaultKey.OpenOrCreate(KeyPath, () => false));
            try
            {
                var winner = VaultKey.OpenExisting(KeyPath)!;
                Assert.All(keys, key => Assert.Equal(winner.Id, key.Id));
                Assert.Equal(new[] { KeyPath }, Directory.GetFiles(Path.GetDirectoryName(KeyPath)!));
            }
            finally
            {
                foreach (var key in keys) key.Dispose();
            }
        }

        [Fact]
        public void A_damaged_key_file_is_refused()
        {
            VaultKey.OpenOrCreate(KeyPath, () => false).Dispose();
            File.WriteAllBytes(KeyPath, new byte[5]);

            var error = Assert.Throws<VaultException>(() => VaultKey.OpenExisting(KeyPath));
            Assert.Equal("VaultKeyUnreadable", error.ErrorId);
        }

        [Fact]
        public void A_key_file_writable_by_the_group_is_refused()
        {
            if (OperatingSystem.IsWindows()) return;
            VaultKey.OpenOrCreate(KeyPath, () => false).Dispose();
            File.SetUnixFileMode(KeyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupWrite);

            var error = Assert.Throws<VaultException>(() => VaultKey.OpenOrCreate(KeyPath, () => false));

            Assert.Equal("VaultKeyFileInsecure", error.ErrorId);
            Assert.Contains("mode 620", error.Message);
        }
    }
}
