using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery
{
    /// <summary>How a recovery picks each VM's point.</summary>
    public enum RecoveryPointSelection
    {
        /// <summary>The newest point.</summary>
        Latest,
        /// <summary>The newest point taken with the guest quiesced.</summary>
        LatestAppConsistent,
        /// <summary>The newest point taken at or before a time.</summary>
        PointInTime,
        /// <summary>Named points (by id) for their VMs; the others take the newest.</summary>
        Specific,
    }

    /// <summary>The recovery point choice of a job, stored in its parameters so that a resumed job picks the same way.</summary>
    public sealed record RecoveryPointChoice
    {
        private const string SelectionKey = "recoveryPoint";
        private const string TimeKey = "pointInTime";
        private const string PointsKey = "recoveryPointIds";

        public RecoveryPointSelection Selection { get; init; }
        public DateTimeOffset? PointInTime { get; init; }
        /// <summary>For <see cref="RecoveryPointSelection.Specific"/>: the points asked for.</summary>
        public IReadOnlyList<string> PointIds { get; init; } = Array.Empty<string>();

        public static RecoveryPointChoice Latest { get; } = new RecoveryPointChoice();

        public override string ToString() => Selection switch
        {
            RecoveryPointSelection.PointInTime => $"the newest point at or before {PointInTime:u}",
            RecoveryPointSelection.Specific => $"point(s) {string.Join(", ", PointIds)}",
            RecoveryPointSelection.LatestAppConsistent => "the newest app-consistent point",
            _ => "the newest point",
        };

        public void WriteTo(IDictionary<string, string> parameters)
        {
            parameters[SelectionKey] = Selection.ToString();
            if (PointInTime is DateTimeOffset time) parameters[TimeKey] = time.ToString("o", CultureInfo.InvariantCulture);
            if (PointIds.Count > 0) parameters[PointsKey] = string.Join(",", PointIds);
        }

        public static RecoveryPointChoice ReadFrom(IReadOnlyDictionary<string, string> parameters) => new RecoveryPointChoice
        {
            Selection = parameters.TryGetValue(SelectionKey, out var s) && Enum.TryParse<RecoveryPointSelection>(s, out var selection) ? selection : RecoveryPointSelection.Latest,
            PointInTime = parameters.TryGetValue(TimeKey, out var t) ? DateTimeOffset.Parse(t, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind) : (DateTimeOffset?)null,
            PointIds = parameters.TryGetValue(PointsKey, out var ids) ? ids.Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries) : Array.Empty<string>(),
        };

        /// <summary>
        /// For named points: fails with RecoveryPointNotFound unless every id is a point of one of
        /// <paramref name="vms"/>, and with RecoveryPointAmbiguous when two ids name points of one VM.
        /// A mistyped id must never become "the newest point" (after ransomware, the encrypted one).
        /// </summary>
        public async Task RequireKnownAsync(IVault vault, IReadOnlyCollection<ProtectedVm> vms, CancellationToken cancellationToken)
        {
            if (Selection != RecoveryPointSelection.Specific)
            {
                return;
            }

            var byVm = new Dictionary<string, RecoveryPoint>(StringComparer.Ordinal);
            var names = string.Join(", ", vms.Select(v => v.Name).Distinct(StringComparer.OrdinalIgnoreCase));
            foreach (var id in PointIds)
            {
                var point = await vault.FindRecoveryPointAsync(id, cancellationToken).ConfigureAwait(false);
                if (point is null)
                {
                    throw new RecoveryException("RecoveryPointNotFound", FailureKind.NotFound, id,
                        $"Recovery point '{id}' is not in the vault (mistyped, or expired by retention); nothing was recovered and no VM falls back to its newest point. " +
                        $"List the points with Get-ProtectedVm <name> | Get-RecoveryPoint, or use -RecoveryPoint Latest. VMs to recover: {names}.");
                }
                if (!vms.Any(v => v.VmId == point.VmId))
                {
                    throw new RecoveryException("RecoveryPointNotFound", FailureKind.NotFound, id,
                        $"Recovery point '{id}' is a point of VM '{point.VmName}', which this recovery does not include (VMs to recover: {names}); nothing was recovered. " +
                        "Name a point of one of these VMs.");
                }
                if (byVm.TryGetValue(point.VmId, out var other) && !string.Equals(other.RecoveryPointId, point.RecoveryPointId, StringComparison.OrdinalIgnoreCase))
                {
                    throw new RecoveryException("RecoveryPointAmbiguous", FailureKind.InvalidArgument, id,
                        $"Recovery points '{other.RecoveryPointId}' and '{point.RecoveryPointId}' are both points of VM '{point.VmName}'; name one point per VM.");
                }
                byVm[point.VmId] = point;
            }
        }

        /// <summary>The point this choice gives <paramref name="vm"/>; fails with a message that says what the VM has when none fits.</summary>
        public async Task<RecoveryPoint> SelectAsync(IVault vault, ProtectedVm vm, CancellationToken cancellationToken)
        {
            var points = (await vault.ListRecoveryPointsAsync(vm.VmId, cancellationToken).ConfigureAwait(false)).OrderByDescending(p => p.Time).ToList();
            if (points.Count == 0)
            {
                throw new RecoveryException("NoRecoveryPoint", FailureKind.NotFound, vm.Name,
                    $"VM '{vm.Name}' has no recovery point yet; run Sync-VmReplication and wait for its initial replication to finish.");
            }

            RecoveryPoint? chosen = Selection switch
            {
                RecoveryPointSelection.LatestAppConsistent => points.FirstOrDefault(p => p.Consistency == PointConsistency.AppConsistent),
                RecoveryPointSelection.PointInTime => points.FirstOrDefault(p => p.Time <= PointInTime),
                // Only a VM no id was given for takes its newest point: RequireKnownAsync refused ids that name no point of the VMs.
                RecoveryPointSelection.Specific => points.FirstOrDefault(p => PointIds.Contains(p.RecoveryPointId, StringComparer.OrdinalIgnoreCase)) ?? points[0],
                _ => points[0],
            };
            return chosen ?? throw new RecoveryException("NoRecoveryPoint", FailureKind.NotFound, vm.Name,
                $"VM '{vm.Name}' has no {(Selection == RecoveryPointSelection.PointInTime ? $"point at or before {PointInTime:u}" : "app-consistent point")}; " +
                $"its points run from {points[points.Count - 1].Time:u} to {points[0].Time:u}. Choose another point.");
        }
    }
}
