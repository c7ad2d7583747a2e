using System.Collections.Generic;
using System.Linq;
using System.Threading;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Plans
{
    /// <summary>Tab completion of recovery plan names in the vault.</summary>
    public sealed class RecoveryPlanNameCompleter : VaultNameCompleter
    {
        protected override IEnumerable<string> ReadNames(IVault vault, CancellationToken cancellationToken) =>
            vault.ListRecoveryPlansAsync(cancellationToken).GetAwaiter().GetResult().Select(p => p.Name);
    }
}
