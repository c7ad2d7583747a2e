using System;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VaultContract
{
    /// <summary>Site secrets and the chunk store setting with its secret: sealed, readable only through the vault.</summary>
    public abstract class SecretContract : VaultContractTest
    {
        protected SecretContract(VaultBackend backend) : base(backend)
        {
        }

        [Fact]
        public async Task A_site_secret_reads_back_from_another_instance_and_is_kept_by_an_update_without_one()
        {
            var added = await vault.AddSiteAsync(Samples.VSphereSite(), "s3cret-Pa55", none);
            await vault.UpdateSiteAsync("ONPREM", s => s with { Description = "changed" }, null, none);

            var other = OpenOther();
            Assert.True(added.HasSecret);
            Assert.True((await other.FindSiteAsync("onprem", none))!.HasSecret);
            Assert.Equal("s3cret-Pa55", await other.ReadSiteSecretAsync("onprem", none));
            Assert.Equal(1, await CountRowsAsync("site_secrets"));
            await other.UpdateSiteAsync("onprem", s => s, "new-secret", none);
            Assert.Equal("new-secret", await vault.ReadSiteSecretAsync("onprem", none));
            Assert.Equal("ProtectedVmNotFound", (await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.UpdateProtectedVmAsync("nope", v => v, none))).ErrorId);
            Assert.Equal("SiteNotFound", (await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.ReadSiteSecretAsync("ghost", none))).ErrorId);
        }

        [Fact]
        public async Task The_chunk_store_is_the_local_folder_until_set_and_refuses_to_move_away_from_points_unless_forced()
        {
            Assert.Equal(ChunkStoreKind.LocalFolder, (await vault.GetChunkStoreAsync(none)).Kind);
            Assert.Null(await vault.ReadChunkStoreSecretAsync(none));
            var blob = new ChunkStoreSetting { Kind = ChunkStoreKind.AzureBlob, BlobContainer = new Uri("http://127.0.0.1:10000/devstoreaccount1/chunks"), Authentication = BlobAuthentication.SharedKey };

            var set = await vault.SetChunkStoreAsync(blob, "account-key", force: false, none);

            var read = await OpenOther().GetChunkStoreAsync(none);
            Assert.Equal((ChunkStoreKind.AzureBlob, blob.BlobContainer, BlobAuthentication.SharedKey, true), (read.Kind, read.BlobContainer, read.Authentication, read.HasSecret));
            Assert.Equal(set.Modified, read.Modified);
            Assert.Equal("account-key", await vault.ReadChunkStoreSecretAsync(none));

            await vault.AddSiteAsync(Samples.VSphereSite(), null, none);
            await vault.AddSiteAsync(Samples.AzureSite(), null, none);
            await vault.AddPolicyAsync(Samples.Policy(), none);
            await vault.AddGroupAsync(Samples.Group(), none);
            var vm = await vault.AddProtectedVmAsync(new ProtectedVm { VmId = "vm1", Name = "sql01", ProtectionGroup = "erp", Site = "onprem", MoRef = "vm-1" }, none);
            await vault.CommitRecoveryPointAsync(new RecoveryPoint { RecoveryPointId = "p1", VmId = vm.VmId, VmName = vm.Name, Time = DateTimeOffset.UtcNow, ManifestKey = "m" }, v => v, none);

            var inUse = await Assert.ThrowsAsync<ObjectInUseException>(() => vault.SetChunkStoreAsync(ChunkStoreSetting.Default, null, force: false, none));
            Assert.Equal("ChunkStoreInUse", inUse.ErrorId);
            Assert.Contains("1 recovery point(s)", inUse.Message);
            Assert.Equal(ChunkStoreKind.LocalFolder, (await vault.SetChunkStoreAsync(ChunkStoreSetting.Default, null, force: true, none)).Kind);
            Assert.Null(await vault.ReadChunkStoreSecretAsync(none));
        }
    }

    public sealed class SqliteVaultSecretTests : SecretContract
    {
        public SqliteVaultSecretTests() : base(VaultBackend.Sqlite)
        {
        }
    }

    [Collection(AzuriteTables.Collection)]
    public sealed class TableVaultSecretTests : SecretContract
    {
        public TableVaultSecretTests(AzuriteTables lab) : base(VaultBackend.Tables(lab))
        {
        }
    }
}
