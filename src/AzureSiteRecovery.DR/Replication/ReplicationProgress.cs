using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>Runs replication cycles off the pipeline thread, with their progress, verbose lines and results written on it.</summary>
    internal static class ReplicationProgress
    {
        public static CycleResult RunCycle(DRCmdlet cmdlet, VmReplicator replicator, ProtectedVm vm)
        {
            CycleResult? result = null;
            RunCycles(cmdlet, replicator, new[] { vm }, 1, (_, r) => result = r, (_, ex) => System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex).Throw());
            return result!;
        }

        /// <summary>Cycles the VMs, at most <paramref name="parallelism"/> at once; calls back on the pipeline thread.</summary>
        public static void RunCycles(DRCmdlet cmdlet, VmReplicator replicator, IReadOnlyList<ProtectedVm> vms, int parallelism,
            Action<ProtectedVm, CycleResult> completed, Action<ProtectedVm, Exception> failed)
        {
            using var dispatcher = new PipelineDispatcher();
            var token = cmdlet.Cancellation;
            dispatcher.Run(async () =>
            {
                using var slots = new SemaphoreSlim(Math.Max(1, parallelism));
                var running = new List<Task>();
                for (var i = 0; i < vms.Count; i++)
                {
                    var vm = vms[i];
                    var activity = i + 1;
                    await slots.WaitAsync(token).ConfigureAwait(false);
                    running.Add(Task.Run(async () =>
                    {
                        try
                        {
                            var result = await replicator.RunCycleAsync(vm.VmId, token, CycleProgress(dispatcher, cmdlet, activity)).ConfigureAwait(false);
                            dispatcher.Post(() =>
                            {
                                cmdlet.WriteProgressRecord(new ProgressRecord(activity, $"Replicating {vm.Name}", "Done") { RecordType = ProgressRecordType.Completed });
                                completed(vm, result);
                            });
                        }
                        catch (Exception ex)
                        {
                            dispatcher.Post(() =>
                            {
                                cmdlet.WriteProgressRecord(new ProgressRecord(activity, $"Replicating {vm.Name}", "Failed") { RecordType = ProgressRecordType.Completed });
                                failed(vm, ex);
                            });
                        }
                        finally
                        {
                            slots.Release();
                        }
                    }));
                }

                await Task.WhenAll(running).ConfigureAwait(false);
                return true;
            });
        }

        private static IProgress<CycleProgress> CycleProgress(PipelineDispatcher dispatcher, DRCmdlet cmdlet, int activityId)
        {
            var lastStep = "";
            return new DispatchedProgress<CycleProgress>(dispatcher, value =>
            {
                if (value.Step != lastStep)
                {
                    cmdlet.WriteVerboseLine($"{value.VmName}: {value.Step}");
                    lastStep = value.Step;
                }

                var record = new ProgressRecord(activityId, $"Replicating {value.VmName}", value.Step);
                if (value.BytesTotal > 0)
                {
                    record.PercentComplete = (int)Math.Min(100, value.BytesDone * 100 / value.BytesTotal);
                }

                cmdlet.WriteProgressRecord(record);
            });
        }
    }
}
