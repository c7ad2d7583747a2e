using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Replication;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>Stops protecting VMs.</summary>
    /// <remarks>
    /// Removes the VM from its protection group, removes snapshots a replication cycle left on it
    /// and turns changed block tracking back off. Its
    /// recovery points stay in the chunk store unless -RemoveData is given, which deletes them
    /// (their chunks go at the next garbage collection). A VM whose site cannot be reached is
    /// still removed from protection. A VM that is failed over, committed or reprotected is refused
    /// (VmFailedOver): its points are the way back; Undo-Failover, or Invoke-Reprotect and
    /// Invoke-Failback, bring it back first. A VM is named by its id or its name; a name with
    /// wildcards may name several VMs, and each is confirmed on its own (ShouldProcess per VM).
    /// </remarks>
    /// <example>
    /// <code>Get-ProtectedVm erp-test* | Disable-VmProtection -RemoveData -Confirm:$false</code>
    /// <para>Stops protecting the ERP test VMs and deletes their recovery points.</para>
    /// </example>
    /// <example>
    /// <code>Disable-VmProtection erp-web02</code>
    /// <para>Stops protecting the VM erp-web02, by its name, after asking.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Disable, "VmProtection", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    public sealed class DisableVmProtectionCommand : ProtectedVmCmdlet
    {
        /// <summary>The protected VM: its id (VmId, from Get-ProtectedVm through the pipeline) or its name; wildcards name several VMs, each confirmed on its own.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("VmId")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ProtectedVmNameCompleter))]
        public string[] Vm { get; set; } = System.Array.Empty<string>();

        /// <summary>Also deletes the VM's recovery points.</summary>
        [Parameter]
        public SwitchParameter RemoveData { get; set; }

        protected override void ProcessItem()
        {
            var action = RemoveData ? "Stop protection and delete its recovery points" : "Stop protection";
            foreach (var name in Vm)
            {
                ForItem(name, () =>
                {
                    foreach (var vm in ResolveProtectedVms(name))
                    {
                        if (ShouldProcess($"VM '{vm.Name}' (group {vm.ProtectionGroup})", action))
                        {
                            ForItem(vm.Name, () => Await(ct => new VmReplicator(OpenVault(), OpenStoreForCycle, ReplicaContainers.For(OpenVault())).DisableAsync(vm, RemoveData, ct)));
                        }
                    }
                });
            }
        }
    }
}
