using System.Linq;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>Gets the recovery points of protected VMs, oldest first.</summary>
    /// <remarks>
    /// Takes protected VMs by name (wildcards allowed) or id, from Get-ProtectedVm through the
    /// pipeline, or every VM of a protection group (a name, or the group from Get-ProtectionGroup),
    /// and lists their recovery points: time, crash- or app-consistent, the disks' size, the bytes
    /// the point read and stored.
    /// </remarks>
    /// <example>
    /// <code>Get-ProtectedVm erp-db01 | Get-RecoveryPoint | Select-Object -Last 1</code>
    /// <para>The newest recovery point of erp-db01.</para>
    /// </example>
    /// <example>
    /// <code>Get-RecoveryPoint erp-db01 -AppConsistent</code>
    /// <para>The app-consistent points of erp-db01, by its name.</para>
    /// </example>
    /// <example>
    /// <code>Get-ProtectionGroup erp | Get-RecoveryPoint</code>
    /// <para>The points of every VM of the group 'erp'.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "RecoveryPoint", DefaultParameterSetName = VmSet)]
    [OutputType(typeof(RecoveryPoint))]
    public sealed class GetRecoveryPointCommand : ProtectedVmCmdlet
    {
        private const string VmSet = "Vm";
        private const string GroupSet = "ProtectionGroup";

        /// <summary>The protected VM: its name (wildcards allowed) or its id (VmId, from Get-ProtectedVm through the pipeline). Every protected VM when neither -Vm nor -ProtectionGroup is given.</summary>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = VmSet)]
        [Alias("VmId")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ProtectedVmNameCompleter))]
        public string[]? Vm { get; set; }

        /// <summary>The points of every VM of this protection group: a group name, or the group from Get-ProtectionGroup through the pipeline.</summary>
        [Parameter(ValueFromPipeline = true, ParameterSetName = GroupSet)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(ProtectionGroupNameCompleter))]
        public string ProtectionGroup { get; set; } = "";

        /// <summary>Only app-consistent points.</summary>
        [Parameter]
        public SwitchParameter AppConsistent { get; set; }

        protected override void ProcessItem()
        {
            if (ParameterSetName == GroupSet)
            {
                ForItem(ProtectionGroup, () =>
                {
                    var group = RequireGroup(ProtectionGroup);
                    foreach (var vm in Await(ct => OpenVault().ListProtectedVmsAsync(group.Name, ct)))
                    {
                        WritePoints(vm);
                    }
                });
                return;
            }

            if (Vm is null)
            {
                // Neither a VM nor a group: the points of every protected VM.
                foreach (var vm in Await(ct => OpenVault().ListProtectedVmsAsync(null, ct)))
                {
                    WritePoints(vm);
                }

                return;
            }

            foreach (var name in Vm)
            {
                ForItem(name, () =>
                {
                    foreach (var vm in ResolveProtectedVms(name))
                    {
                        WritePoints(vm);
                    }
                });
            }
        }

        private void WritePoints(ProtectedVm vm)
        {
            foreach (var point in Await(ct => OpenVault().ListRecoveryPointsAsync(vm.VmId, ct))
                .Where(p => !AppConsistent || p.Consistency == PointConsistency.AppConsistent))
            {
                WriteObject(point);
            }
        }
    }
}
