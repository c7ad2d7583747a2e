using System.Collections.Generic;
using System.Linq;
using System.Threading;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>Tab completion of protected VM names in the vault.</summary>
    public sealed class ProtectedVmNameCompleter : VaultNameCompleter
    {
        protected override IEnumerable<string> ReadNames(IVault vault, CancellationToken cancellationToken) =>
            vault.ListProtectedVmsAsync(null, cancellationToken).GetAwaiter().GetResult().Select(vm => vm.Name).Distinct();
    }
}
