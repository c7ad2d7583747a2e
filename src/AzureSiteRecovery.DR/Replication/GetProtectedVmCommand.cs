using System;
using System.Linq;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>Gets the protected VMs: state, last recovery point, current RPO and health.</summary>
    /// <remarks>
    /// Lists the VMs protected in all groups, or in -ProtectionGroup, or those whose name matches
    /// -Name (wildcards allowed). Each shows its state (InitialSync, Protected, Error), the time of
    /// its newest recovery point, the current RPO (the age of that point), its health against the
    /// policy's RPO threshold, how often its RPO went over that threshold in the last 24 hours
    /// (RpoBreaches: the RpoBreached events of Get-DREvent), the bytes sent to the chunk store and
    /// the last error.
    /// </remarks>
    /// <example>
    /// <code>Get-ProtectedVm -ProtectionGroup erp</code>
    /// <para>Shows the replication state and RPO of the ERP VMs.</para>
    /// </example>
    /// <example>
    /// <code>Get-ProtectedVm | Where-Object Health -ne Healthy</code>
    /// <para>Lists the VMs whose RPO is over their policy's threshold or that have no point yet.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "ProtectedVm")]
    [OutputType(typeof(ProtectedVm))]
    public sealed class GetProtectedVmCommand : ProtectedVmCmdlet
    {
        /// <summary>Names of the VMs to get; wildcards are allowed. All protected VMs when omitted.</summary>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ProtectedVmNameCompleter))]
        public string[]? Name { get; set; }

        /// <summary>Only the VMs of this protection group.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(ProtectionGroupNameCompleter))]
        public string? ProtectionGroup { get; set; }

        protected override void ProcessItem()
        {
            var vault = OpenVault();
            if (ProtectionGroup != null)
            {
                // An unknown group is ProtectionGroupNotFound here too, not an empty list.
                RequireGroup(ProtectionGroup);
            }

            var vms = SelectByName<ProtectedVm>(Name, "ProtectedVm", v => v.Name, ct => vault.ListProtectedVmsAsync(ProtectionGroup, ct)).ToList();
            if (vms.Count == 0)
            {
                return;
            }

            // One read of the day's breaches for all the VMs shown.
            var breaches = Await(ct => vault.ListEventsAsync(DateTimeOffset.UtcNow - ProtectedVm.RpoBreachWindow, null, DREventKind.RpoBreached, ct))
                .GroupBy(e => e.VmId).ToDictionary(g => g.Key, g => g.Count());
            foreach (var vm in vms)
            {
                WriteObject(vm with { RpoBreaches = breaches.TryGetValue(vm.VmId, out var count) ? count : 0 });
            }
        }
    }
}
