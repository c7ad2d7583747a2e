using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Azure.Data.Tables;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Vault.Tables
{
    /// <summary>
    /// Sites (with their sealed secrets), replication policies and protection groups: all rows of the one "config"
    /// partition, so that a change and the rows it depends on are one batch (a group touches its sites and policy
    /// If-Match; removing a site deletes it If-Match after reading the groups).
    /// </summary>
    public sealed partial class TableVault
    {
        private const string ConfigPartition = "config";
        private const string SitePrefix = "site|";
        private const string PolicyPrefix = "policy|";
        private const string GroupPrefix = "group|";

        private static string SiteRow(string name) => SitePrefix + NameKey(name);
        private static string PolicyRow(string name) => PolicyPrefix + NameKey(name);
        private static string GroupRow(string name) => GroupPrefix + NameKey(name);

        // ---- Sites ----

        public Task<Site> AddSiteAsync(Site site, string? secret, CancellationToken cancellationToken)
        {
            if (site is null) throw new ArgumentNullException(nameof(site));
            (site with { HasSecret = secret is not null }).Validate();
            return Run(() => Optimistic(async () =>
            {
                if (await FindAsync(config, ConfigPartition, SiteRow(site.Name), cancellationToken).ConfigureAwait(false) is not null)
                {
                    throw new ObjectAlreadyExistsException("Site", site.Name, "Use Set-DRSite to change it, or choose another name.");
                }
                var now = Now();
                var stored = site with { Created = now, Modified = now, HasSecret = secret is not null };
                var actions = new List<TableTransactionAction> { Insert(SiteEntity(stored, secret)) };
                if (secret is not null) actions.Add(await MetaCheckAsync(cancellationToken).ConfigureAwait(false));
                await SubmitAsync(config, actions, cancellationToken).ConfigureAwait(false);
                return stored;
            }, cancellationToken));
        }

        public Task<Site?> FindSiteAsync(string name, CancellationToken cancellationToken) =>
            Run(async () => await FindAsync(config, ConfigPartition, SiteRow(name), cancellationToken).ConfigureAwait(false) is TableEntity row ? ReadSite(row) : null);

        public Task<IReadOnlyList<Site>> ListSitesAsync(CancellationToken cancellationToken) =>
            Run<IReadOnlyList<Site>>(async () => (await PartitionAsync(config, ConfigPartition, SitePrefix, cancellationToken).ConfigureAwait(false))
                .Select(ReadSite).OrderBy(s => s.Name, VaultRules.NoCase).ToList());

        public Task<Site> UpdateSiteAsync(string name, Func<Site, Site> change, string? newSecret, CancellationToken cancellationToken)
        {
            if (change is null) throw new ArgumentNullException(nameof(change));
            return Run(() => Optimistic(async () =>
            {
                var row = await FindAsync(config, ConfigPartition, SiteRow(name), cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("Site", name);
                var current = ReadSite(row);
                var changed = change(current);
                VaultRules.RefuseRename("Site", current.Name, changed.Name, "New-DRSite");
                (changed with { HasSecret = current.HasSecret || newSecret is not null }).Validate();
                var groups = await GroupsAsync(cancellationToken).ConfigureAwait(false);
                VaultRules.RefuseRoleThatGroupsNeed(changed,
                    groups.Where(g => SameName(g.ProtectedSite, current.Name)).Select(g => g.Name).ToList(),
                    groups.Where(g => SameName(g.RecoverySite, current.Name)).Select(g => g.Name).ToList());
                var stored = changed with { Created = current.Created, Modified = Now(), HasSecret = current.HasSecret || newSecret is not null };
                var entity = SiteEntity(stored, newSecret);
                if (newSecret is null && row.GetBinary("Ciphertext") is byte[] kept)
                {
                    entity["KeyId"] = row.GetBinary("KeyId");
                    entity["Ciphertext"] = kept;
                    entity["Sealed"] = true;
                }
                var actions = new List<TableTransactionAction> { Replace(entity, row.ETag) };
                if (newSecret is not null) actions.Add(await MetaCheckAsync(cancellationToken).ConfigureAwait(false));
                // The groups read decided the role check: a group added meanwhile touches this row (AddGroupAsync), so it fails this batch.
                await SubmitAsync(config, actions, cancellationToken).ConfigureAwait(false);
                return stored;
            }, cancellationToken));
        }

        public Task RemoveSiteAsync(string name, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var row = await FindAsync(config, ConfigPartition, SiteRow(name), cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("Site", name);
                var site = ReadSite(row);
                var users = (await GroupsAsync(cancellationToken).ConfigureAwait(false))
                    .Where(g => SameName(g.ProtectedSite, site.Name) || SameName(g.RecoverySite, site.Name)).Select(g => g.Name).ToList();
                if (users.Count > 0) throw VaultRules.SiteInUse(site.Name, users);
                await config.DeleteEntityAsync(ConfigPartition, row.RowKey, row.ETag, cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken));

        public Task<string?> ReadSiteSecretAsync(string name, CancellationToken cancellationToken) =>
            Run(async () =>
            {
                var row = await FindAsync(config, ConfigPartition, SiteRow(name), cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("Site", name);
                var site = ReadSite(row);
                return row.GetBinary("Ciphertext") is byte[] sealedSecret
                    ? Unseal($"the secret of site '{site.Name}'", $"Set-DRSite {site.Name}", row.GetBinary("KeyId")!, sealedSecret, VaultSecrets.SiteBinding(site.Name))
                    : null;
            });

        private TableEntity SiteEntity(Site site, string? secret)
        {
            var entity = WithDoc(new TableEntity(ConfigPartition, SiteRow(site.Name)), site with { HasSecret = false }, "Site", site.Name);
            if (secret is not null)
            {
                entity["KeyId"] = key.Id;
                entity["Ciphertext"] = Seal(secret, VaultSecrets.SiteBinding(site.Name));
                entity["Sealed"] = true;
            }
            return entity;
        }

        private static Site ReadSite(TableEntity row) => Doc<Site>(row) with { HasSecret = row.GetBinary("Ciphertext") is not null };

        // The site name is authenticated with its secret, so a secret copied onto another site's row does not open (as SqliteVault).
        private static bool SameName(string a, string b) => VaultRules.FoldAscii(a) == VaultRules.FoldAscii(b);

        // ---- Replication policies ----

        public Task<ReplicationPolicy> AddPolicyAsync(ReplicationPolicy policy, CancellationToken cancellationToken)
        {
            if (policy is null) throw new ArgumentNullException(nameof(policy));
            policy.Validate();
            return Run(() => Optimistic(async () =>
            {
                if (await FindAsync(config, ConfigPartition, PolicyRow(policy.Name), cancellationToken).ConfigureAwait(false) is not null)
                {
                    throw new ObjectAlreadyExistsException("ReplicationPolicy", policy.Name, "Use Set-ReplicationPolicy to change it, or choose another name.");
                }
                var now = Now();
                var stored = policy with { Created = now, Modified = now };
                await config.AddEntityAsync(WithDoc(new TableEntity(ConfigPartition, PolicyRow(stored.Name)), stored, "ReplicationPolicy", stored.Name), cancellationToken).ConfigureAwait(false);
                return stored;
            }, cancellationToken));
        }

        public Task<ReplicationPolicy?> FindPolicyAsync(string name, CancellationToken cancellationToken) =>
            Run(async () => await FindAsync(config, ConfigPartition, PolicyRow(name), cancellationToken).ConfigureAwait(false) is TableEntity row ? Doc<ReplicationPolicy>(row) : null);

        public Task<IReadOnlyList<ReplicationPolicy>> ListPoliciesAsync(CancellationToken cancellationToken) =>
            Run<IReadOnlyList<ReplicationPolicy>>(async () => (await PartitionAsync(config, ConfigPartition, PolicyPrefix, cancellationToken).ConfigureAwait(false))
                .Select(Doc<ReplicationPolicy>).OrderBy(p => p.Name, VaultRules.NoCase).ToList());

        public Task<ReplicationPolicy> UpdatePolicyAsync(string name, Func<ReplicationPolicy, ReplicationPolicy> change, CancellationToken cancellationToken)
        {
            if (change is null) throw new ArgumentNullException(nameof(change));
            return Run(() => Optimistic(async () =>
            {
                var row = await FindAsync(config, ConfigPartition, PolicyRow(name), cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("ReplicationPolicy", name);
                var current = Doc<ReplicationPolicy>(row);
                var changed = change(current);
                VaultRules.RefuseRename("ReplicationPolicy", current.Name, changed.Name, "New-ReplicationPolicy");
                changed.Validate();
                var stored = changed with { Created = current.Created, Modified = Now() };
                await config.UpdateEntityAsync(WithDoc(new TableEntity(ConfigPartition, row.RowKey), stored, "ReplicationPolicy", stored.Name), row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return stored;
            }, cancellationToken));
        }

        public Task RemovePolicyAsync(string name, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var row = await FindAsync(config, ConfigPartition, PolicyRow(name), cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("ReplicationPolicy", name);
                var policy = Doc<ReplicationPolicy>(row);
                var users = (await GroupsAsync(cancellationToken).ConfigureAwait(false)).Where(g => SameName(g.Policy, policy.Name)).Select(g => g.Name).ToList();
                if (users.Count > 0) throw VaultRules.PolicyInUse(policy.Name, users);
                await config.DeleteEntityAsync(ConfigPartition, row.RowKey, row.ETag, cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken));

        // ---- Protection groups ----

        public Task<ProtectionGroup> AddGroupAsync(ProtectionGroup group, CancellationToken cancellationToken)
        {
            if (group is null) throw new ArgumentNullException(nameof(group));
            group.Validate();
            return Run(() => Optimistic(async () =>
            {
                if (await FindAsync(config, ConfigPartition, GroupRow(group.Name), cancellationToken).ConfigureAwait(false) is not null)
                {
                    throw new ObjectAlreadyExistsException("ProtectionGroup", group.Name, "Use Set-ProtectionGroup to change it, or choose another name.");
                }
                var (resolved, touches) = await ResolveReferencesAsync(group, cancellationToken).ConfigureAwait(false);
                var now = Now();
                var stored = resolved with { ProtectedVmCount = 0, Created = now, Modified = now };
                touches.Insert(0, Insert(GroupEntity(stored)));
                await SubmitAsync(config, touches, cancellationToken).ConfigureAwait(false);
                return stored;
            }, cancellationToken));
        }

        public Task<ProtectionGroup?> FindGroupAsync(string name, CancellationToken cancellationToken) =>
            Run(async () =>
            {
                var row = await FindAsync(config, ConfigPartition, GroupRow(name), cancellationToken).ConfigureAwait(false);
                if (row is null) return null;
                var members = await PartitionAsync(config, ConfigPartition, MemberPrefix(row.RowKey), cancellationToken).ConfigureAwait(false);
                return Doc<ProtectionGroup>(row) with { ProtectedVmCount = members.Count };
            });

        public Task<IReadOnlyList<ProtectionGroup>> ListGroupsAsync(CancellationToken cancellationToken) =>
            Run<IReadOnlyList<ProtectionGroup>>(async () =>
            {
                var members = (await PartitionAsync(config, ConfigPartition, MemberPrefixAll, cancellationToken).ConfigureAwait(false))
                    .GroupBy(m => m.GetString("Group")).ToDictionary(g => g.Key, g => g.Count());
                return (await GroupsAsync(cancellationToken).ConfigureAwait(false))
                    .Select(g => g with { ProtectedVmCount = members.TryGetValue(GroupRow(g.Name), out var count) ? count : 0 }).ToList();
            });

        public Task<ProtectionGroup> UpdateGroupAsync(string name, Func<ProtectionGroup, ProtectionGroup> change, CancellationToken cancellationToken)
        {
            if (change is null) throw new ArgumentNullException(nameof(change));
            return Run(() => Optimistic(async () =>
            {
                var row = await FindAsync(config, ConfigPartition, GroupRow(name), cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("ProtectionGroup", name);
                var members = await PartitionAsync(config, ConfigPartition, MemberPrefix(row.RowKey), cancellationToken).ConfigureAwait(false);
                var current = Doc<ProtectionGroup>(row) with { ProtectedVmCount = members.Count };
                var changed = change(current);
                VaultRules.RefuseRename("ProtectionGroup", current.Name, changed.Name, "New-ProtectionGroup");
                changed.Validate();
                var (resolved, touches) = await ResolveReferencesAsync(changed, cancellationToken).ConfigureAwait(false);
                var stored = resolved with { ProtectedVmCount = current.ProtectedVmCount, Created = current.Created, Modified = Now() };
                touches.Insert(0, Replace(GroupEntity(stored), row.ETag));
                await SubmitAsync(config, touches, cancellationToken).ConfigureAwait(false);
                return stored;
            }, cancellationToken));
        }

        public Task RemoveGroupAsync(string name, bool force, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var row = await FindAsync(config, ConfigPartition, GroupRow(name), cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("ProtectionGroup", name);
                var group = Doc<ProtectionGroup>(row);
                var members = await PartitionAsync(config, ConfigPartition, MemberPrefix(row.RowKey), cancellationToken).ConfigureAwait(false);
                if (members.Count > 0)
                {
                    if (!force) throw VaultRules.GroupHasProtectedVms(group.Name, members.Count);
                    foreach (var member in members)
                    {
                        await RemoveVmRowsAsync(member, cancellationToken).ConfigureAwait(false);
                    }
                }
                // A VM added meanwhile touched the group row (AddProtectedVmAsync): this delete fails and the next attempt sees it.
                await config.DeleteEntityAsync(ConfigPartition, row.RowKey, row.ETag, cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken));

        private async Task<List<ProtectionGroup>> GroupsAsync(CancellationToken cancellationToken) =>
            (await PartitionAsync(config, ConfigPartition, GroupPrefix, cancellationToken).ConfigureAwait(false))
                .Select(Doc<ProtectionGroup>).OrderBy(g => g.Name, VaultRules.NoCase).ToList();

        private static TableEntity GroupEntity(ProtectionGroup group) =>
            WithDoc(new TableEntity(ConfigPartition, GroupRow(group.Name)), group with { ProtectedVmCount = 0 }, "ProtectionGroup", group.Name);

        /// <summary>The group with its references as stored, and a touch (If-Match) of each site and policy row it needs, for its batch.</summary>
        private async Task<(ProtectionGroup Group, List<TableTransactionAction> Touches)> ResolveReferencesAsync(ProtectionGroup group, CancellationToken cancellationToken)
        {
            var protectedRow = await FindAsync(config, ConfigPartition, SiteRow(group.ProtectedSite), cancellationToken).ConfigureAwait(false);
            var recoveryRow = await FindAsync(config, ConfigPartition, SiteRow(group.RecoverySite), cancellationToken).ConfigureAwait(false);
            var policyRow = await FindAsync(config, ConfigPartition, PolicyRow(group.Policy), cancellationToken).ConfigureAwait(false);
            var resolved = VaultRules.ResolveReferences(group,
                protectedRow is null ? null : ReadSite(protectedRow), recoveryRow is null ? null : ReadSite(recoveryRow), policyRow is null ? null : Doc<ReplicationPolicy>(policyRow));
            var touches = new List<TableTransactionAction> { Touch(protectedRow!), Touch(policyRow!) };
            if (recoveryRow!.RowKey != protectedRow!.RowKey) touches.Add(Touch(recoveryRow));
            return (resolved, touches);
        }
    }
}
