using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests
{
    /// <summary>Where a vault's chunk store is: recorded in the vault, the key sealed, bad URLs refused, a switch with points refused without force.</summary>
    public sealed class ChunkStoreSettingTests : VaultTest
    {
        private const string Key = "c2VjcmV0LWFjY291bnQta2V5LWZvci10aGUtdGVzdHMtMDEyMzQ1Njc4OQ==";
        private static readonly Uri Container = new Uri("https://drstore.blob.core.windows.net/chunks");

        private static ChunkStoreSetting Blob(Uri url, BlobAuthentication authentication = BlobAuthentication.SharedKey) =>
            new ChunkStoreSetting { Kind = ChunkStoreKind.AzureBlob, BlobContainer = url, Authentication = authentication };

        [Fact]
        public async Task A_new_vault_keeps_its_chunks_in_the_local_folder()
        {
            var setting = await vault.GetChunkStoreAsync(none);

            Assert.Equal((ChunkStoreKind.LocalFolder, null, false), (setting.Kind, setting.BlobContainer, setting.HasSecret));
            Assert.Null(await vault.ReadChunkStoreSecretAsync(none));
        }

        [Fact]
        public async Task A_blob_container_with_its_key_is_recorded_and_the_key_is_only_stored_sealed()
        {
            var stored = await vault.SetChunkStoreAsync(Blob(Container), Key, force: false, none);

            vault.Dispose();
            using var reopened = Vault.SqliteVault.Open(folder.VaultPath);
            var read = await reopened.GetChunkStoreAsync(none);
            Assert.Equal((ChunkStoreKind.AzureBlob, Container, BlobAuthentication.SharedKey, true), (read.Kind, read.BlobContainer, read.Authentication, read.HasSecret));
            Assert.Equal(stored.Modified, read.Modified);
            Assert.Equal(Key, await reopened.ReadChunkStoreSecretAsync(none));
            foreach (var file in Directory.GetFiles(Path.GetDirectoryName(folder.VaultPath)!))
            {
                var bytes = File.ReadAllBytes(file);
                Assert.DoesNotContain(Key, Encoding.ASCII.GetString(bytes));
                Assert.DoesNotContain(Key, Encoding.Unicode.GetString(bytes));
            }
        }

        [Fact]
        public async Task A_secret_sealed_for_one_container_does_not_open_for_another()
        {
            await vault.SetChunkStoreAsync(Blob(Container), Key, force: false, none);
            using (var connection = Samples.OpenFile(folder.VaultPath))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "UPDATE chunk_store SET container_url = 'https://evil.blob.core.windows.net/chunks';";
                command.ExecuteNonQuery();
            }

            var error = await Assert.ThrowsAsync<VaultException>(() => vault.ReadChunkStoreSecretAsync(none));

            Assert.Equal("VaultSecretTampered", error.ErrorId);
            Assert.Contains("Set-DRChunkStore", error.Message);
        }

        [Theory]
        [InlineData("http://drstore.blob.core.windows.net/chunks", "plain http")]
        [InlineData("http://10.1.2.3:10000/devstoreaccount1/chunks", "plain http")]
        [InlineData("ftp://drstore/chunks", "not an https URL")]
        [InlineData("https://drstore.blob.core.windows.net/chunks?sv=2024&sig=abc", "-SasToken")]
        [InlineData("https://drstore.blob.core.windows.net/", "does not name one container")]
        [InlineData("https://drstore.blob.core.windows.net/chunks/sub", "does not name one container")]
        [InlineData("https://drstore.blob.core.windows.net/Chunks", "does not name one container")]
        [InlineData("http://127.0.0.1:10000/chunks", "does not name one container")]
        public async Task A_bad_container_url_is_refused_naming_the_setting(string url, string reason)
        {
            var error = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.SetChunkStoreAsync(Blob(new Uri(url)), Key, force: false, none));

            Assert.Equal(("InvalidChunkStoreSetting", "BlobContainer"), (error.ErrorId, error.Setting));
            Assert.Contains(reason, error.Message);
            Assert.DoesNotContain("sig=abc", error.Message);
            Assert.Equal(ChunkStoreKind.LocalFolder, (await vault.GetChunkStoreAsync(none)).Kind);
        }

        [Theory]
        [InlineData("http://127.0.0.1:10000/devstoreaccount1/chunks")]
        [InlineData("http://localhost:10000/devstoreaccount1/chunks")]
        [InlineData("http://[::1]:10000/devstoreaccount1/chunks")]
        public async Task Plain_http_to_a_loopback_azurite_is_allowed(string url)
        {
            var stored = await vault.SetChunkStoreAsync(Blob(new Uri(url)), AzuriteLab.AccountKey, force: false, none);

            Assert.Equal(new Uri(url), stored.BlobContainer);
        }

        [Fact]
        public async Task The_sign_in_must_fit_the_secret_and_the_scheme()
        {
            var noKey = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.SetChunkStoreAsync(Blob(Container), null, false, none));
            var keyForIdentity = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.SetChunkStoreAsync(Blob(Container, BlobAuthentication.ManagedIdentity), Key, false, none));
            var identityOverHttp = await Assert.ThrowsAsync<InvalidSettingException>(() =>
                vault.SetChunkStoreAsync(Blob(new Uri("http://127.0.0.1:10000/devstoreaccount1/chunks"), BlobAuthentication.ManagedIdentity), null, false, none));

            Assert.Equal("Authentication", noKey.Setting);
            Assert.Contains("-AccountKey", noKey.Message);
            Assert.Equal("Authentication", keyForIdentity.Setting);
            Assert.Equal("BlobContainer", identityOverHttp.Setting);
            Assert.Contains("https", identityOverHttp.Message);
            var identity = await vault.SetChunkStoreAsync(Blob(Container, BlobAuthentication.ManagedIdentity) with { ClientId = "11111111-2222-3333-4444-555555555555" }, null, false, none);
            Assert.Equal((BlobAuthentication.ManagedIdentity, false), (identity.Authentication, identity.HasSecret));
        }

        [Fact]
        public async Task A_vault_with_points_keeps_its_store_unless_forced_but_may_change_the_key()
        {
            await vault.AddSiteAsync(Samples.VSphereSite(), null, none);
            await vault.AddSiteAsync(Samples.AzureSite(), null, none);
            await vault.AddPolicyAsync(Samples.Policy(), none);
            await vault.AddGroupAsync(Samples.Group(), none);
            Samples.AddProtectedVms(folder.VaultPath, "erp", "onprem", 1);
            new ConfiguredChunkStore(vault).Open().Dispose(); // the vault key, which a real point's chunks were sealed with
            using (var connection = Samples.OpenFile(folder.VaultPath))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "INSERT INTO recovery_points (id, vm_id, time_unix_ms, consistency, size_bytes, changed_bytes, stored_bytes, chunk_count, manifest_key) " +
                                      "SELECT 'p1', id, 0, 'CrashConsistent', 0, 0, 0, 0, 'points/x/p1' FROM protected_vms;";
                command.ExecuteNonQuery();
            }

            var refused = await Assert.ThrowsAsync<ObjectInUseException>(() => vault.SetChunkStoreAsync(Blob(Container), Key, force: false, none));

            Assert.Equal("ChunkStoreInUse", refused.ErrorId);
            Assert.Contains("1 recovery point(s)", refused.Message);
            Assert.Contains("-Force", refused.Message);
            Assert.Contains("Copy-DRVault", refused.Message);
            Assert.Equal(ChunkStoreKind.LocalFolder, (await vault.GetChunkStoreAsync(none)).Kind);

            await vault.SetChunkStoreAsync(Blob(Container), Key, force: true, none);
            await vault.SetChunkStoreAsync(Blob(new Uri(Container + "/")), "bmV3LWtleQ==", force: false, none); // same place, new key
            Assert.Equal("bmV3LWtleQ==", await vault.ReadChunkStoreSecretAsync(none));
            await Assert.ThrowsAsync<ObjectInUseException>(() => vault.SetChunkStoreAsync(ChunkStoreSetting.Default, null, force: false, none));
        }

        [Fact]
        public async Task The_configured_store_of_a_new_vault_is_the_local_folder()
        {
            using var store = new ConfiguredChunkStore(vault).Open();

            Assert.Equal(Path.GetFullPath(ReplicationStore.StoreFolderFor(vault.Location)), store.Objects.Primary.Location);
        }
    }

    /// <summary>The configured Blob store on Azurite: chunks go to the container, not the local folder.</summary>
    public sealed class ConfiguredBlobChunkStoreTests : VaultTest, IClassFixture<AzuriteLab>
    {
        private readonly AzuriteLab azurite;

        public ConfiguredBlobChunkStoreTests(AzuriteLab azurite)
        {
            this.azurite = azurite;
        }

        [Fact]
        public async Task A_vault_configured_with_a_container_and_key_writes_its_chunks_there()
        {
            var container = new Uri(azurite.Url + "/cfg" + Guid.NewGuid().ToString("N").Substring(0, 12));
            await vault.SetChunkStoreAsync(new ChunkStoreSetting { Kind = ChunkStoreKind.AzureBlob, BlobContainer = container, Authentication = BlobAuthentication.SharedKey },
                AzuriteLab.AccountKey, force: false, none);

            using (var store = new ConfiguredChunkStore(vault).Open())
            {
                await store.Chunks.WriteDiskAsync("2000", new MemoryStream(Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray()), 5000, none);
                Assert.Equal(container.AbsoluteUri.TrimEnd('/'), store.Objects.Location.TrimEnd('/'));
            }

            var listed = 0;
            await foreach (var _ in azurite.NewStore(container.Segments.Last()).ListAsync("", none)) listed++;
            Assert.True(listed > 0, "no chunk in the container");
            var local = ReplicationStore.StoreFolderFor(vault.Location);
            Assert.False(Directory.Exists(local) && Directory.EnumerateFiles(local, "*", SearchOption.AllDirectories).Any(), "chunks in the local folder");
        }
    }
}
