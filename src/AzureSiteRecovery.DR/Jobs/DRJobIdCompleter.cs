using System.Collections.Generic;
using System.Linq;
using System.Threading;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Jobs
{
    /// <summary>Tab completion of DR job ids in the vault.</summary>
    public sealed class DRJobIdCompleter : VaultNameCompleter
    {
        protected override IEnumerable<string> ReadNames(IVault vault, CancellationToken cancellationToken) =>
            vault.ListJobsAsync(null, cancellationToken).GetAwaiter().GetResult().Select(job => job.JobId);
    }
}
