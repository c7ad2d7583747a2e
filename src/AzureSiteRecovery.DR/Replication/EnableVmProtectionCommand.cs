using System.Collections.Generic;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>Protects VMs: records them in a protection group, turns on changed block tracking and makes the first full copy.</summary>
    /// <remarks>
    /// Takes VMs from Get-DRVm. Each VM is recorded in the vault, changed block tracking (CBT) is
    /// turned on, and the initial replication copies its disks into the chunk store (with
    /// progress; Ctrl+C stops it, and the next Sync-VmReplication starts over safely). With
    /// -NoWait the VM is only registered; the next Sync-VmReplication makes the first copy.
    /// Protecting a VM twice fails with VmAlreadyProtected. With -AsJob the confirmation is asked
    /// here, then the VMs are protected and copied in a PowerShell background job (Receive-Job
    /// gets the protected VMs).
    /// </remarks>
    /// <example>
    /// <code>Get-DRVm -Site onprem -Name 'erp-*' | Enable-VmProtection -ProtectionGroup erp</code>
    /// <para>Protects the ERP VMs in the group 'erp' and replicates them once.</para>
    /// </example>
    /// <example>
    /// <code>$job = Get-DRVm -Site onprem -Name 'erp-*' | Enable-VmProtection -ProtectionGroup erp -AsJob; $job | Receive-Job -Wait</code>
    /// <para>Makes the first copies in the background; Receive-Job waits for them and returns the protected VMs.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Enable, "VmProtection", SupportsShouldProcess = true)]
    [OutputType(typeof(ProtectedVm))]
    public sealed class EnableVmProtectionCommand : DRCmdlet
    {
        /// <summary>The VM to protect, from Get-DRVm.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        [ValidateNotNull]
        public DiscoveredVm? InputObject { get; set; }

        /// <summary>The protection group to protect the VM in; its protected site must be the VM's site.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(ProtectionGroupNameCompleter))]
        public string ProtectionGroup { get; set; } = "";

        /// <summary>Registers the VM without replicating it now; the next Sync-VmReplication makes the first copy.</summary>
        [Parameter]
        public SwitchParameter NoWait { get; set; }

        /// <summary>Protects and copies the VMs in a PowerShell background job and returns that job at once (Receive-Job gets the protected VMs).</summary>
        [Parameter]
        public SwitchParameter AsJob { get; set; }

        private readonly List<object> jobInput = new List<object>();

        protected override void ProcessItem()
        {
            var vm = InputObject!;
            if (!ShouldProcess($"VM '{vm.Name}' ({vm.MoRef}, site {vm.Site})", $"Protect in group '{ProtectionGroup}'"))
            {
                return;
            }

            if (AsJob)
            {
                jobInput.Add(vm);
                return;
            }

            ForItem(vm.Name, () =>
            {
                var replicator = new VmReplicator(OpenVault(), OpenStoreForCycle, ReplicaContainers.For(OpenVault()));
                var protectedVm = Await(ct => replicator.EnableAsync(vm, ProtectionGroup, ct));
                WriteVerbose($"VM '{vm.Name}' is protected in group '{protectedVm.ProtectionGroup}'; changed block tracking is on.");
                if (!NoWait)
                {
                    protectedVm = ReplicationProgress.RunCycle(this, replicator, protectedVm).Vm;
                }

                WriteObject(protectedVm);
            });
        }

        protected override void EndProcessing()
        {
            if (AsJob && jobInput.Count > 0)
            {
                CommandBackgroundJob.Start(this, jobInput, nameof(InputObject));
            }
        }
    }
}
