using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Vault;
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
        private readonly string vaultPath;
        private readonly IReadOnlyList<string> vmIds;
        private readonly int parallelism;
        private readonly bool continuous;

        public ReplicationBackgroundJob(string command, string name, string vaultPath, IReadOnlyList<string> vmIds, int parallelism, bool continuous)
            : base(command, name)
        {
            this.vaultPath = vaultPath;
            this.vmIds = vmIds;
            this.parallelism = parallelism;
            this.continuous = continuous;
        }

        public override string StatusMessage => $"{vmIds.Count} VM(s)";

        protected override async Task<PSJobState> RunAsync(CancellationToken cancellationToken)
        {
            var failed = false;
            using var vault = SqliteVault.Open(vaultPath);
            var replicator = new VmReplicator(vault, new ConfiguredChunkStore(vault).Open, ReplicaContainers.For(vault));
            var first = true;
            do
            {
                var due = new List<string>();
                foreach (var id in vmIds)
                {
                    var vm = await vault.FindProtectedVmAsync(id, cancellationToken).ConfigureAwait(false);
                    if (vm != null && vm.IsReplicating && (first && !continuous || await ReplicationSchedule.IsDueAsync(vault, vm, cancellationToken).ConfigureAwait(false)))
                    {
                        due.Add(id);
                    }
                }

                first = false;
                failed |= !await CycleAsync(replicator, due, cancellationToken).ConfigureAwait(false);
                if (continuous)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                }
            }
            while (continuous && !cancellationToken.IsCancellationRequested);

            return failed ? PSJobState.Failed : PSJobState.Completed;
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

    /// <summary>When a VM is due for its next cycle: its policy's replication interval has passed since its last one.</summary>
    internal static class ReplicationSchedule
    {
        public static async Task<bool> IsDueAsync(IVault vault, ProtectedVm vm, CancellationToken cancellationToken)
        {
            var group = await vault.FindGroupAsync(vm.ProtectionGroup, cancellationToken).ConfigureAwait(false);
            var policy = group is null ? null : await vault.FindPolicyAsync(group.Policy, cancellationToken).ConfigureAwait(false);
            var interval = policy?.ReplicationInterval ?? ReplicationPolicy.DefaultReplicationInterval;
            return vm.LastCycleTime is null || DateTimeOffset.UtcNow - vm.LastCycleTime >= interval;
        }
    }
}
