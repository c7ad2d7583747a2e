using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Replication;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>
    /// Runs replication cycles off the pipeline thread and reports them on it: progress records,
    /// verbose lines and results are queued by the workers and written here, the only thread that
    /// may call Write*.
    /// </summary>
    internal static class ReplicationProgress
    {
        public static CycleResult RunCycle(DRCmdlet cmdlet, VmReplicator replicator, Core.Model.ProtectedVm vm)
        {
            CycleResult? result = null;
            RunCycles(cmdlet, replicator, new[] { vm }, 1, (_, r) => result = r, (_, ex) => System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex).Throw());
            return result!;
        }

        /// <summary>Cycles the VMs, at most <paramref name="parallelism"/> at once; calls back on the pipeline thread.</summary>
        public static void RunCycles(DRCmdlet cmdlet, VmReplicator replicator, IReadOnlyList<Core.Model.ProtectedVm> vms, int parallelism,
            Action<Core.Model.ProtectedVm, CycleResult> completed, Action<Core.Model.ProtectedVm, Exception> failed)
        {
            var messages = new BlockingCollection<Action>();
            var token = cmdlet.Cancellation;
            var work = Task.Run(async () =>
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
                            var progress = new QueueProgress(messages, cmdlet, activity);
                            var result = await replicator.RunCycleAsync(vm.VmId, token, progress).ConfigureAwait(false);
                            messages.Add(() =>
                            {
                                cmdlet.WriteProgressRecord(new ProgressRecord(activity, $"Replicating {vm.Name}", "Done") { RecordType = ProgressRecordType.Completed });
                                completed(vm, result);
                            });
                        }
                        catch (Exception ex)
                        {
                            messages.Add(() =>
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
            });
            work.ContinueWith(_ => messages.CompleteAdding(), TaskScheduler.Default);

            foreach (var message in messages.GetConsumingEnumerable())
            {
                message();
            }

            // Surfaces a cancellation of the scheduling loop (Ctrl+C).
            work.GetAwaiter().GetResult();
        }

        private sealed class QueueProgress : IProgress<CycleProgress>
        {
            private readonly BlockingCollection<Action> messages;
            private readonly DRCmdlet cmdlet;
            private readonly int activityId;
            private string lastStep = "";

            public QueueProgress(BlockingCollection<Action> messages, DRCmdlet cmdlet, int activityId)
            {
                this.messages = messages;
                this.cmdlet = cmdlet;
                this.activityId = activityId;
            }

            public void Report(CycleProgress value)
            {
                var newStep = value.Step != lastStep;
                lastStep = value.Step;
                messages.Add(() =>
                {
                    if (newStep)
                    {
                        cmdlet.WriteVerboseLine($"{value.VmName}: {value.Step}");
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
}
