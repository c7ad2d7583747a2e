using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Replication.Scheduling;
using AzureSiteRecovery.DR.Core.Vault.Connection;
using PSJobState = System.Management.Automation.JobState;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>
    /// Sync-VmReplication -AsJob: the cycles run in a PowerShell job (DRBackgroundJob) with its own vault connection;
    /// its output is the CycleResults, a failed VM is an error of the job; StopJob cancels the
    /// cycles (a cycle cancelled midway commits nothing). With -Continuous it keeps cycling the
    /// VMs that are due until stopped.
    /// </summary>
    internal sealed class ReplicationBackgroundJob : DRBackgroundJob
    {
        private readonly VaultConnection connection;
        private readonly IReadOnlyList<string> vmIds;
        private readonly int parallelism;
        private readonly ReplicationSchedulerOptions? continuous;

        // continuous: with -Continuous, how the job's replication worker runs; null: one cycle per VM.
        public ReplicationBackgroundJob(string command, string name, VaultConnection connection, IReadOnlyList<string> vmIds, int parallelism, ReplicationSchedulerOptions? continuous)
            : base(command, name)
        {
            this.connection = connection;
            this.vmIds = vmIds;
            this.parallelism = parallelism;
            this.continuous = continuous;
        }

        public override string StatusMessage => $"{vmIds.Count} VM(s)";

        protected override async Task<PSJobState> RunAsync(CancellationToken cancellationToken)
        {
            var failed = false;
            using var vault = await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            if (continuous != null)
            {
                var observer = new JobObserver(this);
                await new ReplicationScheduler(vault, new ConfiguredChunkStore(vault, connection).Open, ReplicaContainers.For(vault), continuous)
                    .RunAsync(observer, cancellationToken).ConfigureAwait(false);
                // The worker ends only when stopped: the job is Stopped, as Stop-Job asked.
                cancellationToken.ThrowIfCancellationRequested();
                return observer.Failed ? PSJobState.Failed : PSJobState.Completed;
            }

            var replicator = new VmReplicator(vault, new ConfiguredChunkStore(vault, connection).Open, ReplicaContainers.For(vault));
            var due = new List<string>();
            foreach (var id in vmIds)
            {
                var vm = await vault.FindProtectedVmAsync(id, cancellationToken).ConfigureAwait(false);
                if (vm != null && vm.IsReplicating)
                {
                    due.Add(id);
                }
            }

            failed |= !await CycleAsync(replicator, due, cancellationToken).ConfigureAwait(false);
            return failed ? PSJobState.Failed : PSJobState.Completed;
        }

        /// <summary>A -Continuous job's worker: its CycleResults are the job's output, a failed cycle an error of the job.</summary>
        private sealed class JobObserver : IReplicationSchedulerObserver
        {
            private readonly ReplicationBackgroundJob job;
            private int failed;

            public JobObserver(ReplicationBackgroundJob job) => this.job = job;

            public bool Failed => Volatile.Read(ref failed) == 1;

            public IProgress<CycleProgress>? CycleStarting(ProtectedVm vm) => null;

            public void CycleCompleted(CycleResult result) => job.Output.Add(PSObject.AsPSObject(result));

            public void CycleFailed(ProtectedVm vm, Exception error, TimeSpan retryIn)
            {
                Interlocked.Exchange(ref failed, 1);
                job.Error.Add(error is Core.Errors.DRException dr ? DRCmdlet.ToErrorRecord(dr, vm.Name)
                    : new ErrorRecord(error, "ReplicationCycleFailed", ErrorCategory.NotSpecified, vm.Name));
            }

            public void GarbageCollected(Core.Storage.GarbageCollectionResult result)
            {
            }

            public void PollFailed(Exception error, TimeSpan retryIn) =>
                job.Warning.Add(new WarningRecord($"The replication worker could not read or write the vault or store ({error.Message}); it keeps running and tries again in {retryIn}."));

            public void RpoBreached(DREvent breach) => job.Warning.Add(new WarningRecord(breach.Message));
        }

        // True when every cycle succeeded.
        private async Task<bool> CycleAsync(VmReplicator replicator, IReadOnlyList<string> due, CancellationToken cancellationToken)
        {
            using var slots = new SemaphoreSlim(Math.Max(1, parallelism));
            var results = await Task.WhenAll(due.Select(async id =>
            {
                await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    Output.Add(PSObject.AsPSObject(await replicator.RunCycleAsync(id, cancellationToken).ConfigureAwait(false)));
                    return true;
                }
                catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
                {
                    Error.Add(ex is Core.Errors.DRException dr ? DRCmdlet.ToErrorRecord(dr, id)
                        : new ErrorRecord(ex, "ReplicationCycleFailed", ErrorCategory.NotSpecified, id));
                    return false;
                }
                finally
                {
                    slots.Release();
                }
            })).ConfigureAwait(false);
            return results.All(ok => ok);
        }
    }
}
