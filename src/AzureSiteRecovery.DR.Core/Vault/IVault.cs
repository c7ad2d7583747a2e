using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Vault
{
    /// <summary>
    /// The state store (the paper's Recovery Services vault). Every method is one atomic step:
    /// two processes using the same vault never lose an update and never see half an object.
    /// Referential rules (a group needs its sites and policy; a policy in use cannot go) are
    /// checked inside the same transaction as the change. Failures are <see cref="Errors.DRException"/>s.
    /// </summary>
    public interface IVault : IDisposable
    {
        /// <summary>Where the vault lives (a file path, or a table endpoint).</summary>
        string Location { get; }

        Task<Site> AddSiteAsync(Site site, string? secret, CancellationToken cancellationToken);
        Task<Site?> FindSiteAsync(string name, CancellationToken cancellationToken);
        Task<IReadOnlyList<Site>> ListSitesAsync(CancellationToken cancellationToken);
        /// <summary>Reads, changes and writes the site in one transaction; <paramref name="newSecret"/> null keeps the stored secret.</summary>
        Task<Site> UpdateSiteAsync(string name, Func<Site, Site> change, string? newSecret, CancellationToken cancellationToken);
        /// <summary>Fails with SiteInUse while a protection group uses the site.</summary>
        Task RemoveSiteAsync(string name, CancellationToken cancellationToken);
        /// <summary>The decrypted secret of a site, for the site providers only; null when it has none.</summary>
        Task<string?> ReadSiteSecretAsync(string name, CancellationToken cancellationToken);

        Task<ReplicationPolicy> AddPolicyAsync(ReplicationPolicy policy, CancellationToken cancellationToken);
        Task<ReplicationPolicy?> FindPolicyAsync(string name, CancellationToken cancellationToken);
        Task<IReadOnlyList<ReplicationPolicy>> ListPoliciesAsync(CancellationToken cancellationToken);
        Task<ReplicationPolicy> UpdatePolicyAsync(string name, Func<ReplicationPolicy, ReplicationPolicy> change, CancellationToken cancellationToken);
        /// <summary>Fails with ReplicationPolicyInUse while a protection group uses the policy.</summary>
        Task RemovePolicyAsync(string name, CancellationToken cancellationToken);

        Task<ProtectionGroup> AddGroupAsync(ProtectionGroup group, CancellationToken cancellationToken);
        Task<ProtectionGroup?> FindGroupAsync(string name, CancellationToken cancellationToken);
        Task<IReadOnlyList<ProtectionGroup>> ListGroupsAsync(CancellationToken cancellationToken);
        Task<ProtectionGroup> UpdateGroupAsync(string name, Func<ProtectionGroup, ProtectionGroup> change, CancellationToken cancellationToken);
        /// <summary>Fails with ProtectionGroupHasProtectedVms while the group has protected VMs, unless <paramref name="force"/>.</summary>
        Task RemoveGroupAsync(string name, bool force, CancellationToken cancellationToken);
    }
}
