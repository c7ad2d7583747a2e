using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication.Scheduling;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Replication.Monitoring
{
    /// <summary>
    /// Watches a worker's VMs for RPO breaches: a VM whose newest point grew older than its policy's threshold is recorded
    /// once as an <see cref="DREventKind.RpoBreached"/> event, named by the VM and that point, so that every worker watching
    /// the VM finds the same id and only the first records it. One per worker; not thread-safe (the scheduler's loop calls it).
    /// </summary>
    public sealed class RpoMonitor
    {
        private const int RememberedIds = 4096;
        private readonly IVault vault;
        // The ids this worker recorded or found recorded: the vault is asked once per breach, not every poll.
        private readonly HashSet<string> known = new HashSet<string>(StringComparer.Ordinal);

        public RpoMonitor(IVault vault) => this.vault = vault;

        /// <summary>The breach event of <paramref name="vm"/> at <paramref name="now"/>; null when its RPO is within its threshold, or it has no point yet.</summary>
        public static DREvent? Breach(ScheduledVm vm, DateTimeOffset now)
        {
            var v = vm.Vm;
            if (!v.IsReplicating || v.LastRecoveryPointTime is not DateTimeOffset pointTime || vm.BreachAt >= now)
            {
                return null;
            }

            var threshold = vm.BreachAt - pointTime;
            var seen = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
            return new DREvent
            {
                EventId = $"{DREventKind.RpoBreached}:{v.VmId}:{v.LastRecoveryPointId}",
                Kind = DREventKind.RpoBreached,
                Time = seen,
                VmId = v.VmId,
                VmName = v.Name,
                ProtectionGroup = v.ProtectionGroup,
                RecoveryPointId = v.LastRecoveryPointId,
                RecoveryPointTime = pointTime,
                RpoThreshold = threshold,
                Message = $"VM '{v.Name}' (protection group '{v.ProtectionGroup}') is over its RPO threshold of {Text(threshold)}: its newest recovery point is " +
                    $"{Text(seen - pointTime)} old ({pointTime:u}). Check that a replication worker runs (Get-DRWorker) and why its cycles are late or failing (Get-ProtectedVm '{v.Name}' | Format-List LastError).",
            };
        }

        /// <summary>Records the breaches among <paramref name="vms"/> not recorded yet; returns those this call recorded (each breach is returned once, by one worker).</summary>
        public async Task<IReadOnlyList<DREvent>> RecordBreachesAsync(IEnumerable<ScheduledVm> vms, DateTimeOffset now, CancellationToken cancellationToken)
        {
            var recorded = new List<DREvent>();
            foreach (var breach in vms.Select(vm => Breach(vm, now)).OfType<DREvent>())
            {
                if (known.Contains(breach.EventId))
                {
                    continue;
                }

                if (await vault.AddEventAsync(breach, cancellationToken).ConfigureAwait(false))
                {
                    recorded.Add(breach);
                }

                if (known.Count >= RememberedIds)
                {
                    known.Clear();
                }
                known.Add(breach.EventId);
            }

            return recorded;
        }

        private static string Text(TimeSpan span) =>
            span >= TimeSpan.FromHours(1) ? $"{(int)span.TotalHours} h {span.Minutes} min"
            : span >= TimeSpan.FromMinutes(1) ? $"{(int)span.TotalMinutes} min {span.Seconds} s"
            : $"{(int)span.TotalSeconds} s";
    }
}
