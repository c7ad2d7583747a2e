using System;
using System.Linq;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>Gets the replication workers (Sync-VmReplication -Continuous processes) that reported to the vault.</summary>
    /// <remarks>
    /// Each worker records itself in the vault: its id (machine/pid/suffix; the machine part is
    /// AZSR_DR_WORKER_NAME when set, for tests and containers), when it started and last reported,
    /// and the VMs it is cycling (CurrentVms). A worker reports at least every third of its lease
    /// duration: one not seen for three lease durations shows as Lost (its process or machine died;
    /// its VMs went to the other workers when their leases expired), one that ended by itself
    /// (Ctrl+C, Stop-Job) as Stopped. Newest first; filter by -Status.
    /// </remarks>
    /// <example>
    /// <code>Get-DRWorker</code>
    /// <para>Shows every worker, the VMs each is cycling and when each last reported.</para>
    /// </example>
    /// <example>
    /// <code>Get-DRWorker -Status Lost</code>
    /// <para>Shows the workers that stopped reporting without ending (a killed process, a machine down).</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "DRWorker")]
    [OutputType(typeof(ReplicationWorker))]
    public sealed class GetDRWorkerCommand : DRCmdlet
    {
        /// <summary>Only workers in one of these states: Running, Stopped or Lost.</summary>
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty]
        public WorkerStatus[]? Status { get; set; }

        protected override void ProcessItem()
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var worker in Await(ct => OpenVault().ListWorkersAsync(ct)).Select(w => w.Observe(now)).Where(w => Status is null || Status.Contains(w.Status)))
            {
                WriteObject(worker);
            }
        }
    }
}
