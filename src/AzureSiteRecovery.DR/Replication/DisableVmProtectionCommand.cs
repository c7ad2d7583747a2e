using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
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
    /// Invoke-Failback, bring it back first.
    /// </remarks>
    /// <example>
    /// <code>Get-ProtectedVm erp-test* | Disable-VmProtection -RemoveData -Confirm:$false</code>
    /// <para>Stops protecting the ERP test VMs and deletes their recovery points.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Disable, "VmProtection", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    public sealed class DisableVmProtectionCommand : DRCmdlet
    {
        /// <summary>The id of the protected VM (from Get-ProtectedVm through the pipeline).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string VmId { get; set; } = "";

        /// <summary>Also deletes the VM's recovery points.</summary>
        [Parameter]
        public SwitchParameter RemoveData { get; set; }

        protected override void ProcessItem()
        {
            ForItem(VmId, () =>
            {
                var vm = Await(ct => OpenVault().FindProtectedVmAsync(VmId, ct)) ?? throw new ObjectNotFoundException("ProtectedVm", VmId);
                var action = RemoveData ? "Stop protection and delete its recovery points" : "Stop protection";
                if (ShouldProcess($"VM '{vm.Name}' (group {vm.ProtectionGroup})", action))
                {
                    Await(ct => new VmReplicator(OpenVault(), OpenStoreForCycle).DisableAsync(vm, RemoveData, ct));
                }
            });
        }
    }
}
