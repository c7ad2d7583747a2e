using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Azure.Data.Tables;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Vault.Tables
{
    /// <summary>Recovery plans: one row each in the config partition, the YAML split across properties (up to ~440 KiB of YAML).</summary>
    public sealed partial class TableVault
    {
        private const string PlanPrefix = "plan|";

        private static string PlanRow(string name) => PlanPrefix + NameKey(name);

        public Task<RecoveryPlanSource> AddRecoveryPlanAsync(RecoveryPlanSource plan, bool replace, CancellationToken cancellationToken)
        {
            if (plan is null) throw new ArgumentNullException(nameof(plan));
            NameRules.Validate("RecoveryPlan", plan.Name);
            return Run(() => Optimistic(async () =>
            {
                var row = await FindAsync(config, ConfigPartition, PlanRow(plan.Name), cancellationToken).ConfigureAwait(false);
                var existing = row is null ? null : Doc<RecoveryPlanSource>(row);
                if (existing is not null && !replace)
                {
                    throw new ObjectAlreadyExistsException("RecoveryPlan", existing.Name, "Use -Force to replace it, or give the plan another name.");
                }
                if (existing is not null)
                {
                    await RefuseIfPlanInUseAsync(existing.Name, "replaced", cancellationToken).ConfigureAwait(false);
                }

                var now = Now();
                var stored = plan with { Name = existing?.Name ?? plan.Name, Created = existing?.Created ?? now, Modified = now };
                var entity = WithDoc(new TableEntity(ConfigPartition, PlanRow(stored.Name)), stored, "RecoveryPlan", stored.Name);
                if (row is null) await config.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
                else await config.UpdateEntityAsync(entity, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return stored;
            }, cancellationToken));
        }

        public Task<RecoveryPlanSource?> FindRecoveryPlanAsync(string name, CancellationToken cancellationToken) =>
            Run(async () => await FindAsync(config, ConfigPartition, PlanRow(name), cancellationToken).ConfigureAwait(false) is TableEntity row ? Doc<RecoveryPlanSource>(row) : null);

        public Task<IReadOnlyList<RecoveryPlanSource>> ListRecoveryPlansAsync(CancellationToken cancellationToken) =>
            Run<IReadOnlyList<RecoveryPlanSource>>(async () => (await PartitionAsync(config, ConfigPartition, PlanPrefix, cancellationToken).ConfigureAwait(false))
                .Select(Doc<RecoveryPlanSource>).OrderBy(p => p.Name, VaultRules.NoCase).ToList());

        public Task RemoveRecoveryPlanAsync(string name, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var row = await FindAsync(config, ConfigPartition, PlanRow(name), cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("RecoveryPlan", name);
                var plan = Doc<RecoveryPlanSource>(row);
                await RefuseIfPlanInUseAsync(plan.Name, "removed", cancellationToken).ConfigureAwait(false);
                await config.DeleteEntityAsync(ConfigPartition, row.RowKey, row.ETag, cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken));

        // A job added after this read and before the delete is as if added after the removal: jobs never read the plan row (they carry their copy).
        private async Task RefuseIfPlanInUseAsync(string name, string change, CancellationToken cancellationToken)
        {
            var all = await QueryAsync(jobs, $"RowKey eq '{JobRow}'", cancellationToken).ConfigureAwait(false);
            VaultRules.RefuseIfPlanInUse(name, change, all.Select(r => Doc<DRJob>(r)).OrderBy(j => j.Created.ToUnixTimeMilliseconds()));
        }
    }
}
