using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication.Monitoring;
using AzureSiteRecovery.DR.Core.Storage;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Replication.Scheduling
{
    /// <summary>What the scheduler tells its host (a cmdlet, a job) as it works; called from worker threads.</summary>
    public interface IReplicationSchedulerObserver
    {
        /// <summary>Progress of the cycle of <paramref name="vm"/> now starting; null: none wanted.</summary>
        IProgress<CycleProgress>? CycleStarting(ProtectedVm vm);
        void CycleCompleted(CycleResult result);
        /// <summary>A cycle failed; the VM is tried again after <paramref name="retryIn"/>.</summary>
        void CycleFailed(ProtectedVm vm, Exception error, TimeSpan retryIn);
        void GarbageCollected(GarbageCollectionResult result);
        /// <summary>Looking for due VMs, reporting or collecting garbage failed (the vault or store unreachable); tried again after <paramref name="retryIn"/>.</summary>
        void PollFailed(Exception error, TimeSpan retryIn);
        /// <summary>A VM's RPO went over its threshold; this worker recorded the event (once per breach across all workers).</summary>
        void RpoBreached(DREvent breach);
    }

    /// <summary>How a replication worker runs.</summary>
    public sealed record ReplicationSchedulerOptions
    {
        /// <summary>The VMs this worker cycles (ids); null: every replicating VM of the vault, also those protected after it started.</summary>
        public IReadOnlyCollection<string>? VmIds { get; init; }
        /// <summary>How many VMs this worker cycles at once.</summary>
        public int Parallelism { get; init; } = 4;
        /// <summary>How often the worker looks for due VMs while it has a free slot.</summary>
        public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
        /// <summary>The lease on a VM while its cycle runs (renewed every third of it); a dead worker's VMs go to the others after it.</summary>
        public TimeSpan LeaseDuration { get; init; } = VmReplicator.DefaultLeaseDuration;
        /// <summary>The longest wait after failures in a row.</summary>
        public TimeSpan MaximumBackOff { get; init; } = TimeSpan.FromMinutes(30);
        /// <summary>The longest wait between polls while the vault cannot be read (the poll interval, doubling with each failure in a row).</summary>
        public TimeSpan MaximumPollBackOff { get; init; } = TimeSpan.FromMinutes(1);
    }

    /// <summary>
    /// The process server's loop, one per worker: many workers (processes, machines) run it against one vault and split
    /// the due VMs between them. Each poll it lists the VMs that are due (their interval passed; the most overdue first) and
    /// claims them one by one while it has a free slot: it takes the VM's lease and reads the VM again under it, passing
    /// over one that another worker holds or has cycled since the list was read, and starts its cycle. A worker with a
    /// free slot polls again when a cycle ends and when the next VM falls due, at least every poll interval. It backs off
    /// a VM after failures in a row (doubling its interval), collects unreferenced chunks at most every
    /// <see cref="ChunkGarbageCollection.Interval"/> (across all workers), and records itself in the vault
    /// (<see cref="ReplicationWorker"/>) with a heartbeat at least every third of the lease duration.
    /// </summary>
    public sealed class ReplicationScheduler
    {
        private readonly IVault vault;
        private readonly Func<ReplicationStore> openStore;
        private readonly VmReplicator replicator;
        private readonly ReplicationSchedulerOptions options;
        private readonly Dictionary<string, (int Failures, DateTimeOffset NotBefore)> held = new Dictionary<string, (int, DateTimeOffset)>();
        private readonly object gate = new object();
        private readonly ReplicationWorker self;
        private readonly RpoMonitor rpo;

        public ReplicationScheduler(IVault vault, Func<ReplicationStore> openStore, ReplicaContainerLocator? replicaContainers,
            ReplicationSchedulerOptions options)
        {
            if (options.Parallelism < 1)
            {
                throw new InvalidSettingException("Replication", "Parallelism", nameof(options.Parallelism), $"A worker cycles at least one VM at once, not {options.Parallelism}.");
            }
            if (options.PollInterval <= TimeSpan.Zero)
            {
                throw new InvalidSettingException("Replication", "PollInterval", nameof(options.PollInterval), $"The poll interval must be positive, not {options.PollInterval}.");
            }

            this.vault = vault;
            rpo = new RpoMonitor(vault);
            this.openStore = openStore;
            this.options = options;
            WorkerId = ProcessOwner.NewId(8);
            replicator = new VmReplicator(vault, openStore, replicaContainers, WorkerId) { LeaseDuration = options.LeaseDuration };
            using var process = Process.GetCurrentProcess();
            self = new ReplicationWorker { WorkerId = WorkerId, Machine = ProcessOwner.MachineName, ProcessId = process.Id, LeaseDuration = options.LeaseDuration };
        }

        // Woken this long after a VM falls due, so that it is due by every clock that reads it; and this much later for each
        // cycle the worker runs.
        private static readonly TimeSpan WakeAfterDue = TimeSpan.FromMilliseconds(20);
        private static readonly TimeSpan WakeLaterPerCycle = TimeSpan.FromMilliseconds(60);

        /// <summary>A worker not seen for this long is forgotten when another one starts: Get-DRWorker shows a week of history.</summary>
        public static readonly TimeSpan ForgetWorkersAfter = TimeSpan.FromDays(7);

        /// <summary>This worker's id in the vault and on its leases: machine/pid/suffix.</summary>
        public string WorkerId { get; }

        /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled; cycles running then are cancelled (they commit nothing) and awaited.</summary>
        public async Task RunAsync(IReplicationSchedulerObserver observer, CancellationToken cancellationToken)
        {
            var started = DateTimeOffset.UtcNow;
            var running = new Dictionary<string, (ProtectedVm Vm, Task<bool> Cycle)>();
            var lastHeartbeat = DateTimeOffset.MinValue;
            var reported = "";
            var pollFailures = 0;
            await ReportAsync(started, Array.Empty<string>(), null, cancellationToken).ConfigureAwait(false);
            await vault.ForgetWorkersAsync(started - ForgetWorkersAfter, cancellationToken).ConfigureAwait(false);
            try
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    var wait = options.PollInterval;
                    try
                    {
                        if (running.Count < options.Parallelism)
                        {
                            var (due, next, watched) = await DueAsync(running.Keys, cancellationToken).ConfigureAwait(false);
                            foreach (var vm in due)
                            {
                                if (running.Count >= options.Parallelism)
                                {
                                    break;
                                }

                                // Claimed here, one by one: a VM another worker holds (or cycled since the list was read) is
                                // passed over for the next due one at once, so a free slot never waits for the next poll.
                                var claim = await TryClaimAsync(vm, cancellationToken).ConfigureAwait(false);
                                if (claim != null)
                                {
                                    running[vm.VmId] = (claim.Vm, Task.Run(() => CycleAsync(claim, observer, cancellationToken)));
                                }
                            }

                            // After the claims (a breach is news, a late cycle is worse): breaches of this worker's VMs, in a cycle or not.
                            foreach (var breach in await rpo.RecordBreachesAsync(watched, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false))
                            {
                                observer.RpoBreached(breach);
                            }

                            // A slot still free: wake when the next VM falls due rather than up to a poll interval after; the
                            // busier a worker, the later it wakes, so that of the workers waiting for it the idlest gets it.
                            var wake = WakeAfterDue + TimeSpan.FromTicks(WakeLaterPerCycle.Ticks * running.Count);
                            if (running.Count < options.Parallelism && next is DateTimeOffset nextDue && nextDue + wake - DateTimeOffset.UtcNow < wait)
                            {
                                wait = TimeSpan.FromTicks(Math.Max(nextDue.Ticks - DateTimeOffset.UtcNow.Ticks, 0)) + wake;
                            }
                        }

                        var now = DateTimeOffset.UtcNow;
                        var current = string.Join("\n", running.Values.Select(r => r.Vm.Name).OrderBy(n => n, StringComparer.OrdinalIgnoreCase));
                        if (current != reported || now - lastHeartbeat >= TimeSpan.FromTicks(options.LeaseDuration.Ticks / 3))
                        {
                            await ReportAsync(started, running.Values.Select(r => r.Vm.Name).ToList(), null, cancellationToken).ConfigureAwait(false);
                            lastHeartbeat = now;
                            reported = current;
                        }

                        pollFailures = 0;
                    }
                    catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
                    {
                        // The vault unreachable for a while: the worker keeps running (its cycles too), and looks again later.
                        wait = ReplicationSchedule.BackOff(options.PollInterval, ++pollFailures, options.MaximumPollBackOff);
                        observer.PollFailed(ex, wait);
                    }

                    // Until the next poll, or sooner when a cycle ends (its slot is free, and a VM leased meanwhile may be free too).
                    var poll = Task.Delay(wait, cancellationToken);
                    await Task.WhenAny(running.Values.Select(r => (Task)r.Cycle).Append(poll)).ConfigureAwait(false);
                    var ended = running.Where(r => r.Value.Cycle.IsCompleted).ToList();
                    foreach (var end in ended)
                    {
                        running.Remove(end.Key);
                    }

                    if (ended.Any(e => e.Value.Cycle.Status == TaskStatus.RanToCompletion && e.Value.Cycle.Result) && !cancellationToken.IsCancellationRequested)
                    {
                        // Only after cycles: an idle worker must not touch the store or write to the vault every poll.
                        try
                        {
                            await CollectGarbageIfDueAsync(observer, cancellationToken).ConfigureAwait(false);
                        }
                        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
                        {
                            // Its lease is the "not before" mark: the next collection is due in the usual interval.
                            observer.PollFailed(ex, ChunkGarbageCollection.Interval);
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopped: the cycles still running see the same token.
            }
            finally
            {
                try
                {
                    await Task.WhenAll(running.Values.Select(r => (Task)r.Cycle)).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Each cycle reported its own outcome.
                }

                try
                {
                    await ReportAsync(started, Array.Empty<string>(), DateTimeOffset.UtcNow, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex) when (!(ex is OperationCanceledException))
                {
                    // The vault unreachable as the worker stops: it shows as Lost instead of Stopped.
                    observer.PollFailed(ex, TimeSpan.Zero);
                }
            }
        }

        // The VMs due now (the closest to breaching their RPO first), when the next of the others falls due, and every VM this
        // worker watches (also those in a cycle now) for RPO breaches.
        private async Task<(IReadOnlyList<ProtectedVm> Due, DateTimeOffset? Next, IReadOnlyList<ScheduledVm> Watched)> DueAsync(IEnumerable<string> runningIds, CancellationToken cancellationToken)
        {
            var all = await vault.ListProtectedVmsAsync(null, cancellationToken).ConfigureAwait(false);
            var watched = await ReplicationSchedule.WithIntervalsAsync(vault, all.Where(vm => options.VmIds is null || options.VmIds.Contains(vm.VmId)), cancellationToken).ConfigureAwait(false);
            var scheduled = watched.Where(s => !runningIds.Contains(s.Vm.VmId)).ToList();
            var now = DateTimeOffset.UtcNow;
            lock (gate)
            {
                DateTimeOffset? HeldUntil(string id) => held.TryGetValue(id, out var h) ? h.NotBefore : (DateTimeOffset?)null;
                return (ReplicationSchedule.ChooseDue(scheduled, now, HeldUntil, WorkerId), ReplicationSchedule.NextDue(scheduled, now, HeldUntil), watched);
            }
        }

        // The VM's lease and the VM as read under it; null when another worker holds it, cycled it since it was listed,
        // or it was failed over or removed meanwhile (all looked at again next poll).
        private async Task<CycleClaim?> TryClaimAsync(ProtectedVm vm, CancellationToken cancellationToken)
        {
            CycleClaim? claim;
            try
            {
                claim = await replicator.TryClaimAsync(vm.VmId, vm.LastCycleTime, cancellationToken).ConfigureAwait(false);
            }
            catch (DRException ex) when (ex.ErrorId == "VmFailedOver" || ex is ObjectNotFoundException)
            {
                return null;
            }

            if (claim is null)
            {
                int failures;
                lock (gate)
                {
                    failures = held.TryGetValue(vm.VmId, out var h) ? h.Failures : 0;
                }

                Hold(vm.VmId, failures, DateTimeOffset.UtcNow + options.PollInterval);
            }

            return claim;
        }

        // True when the cycle committed a point.
        private async Task<bool> CycleAsync(CycleClaim claim, IReplicationSchedulerObserver observer, CancellationToken cancellationToken)
        {
            var vm = claim.Vm;
            try
            {
                var result = await replicator.RunCycleAsync(claim, cancellationToken, observer.CycleStarting(vm)).ConfigureAwait(false);
                lock (gate)
                {
                    held.Remove(vm.VmId);
                }

                observer.CycleCompleted(result);
                return result.Point != null;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return false;
            }
            catch (DRException ex) when (ex.ErrorId == "VmReplicationLeaseLost")
            {
                // Another worker took it over (this one could not renew in time): not a failure of the VM; looked at again next poll.
                int failures;
                lock (gate)
                {
                    failures = held.TryGetValue(vm.VmId, out var h) ? h.Failures : 0;
                }

                Hold(vm.VmId, failures, DateTimeOffset.UtcNow + options.PollInterval);
                return false;
            }
            catch (Exception ex)
            {
                TimeSpan interval;
                try
                {
                    interval = (await ReplicationSchedule.WithIntervalsAsync(vault, new[] { vm }, CancellationToken.None).ConfigureAwait(false))[0].Interval;
                }
                catch (Exception)
                {
                    // The vault is what failed: back off from the default interval.
                    interval = ReplicationPolicy.DefaultReplicationInterval;
                }

                int failures;
                lock (gate)
                {
                    failures = (held.TryGetValue(vm.VmId, out var h) ? h.Failures : 0) + 1;
                }

                var retryIn = ReplicationSchedule.BackOff(interval, failures, options.MaximumBackOff);
                Hold(vm.VmId, failures, DateTimeOffset.UtcNow + retryIn);
                observer.CycleFailed(vm, ex, retryIn);
                return false;
            }
        }

        private void Hold(string vmId, int failures, DateTimeOffset notBefore)
        {
            lock (gate)
            {
                held[vmId] = (failures, notBefore);
            }
        }

        private async Task CollectGarbageIfDueAsync(IReplicationSchedulerObserver observer, CancellationToken cancellationToken)
        {
            using var store = openStore();
            var collected = await ChunkGarbageCollection.CollectIfDueAsync(vault, store, cancellationToken).ConfigureAwait(false);
            if (collected != null)
            {
                observer.GarbageCollected(collected);
            }
        }

        private Task ReportAsync(DateTimeOffset started, IReadOnlyList<string> current, DateTimeOffset? stopped, CancellationToken cancellationToken) =>
            vault.SaveWorkerAsync(self with
            {
                Started = started,
                LastHeartbeat = DateTimeOffset.UtcNow,
                CurrentVms = current.OrderBy(n => n, StringComparer.OrdinalIgnoreCase).ToArray(),
                Stopped = stopped,
            }, cancellationToken);
    }
}
