using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;

namespace AzureSiteRecovery.DR.Recovery
{
    /// <summary>A recovery cmdlet that works on a recovery plan: one job per plan given (or piped in from Get-RecoveryPlan).</summary>
    public abstract class PlanJobCmdlet : RecoveryJobCmdlet
    {
        internal const string PlanSet = "RecoveryPlan";

        /// <summary>The recovery plan (Get-RecoveryPlan output binds by its Name).</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PlanSet, ValueFromPipelineByPropertyName = true)]
        [Alias("Name")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Plans.RecoveryPlanNameCompleter))]
        public string RecoveryPlan { get; set; } = "";

        /// <summary>The operation this cmdlet runs.</summary>
        protected abstract JobOperation Operation { get; }

        /// <summary>What the job is asked to do.</summary>
        internal virtual RecoveryRequest Request() => new RecoveryRequest { Plan = RecoveryPlan };

        /// <summary>What -WhatIf and -Confirm name.</summary>
        protected virtual string Description => $"Recovery plan '{RecoveryPlan}'";

        /// <summary>What the cmdlet writes for the ended job.</summary>
        protected virtual object Output(DRJob job) => job;

        protected override void ProcessItem() =>
            ForItem(RecoveryPlan, () => StartRecoveryJob(Operation, Request(), Description, (job, vault) => Output(job)));
    }

    /// <summary>A plan cmdlet that recovers VMs from recovery points: which points, and where their files go.</summary>
    public abstract class PointJobCmdlet : PlanJobCmdlet
    {
        /// <summary>Latest (default), LatestAppConsistent, or the id of a recovery point (Get-RecoveryPoint output binds by its RecoveryPointId) for its VM; the other VMs take their newest.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [Alias("RecoveryPointId")]
        public string RecoveryPoint { get; set; } = "Latest";

        /// <summary>Recover each VM from its newest point taken at or before this time.</summary>
        [Parameter]
        public DateTime? PointInTime { get; set; }

        /// <summary>The recovery site datastore for the recovered VMs' files; by default the one with the most free space.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Sites.SiteDatastoreNameCompleter))]
        public string? Datastore { get; set; }

        internal override RecoveryRequest Request() => Request(RecoveryPlan, Array.Empty<string>(), null);

        /// <summary>The request for a plan, or for VMs without a plan connected to <paramref name="network"/>.</summary>
        internal RecoveryRequest Request(string? plan, IReadOnlyList<string> vms, string? network)
        {
            RecoveryPointChoice points;
            if (PointInTime is DateTime time)
            {
                var local = time.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(time, DateTimeKind.Local) : time;
                points = new RecoveryPointChoice { Selection = RecoveryPointSelection.PointInTime, PointInTime = new DateTimeOffset(local) };
            }
            else if (string.Equals(RecoveryPoint, "Latest", StringComparison.OrdinalIgnoreCase))
            {
                points = RecoveryPointChoice.Latest;
            }
            else if (string.Equals(RecoveryPoint, "LatestAppConsistent", StringComparison.OrdinalIgnoreCase))
            {
                points = new RecoveryPointChoice { Selection = RecoveryPointSelection.LatestAppConsistent };
            }
            else
            {
                points = new RecoveryPointChoice { Selection = RecoveryPointSelection.Specific, PointIds = RecoveryPoint.Split(',').Select(p => p.Trim()).ToList() };
            }

            return new RecoveryRequest { Plan = plan, VmIds = vms, Network = string.IsNullOrEmpty(network) ? null : network, Points = points, Datastore = Datastore };
        }
    }
}
