using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Replication.Scheduling;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>
    /// Runs replication cycles off the pipeline thread, with their progress, verbose lines and results
    /// written on it. Progress is one parent activity ("VM i of N", its percent the share of VMs done)
    /// and one child activity per VM (its own activity id, the parent's as ParentActivityId); no
    /// percent ever goes down.
    /// </summary>
    internal static class ReplicationProgress
    {
        /// <summary>The activity id of the parent record; VM i (from 1) has <see cref="ParentActivityId"/> + i.</summary>
        public const int ParentActivityId = 1;

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
            var parent = new ParentProgress(cmdlet, vms.Count);
            try
            {
                dispatcher.Run(async () =>
                {
                    using var slots = new SemaphoreSlim(Math.Max(1, parallelism));
                    var running = new List<Task>();
                    for (var i = 0; i < vms.Count; i++)
                    {
                        var vm = vms[i];
                        var activity = ParentActivityId + i + 1;
                        await slots.WaitAsync(token).ConfigureAwait(false);
                        dispatcher.Post(() => parent.Started(vm.Name));
                        running.Add(Task.Run(async () =>
                        {
                            try
                            {
                                var result = await replicator.RunCycleAsync(vm.VmId, token, CycleProgress(dispatcher, cmdlet, activity)).ConfigureAwait(false);
                                dispatcher.Post(() =>
                                {
                                    cmdlet.WriteProgressRecord(Child(activity, vm.Name, "Done", ProgressRecordType.Completed));
                                    parent.Ended();
                                    completed(vm, result);
                                });
                            }
                            catch (Exception ex)
                            {
                                dispatcher.Post(() =>
                                {
                                    cmdlet.WriteProgressRecord(Child(activity, vm.Name, "Failed", ProgressRecordType.Completed));
                                    parent.Ended();
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
            finally
            {
                parent.Complete();
            }
        }

        /// <summary>
        /// Runs a replication worker until the cmdlet is stopped: one child progress activity per VM while its cycle runs
        /// (under a parent naming the worker); the callbacks run on the pipeline thread.
        /// </summary>
        public static void RunWorker(DRCmdlet cmdlet, ReplicationScheduler scheduler, Action<CycleResult> completed,
            Action<ProtectedVm, Exception, TimeSpan> failed, Action<GarbageCollectionResult> collected, Action<Exception, TimeSpan> pollFailed, Action<DREvent> rpoBreached)
        {
            using var dispatcher = new PipelineDispatcher();
            var observer = new WorkerObserver(dispatcher, cmdlet, completed, failed, collected, pollFailed, rpoBreached);
            try
            {
                dispatcher.Run(async () =>
                {
                    dispatcher.Post(() => cmdlet.WriteProgressRecord(new ProgressRecord(ParentActivityId, $"Replication worker {scheduler.WorkerId}", "Waiting for due VMs")));
                    await scheduler.RunAsync(observer, cmdlet.Cancellation).ConfigureAwait(false);
                    return true;
                });
            }
            finally
            {
                try
                {
                    cmdlet.WriteProgressRecord(new ProgressRecord(ParentActivityId, $"Replication worker {scheduler.WorkerId}", "Stopped") { RecordType = ProgressRecordType.Completed });
                }
                catch (PipelineStoppedException)
                {
                    // Ctrl+C: the pipeline takes no more records.
                }
            }
        }

        /// <summary>The scheduler's events, written on the pipeline thread; each VM keeps its own child activity id.</summary>
        private sealed class WorkerObserver : IReplicationSchedulerObserver
        {
            private readonly PipelineDispatcher dispatcher;
            private readonly DRCmdlet cmdlet;
            private readonly Action<CycleResult> completed;
            private readonly Action<ProtectedVm, Exception, TimeSpan> failed;
            private readonly Action<GarbageCollectionResult> collected;
            private readonly Action<Exception, TimeSpan> pollFailed;
            private readonly Action<DREvent> rpoBreached;
            private readonly Dictionary<string, int> activities = new Dictionary<string, int>();

            public WorkerObserver(PipelineDispatcher dispatcher, DRCmdlet cmdlet, Action<CycleResult> completed, Action<ProtectedVm, Exception, TimeSpan> failed,
                Action<GarbageCollectionResult> collected, Action<Exception, TimeSpan> pollFailed, Action<DREvent> rpoBreached)
            {
                this.pollFailed = pollFailed;
                this.rpoBreached = rpoBreached;
                this.dispatcher = dispatcher;
                this.cmdlet = cmdlet;
                this.completed = completed;
                this.failed = failed;
                this.collected = collected;
            }

            public IProgress<CycleProgress>? CycleStarting(ProtectedVm vm) => CycleProgress(dispatcher, cmdlet, Activity(vm.VmId));

            public void CycleCompleted(CycleResult result) => dispatcher.Post(() =>
            {
                cmdlet.WriteProgressRecord(Child(Activity(result.Vm.VmId), result.Vm.Name, "Done", ProgressRecordType.Completed));
                completed(result);
            });

            public void CycleFailed(ProtectedVm vm, Exception error, TimeSpan retryIn) => dispatcher.Post(() =>
            {
                cmdlet.WriteProgressRecord(Child(Activity(vm.VmId), vm.Name, "Failed", ProgressRecordType.Completed));
                failed(vm, error, retryIn);
            });

            public void GarbageCollected(GarbageCollectionResult result) => dispatcher.Post(() => collected(result));

            public void PollFailed(Exception error, TimeSpan retryIn) => dispatcher.Post(() => pollFailed(error, retryIn));

            public void RpoBreached(DREvent breach) => dispatcher.Post(() => rpoBreached(breach));

            private int Activity(string vmId)
            {
                lock (activities)
                {
                    if (!activities.TryGetValue(vmId, out var id))
                    {
                        activities[vmId] = id = ParentActivityId + activities.Count + 1;
                    }

                    return id;
                }
            }
        }

        private static ProgressRecord Child(int activityId, string vmName, string status, ProgressRecordType type = ProgressRecordType.Processing) =>
            new ProgressRecord(activityId, $"Replicating {vmName}", status) { ParentActivityId = ParentActivityId, RecordType = type };

        private static IProgress<CycleProgress> CycleProgress(PipelineDispatcher dispatcher, DRCmdlet cmdlet, int activityId)
        {
            var lastStep = "";
            var percent = -1;
            return new DispatchedProgress<CycleProgress>(dispatcher, value =>
            {
                if (value.Step != lastStep)
                {
                    cmdlet.WriteVerboseLine($"{value.VmName}: {value.Step}");
                    lastStep = value.Step;
                }

                var record = Child(activityId, value.VmName, value.Step);
                if (value.BytesTotal > 0)
                {
                    percent = Math.Max(percent, (int)Math.Min(100, value.BytesDone * 100 / value.BytesTotal));
                }

                record.PercentComplete = percent;
                cmdlet.WriteProgressRecord(record);
            });
        }

        /// <summary>The parent record: "VM i of N: name" as each VM starts, its percent the VMs ended; written on the pipeline thread only.</summary>
        private sealed class ParentProgress
        {
            private readonly DRCmdlet cmdlet;
            private readonly int count;
            private int started;
            private int ended;
            private string current = "";

            public ParentProgress(DRCmdlet cmdlet, int count)
            {
                this.cmdlet = cmdlet;
                this.count = count;
            }

            public void Started(string vmName)
            {
                started++;
                current = vmName;
                Write();
            }

            public void Ended()
            {
                ended++;
                Write();
            }

            public void Complete()
            {
                try
                {
                    cmdlet.WriteProgressRecord(new ProgressRecord(ParentActivityId, Activity, $"{ended} of {count} done") { PercentComplete = 100, RecordType = ProgressRecordType.Completed });
                }
                catch (PipelineStoppedException)
                {
                    // Ctrl+C: the pipeline takes no more records, and the stop is what the caller sees.
                }
            }

            private string Activity => count == 1 ? "Replicating 1 VM" : $"Replicating {count} VMs";

            private void Write() =>
                cmdlet.WriteProgressRecord(new ProgressRecord(ParentActivityId, Activity, $"VM {started} of {count}: {current}")
                {
                    PercentComplete = count == 0 ? 100 : ended * 100 / count,
                });
        }
    }
}
