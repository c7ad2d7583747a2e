using System;
using System.Collections.Generic;
using System.Linq;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery
{
    /// <summary>
    /// What a recovery cmdlet asks for: a plan (or VMs recovered as one group), which points, and
    /// where. Stored as the job's parameters, so that the job can be rebuilt and resumed from any process.
    /// </summary>
    public sealed record RecoveryRequest
    {
        private const string PlanKey = "plan";
        private const string VmsKey = "vms";
        private const string NetworkKey = "network";
        private const string DatastoreKey = "datastore";
        private const string NotesKey = "notes";
        private const string TestJobKey = "testJob";
        private const string PlannedKey = "planned";

        /// <summary>The recovery plan's name; null when <see cref="VmIds"/> are recovered as one group.</summary>
        public string? Plan { get; init; }
        /// <summary>Protected VMs recovered as one group without a plan (Start-TestFailover with VMs from the pipeline).</summary>
        public IReadOnlyList<string> VmIds { get; init; } = Array.Empty<string>();
        /// <summary>Without a plan: the network every NIC of the recovered VMs is connected to.</summary>
        public string? Network { get; init; }
        public RecoveryPointChoice Points { get; init; } = RecoveryPointChoice.Latest;
        /// <summary>The recovery datastore; null picks the one with the most free space.</summary>
        public string? Datastore { get; init; }
        /// <summary>Stop-TestFailover: the test failover job to clean up, and the notes recorded with it.</summary>
        public string? TestJobId { get; init; }
        public string? Notes { get; init; }
        /// <summary>Start-Failover -Planned: shut the source VMs down and sync them one last time first, so nothing is lost.</summary>
        public bool Planned { get; init; }

        public IReadOnlyDictionary<string, string> ToParameters()
        {
            var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
            if (Plan != null) parameters[PlanKey] = Plan;
            if (VmIds.Count > 0) parameters[VmsKey] = string.Join(",", VmIds);
            if (Network != null) parameters[NetworkKey] = Network;
            if (Datastore != null) parameters[DatastoreKey] = Datastore;
            if (TestJobId != null) parameters[TestJobKey] = TestJobId;
            if (Notes != null) parameters[NotesKey] = Notes;
            if (Planned) parameters[PlannedKey] = "true";
            Points.WriteTo(parameters);
            return parameters;
        }

        public static RecoveryRequest FromJob(DRJob job)
        {
            var p = job.Parameters;
            string? Get(string key) => p.TryGetValue(key, out var value) ? value : null;
            var vms = Get(VmsKey);
            return new RecoveryRequest
            {
                // A job recorded without parameters names its plan in its target.
                Plan = Get(PlanKey) ?? (vms is null ? job.Target : null),
                VmIds = vms?.Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries) ?? Array.Empty<string>(),
                Network = Get(NetworkKey),
                Datastore = Get(DatastoreKey),
                TestJobId = Get(TestJobKey),
                Notes = Get(NotesKey),
                Planned = Get(PlannedKey) == "true",
                Points = RecoveryPointChoice.ReadFrom(p),
            };
        }
    }
}
