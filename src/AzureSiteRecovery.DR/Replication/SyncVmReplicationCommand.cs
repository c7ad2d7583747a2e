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
    /// For each VM piped in (from Get-ProtectedVm) or in -ProtectionGroup: snapshot (quiesced when
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
    /// <code>Sync-VmReplication -ProtectionGroup erp -Continuous</code>
    /// <para>Keeps replicating the group at its policy's interval until Ctrl+C.</para>
    /// </example>
    [Cmdlet(VerbsData.Sync, "VmReplication", DefaultParameterSetName = GroupSet, SupportsShouldProcess = true)]
    [OutputType(typeof(CycleResult))]
    public sealed class SyncVmReplicationCommand : DRCmdlet
    {
        private const string GroupSet = "ProtectionGroup";
        private const string VmSet = "Vm";
        private readonly List<ProtectedVm> vms = new List<ProtectedVm>();

        /// <summary>Replicates every VM of this protection group.</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = GroupSet)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(ProtectionGroupNameCompleter))]
        public string ProtectionGroup { get; set; } = "";

        /// <summary>The id of a protected VM to replicate (from Get-ProtectedVm through the pipeline).</summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = VmSet)]
        [ValidateNotNullOrEmpty]
        public string VmId { get; set; } = "";

        /// <summary>How many VMs replicate at once. Default 4.</summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        /// <summary>Keeps cycling each VM at its policy's replication interval until stopped.</summary>
        [Parameter]
        public SwitchParameter Continuous { get; set; }

        protected override void ProcessItem()
        {
            if (ParameterSetName == VmSet)
            {
                ForItem(VmId, () => vms.Add(Await(ct => OpenVault().FindProtectedVmAsync(VmId, ct)) ?? throw new ObjectNotFoundException("ProtectedVm", VmId)));
                return;
            }

            ForItem(ProtectionGroup, () =>
            {
                var group = Await(ct => OpenVault().FindGroupAsync(ProtectionGroup, ct)) ?? throw new ObjectNotFoundException("ProtectionGroup", ProtectionGroup);
                var members = Await(ct => OpenVault().ListProtectedVmsAsync(group.Name, ct));
                foreach (var failedOver in members.Where(v => !v.IsReplicating))
                {
                    WriteVerbose($"VM '{failedOver.Name}' is failed over ({failedOver.State}); it is not replicated until Undo-Failover or Invoke-Reprotect.");
                }
                vms.AddRange(members.Where(v => v.IsReplicating));
            });
        }

        protected override void EndProcessing() => Terminating(SyncSelected);

        private void SyncSelected()
        {
            var selected = vms.Where(vm => ShouldProcess($"VM '{vm.Name}' (group {vm.ProtectionGroup})", "Replicate")).ToList();
            if (selected.Count == 0)
            {
                return;
            }

            var replicator = new VmReplicator(OpenVault(), OpenStoreForCycle);
            do
            {
                // A VM failed over meanwhile (by another process) waits quietly until it is reprotected or the failover undone.
                var due = Continuous ? selected.Where(vm => vm.IsReplicating && IsDue(vm)).ToList() : selected;
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

        private bool IsDue(ProtectedVm vm)
        {
            var group = Await(ct => OpenVault().FindGroupAsync(vm.ProtectionGroup, ct));
            var policy = group is null ? null : Await(ct => OpenVault().FindPolicyAsync(group.Policy, ct));
            var interval = policy?.ReplicationInterval ?? ReplicationPolicy.DefaultReplicationInterval;
            return vm.LastCycleTime is null || DateTimeOffset.UtcNow - vm.LastCycleTime >= interval;
        }
    }
}
