using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Replication.Scheduling;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>Runs a replication cycle for protected VMs: a new recovery point each.</summary>
    /// <remarks>
    /// For each VM piped in (from Get-ProtectedVm) or named by -Vm, or of -ProtectionGroup (a name,
    /// or the group from Get-ProtectionGroup through the pipeline), or, with neither, every VM of
    /// every group that is due (its policy's replication interval has passed since its last
    /// cycle): snapshot (quiesced when
    /// an app-consistent point is due by the policy), the areas changed since the last point
    /// (changed block tracking; a full read compared chunk by chunk when CBT cannot answer),
    /// chunks stored, the point committed, the snapshot removed. A cycle that fails part way (a
    /// broken connection, Ctrl+C, a killed process) leaves a resume record in the chunk store, so
    /// the next cycle reads only what it had not stored plus what CBT says changed since (Mode
    /// "Full+Resumed" and the like; ResumedBytes says how much it did not read again). Several VMs replicate at once
    /// (-ThrottleLimit). With -Continuous it keeps cycling each VM at its policy's replication
    /// interval until stopped (Ctrl+C), as the long-running process server (a replication worker):
    /// several workers, on one machine or many, can run against one vault and split the due VMs
    /// between them. Each cycle holds a lease on its VM (-LeaseDuration, renewed while it runs);
    /// a worker that dies loses its VMs to the others once its leases expire. Get-DRWorker shows
    /// the workers. Two processes never cycle the same VM at once: without -Continuous the second
    /// reports VmReplicationInProgress; a worker just takes the next due VM. The environment
    /// variable AZSR_DR_WORKER_NAME, when set, replaces the machine name in the worker's id (for
    /// tests and containers that share one host name).
    /// </remarks>
    /// <example>
    /// <code>Sync-VmReplication -ProtectionGroup erp</code>
    /// <para>Replicates every VM of the group 'erp' once.</para>
    /// </example>
    /// <example>
    /// <code>Get-ProtectionGroup erp | Sync-VmReplication</code>
    /// <para>The same, with the group from the pipeline.</para>
    /// </example>
    /// <example>
    /// <code>Sync-VmReplication</code>
    /// <para>Replicates the VMs of every group whose replication interval has passed (a scheduled runbook's one line).</para>
    /// </example>
    /// <example>
    /// <code>$job = Sync-VmReplication -ProtectionGroup erp -AsJob; $job | Wait-Job | Receive-Job</code>
    /// <para>Replicates the group in a background job and collects its CycleResults.</para>
    /// </example>
    /// <example>
    /// <code>Sync-VmReplication -ProtectionGroup erp -Continuous</code>
    /// <para>Keeps replicating the group at its policy's interval until Ctrl+C.</para>
    /// </example>
    /// <example>
    /// <code>Sync-VmReplication -Continuous -LeaseDuration 00:05:00</code>
    /// <para>A replication worker for every protected VM; run the same line on several machines against one vault to share the work. A worker that dies hands its VMs over after 5 minutes.</para>
    /// </example>
    [Cmdlet(VerbsData.Sync, "VmReplication", DefaultParameterSetName = GroupSet, SupportsShouldProcess = true)]
    [OutputType(typeof(CycleResult))]
    public sealed class SyncVmReplicationCommand : ProtectedVmCmdlet
    {
        private const string GroupSet = "ProtectionGroup";
        private const string VmSet = "Vm";
        private readonly List<ProtectedVm> vms = new List<ProtectedVm>();
        private bool onlyDue;

        /// <summary>Replicates every VM of this protection group: a group name, or the group from Get-ProtectionGroup through the pipeline. Without it (and without -Vm), every group's VMs that are due.</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ParameterSetName = GroupSet)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(ProtectionGroupNameCompleter))]
        public string? ProtectionGroup { get; set; }

        /// <summary>A protected VM to replicate: its id (VmId, from Get-ProtectedVm through the pipeline) or its name (wildcards allowed).</summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = VmSet)]
        [Alias("VmId")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ProtectedVmNameCompleter))]
        public string[] Vm { get; set; } = Array.Empty<string>();

        /// <summary>How many VMs replicate at once. Default 4.</summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        /// <summary>Keeps cycling each VM at its policy's replication interval until stopped.</summary>
        [Parameter]
        public SwitchParameter Continuous { get; set; }

        /// <summary>With -Continuous: how long a cycle's lease on its VM lasts unless renewed (it is renewed every third of it while the cycle runs); the time a dead worker's VMs wait before another worker takes them. Default 2 minutes; at least 3 seconds.</summary>
        [Parameter]
        public TimeSpan LeaseDuration { get; set; } = VmReplicator.DefaultLeaseDuration;

        /// <summary>Runs the cycles in a PowerShell background job and returns that job at once (Receive-Job gets the CycleResults; Stop-Job stops a -Continuous one).</summary>
        [Parameter]
        public SwitchParameter AsJob { get; set; }

        protected override void ProcessItem()
        {
            if (ParameterSetName == VmSet)
            {
                foreach (var name in Vm)
                {
                    ForItem(name, () => vms.AddRange(ResolveProtectedVms(name).Where(vm => vms.All(v => v.VmId != vm.VmId))));
                }

                return;
            }

            if (ProtectionGroup is null)
            {
                // No group and no VM: every replicating VM whose interval has passed (decided in SyncSelected, as -Continuous does).
                onlyDue = true;
                AddReplicating(Await(ct => OpenVault().ListProtectedVmsAsync(null, ct)));
                return;
            }

            ForItem(ProtectionGroup, () => AddReplicating(Await(ct => OpenVault().ListProtectedVmsAsync(RequireGroup(ProtectionGroup).Name, ct))));
        }

        private void AddReplicating(IEnumerable<ProtectedVm> members)
        {
            foreach (var vm in members)
            {
                if (!vm.IsReplicating)
                {
                    WriteVerbose($"VM '{vm.Name}' is failed over ({vm.State}); it is not replicated until Undo-Failover or Invoke-Reprotect.");
                }
                else if (vms.All(v => v.VmId != vm.VmId))
                {
                    vms.Add(vm);
                }
            }
        }

        protected override void EndProcessing() => Terminating(SyncSelected);

        private void SyncSelected()
        {
            var candidates = onlyDue && !Continuous ? vms.Where(IsDue).ToList() : vms;
            if (onlyDue && candidates.Count == 0)
            {
                WriteVerbose("No protected VM is due: each replicated within its policy's replication interval.");
            }

            var selected = candidates.Where(vm => ShouldProcess($"VM '{vm.Name}' (group {vm.ProtectionGroup})", "Replicate")).ToList();
            if (selected.Count == 0)
            {
                return;
            }

            // Without a group or a VM, a worker takes every VM of the vault, also those protected after it started.
            var options = new ReplicationSchedulerOptions
            {
                VmIds = onlyDue ? null : selected.Select(vm => vm.VmId).ToList(),
                Parallelism = ThrottleLimit,
                LeaseDuration = LeaseDuration,
            };
            if (Continuous && LeaseDuration < VmReplicator.MinimumLeaseDuration)
            {
                throw new InvalidSettingException("Replication", "LeaseDuration", nameof(LeaseDuration),
                    $"-LeaseDuration {LeaseDuration} is too short: use at least {VmReplicator.MinimumLeaseDuration} (the lease is renewed every third of it while a cycle runs).");
            }

            if (AsJob)
            {
                new ReplicationBackgroundJob(MyInvocation.Line, $"Sync-VmReplication ({selected.Count} VM(s))", Connection,
                    selected.Select(vm => vm.VmId).ToList(), ThrottleLimit, Continuous ? options : null).StartFor(this);
                return;
            }

            if (Continuous)
            {
                var scheduler = new ReplicationScheduler(OpenVault(), OpenStoreForCycle, ReplicaContainers.For(OpenVault()), options);
                WriteVerbose($"Replication worker {scheduler.WorkerId} started (lease {LeaseDuration}, {ThrottleLimit} VM(s) at once).");
                ReplicationProgress.RunWorker(this, scheduler,
                    WriteObject,
                    (vm, ex, retryIn) =>
                    {
                        WriteError(ToCycleError(vm, ex));
                        WriteVerbose($"VM '{vm.Name}' is tried again in {retryIn}.");
                    },
                    collected => WriteVerbose($"Garbage collection: {collected.ChunksDeleted} unreferenced chunk(s) deleted ({collected.BytesDeleted} bytes), {collected.ChunksReferenced} in use."),
                    (ex, retryIn) => WriteWarning(retryIn > TimeSpan.Zero
                        ? $"The replication worker could not read or write the vault or store ({ex.Message}); it keeps running and tries again in {retryIn}."
                        : $"The replication worker could not record that it stopped ({ex.Message}); Get-DRWorker will show it as Lost."),
                    breach => WriteWarning(breach.Message));
                return;
            }

            ReplicationProgress.RunCycles(this, new VmReplicator(OpenVault(), OpenStoreForCycle, ReplicaContainers.For(OpenVault())), selected, ThrottleLimit,
                (_, result) => WriteObject(result),
                (vm, ex) => WriteError(ToCycleError(vm, ex)));
            CollectGarbageIfDue();
        }

        private static ErrorRecord ToCycleError(ProtectedVm vm, Exception ex) => ex is DRException known
            ? ToErrorRecord(known, vm.Name)
            : new ErrorRecord(ex, "ReplicationCycleFailed", ErrorCategory.NotSpecified, vm.Name);

        private void CollectGarbageIfDue()
        {
            using var store = OpenStoreForCycle();
            var collected = Await(ct => ChunkGarbageCollection.CollectIfDueAsync(OpenVault(), store, ct));
            if (collected != null)
            {
                WriteVerbose($"Garbage collection: {collected.ChunksDeleted} unreferenced chunk(s) deleted ({collected.BytesDeleted} bytes), {collected.ChunksReferenced} in use.");
            }
        }

        private bool IsDue(ProtectedVm vm) => Await(ct => ReplicationSchedule.IsDueAsync(OpenVault(), vm, ct));
    }
}
