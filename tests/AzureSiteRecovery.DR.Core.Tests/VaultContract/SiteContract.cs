using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Vault;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VaultContract
{
    public abstract class SiteContract : VaultContractTest
    {
        protected SiteContract(VaultBackend backend) : base(backend)
        {
        }

        [Fact]
        public async Task An_added_site_reads_back_equal_from_a_new_vault_instance()
        {
            var before = DateTimeOffset.UtcNow.AddSeconds(-1);
            var added = await vault.AddSiteAsync(Samples.AzureSite() with
            {
                Description = "West Europe",
                StorageAccount = "drstore",
                Authentication = AzureAuthentication.ServicePrincipalCertificate,
                ClientId = "00000000-0000-0000-0000-0000000000bb",
                ClientCertificateThumbprint = "0123456789ABCDEF0123456789ABCDEF01234567",
            }, null, none);

            Assert.InRange(added.Created, before, DateTimeOffset.UtcNow.AddSeconds(1));
            Assert.Equal(TimeSpan.Zero, added.Created.Offset);
            Assert.Equal(added.Created, added.Modified);
            Assert.False(added.HasSecret);

            using var other = OpenOther();
            Assert.Equal(added, await other.FindSiteAsync("azure-weu", none));
        }

        [Fact]
        public async Task Sites_are_found_by_name_in_any_case_and_listed_by_name()
        {
            await vault.AddSiteAsync(Samples.VSphereSite("OnPrem"), "pw", none);
            await vault.AddSiteAsync(Samples.AzureSite("azure-weu"), null, none);

            var found = await vault.FindSiteAsync("ONPREM", none);
            Assert.Equal("OnPrem", found!.Name);
            Assert.True(found.HasSecret);
            Assert.Equal(new Uri("https://vcenter.example.com/sdk"), found.Server);
            Assert.Null(await vault.FindSiteAsync("nowhere", none));
            Assert.Equal(new[] { "azure-weu", "OnPrem" }, (await vault.ListSitesAsync(none)).Select(site => site.Name));
        }

        [Fact]
        public async Task A_name_taken_in_another_case_is_refused_with_a_hint()
        {
            await vault.AddSiteAsync(Samples.VSphereSite("onprem"), null, none);

            var error = await Assert.ThrowsAsync<ObjectAlreadyExistsException>(() => vault.AddSiteAsync(Samples.VSphereSite("ONPREM"), null, none));

            Assert.Equal("SiteAlreadyExists", error.ErrorId);
            Assert.Contains("Set-DRSite", error.Message);
            Assert.Single(await vault.ListSitesAsync(none));
        }

        [Theory]
        [InlineData("bad name", "Name")]
        [InlineData("", "Name")]
        [InlineData("-leading-dash", "Name")]
        public async Task An_invalid_name_is_refused(string name, string setting)
        {
            var error = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.AddSiteAsync(Samples.VSphereSite(name), null, none));
            Assert.Equal("InvalidSiteSetting", error.ErrorId);
            Assert.Equal(setting, error.Setting);
        }

        public static TheoryData<Site, string> IncompleteSites => new TheoryData<Site, string>
        {
            { Samples.VSphereSite() with { Server = null }, "Server" },
            { Samples.VSphereSite() with { Server = new Uri("ftp://vcenter.example.com/") }, "Server" },
            { Samples.VSphereSite() with { Server = new Uri("vcenter/sdk", UriKind.Relative) }, "Server" },
            { Samples.VSphereSite() with { UserName = " " }, "UserName" },
            { Samples.AzureSite() with { SubscriptionId = null }, "SubscriptionId" },
            { Samples.AzureSite() with { ResourceGroup = "" }, "ResourceGroup" },
            { Samples.AzureSite() with { Location = null }, "Location" },
            { Samples.AzureSite() with { Authentication = null }, "Authentication" },
            { Samples.AzureSite() with { Authentication = AzureAuthentication.ServicePrincipalSecret, ClientId = "app", TenantId = null }, "TenantId" },
            { Samples.AzureSite() with { Authentication = AzureAuthentication.ServicePrincipalCertificate, ClientId = null }, "ClientId" },
        };

        [Theory]
        [MemberData(nameof(IncompleteSites))]
        public async Task A_site_missing_what_its_kind_needs_is_refused_and_not_stored(Site site, string setting)
        {
            var error = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.AddSiteAsync(site, "secret", none));

            Assert.Equal("InvalidSiteSetting", error.ErrorId);
            Assert.Equal(setting, error.Setting);
            Assert.Contains(setting, error.Message);
            Assert.Empty(await vault.ListSitesAsync(none));
        }

        [Fact]
        public async Task An_azure_site_with_a_service_principal_is_accepted()
        {
            var site = Samples.AzureSite() with { Authentication = AzureAuthentication.ServicePrincipalSecret, ClientId = "11111111-1111-1111-1111-111111111111" };
            var added = await vault.AddSiteAsync(site, "client-secret", none);
            Assert.Equal(AzureAuthentication.ServicePrincipalSecret, (await vault.FindSiteAsync(site.Name, none))!.Authentication);
            Assert.True(added.HasSecret);
        }

        [Fact]
        public async Task Update_changes_the_site_keeps_Created_and_moves_Modified()
        {
            var added = await vault.AddSiteAsync(Samples.VSphereSite(), null, none);
            await Task.Delay(5);

            var updated = await vault.UpdateSiteAsync("ONPREM", site => site with { Description = "HQ", SkipCertificateCheck = true }, null, none);

            Assert.Equal("HQ", updated.Description);
            Assert.Equal(added.Created, updated.Created);
            Assert.True(updated.Modified > added.Modified);
            Assert.Equal(updated, await vault.FindSiteAsync("onprem", none));
        }

        [Fact]
        public async Task Update_cannot_rename_a_site()
        {
            await vault.AddSiteAsync(Samples.VSphereSite(), null, none);

            var error = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.UpdateSiteAsync("onprem", site => site with { Name = "hq" }, null, none));

            Assert.Equal("InvalidSiteSetting", error.ErrorId);
            Assert.Equal("Name", error.Setting);
            Assert.NotNull(await vault.FindSiteAsync("onprem", none));
            Assert.Null(await vault.FindSiteAsync("hq", none));
        }

        [Fact]
        public async Task Update_that_breaks_a_rule_leaves_the_site_as_it_was()
        {
            var added = await vault.AddSiteAsync(Samples.VSphereSite(), null, none);

            await Assert.ThrowsAsync<InvalidSettingException>(() => vault.UpdateSiteAsync("onprem", site => site with { UserName = null, Description = "x" }, null, none));

            Assert.Equal(added, await vault.FindSiteAsync("onprem", none));
        }

        [Fact]
        public async Task Updating_or_removing_a_missing_site_is_SiteNotFound()
        {
            var update = await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.UpdateSiteAsync("ghost", site => site, null, none));
            var remove = await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.RemoveSiteAsync("ghost", none));
            var secret = await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.ReadSiteSecretAsync("ghost", none));

            Assert.All(new[] { update, remove, secret }, error => Assert.Equal("SiteNotFound", error.ErrorId));
            Assert.Contains("'ghost'", remove.Message);
        }

        [Fact]
        public async Task A_removed_site_is_gone_with_its_secret()
        {
            await vault.AddSiteAsync(Samples.VSphereSite(), "pw", none);

            await vault.RemoveSiteAsync("ONPREM", none);

            Assert.Null(await vault.FindSiteAsync("onprem", none));
            Assert.Equal(0, await CountRowsAsync("site_secrets"));
        }

        [Fact]
        public async Task A_site_used_by_a_group_cannot_be_removed_and_the_message_names_the_groups()
        {
            await vault.AddSiteAsync(Samples.VSphereSite(), null, none);
            await vault.AddSiteAsync(Samples.AzureSite(), null, none);
            await vault.AddPolicyAsync(Samples.Policy(), none);
            await vault.AddGroupAsync(Samples.Group("erp"), none);
            await vault.AddGroupAsync(Samples.Group("web"), none);

            var error = await Assert.ThrowsAsync<ObjectInUseException>(() => vault.RemoveSiteAsync("azure-weu", none));

            Assert.Equal("SiteInUse", error.ErrorId);
            Assert.Contains("'erp'", error.Message);
            Assert.Contains("'web'", error.Message);
            Assert.NotNull(await vault.FindSiteAsync("azure-weu", none));
        }

        [Fact]
        public async Task A_site_role_that_a_group_relies_on_cannot_be_taken_away()
        {
            await vault.AddSiteAsync(Samples.VSphereSite(), null, none);
            await vault.AddSiteAsync(Samples.AzureSite(), null, none);
            await vault.AddPolicyAsync(Samples.Policy(), none);
            await vault.AddGroupAsync(Samples.Group("erp"), none);

            var error = await Assert.ThrowsAsync<InvalidSettingException>(() =>
                vault.UpdateSiteAsync("onprem", site => site with { Role = SiteRole.Recovery }, null, none));

            Assert.Equal("InvalidSiteSetting", error.ErrorId);
            Assert.Equal("Role", error.Setting);
            Assert.Contains("'erp'", error.Message);
            Assert.Equal(SiteRole.Both, (await vault.UpdateSiteAsync("onprem", site => site with { Role = SiteRole.Both }, null, none)).Role);
        }

        [Fact]
        public async Task A_cancelled_call_changes_nothing()
        {
            using var cancelled = new CancellationTokenSource();
            cancelled.Cancel();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => vault.AddSiteAsync(Samples.VSphereSite(), null, cancelled.Token));

            Assert.Empty(await vault.ListSitesAsync(none));
        }
    }
    public sealed class SqliteVaultSiteTests : SiteContract
    {
        public SqliteVaultSiteTests() : base(VaultBackend.Sqlite)
        {
        }
    }

    [Collection(AzuriteTables.Collection)]
    public sealed class TableVaultSiteTests : SiteContract
    {
        public TableVaultSiteTests(AzuriteTables lab) : base(VaultBackend.Tables(lab))
        {
        }
    }
}
