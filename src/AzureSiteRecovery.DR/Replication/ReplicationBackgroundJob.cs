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
    /// Sync-VmReplication -AsJob: the cycles run in a PowerShell job with its own vault connection;
    /// its output is the CycleResults, a failed VM is an error of the job; StopJob cancels the
    /// cycles (a cycle cancelled midway commits nothing). With -Continuous it keeps cycling the
    /// VMs that are due until stopped.
    /// </summary>
    internal sealed class ReplicationBackgroundJob : Job
    {
        private readonly string vaultPath;
        private readonly IReadOnlyList<string> vmIds;
        private readonly int parallelism;
        private readonly bool continuous;
        private readonly CancellationTokenSource stop = new CancellationTokenSource();

        public ReplicationBackgroundJob(string command, string name, string vaultPath, IReadOnlyList<string> vmIds, int parallelism, bool continuous)
            : base(command, name)
        {
            this.vaultPath = vaultPath;
            this.vmIds = vmIds;
            this.parallelism = parallelism;
            this.continuous = continuous;
            PSJobTypeName = "AzureSiteRecovery.DR";
        }

        public override string StatusMessage => $"{vmIds.Count} VM(s)";
        public override bool HasMoreData => Output.Count > 0 || Error.Count > 0;
        public override string Location => Environment.MachineName;

        public void Start()
        {
            SetJobState(PSJobState.Running);
            Task.Run(async () =>
            {
                var failed = false;
                try
                {
                    using var vault = SqliteVault.Open(vaultPath);
                    var replicator = new VmReplicator(vault, () => ReplicationStore.OpenLocal(vault.Location));
                    var first = true;
                    do
                    {
                        var due = new List<string>();
                        foreach (var id in vmIds)
                        {
                            var vm = await vault.FindProtectedVmAsync(id, stop.Token).ConfigureAwait(false);
                            if (vm != null && vm.IsReplicating && (first && !continuous || await ReplicationSchedule.IsDueAsync(vault, vm, stop.Token).ConfigureAwait(false)))
                            {
                                due.Add(id);
                            }
                        }

                        first = false;
                        failed |= !await CycleAsync(replicator, due).ConfigureAwait(false);
                        if (continuous)
                        {
                            await Task.Delay(TimeSpan.FromSeconds(1), stop.Token).ConfigureAwait(false);
                        }
                    }
                    while (continuous && !stop.IsCancellationRequested);

                    SetJobState(failed ? PSJobState.Failed : PSJobState.Completed);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    SetJobState(PSJobState.Stopped);
                }
                catch (Exception ex)
                {
                    Error.Add(ex is Core.Errors.DRException dr ? DRCmdlet.ToErrorRecord(dr, null)
                        : new ErrorRecord(ex, "ReplicationCycleFailed", ErrorCategory.NotSpecified, null));
                    SetJobState(PSJobState.Failed);
                }
            });
        }

        // True when every cycle succeeded.
        private async Task<bool> CycleAsync(VmReplicator replicator, IReadOnlyList<string> due)
        {
            using var slots = new SemaphoreSlim(Math.Max(1, parallelism));
            var results = await Task.WhenAll(due.Select(async id =>
            {
                await slots.WaitAsync(stop.Token).ConfigureAwait(false);
                try
                {
                    Output.Add(PSObject.AsPSObject(await replicator.RunCycleAsync(id, stop.Token).ConfigureAwait(false)));
                    return true;
                }
                catch (Exception ex) when (!(ex is OperationCanceledException && stop.IsCancellationRequested))
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

        public override void StopJob() => stop.Cancel();

        protected override void Dispose(bool disposing)
        {
            if (disposing) stop.Dispose();
            base.Dispose(disposing);
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
