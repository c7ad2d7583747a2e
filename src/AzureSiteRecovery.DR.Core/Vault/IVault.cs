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

        /// <summary>Where the chunk store is; <see cref="ChunkStoreSetting.Default"/> (the local folder) until someone sets it.</summary>
        Task<ChunkStoreSetting> GetChunkStoreAsync(CancellationToken cancellationToken);
        /// <summary>
        /// Records where the chunk store is, with its account key or SAS (<paramref name="secret"/>, sealed; null: none).
        /// Fails with ChunkStoreInUse when the place changes while recovery points exist, unless <paramref name="force"/>.
        /// </summary>
        Task<ChunkStoreSetting> SetChunkStoreAsync(ChunkStoreSetting setting, string? secret, bool force, CancellationToken cancellationToken);
        /// <summary>The decrypted account key or SAS of the chunk store, for opening it only; null when there is none.</summary>
        Task<string?> ReadChunkStoreSecretAsync(CancellationToken cancellationToken);

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

        /// <summary>Records a VM as protected in its group; fails with VmAlreadyProtected when the same VM (site and moref) is.</summary>
        Task<ProtectedVm> AddProtectedVmAsync(ProtectedVm vm, CancellationToken cancellationToken);
        Task<ProtectedVm?> FindProtectedVmAsync(string vmId, CancellationToken cancellationToken);
        /// <summary>The protected VMs of one group, or of all groups when <paramref name="group"/> is null; with their disks and policy threshold.</summary>
        Task<IReadOnlyList<ProtectedVm>> ListProtectedVmsAsync(string? group, CancellationToken cancellationToken);
        /// <summary>Reads, changes and writes the VM (and its disks) in one transaction.</summary>
        Task<ProtectedVm> UpdateProtectedVmAsync(string vmId, Func<ProtectedVm, ProtectedVm> change, CancellationToken cancellationToken);
        /// <summary>Forgets the VM, its disks and its recovery point records; returns those records (their manifests are the caller's to delete).</summary>
        Task<IReadOnlyList<RecoveryPoint>> RemoveProtectedVmAsync(string vmId, CancellationToken cancellationToken);

        /// <summary>
        /// Adds the point (with its replica snapshots) and applies <paramref name="vmChange"/> (new change ids, last point, bytes sent)
        /// in one transaction; a point with replica snapshots also records that the VM's replica blobs now hold exactly it.
        /// </summary>
        Task<ProtectedVm> CommitRecoveryPointAsync(RecoveryPoint point, Func<ProtectedVm, ProtectedVm> vmChange, CancellationToken cancellationToken);
        /// <summary>
        /// As the other overload, but only while <paramref name="lease"/>'s owner still holds its lease (checked in the same
        /// transaction): when another owner took it over (this one's expired meanwhile), nothing is written and the call
        /// fails with VmReplicationLeaseLost.
        /// </summary>
        Task<ProtectedVm> CommitRecoveryPointAsync(RecoveryPoint point, Func<ProtectedVm, ProtectedVm> vmChange, LeaseClaim? lease, CancellationToken cancellationToken);
        /// <summary>The VM's points, oldest first.</summary>
        Task<IReadOnlyList<RecoveryPoint>> ListRecoveryPointsAsync(string vmId, CancellationToken cancellationToken);
        Task<RecoveryPoint?> FindRecoveryPointAsync(string recoveryPointId, CancellationToken cancellationToken);
        Task RemoveRecoveryPointAsync(string recoveryPointId, CancellationToken cancellationToken);

        /// <summary>What the VM's Azure replica blobs may hold; null before its first replica write.</summary>
        Task<ReplicaState?> FindReplicaStateAsync(string vmId, CancellationToken cancellationToken);
        /// <summary>Records what the VM's replica blobs may hold (before a cycle writes to them); fails with ProtectedVmNotFound.</summary>
        Task SaveReplicaStateAsync(ReplicaState state, CancellationToken cancellationToken);

        /// <summary>
        /// Stores a plan's source; fails with RecoveryPlanAlreadyExists when the name is taken, unless
        /// <paramref name="replace"/> (which keeps the first Created time).
        /// </summary>
        Task<RecoveryPlanSource> AddRecoveryPlanAsync(RecoveryPlanSource plan, bool replace, CancellationToken cancellationToken);
        Task<RecoveryPlanSource?> FindRecoveryPlanAsync(string name, CancellationToken cancellationToken);
        Task<IReadOnlyList<RecoveryPlanSource>> ListRecoveryPlansAsync(CancellationToken cancellationToken);
        /// <summary>Fails with RecoveryPlanNotFound when there is no such plan.</summary>
        Task RemoveRecoveryPlanAsync(string name, CancellationToken cancellationToken);

        /// <summary>Records a job with its planned steps (indexes 0..n-1 in order); fails with JobAlreadyExists when the id is taken.</summary>
        Task<DRJob> AddJobAsync(DRJob job, CancellationToken cancellationToken);
        /// <summary>The job with its steps, as stored (a Running job whose process died is still Running here); null when there is none.</summary>
        Task<DRJob?> FindJobAsync(string jobId, CancellationToken cancellationToken);
        /// <summary>The jobs with their steps, newest first; only those in <paramref name="state"/> when it is given.</summary>
        Task<IReadOnlyList<DRJob>> ListJobsAsync(JobState? state, CancellationToken cancellationToken);
        /// <summary>Reads, changes and writes the job (not its steps) in one transaction; fails with DRJobNotFound.</summary>
        Task<DRJob> UpdateJobAsync(string jobId, Func<DRJob, DRJob> change, CancellationToken cancellationToken);
        /// <summary>Reads, changes and writes one step of the job in one transaction; returns the whole job.</summary>
        Task<DRJob> UpdateJobStepAsync(string jobId, int index, Func<JobStep, JobStep> change, CancellationToken cancellationToken);

        /// <summary>
        /// Takes or renews the lease on <paramref name="resource"/> for <paramref name="owner"/> until now +
        /// <paramref name="duration"/>; false while another owner holds an unexpired lease.
        /// </summary>
        Task<bool> TryAcquireLeaseAsync(string resource, string owner, TimeSpan duration, CancellationToken cancellationToken);
        Task ReleaseLeaseAsync(string resource, string owner, CancellationToken cancellationToken);
        /// <summary>Who holds an unexpired lease on <paramref name="resource"/>; null when nobody does.</summary>
        Task<string?> FindLeaseHolderAsync(string resource, CancellationToken cancellationToken);
        /// <summary>Drops <paramref name="resource"/>'s lease if <paramref name="owner"/> still holds it (its process is known to be gone).</summary>
        Task BreakLeaseAsync(string resource, string owner, CancellationToken cancellationToken);
        /// <summary>
        /// Extends <paramref name="owner"/>'s lease on <paramref name="resource"/> to now + <paramref name="duration"/>; false
        /// (nothing changed) when the lease is no longer this owner's: released, or taken over by another owner after it expired.
        /// </summary>
        Task<bool> RenewLeaseAsync(string resource, string owner, TimeSpan duration, CancellationToken cancellationToken);

        /// <summary>Records the worker as it is now (inserted the first time, replaced after).</summary>
        Task SaveWorkerAsync(ReplicationWorker worker, CancellationToken cancellationToken);
        /// <summary>The workers that reported to the vault, the most recently started first.</summary>
        Task<IReadOnlyList<ReplicationWorker>> ListWorkersAsync(CancellationToken cancellationToken);
        /// <summary>Forgets the workers last seen before <paramref name="lastSeenBefore"/> (stopped or lost long ago); returns how many.</summary>
        Task<int> ForgetWorkersAsync(DateTimeOffset lastSeenBefore, CancellationToken cancellationToken);

        /// <summary>Records the event; false (nothing written) when one with its <see cref="DREvent.EventId"/> is recorded already, by this process or another.</summary>
        Task<bool> AddEventAsync(DREvent dREvent, CancellationToken cancellationToken);
        /// <summary>The events oldest first: those seen at or after <paramref name="since"/>, of the VM <paramref name="vmId"/> and of <paramref name="kind"/> when given.</summary>
        Task<IReadOnlyList<DREvent>> ListEventsAsync(DateTimeOffset? since, string? vmId, DREventKind? kind, CancellationToken cancellationToken);
    }
}
