using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery
{
    /// <summary>
    /// What a recovery step is about to create, written into the running step's details
    /// (<see cref="JobStepDetail.Created"/>) before each resource is created: cleanup reads it first
    /// (then falls back to the site's tags), so even a step whose process died mid-way leaves nothing behind.
    /// </summary>
    internal static class RecoveryJournal
    {
        private static readonly char[] Separator = { '\n' };

        /// <summary>The ids one step recorded.</summary>
        public static IReadOnlyList<string> Read(IReadOnlyDictionary<string, string> details) =>
            details.TryGetValue(JobStepDetail.Created, out var text) ? text.Split(Separator, StringSplitOptions.RemoveEmptyEntries) : Array.Empty<string>();

        /// <summary>The ids every step of <paramref name="job"/> recorded, in the order they were created.</summary>
        public static IReadOnlyList<string> Read(DRJob job) =>
            job.Steps.SelectMany(s => Read(s.Details)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();

        /// <summary>Adds <paramref name="id"/> to the journal of step <paramref name="stepIndex"/> of job <paramref name="jobId"/>, in the vault, now.</summary>
        public static async Task AppendAsync(IVault vault, string jobId, int stepIndex, string id)
        {
            // Never cancelled: the record must exist before the resource may.
            await vault.UpdateJobStepAsync(jobId, stepIndex, s =>
            {
                var ids = Read(s.Details);
                if (ids.Contains(id, StringComparer.OrdinalIgnoreCase)) return s;
                var details = s.Details.ToDictionary(p => p.Key, p => p.Value);
                details[JobStepDetail.Created] = string.Join("\n", ids.Concat(new[] { id }));
                return s with { Details = details };
            }, CancellationToken.None).ConfigureAwait(false);
        }

        /// <summary>The journal as a step's final details carry it.</summary>
        public static string? Format(IEnumerable<string> ids)
        {
            var list = ids.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            return list.Count == 0 ? null : string.Join("\n", list);
        }
    }
}
