using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Core.Vault.Copy
{
    /// <summary>What a vault and its chunk store hold, as a copy would take it (Copy-DRVault -WhatIf and its confirmation).</summary>
    public sealed record VaultCopySummary
    {
        public int Sites { get; init; }
        public int Policies { get; init; }
        public int Groups { get; init; }
        public int ProtectedVms { get; init; }
        public int RecoveryPoints { get; init; }
        public int Plans { get; init; }
        public int Jobs { get; init; }
        /// <summary>Chunks and point manifests in the chunk store.</summary>
        public int Objects { get; init; }
        public long Bytes { get; init; }

        /// <summary>Counts the records of <paramref name="vault"/> and the chunks and manifests of <paramref name="objects"/>; reads only.</summary>
        public static async Task<VaultCopySummary> OfAsync(IVault vault, IObjectStore objects, CancellationToken cancellationToken)
        {
            var vms = await vault.ListProtectedVmsAsync(null, cancellationToken).ConfigureAwait(false);
            var points = 0;
            foreach (var vm in vms)
            {
                points += (await vault.ListRecoveryPointsAsync(vm.VmId, cancellationToken).ConfigureAwait(false)).Count;
            }
            int count = 0;
            long bytes = 0;
            foreach (var prefix in new[] { ObjectKeys.ChunkPrefix, ObjectKeys.PointPrefix })
            {
                await foreach (var listed in objects.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
                {
                    count++;
                    bytes += listed.Size;
                }
            }
            return new VaultCopySummary
            {
                Sites = (await vault.ListSitesAsync(cancellationToken).ConfigureAwait(false)).Count,
                Policies = (await vault.ListPoliciesAsync(cancellationToken).ConfigureAwait(false)).Count,
                Groups = (await vault.ListGroupsAsync(cancellationToken).ConfigureAwait(false)).Count,
                ProtectedVms = vms.Count,
                RecoveryPoints = points,
                Plans = (await vault.ListRecoveryPlansAsync(cancellationToken).ConfigureAwait(false)).Count,
                Jobs = (await vault.ListJobsAsync(null, cancellationToken).ConfigureAwait(false)).Count,
                Objects = count,
                Bytes = bytes,
            };
        }

        /// <summary>"2 sites, 1 replication policy, ... and 41 chunk store objects (12.3 MiB)".</summary>
        public override string ToString()
        {
            var parts = new List<string>
            {
                Count(Sites, "site"), Count(Policies, "replication policy", "replication policies"), Count(Groups, "protection group"),
                Count(ProtectedVms, "protected VM"), Count(RecoveryPoints, "recovery point"), Count(Plans, "recovery plan"), Count(Jobs, "job"),
            };
            return string.Join(", ", parts) + $" and {Count(Objects, "chunk store object")} ({Bytes / 1048576.0:0.0} MiB)";
        }

        private static string Count(int n, string one, string? many = null) => $"{n} {(n == 1 ? one : many ?? one + "s")}";
    }
}
