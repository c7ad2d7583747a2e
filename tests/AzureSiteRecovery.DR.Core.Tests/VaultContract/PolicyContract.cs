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
    public abstract class PolicyContract : VaultContractTest
    {
        protected PolicyContract(VaultBackend backend) : base(backend)
        {
        }

        [Fact]
        public async Task A_policy_keeps_its_intervals_exactly()
        {
            var policy = new ReplicationPolicy
            {
                Name = "gold",
                Description = "Tier 1",
                ReplicationInterval = TimeSpan.FromSeconds(90.5),
                RpoThreshold = TimeSpan.FromMinutes(10),
                RecoveryPointRetention = TimeSpan.FromDays(3),
                AppConsistentFrequency = TimeSpan.Zero,
            };

            var added = await vault.AddPolicyAsync(policy, none);

            Assert.Equal(policy with { Created = added.Created, Modified = added.Modified }, added);
            using var other = OpenOther();
            Assert.Equal(added, await other.FindPolicyAsync("GOLD", none));
        }

        [Fact]
        public async Task Policies_are_listed_by_name()
        {
            await vault.AddPolicyAsync(Samples.Policy("silver"), none);
            await vault.AddPolicyAsync(Samples.Policy("Bronze"), none);
            await vault.AddPolicyAsync(Samples.Policy("gold"), none);

            Assert.Equal(new[] { "Bronze", "gold", "silver" }, (await vault.ListPoliciesAsync(none)).Select(policy => policy.Name));
        }

        [Fact]
        public async Task A_duplicate_policy_is_refused_with_a_hint()
        {
            await vault.AddPolicyAsync(Samples.Policy("gold"), none);

            var error = await Assert.ThrowsAsync<ObjectAlreadyExistsException>(() => vault.AddPolicyAsync(Samples.Policy("Gold"), none));

            Assert.Equal("ReplicationPolicyAlreadyExists", error.ErrorId);
            Assert.Contains("Set-ReplicationPolicy", error.Message);
        }

        [Fact]
        public async Task A_negative_RPO_threshold_is_refused_and_nothing_is_stored()
        {
            var error = await Assert.ThrowsAsync<InvalidSettingException>(() =>
                vault.AddPolicyAsync(Samples.Policy() with { RpoThreshold = TimeSpan.FromMinutes(-5) }, none));

            Assert.Equal("InvalidReplicationPolicySetting", error.ErrorId);
            Assert.Equal("RpoThreshold", error.Setting);
            Assert.Empty(await vault.ListPoliciesAsync(none));
        }

        public static TheoryData<ReplicationPolicy, string> OutOfBounds => new TheoryData<ReplicationPolicy, string>
        {
            { Samples.Policy() with { ReplicationInterval = TimeSpan.FromSeconds(4) }, "ReplicationInterval" },
            { Samples.Policy() with { RpoThreshold = TimeSpan.FromSeconds(29) }, "RpoThreshold" },
            { Samples.Policy() with { RpoThreshold = TimeSpan.FromHours(25) }, "RpoThreshold" },
            { Samples.Policy() with { RecoveryPointRetention = TimeSpan.FromDays(16) }, "RecoveryPointRetention" },
            { Samples.Policy() with { AppConsistentFrequency = TimeSpan.FromMinutes(30) }, "AppConsistentFrequency" },
            { Samples.Policy() with { ReplicationInterval = TimeSpan.FromMinutes(20) }, "ReplicationInterval" },
        };

        [Fact]
        public async Task The_tightest_policy_replicates_every_5_seconds_with_a_30_second_RPO_threshold()
        {
            var tight = Samples.Policy() with { ReplicationInterval = TimeSpan.FromSeconds(5), RpoThreshold = TimeSpan.FromSeconds(30), AppConsistentFrequency = TimeSpan.Zero };

            var added = await vault.AddPolicyAsync(tight, none);

            Assert.Equal(TimeSpan.FromSeconds(5), added.ReplicationInterval);
            Assert.Equal(TimeSpan.FromSeconds(30), (await vault.FindPolicyAsync("gold", none))!.RpoThreshold);
        }

        [Theory]
        [MemberData(nameof(OutOfBounds))]
        public async Task A_setting_out_of_bounds_is_refused(ReplicationPolicy policy, string setting)
        {
            var error = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.AddPolicyAsync(policy, none));

            Assert.Equal("InvalidReplicationPolicySetting", error.ErrorId);
            Assert.Equal(setting, error.Setting);
            Assert.Empty(await vault.ListPoliciesAsync(none));
        }

        [Fact]
        public async Task Update_validates_and_leaves_the_policy_unchanged_when_invalid()
        {
            var added = await vault.AddPolicyAsync(Samples.Policy(), none);

            var error = await Assert.ThrowsAsync<InvalidSettingException>(() =>
                vault.UpdatePolicyAsync("gold", policy => policy with { RpoThreshold = TimeSpan.FromSeconds(-1) }, none));

            Assert.Equal("InvalidReplicationPolicySetting", error.ErrorId);
            Assert.Equal(added, await vault.FindPolicyAsync("gold", none));
        }

        [Fact]
        public async Task Update_changes_the_policy_and_keeps_Created()
        {
            var added = await vault.AddPolicyAsync(Samples.Policy(), none);

            var updated = await vault.UpdatePolicyAsync("GOLD", policy => policy with { RecoveryPointRetention = TimeSpan.FromDays(7) }, none);

            Assert.Equal(TimeSpan.FromDays(7), (await vault.FindPolicyAsync("gold", none))!.RecoveryPointRetention);
            Assert.Equal(added.Created, updated.Created);
            Assert.Equal("gold", updated.Name);
        }

        [Fact]
        public async Task Update_cannot_rename_a_policy()
        {
            await vault.AddPolicyAsync(Samples.Policy(), none);

            var error = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.UpdatePolicyAsync("gold", policy => policy with { Name = "platinum" }, none));

            Assert.Equal("Name", error.Setting);
            Assert.Null(await vault.FindPolicyAsync("platinum", none));
        }

        [Fact]
        public async Task A_policy_in_use_cannot_be_removed_and_an_unused_one_can()
        {
            await vault.AddSiteAsync(Samples.VSphereSite(), null, none);
            await vault.AddSiteAsync(Samples.AzureSite(), null, none);
            await vault.AddPolicyAsync(Samples.Policy("gold"), none);
            await vault.AddPolicyAsync(Samples.Policy("silver"), none);
            await vault.AddGroupAsync(Samples.Group("erp", policy: "gold"), none);

            var error = await Assert.ThrowsAsync<ObjectInUseException>(() => vault.RemovePolicyAsync("gold", none));
            await vault.RemovePolicyAsync("SILVER", none);

            Assert.Equal("ReplicationPolicyInUse", error.ErrorId);
            Assert.Contains("'erp'", error.Message);
            Assert.Equal(new[] { "gold" }, (await vault.ListPoliciesAsync(none)).Select(policy => policy.Name));
        }

        [Fact]
        public async Task Removing_or_updating_a_missing_policy_is_ReplicationPolicyNotFound()
        {
            var remove = await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.RemovePolicyAsync("ghost", none));
            var update = await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.UpdatePolicyAsync("ghost", policy => policy, none));

            Assert.Equal("ReplicationPolicyNotFound", remove.ErrorId);
            Assert.Equal("ReplicationPolicyNotFound", update.ErrorId);
        }
    }
    public sealed class SqliteVaultPolicyTests : PolicyContract
    {
        public SqliteVaultPolicyTests() : base(VaultBackend.Sqlite)
        {
        }
    }

    [Collection(AzuriteTables.Collection)]
    public sealed class TableVaultPolicyTests : PolicyContract
    {
        public TableVaultPolicyTests(AzuriteTables lab) : base(VaultBackend.Tables(lab))
        {
        }
    }
}
