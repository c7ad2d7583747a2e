using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;

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
    /// chunks stored, the point committed, the snapshot removed. Several VMs replicate at once
    /// (-ThrottleLimit). With -Continuous it keeps cycling each VM at its policy's replication
    /// interval until stopped (Ctrl+C), as the long-running process server. Two processes never
    /// cycle the same VM at once: the second reports VmReplicationInProgress.
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

            if (AsJob)
            {
                new ReplicationBackgroundJob(MyInvocation.Line, $"Sync-VmReplication ({selected.Count} VM(s))", OpenVault().Location,
                    selected.Select(vm => vm.VmId).ToList(), ThrottleLimit, Continuous).StartFor(this);
                return;
            }

            var replicator = new VmReplicator(OpenVault(), OpenStoreForCycle, ReplicaContainers.For(OpenVault()));
            do
            {
                // A VM failed over meanwhile (by another process) waits quietly until it is reprotected or the failover undone.
                var due = Continuous || onlyDue ? selected.Where(vm => vm.IsReplicating && IsDue(vm)).ToList() : selected;
                if (due.Count > 0)
                {
                    ReplicationProgress.RunCycles(this, replicator, due, ThrottleLimit,
                        (_, result) => WriteObject(result),
                        (vm, ex) => WriteError(ex is DRException known
                            ? ToErrorRecord(known, vm.Name)
                            : new ErrorRecord(ex, "ReplicationCycleFailed", ErrorCategory.NotSpecified, vm.Name)));

                    // Only after cycles: an idle -Continuous loop must not touch the store or write to the vault every second.
                    CollectGarbageIfDue();

                    if (Continuous)
                    {
                        // Re-read: the cycles moved LastCycleTime on.
                        selected = selected.Select(vm => Await(ct => OpenVault().FindProtectedVmAsync(vm.VmId, ct))).Where(vm => vm != null).Select(vm => vm!).ToList();
                    }
                }

                if (Continuous)
                {
                    CancellationToken.WaitHandle.WaitOne(TimeSpan.FromSeconds(1));
                }
            }
            while (Continuous && !CancellationToken.IsCancellationRequested);
        }

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
