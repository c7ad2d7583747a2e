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
    public abstract class GroupContract : VaultContractTest, IAsyncLifetime
    {
        protected GroupContract(VaultBackend backend) : base(backend)
        {
        }

        public async Task InitializeAsync()
        {
            await vault.AddSiteAsync(Samples.VSphereSite("onprem", SiteRole.Protected), null, none);
            await vault.AddSiteAsync(Samples.AzureSite("azure-weu", SiteRole.Recovery), null, none);
            await vault.AddSiteAsync(Samples.VSphereSite("branch", SiteRole.Both), null, none);
            await vault.AddPolicyAsync(Samples.Policy("gold"), none);
        }

        public Task DisposeAsync() => Task.CompletedTask;

        [Fact]
        public async Task A_group_reads_back_with_the_stored_spelling_of_its_sites_and_policy()
        {
            var added = await vault.AddGroupAsync(Samples.Group("erp", "ONPREM", "Azure-WEU", "GOLD") with { Description = "ERP" }, none);

            Assert.Equal("onprem", added.ProtectedSite);
            Assert.Equal("azure-weu", added.RecoverySite);
            Assert.Equal("gold", added.Policy);
            Assert.Equal(0, added.ProtectedVmCount);
            using var other = OpenOther();
            Assert.Equal(added, await other.FindGroupAsync("Erp", none));
        }

        [Fact]
        public async Task A_duplicate_group_is_refused_with_a_hint()
        {
            await vault.AddGroupAsync(Samples.Group("erp"), none);

            var error = await Assert.ThrowsAsync<ObjectAlreadyExistsException>(() => vault.AddGroupAsync(Samples.Group("ERP"), none));

            Assert.Equal("ProtectionGroupAlreadyExists", error.ErrorId);
            Assert.Contains("Use Set-ProtectionGroup to change it, or choose another name.", error.Message);
        }

        [Theory]
        [InlineData("ghost", "azure-weu", "gold", "SiteNotFound", "ghost")]
        [InlineData("onprem", "ghost", "gold", "SiteNotFound", "ghost")]
        [InlineData("onprem", "azure-weu", "ghost", "ReplicationPolicyNotFound", "ghost")]
        public async Task A_group_needs_its_sites_and_policy_to_exist(string protectedSite, string recoverySite, string policy, string errorId, string missing)
        {
            var error = await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.AddGroupAsync(Samples.Group("erp", protectedSite, recoverySite, policy), none));

            Assert.Equal(errorId, error.ErrorId);
            Assert.Equal(missing, error.Target);
            Assert.Contains("'erp'", error.Message);
            Assert.Empty(await vault.ListGroupsAsync(none));
        }

        [Fact]
        public async Task A_group_cannot_recover_to_the_site_it_protects()
        {
            var error = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.AddGroupAsync(Samples.Group("erp", "branch", "BRANCH"), none));

            Assert.Equal("InvalidProtectionGroupSetting", error.ErrorId);
            Assert.Equal("RecoverySite", error.Setting);
        }

        [Theory]
        [InlineData("azure-weu", "branch", "ProtectedSite")]
        [InlineData("branch", "onprem", "RecoverySite")]
        public async Task A_site_role_must_allow_its_use_in_the_group(string protectedSite, string recoverySite, string setting)
        {
            var error = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.AddGroupAsync(Samples.Group("erp", protectedSite, recoverySite), none));

            Assert.Equal("InvalidProtectionGroupSetting", error.ErrorId);
            Assert.Equal(setting, error.Setting);
            Assert.Contains("role", error.Message);
            Assert.Empty(await vault.ListGroupsAsync(none));
        }

        [Fact]
        public async Task A_site_with_role_Both_can_be_either_end()
        {
            await vault.AddGroupAsync(Samples.Group("out", "branch", "azure-weu"), none);
            await vault.AddGroupAsync(Samples.Group("in", "onprem", "branch"), none);

            Assert.Equal(2, (await vault.ListGroupsAsync(none)).Count);
        }

        [Fact]
        public async Task Update_applies_the_same_rules_as_add()
        {
            var added = await vault.AddGroupAsync(Samples.Group("erp"), none);

            var missingPolicy = await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.UpdateGroupAsync("erp", group => group with { Policy = "ghost" }, none));
            var wrongRole = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.UpdateGroupAsync("erp", group => group with { RecoverySite = "onprem", ProtectedSite = "branch" }, none));
            var rename = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.UpdateGroupAsync("erp", group => group with { Name = "crm" }, none));

            Assert.Equal("ReplicationPolicyNotFound", missingPolicy.ErrorId);
            Assert.Equal("RecoverySite", wrongRole.Setting);
            Assert.Equal("Name", rename.Setting);
            Assert.Equal(added, await vault.FindGroupAsync("erp", none));
        }

        [Fact]
        public async Task Update_changes_the_group_and_keeps_its_protected_vm_count()
        {
            await vault.AddGroupAsync(Samples.Group("erp"), none);
            await AddProtectedVmsAsync("erp", "onprem", 2);

            var updated = await vault.UpdateGroupAsync("ERP", group => group with { RecoverySite = "BRANCH", Description = "moved", ProtectedVmCount = 99 }, none);

            Assert.Equal("branch", updated.RecoverySite);
            Assert.Equal(2, updated.ProtectedVmCount);
            Assert.Equal(updated, await vault.FindGroupAsync("erp", none));
        }

        [Fact]
        public async Task Listing_counts_each_groups_protected_vms()
        {
            await vault.AddGroupAsync(Samples.Group("erp"), none);
            await vault.AddGroupAsync(Samples.Group("web"), none);
            await vault.AddGroupAsync(Samples.Group("empty"), none);
            await AddProtectedVmsAsync("erp", "onprem", 3);
            await AddProtectedVmsAsync("WEB", "onprem", 1);

            var counts = (await vault.ListGroupsAsync(none)).ToDictionary(group => group.Name, group => group.ProtectedVmCount);

            Assert.Equal(new[] { "empty", "erp", "web" }, counts.Keys);
            Assert.Equal(new[] { 0, 3, 1 }, counts.Values);
            Assert.Equal(3, (await vault.FindGroupAsync("erp", none))!.ProtectedVmCount);
        }

        [Fact]
        public async Task A_group_with_protected_vms_is_kept_unless_forced()
        {
            await vault.AddGroupAsync(Samples.Group("erp"), none);
            await AddProtectedVmsAsync("erp", "onprem", 3);

            var error = await Assert.ThrowsAsync<ObjectInUseException>(() => vault.RemoveGroupAsync("erp", force: false, none));

            Assert.Equal("ProtectionGroupHasProtectedVms", error.ErrorId);
            Assert.Contains("3 protected VM", error.Message);
            Assert.Contains("Disable protection of its VMs first (Disable-VmProtection), or use -Force.", error.Message);
            Assert.NotNull(await vault.FindGroupAsync("erp", none));

            await vault.RemoveGroupAsync("ERP", force: true, none);

            Assert.Null(await vault.FindGroupAsync("erp", none));
            Assert.Equal(0, await CountRowsAsync("protected_vms"));
        }

        [Fact]
        public async Task A_group_without_vms_is_removed_and_frees_its_sites_and_policy()
        {
            await vault.AddGroupAsync(Samples.Group("erp"), none);

            await vault.RemoveGroupAsync("erp", force: false, none);
            await vault.RemovePolicyAsync("gold", none);
            await vault.RemoveSiteAsync("onprem", none);

            Assert.Empty(await vault.ListGroupsAsync(none));
            Assert.Empty(await vault.ListPoliciesAsync(none));
        }

        [Fact]
        public async Task Removing_a_missing_group_is_ProtectionGroupNotFound()
        {
            var error = await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.RemoveGroupAsync("ghost", force: true, none));
            Assert.Equal("ProtectionGroupNotFound", error.ErrorId);
        }
    }
    public sealed class SqliteVaultGroupTests : GroupContract
    {
        public SqliteVaultGroupTests() : base(VaultBackend.Sqlite)
        {
        }
    }

    [Collection(AzuriteTables.Collection)]
    public sealed class TableVaultGroupTests : GroupContract
    {
        public TableVaultGroupTests(AzuriteTables lab) : base(VaultBackend.Tables(lab))
        {
        }
    }
}
