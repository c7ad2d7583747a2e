using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>Gets the recovery points of protected VMs, oldest first.</summary>
    /// <remarks>
    /// Takes protected VMs from Get-ProtectedVm (by their VmId) and lists their recovery points:
    /// time, crash- or app-consistent, the disks' size, the bytes the point read and stored.
    /// </remarks>
    /// <example>
    /// <code>Get-ProtectedVm erp-db01 | Get-RecoveryPoint | Select-Object -Last 1</code>
    /// <para>The newest recovery point of erp-db01.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "RecoveryPoint")]
    [OutputType(typeof(RecoveryPoint))]
    public sealed class GetRecoveryPointCommand : DRCmdlet
    {
        /// <summary>The id of the protected VM (from Get-ProtectedVm through the pipeline).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string VmId { get; set; } = "";

        /// <summary>Only app-consistent points.</summary>
        [Parameter]
        public SwitchParameter AppConsistent { get; set; }

        protected override void ProcessItem()
        {
            ForItem(VmId, () =>
            {
                _ = Await(ct => OpenVault().FindProtectedVmAsync(VmId, ct)) ?? throw new ObjectNotFoundException("ProtectedVm", VmId);
                foreach (var point in Await(ct => OpenVault().ListRecoveryPointsAsync(VmId, ct)))
                {
                    if (!AppConsistent || point.Consistency == PointConsistency.AppConsistent)
                    {
                        WriteObject(point);
                    }
                }
            });
        }
    }
}
