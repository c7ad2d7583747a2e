using System;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Vault;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VaultContract
{
    /// <summary>What the vault keeps about a site's safety: its vCenter's identity, whether it takes ranged writes, consent to plain http.</summary>
    public abstract class SiteSafetyContract : VaultContractTest
    {
        protected SiteSafetyContract(VaultBackend backend) : base(backend)
        {
        }

        [Fact]
        public async Task Identity_ranged_writes_and_http_consent_read_back_from_a_new_vault_instance()
        {
            var added = await vault.AddSiteAsync(Samples.VSphereSite() with
            {
                Server = new Uri("http://127.0.0.1:8989/sdk"),
                AllowInsecureHttp = true,
                ServerInstanceUuid = "721fdc0c-af30-42d5-9cb7-1ad99e993c55",
            }, "pw", none);
            Assert.Null(added.RangedWrites);

            await vault.UpdateSiteAsync("onprem", s => s with { RangedWrites = false }, null, none);

            using var other = OpenOther();
            var read = (await other.FindSiteAsync("onprem", none))!;
            Assert.True(read.AllowInsecureHttp);
            Assert.Equal("721fdc0c-af30-42d5-9cb7-1ad99e993c55", read.ServerInstanceUuid);
            Assert.False(read.RangedWrites);
        }

        [Fact]
        public async Task A_plain_http_site_without_consent_is_InsecureHttpRefused_and_not_stored()
        {
            var e = await Assert.ThrowsAsync<InsecureHttpRefusedException>(() =>
                vault.AddSiteAsync(Samples.VSphereSite() with { Server = new Uri("http://vc01.example.test/sdk") }, "pw", none));

            Assert.Equal("InsecureHttpRefused", e.ErrorId);
            Assert.Contains("-AllowInsecureHttp", e.Message);
            Assert.Empty(await vault.ListSitesAsync(none));
        }
    }
    public sealed class SqliteVaultSiteSafetyTests : SiteSafetyContract
    {
        public SqliteVaultSiteSafetyTests() : base(VaultBackend.Sqlite)
        {
        }
    }

    [Collection(AzuriteTables.Collection)]
    public sealed class TableVaultSiteSafetyTests : SiteSafetyContract
    {
        public TableVaultSiteSafetyTests(AzuriteTables lab) : base(VaultBackend.Tables(lab))
        {
        }
    }
}
