using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Orchestration.Plans
{
    /// <summary>
    /// The vault's recovery plans as <see cref="RecoveryPlan"/>s: stores a parsed plan's YAML and
    /// parses stored YAML on the way out (locations in a stored plan read "planName:line:column").
    /// </summary>
    public sealed class RecoveryPlanCatalog
    {
        private readonly IVault vault;

        public RecoveryPlanCatalog(IVault vault) => this.vault = vault ?? throw new ArgumentNullException(nameof(vault));

        /// <summary>Stores a plan from <see cref="RecoveryPlanParser.Parse"/>; <paramref name="replace"/> overwrites one of the same name.</summary>
        public async Task<RecoveryPlan> AddAsync(RecoveryPlan plan, bool replace, CancellationToken cancellationToken)
        {
            if (plan is null) throw new ArgumentNullException(nameof(plan));
            var stored = await vault.AddRecoveryPlanAsync(
                new RecoveryPlanSource { Name = plan.Name, ProtectedSite = plan.ProtectedSite, RecoverySite = plan.RecoverySite, Yaml = plan.Yaml, SourceFolder = plan.SourceFolder },
                replace, cancellationToken).ConfigureAwait(false);
            return plan with { Name = stored.Name, SourceFolder = stored.SourceFolder, Created = stored.Created, Modified = stored.Modified };
        }

        public async Task<RecoveryPlan?> FindAsync(string name, CancellationToken cancellationToken)
        {
            var source = await vault.FindRecoveryPlanAsync(name, cancellationToken).ConfigureAwait(false);
            return source is null ? null : Load(source);
        }

        public async Task<IReadOnlyList<RecoveryPlan>> ListAsync(CancellationToken cancellationToken) =>
            (await vault.ListRecoveryPlansAsync(cancellationToken).ConfigureAwait(false)).Select(Load).ToList();

        private static RecoveryPlan Load(RecoveryPlanSource source) =>
            RecoveryPlanParser.Parse(source.Yaml, source.Name) with
            {
                Name = source.Name, SourceFolder = source.SourceFolder, Created = source.Created, Modified = source.Modified,
            };
    }
}
