using System;
using System.IO;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Vault;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests
{
    /// <summary>A vault whose key file is gone while data sealed with it remains: VaultKeyMissing everywhere, and no new key.</summary>
    public sealed class VaultKeyMissingTests : VaultTest
    {
        [Fact]
        public async Task Setting_a_secret_on_a_vault_whose_key_is_gone_is_VaultKeyMissing_and_creates_no_key()
        {
            await vault.AddSiteAsync(Samples.VSphereSite("onprem"), "pw", none);
            File.Delete(vault.KeyPath);

            using var reopened = SqliteVault.Open(folder.VaultPath);
            var error = await Assert.ThrowsAsync<VaultException>(() => reopened.AddSiteAsync(Samples.VSphereSite("dr", SiteRole.Recovery), "pw2", none));

            Assert.Equal("VaultKeyMissing", error.ErrorId);
            Assert.Contains(vault.KeyPath, error.Message);
            Assert.False(File.Exists(vault.KeyPath));
            Assert.Null(await reopened.FindSiteAsync("dr", none));
        }

        [Fact]
        public async Task Opening_the_store_of_a_vault_with_secrets_and_no_key_is_VaultKeyMissing()
        {
            await vault.AddSiteAsync(Samples.VSphereSite("onprem"), "pw", none);
            File.Delete(vault.KeyPath);

            var error = Assert.Throws<VaultException>(() => ReplicationStore.OpenLocal(vault.Location));

            Assert.Equal("VaultKeyMissing", error.ErrorId);
            Assert.False(File.Exists(vault.KeyPath));
        }

        [Fact]
        public async Task Opening_a_store_that_holds_chunks_without_its_key_is_VaultKeyMissing()
        {
            using (var store = ReplicationStore.OpenLocal(vault.Location))
            {
                await store.Chunks.WriteDiskAsync("2000", new MemoryStream(new byte[] { 1, 2, 3 }), 3, none);
            }
            File.Delete(VaultKey.PathFor(vault.Location));

            var error = Assert.Throws<VaultException>(() => ReplicationStore.OpenLocal(vault.Location));

            Assert.Equal("VaultKeyMissing", error.ErrorId);
            Assert.False(File.Exists(VaultKey.PathFor(vault.Location)));
        }

        [Fact]
        public void A_new_vault_still_gets_its_key_on_first_use()
        {
            using var store = ReplicationStore.OpenLocal(vault.Location);
            Assert.True(File.Exists(VaultKey.PathFor(vault.Location)));
        }
    }
}
