using System;
using System.Collections.Generic;
using System.Linq;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Vault
{
    /// <summary>
    /// The referential rules and their errors, shared by every vault (SQLite, Tables): each vault reads
    /// the rows in its own transaction and asks these for the verdict, so both fail the same way.
    /// </summary>
    internal static class VaultRules
    {
        /// <summary>Checks that the group's sites and policy exist and fit, and returns it with their names as stored.</summary>
        public static ProtectionGroup ResolveReferences(ProtectionGroup group, Site? protectedSite, Site? recoverySite, ReplicationPolicy? policy)
        {
            if (protectedSite is null)
                throw new ObjectNotFoundException("Site", group.ProtectedSite, $"Protection group '{group.Name}' names it as its protected site; create it with New-DRSite first.");
            if (recoverySite is null)
                throw new ObjectNotFoundException("Site", group.RecoverySite, $"Protection group '{group.Name}' names it as its recovery site; create it with New-DRSite first.");
            if (policy is null)
                throw new ObjectNotFoundException("ReplicationPolicy", group.Policy, $"Protection group '{group.Name}' names it as its policy; create it with New-ReplicationPolicy first.");
            if (!CanBeProtected(protectedSite.Role))
            {
                throw new InvalidSettingException("ProtectionGroup", group.Name, nameof(ProtectionGroup.ProtectedSite),
                    $"Site '{protectedSite.Name}' has role {protectedSite.Role}, so it cannot be the protected site of group '{group.Name}': use a site with role Protected or Both, or change its role with Set-DRSite -Role.");
            }
            if (!CanRecover(recoverySite.Role))
            {
                throw new InvalidSettingException("ProtectionGroup", group.Name, nameof(ProtectionGroup.RecoverySite),
                    $"Site '{recoverySite.Name}' has role {recoverySite.Role}, so it cannot be the recovery site of group '{group.Name}': use a site with role Recovery or Both, or change its role with Set-DRSite -Role.");
            }
            return group with { ProtectedSite = protectedSite.Name, RecoverySite = recoverySite.Name, Policy = policy.Name };
        }

        /// <summary>Refuses a role that the groups protecting from (<paramref name="protectedBy"/>) or recovering to (<paramref name="recoveredTo"/>) the site need; both ordered by name.</summary>
        public static void RefuseRoleThatGroupsNeed(Site site, IReadOnlyList<string> protectedBy, IReadOnlyList<string> recoveredTo)
        {
            protectedBy = CanBeProtected(site.Role) ? Array.Empty<string>() : protectedBy;
            recoveredTo = CanRecover(site.Role) ? Array.Empty<string>() : recoveredTo;
            if (protectedBy.Count > 0 || recoveredTo.Count > 0)
            {
                var use = protectedBy.Count > 0 ? $"the protected site of group(s) {Quote(protectedBy)}" : $"the recovery site of group(s) {Quote(recoveredTo)}";
                throw new InvalidSettingException("Site", site.Name, nameof(Site.Role),
                    $"Site '{site.Name}' cannot have role {site.Role}: it is {use}. Use role Both, or change those groups first.");
            }
        }

        public static bool CanBeProtected(SiteRole role) => role == SiteRole.Protected || role == SiteRole.Both;

        public static bool CanRecover(SiteRole role) => role == SiteRole.Recovery || role == SiteRole.Both;

        public static void RefuseRename(string kind, string currentName, string changedName, string createCmdlet)
        {
            if (!string.Equals(currentName, changedName, StringComparison.Ordinal))
            {
                throw new InvalidSettingException(kind, currentName, "Name",
                    $"{ObjectNotFoundException.Describe(kind)} '{currentName}' cannot be renamed to '{changedName}'. Create a new one with {createCmdlet} instead.");
            }
        }

        public static ObjectInUseException SiteInUse(string site, IReadOnlyList<string> groups) =>
            new ObjectInUseException("SiteInUse", site,
                $"Site '{site}' is used by protection group(s) {Quote(groups)}. Remove those groups, or give them another site with Set-ProtectionGroup, first.");

        public static ObjectInUseException PolicyInUse(string policy, IReadOnlyList<string> groups) =>
            new ObjectInUseException("ReplicationPolicyInUse", policy,
                $"Replication policy '{policy}' is used by protection group(s) {Quote(groups)}. Give them another policy with Set-ProtectionGroup -Policy, or remove them, first.");

        public static ObjectInUseException GroupHasProtectedVms(string group, int count) =>
            new ObjectInUseException("ProtectionGroupHasProtectedVms", group,
                $"Protection group '{group}' has {count} protected VM(s). Disable protection of its VMs first (Disable-VmProtection), or use -Force.");

        public static InvalidSettingException VmOnOtherSite(ProtectedVm vm, ProtectionGroup group) =>
            new InvalidSettingException("ProtectedVm", vm.Name, nameof(ProtectedVm.Site),
                $"VM '{vm.Name}' is on site '{vm.Site}', but protection group '{group.Name}' protects VMs of site '{group.ProtectedSite}'.");

        public static ObjectAlreadyExistsException VmAlreadyProtected(ProtectedVm vm, string existingGroup) =>
            ObjectAlreadyExistsException.Because("VmAlreadyProtected", vm.Name,
                $"VM '{vm.Name}' ({vm.MoRef} on site '{vm.Site}') is protected already, in group '{existingGroup}'. " +
                "Use Sync-VmReplication to replicate it now, or Disable-VmProtection first to protect it again.");

        public static void CheckVmChange(ProtectedVm current, ProtectedVm changed)
        {
            if (changed.VmId != current.VmId || changed.ProtectionGroup != current.ProtectionGroup || changed.Site != current.Site)
            {
                throw new InvalidSettingException("ProtectedVm", current.Name, nameof(ProtectedVm.VmId),
                    $"A protected VM keeps its id, group and site; disable protection of '{current.Name}' and enable it again to move it.");
            }
        }

        // Taken over after this cycle's lease expired (its worker stalled or lost the vault): the other worker's cycle counts.
        public static ObjectInUseException LeaseLost(string vmName) =>
            new ObjectInUseException("VmReplicationLeaseLost", vmName,
                $"The cycle of VM '{vmName}' lost its lease to another worker before it could commit; its point was not recorded " +
                "(the other worker's cycle makes the next one). Its worker could not renew the lease in time: check the vault's reachability and the worker's load.");

        public static ObjectInUseException ChunkStoreInUse(long points, ChunkStoreSetting current, ChunkStoreSetting setting) =>
            new ObjectInUseException("ChunkStoreInUse", "chunk store",
                $"The vault has {points} recovery point(s) whose chunks are in {Describe(current)}; after switching to {Describe(setting)} they could not be tested, exported or recovered. " +
                "Moving the chunks is Copy-DRVault's job (not in this module yet); to switch anyway, leaving the points' data behind, use -Force.");

        public static string Describe(ChunkStoreSetting setting) =>
            setting.Kind == ChunkStoreKind.LocalFolder ? "the local folder beside the vault" : $"the container '{setting.BlobContainer}'";

        public static void CheckStepsNumbered(DRJob job)
        {
            if (!job.Steps.Select(s => s.Index).SequenceEqual(Enumerable.Range(0, job.Steps.Count)))
            {
                throw new InvalidSettingException("Job", job.JobId, nameof(DRJob.Steps), $"The steps of job '{job.JobId}' must be numbered 0 to {job.Steps.Count - 1} in order.");
            }
        }

        public static void CheckJobChange(string jobId, DRJob current, DRJob changed)
        {
            if (changed.JobId != current.JobId || changed.Operation != current.Operation || changed.Target != current.Target)
            {
                throw new InvalidSettingException("Job", jobId, nameof(DRJob.JobId), $"Job '{jobId}' keeps its id, operation and target.");
            }
        }

        public static void CheckStepChange(string jobId, int index, JobStep current, JobStep changed)
        {
            if (changed.Index != current.Index || changed.Name != current.Name || changed.IsFinally != current.IsFinally)
            {
                throw new InvalidSettingException("Job", jobId, nameof(JobStep.Index), $"Step {index} of job '{jobId}' keeps its index, name and kind.");
            }
        }

        public static ObjectNotFoundException StepNotFound(DRJob job, int index) =>
            new ObjectNotFoundException("JobStep", $"{job.JobId}/{index}", $"Job '{job.JobId}' has {job.Steps.Count} step(s).");

        /// <summary>Interrupted is observed from a dead owner, never stored: a stored job in that state would never be picked up again.</summary>
        public static JobState StoredState(JobState state) => state == JobState.Interrupted ? JobState.Running : state;

        /// <summary>
        /// A plan with a job that has not ended (not started, running, interrupted, waiting for the user) stays as it is: the job
        /// keeps its own copy, but the user would lose track of what runs. <paramref name="jobs"/>: any jobs, oldest first.
        /// </summary>
        public static void RefuseIfPlanInUse(string name, string change, IEnumerable<DRJob> jobs)
        {
            var unfinished = jobs
                .Where(j => string.Equals(j.Target, name, StringComparison.OrdinalIgnoreCase) && j.Operation != JobOperation.StopTestFailover)
                .Where(j => j.State == JobState.NotStarted || j.State == JobState.Running || j.State == JobState.WaitingForUser)
                .Where(j => !j.Parameters.ContainsKey("vms")) // a job of piped-in VMs has no plan; its target only lists them
                // A job whose plan copy is damaged never runs again (JobPlanDamaged): it must not hold the plan for ever.
                .Where(j => j.PlanYaml is null || j.PlanHash is null || string.Equals(RecoveryPlanSource.HashOf(j.PlanYaml), j.PlanHash, StringComparison.OrdinalIgnoreCase))
                .ToList();
            if (unfinished.Count == 0)
            {
                return;
            }

            var job = unfinished[0];
            throw new ObjectInUseException("RecoveryPlanInUse", name,
                $"Recovery plan '{name}' cannot be {change}: job {job.JobId} ({job.Operation}, {job.State}) has not finished" +
                (unfinished.Count > 1 ? $" (nor have {unfinished.Count - 1} other job(s): {string.Join(", ", unfinished.Skip(1).Select(j => j.JobId))})" : "") +
                $". Finish it with Resume-DRJob -JobId {job.JobId} (Wait-DRJob -JobId {job.JobId} while another process runs it), " +
                $"or end it with Stop-DRJob -JobId {job.JobId} and then Resume-DRJob -JobId {job.JobId} so its cleanup runs.");
        }

        public static string Quote(IEnumerable<string> names) => string.Join(", ", names.Select(name => "'" + name + "'"));

        /// <summary>SQLite's COLLATE NOCASE: ASCII letters folded, everything else compared as is.</summary>
        public static readonly IComparer<string> NoCase = Comparer<string>.Create((a, b) => string.CompareOrdinal(FoldAscii(a), FoldAscii(b)));

        /// <summary>The key a name is unique under (COLLATE NOCASE: ASCII letters folded).</summary>
        public static string FoldAscii(string name)
        {
            var chars = name.ToCharArray();
            for (var i = 0; i < chars.Length; i++)
            {
                if (chars[i] >= 'A' && chars[i] <= 'Z') chars[i] = (char)(chars[i] + 32);
            }
            return new string(chars);
        }
    }
}
