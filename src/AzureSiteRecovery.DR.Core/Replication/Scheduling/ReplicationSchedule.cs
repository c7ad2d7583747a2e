using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Vault;
using AzureSiteRecovery.DR.Core.Transfers.Retries;

namespace AzureSiteRecovery.DR.Core.Replication.Scheduling
{
    /// <summary>A VM and the interval of its policy, as the scheduler weighs it.</summary>
    public sealed record ScheduledVm(ProtectedVm Vm, TimeSpan Interval)
    {
        /// <summary>When its next cycle is due: its interval after its last cycle; at once (MinValue) before its first.</summary>
        public DateTimeOffset DueAt => Vm.LastCycleTime is DateTimeOffset last ? last + Interval : DateTimeOffset.MinValue;

        /// <summary>
        /// When its RPO breaches its threshold unless a new point is committed first: its newest point's time plus the
        /// threshold (the default threshold when the policy is gone); MinValue before its first point.
        /// </summary>
        public DateTimeOffset BreachAt => Vm.LastRecoveryPointTime is DateTimeOffset point
            ? point + (Vm.RpoThreshold > TimeSpan.Zero ? Vm.RpoThreshold : ReplicationPolicy.DefaultRpoThreshold)
            : DateTimeOffset.MinValue;
    }

    /// <summary>When VMs are due for their next cycle: their policy's replication interval has passed since their last one.</summary>
    public static class ReplicationSchedule
    {
        public static async Task<bool> IsDueAsync(IVault vault, ProtectedVm vm, CancellationToken cancellationToken) =>
            (await WithIntervalsAsync(vault, new[] { vm }, cancellationToken).ConfigureAwait(false))[0].DueAt <= DateTimeOffset.UtcNow;

        /// <summary>The VMs with their policies' replication intervals (the default interval when a group or policy is gone).</summary>
        public static async Task<IReadOnlyList<ScheduledVm>> WithIntervalsAsync(IVault vault, IEnumerable<ProtectedVm> vms, CancellationToken cancellationToken)
        {
            var intervals = new Dictionary<string, TimeSpan>(StringComparer.OrdinalIgnoreCase);
            var result = new List<ScheduledVm>();
            foreach (var vm in vms)
            {
                if (!intervals.TryGetValue(vm.ProtectionGroup, out var interval))
                {
                    var group = await vault.FindGroupAsync(vm.ProtectionGroup, cancellationToken).ConfigureAwait(false);
                    var policy = group is null ? null : await vault.FindPolicyAsync(group.Policy, cancellationToken).ConfigureAwait(false);
                    intervals[vm.ProtectionGroup] = interval = policy?.ReplicationInterval ?? ReplicationPolicy.DefaultReplicationInterval;
                }

                result.Add(new ScheduledVm(vm, interval));
            }

            return result;
        }

        /// <summary>
        /// The VMs to cycle at <paramref name="now"/>, least slack first: replicating, their interval passed, and not held
        /// back by <paramref name="notBefore"/> (a back-off after failures, or a lease found busy), ordered by when their
        /// RPO breaches (<see cref="ScheduledVm.BreachAt"/>: never replicated first, then those already in breach, then
        /// the closest to it; ties by name), so a VM with a tight threshold goes before one that is merely more overdue.
        /// With <paramref name="worker"/>, VMs whose breach times fall within the same <see cref="SpreadBand"/> come in an
        /// order of that worker's own (a hash of worker and VM), so that workers waking together for many due VMs claim
        /// different ones instead of all racing for the same lease first.
        /// </summary>
        public static IReadOnlyList<ProtectedVm> ChooseDue(IEnumerable<ScheduledVm> vms, DateTimeOffset now, Func<string, DateTimeOffset?>? notBefore = null, string? worker = null)
        {
            var due = vms.Where(s => s.Vm.IsReplicating && s.DueAt <= now && !(notBefore?.Invoke(s.Vm.VmId) > now));
            var ordered = worker is null
                ? due.OrderBy(s => s.BreachAt)
                : due.OrderBy(s => s.BreachAt == DateTimeOffset.MinValue ? long.MinValue : s.BreachAt.UtcTicks / SpreadBand.Ticks).ThenBy(s => Spread(worker, s.Vm.VmId));
            return ordered.ThenBy(s => s.Vm.Name, StringComparer.OrdinalIgnoreCase).Select(s => s.Vm).ToList();
        }

        /// <summary>VMs whose RPO breaches within this much of each other count as equally urgent when workers spread them.</summary>
        public static readonly TimeSpan SpreadBand = TimeSpan.FromSeconds(5);

        // FNV-1a of worker and VM id: the same order in every process and on every platform (string.GetHashCode is not).
        private static uint Spread(string worker, string vmId)
        {
            var hash = 2166136261u;
            foreach (var c in worker + "\n" + vmId)
            {
                hash = (hash ^ c) * 16777619u;
            }

            return hash;
        }

        /// <summary>
        /// When the next of <paramref name="vms"/> not due at <paramref name="now"/> falls due (its interval passed and no
        /// longer held back); null when none will. A worker with a free slot wakes then instead of at its next poll.
        /// </summary>
        public static DateTimeOffset? NextDue(IEnumerable<ScheduledVm> vms, DateTimeOffset now, Func<string, DateTimeOffset?>? notBefore = null) =>
            vms.Where(s => s.Vm.IsReplicating)
                .Select(s => notBefore?.Invoke(s.Vm.VmId) is DateTimeOffset held && held > s.DueAt ? held : s.DueAt)
                .Where(at => at > now)
                .Select(at => (DateTimeOffset?)at)
                .Min();

        /// <summary>
        /// How long a VM waits after its <paramref name="failures"/>-th failure in a row before it is tried again: its interval
        /// after the first (as a cycle that worked), doubling with each further one, at most <paramref name="maximum"/>.
        /// </summary>
        public static TimeSpan BackOff(TimeSpan interval, int failures, TimeSpan maximum) => new Backoff(interval, maximum).After(failures);
    }
}
