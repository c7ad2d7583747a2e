using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Recovery
{
    /// <summary>Recovers a plan's VMs (or piped protected VMs) on the recovery site's isolated test network, without touching production.</summary>
    /// <remarks>
    /// Runs a TestFailover job: checks the plan (as Test-RecoveryPlan does) and picks each VM's
    /// recovery point; then, group by group in the plan's order, runs the group's pre-actions,
    /// recovers its VMs together (disks written from the chunk store onto the recovery datastore,
    /// the VM created on the TEST network of each network mapping and tagged with the job id,
    /// powered on after its boot delay, waited for until it is up), runs their validations, and
    /// the post-actions. A manual step pauses the job (Resume-DRJob continues it). Production VMs
    /// and replication are not touched. The test VMs stay until Stop-TestFailover deletes them;
    /// Invoke-DRDrill does both in one go. Returns the job (pipe it to Wait-DRJob,
    /// Export-DrillReport or Stop-TestFailover). Ctrl+C or Stop-DRJob stops the job.
    /// </remarks>
    /// <example>
    /// <code>Start-TestFailover -RecoveryPlan erp</code>
    /// <para>Test failover of plan erp from each VM's newest recovery point.</para>
    /// </example>
    /// <example>
    /// <code>Get-RecoveryPlan erp | Start-TestFailover -RecoveryPoint LatestAppConsistent -AsJob</code>
    /// <para>From the newest app-consistent points, in a background job.</para>
    /// </example>
    /// <example>
    /// <code>Get-ProtectedVm web01 | Get-RecoveryPoint | Select-Object -First 1 | Start-TestFailover -Network 'DR Isolated Test'</code>
    /// <para>One VM from its oldest recovery point, without a plan.</para>
    /// </example>
    /// <example>
    /// <code>Get-ProtectedVm web01 | Start-TestFailover -Network 'DR Isolated Test' -PointInTime (Get-Date).AddHours(-2)</code>
    /// <para>One VM without a plan, as it was two hours ago, on an isolated network.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Start, "TestFailover", DefaultParameterSetName = PlanSet, SupportsShouldProcess = true)]
    [OutputType(typeof(DRJob))]
    public sealed class StartTestFailoverCommand : PointJobCmdlet
    {
        internal const string VmSet = "ProtectedVm";
        private readonly List<string> vmIds = new List<string>();
        private readonly List<string> pointIds = new List<string>();

        /// <summary>Protected VMs to recover as one group without a plan, by id or name (wildcards allowed); Get-ProtectedVm output binds by its VmId.</summary>
        [Parameter(Mandatory = true, ParameterSetName = VmSet, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Replication.ProtectedVmNameCompleter))]
        public string[] VmId { get; set; } = Array.Empty<string>();

        /// <summary>Without a plan: the recovery site network every NIC of the test VMs is connected to (keep it isolated from production).</summary>
        [Parameter(Mandatory = true, ParameterSetName = VmSet)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Sites.SiteNetworkNameCompleter))]
        public string Network { get; set; } = "";

        protected override JobOperation Operation => JobOperation.TestFailover;

        protected override void ProcessItem()
        {
            if (ParameterSetName == VmSet)
            {
                foreach (var idOrName in VmId)
                {
                    ForItem(idOrName, () => vmIds.AddRange(ResolveProtectedVms(idOrName).Select(vm => vm.VmId)));
                }
                // Points piped in (Get-RecoveryPoint output) each name the point of their own VM.
                if (!string.Equals(RecoveryPoint, "Latest", StringComparison.OrdinalIgnoreCase) && !string.Equals(RecoveryPoint, "LatestAppConsistent", StringComparison.OrdinalIgnoreCase))
                {
                    pointIds.Add(RecoveryPoint);
                }
                return;
            }

            base.ProcessItem();
        }

        protected override void EndProcessing() => Terminating(StartForCollectedVms);

        private void StartForCollectedVms()
        {
            if (ParameterSetName == VmSet && vmIds.Count > 0)
            {
                var ids = vmIds.Distinct().ToList();
                if (pointIds.Count > 0)
                {
                    RecoveryPoint = string.Join(",", pointIds.Distinct());
                }
                ForItem(string.Join(",", ids), () => StartRecoveryJob(Operation, Request(null, ids, Network), $"{ids.Count} protected VM(s)", (job, vault) => job));
            }
        }
    }
}
