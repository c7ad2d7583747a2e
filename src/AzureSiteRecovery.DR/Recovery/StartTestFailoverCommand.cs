using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Jobs;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;

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
    /// Export-DrillReport or Stop-TestFailover). Ctrl+C stops the job between steps.
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
    /// <code>Get-ProtectedVm web01 | Start-TestFailover -Network 'DR Isolated Test' -PointInTime (Get-Date).AddHours(-2)</code>
    /// <para>One VM without a plan, as it was two hours ago, on an isolated network.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Start, "TestFailover", DefaultParameterSetName = PlanSet, SupportsShouldProcess = true)]
    [OutputType(typeof(DRJob))]
    public sealed class StartTestFailoverCommand : RecoveryJobCmdlet
    {
        internal const string PlanSet = "RecoveryPlan";
        internal const string VmSet = "ProtectedVm";
        private readonly List<string> vmIds = new List<string>();

        /// <summary>The recovery plan to test (Get-RecoveryPlan output binds by its Name).</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PlanSet, ValueFromPipelineByPropertyName = true)]
        [Alias("Name")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Plans.RecoveryPlanNameCompleter))]
        public string RecoveryPlan { get; set; } = "";

        /// <summary>Protected VMs to recover as one group without a plan (Get-ProtectedVm output binds by its VmId).</summary>
        [Parameter(Mandatory = true, ParameterSetName = VmSet, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string[] VmId { get; set; } = Array.Empty<string>();

        /// <summary>Without a plan: the recovery site network every NIC of the test VMs is connected to (keep it isolated from production).</summary>
        [Parameter(Mandatory = true, ParameterSetName = VmSet)]
        [ValidateNotNullOrEmpty]
        public string Network { get; set; } = "";

        /// <summary>Latest (default), LatestAppConsistent, or the id of a recovery point (Get-RecoveryPoint) for its VM; the other VMs take their newest.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [Alias("RecoveryPointId")]
        public string RecoveryPoint { get; set; } = "Latest";

        /// <summary>Recover each VM from its newest point taken at or before this time.</summary>
        [Parameter]
        public DateTime? PointInTime { get; set; }

        /// <summary>The recovery site datastore for the test VMs' files; by default the one with the most free space.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Datastore { get; set; }

        protected override void ProcessItem()
        {
            if (ParameterSetName == VmSet)
            {
                vmIds.AddRange(VmId);
                return;
            }

            ForItem(RecoveryPlan, () => StartRecoveryJob(JobOperation.TestFailover, Request(RecoveryPlan, Array.Empty<string>()),
                $"Recovery plan '{RecoveryPlan}'", (job, vault) => job));
        }

        protected override void EndProcessing()
        {
            if (ParameterSetName == VmSet && vmIds.Count > 0)
            {
                ForItem(string.Join(",", vmIds), () => StartRecoveryJob(JobOperation.TestFailover, Request(null, vmIds.Distinct().ToList()),
                    $"{vmIds.Count} protected VM(s)", (job, vault) => job));
            }
        }

        internal RecoveryRequest Request(string? plan, IReadOnlyList<string> vms) =>
            RecoveryRequests.From(plan, vms, Network, RecoveryPoint, PointInTime, Datastore);
    }

    /// <summary>How the recovery cmdlets turn their point and placement parameters into a request.</summary>
    internal static class RecoveryRequests
    {
        public static RecoveryRequest From(string? plan, IReadOnlyList<string> vms, string? network, string recoveryPoint, DateTime? pointInTime, string? datastore)
        {
            RecoveryPointChoice points;
            if (pointInTime is DateTime time)
            {
                points = new RecoveryPointChoice { Selection = RecoveryPointSelection.PointInTime, PointInTime = new DateTimeOffset(time.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(time, DateTimeKind.Local) : time) };
            }
            else if (string.Equals(recoveryPoint, "Latest", StringComparison.OrdinalIgnoreCase))
            {
                points = RecoveryPointChoice.Latest;
            }
            else if (string.Equals(recoveryPoint, "LatestAppConsistent", StringComparison.OrdinalIgnoreCase))
            {
                points = new RecoveryPointChoice { Selection = RecoveryPointSelection.LatestAppConsistent };
            }
            else
            {
                points = new RecoveryPointChoice { Selection = RecoveryPointSelection.Specific, PointIds = recoveryPoint.Split(',').Select(p => p.Trim()).ToList() };
            }

            return new RecoveryRequest { Plan = plan, VmIds = vms, Network = string.IsNullOrEmpty(network) ? null : network, Points = points, Datastore = datastore };
        }
    }
}
