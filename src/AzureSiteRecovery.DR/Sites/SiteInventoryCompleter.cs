using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Sites;
using AzureSiteRecovery.DR.Core.Vault;
using AzureSiteRecovery.DR.Vault;

namespace AzureSiteRecovery.DR.Sites
{
    /// <summary>
    /// Tab completion of what the site named by -Site offers (for the recovery cmdlets: the recovery
    /// site of their plan or VMs). It connects to the site, so it gives
    /// up quietly (no suggestions) after a few seconds or on any failure: typing never waits long
    /// or sees an error.
    /// </summary>
    public abstract class SiteInventoryCompleter : IArgumentCompleter
    {
        private static readonly TimeSpan Budget = TimeSpan.FromSeconds(5);

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var prefix = wordToComplete.Trim('\'', '"');
            string[] names;
            try
            {
                using var timeout = new CancellationTokenSource(Budget);
                using var vault = VaultSession.OpenForCompletion(fakeBoundParameters, timeout.Token);
                if (vault is null) return Array.Empty<CompletionResult>();
                var reading = ReadSiteNamesAsync(vault, fakeBoundParameters, timeout.Token);
                if (!reading.Wait(Budget))
                {
                    timeout.Cancel();
                    return Array.Empty<CompletionResult>();
                }

                names = reading.Result.ToArray();
            }
            catch (Exception)
            {
                // Completion must never throw into the user's typing: an unreachable site means no suggestions.
                return Array.Empty<CompletionResult>();
            }

            return names
                .Where(n => n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                .OrderBy(n => n, StringComparer.OrdinalIgnoreCase)
                .Select(n => new CompletionResult(Quote(n), n, CompletionResultType.ParameterValue, n))
                .ToArray();
        }

        // Network names often hold spaces ("VM Network"): the completed text must parse as one argument.
        private static string Quote(string name) =>
            name.IndexOfAny(new[] { ' ', '\'', '$', '`', '(', ')', '{', '}', ';', ',', '&', '|', '@', '#' }) < 0 ? name : "'" + name.Replace("'", "''") + "'";

        private async Task<IEnumerable<string>> ReadSiteNamesAsync(IVault vault, IDictionary bound, CancellationToken cancellationToken)
        {
            var site = await SiteOfAsync(vault, bound, cancellationToken).ConfigureAwait(false);
            return string.IsNullOrEmpty(site) ? Array.Empty<string>() : await ReadNamesAsync(vault, site!, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>
        /// The site the command line is about: its -Site; for a recovery cmdlet, the recovery site of
        /// its -RecoveryPlan, or of the protection group of its first -VmId (an id or a name).
        /// </summary>
        private static async Task<string?> SiteOfAsync(IVault vault, IDictionary bound, CancellationToken cancellationToken)
        {
            var site = bound["Site"] switch
            {
                string name => name,
                PSObject { BaseObject: Core.Model.Site s } => s.Name,
                Core.Model.Site s => s.Name,
                _ => null,
            };
            if (!string.IsNullOrEmpty(site)) return site;

            if (bound["RecoveryPlan"] is string planName && planName.Length > 0)
            {
                return (await vault.FindRecoveryPlanAsync(planName, cancellationToken).ConfigureAwait(false))?.RecoverySite;
            }

            var vmIdOrName = bound["VmId"] switch
            {
                string one => one,
                IEnumerable many => many.Cast<object>().Select(o => o?.ToString()).FirstOrDefault(),
                _ => null,
            };
            if (string.IsNullOrEmpty(vmIdOrName)) return null;
            var vm = await vault.FindProtectedVmAsync(vmIdOrName!, cancellationToken).ConfigureAwait(false)
                ?? (await vault.ListProtectedVmsAsync(null, cancellationToken).ConfigureAwait(false))
                    .FirstOrDefault(v => string.Equals(v.Name, vmIdOrName, StringComparison.OrdinalIgnoreCase));
            if (vm is null) return null;
            return (await vault.FindGroupAsync(vm.ProtectionGroup, cancellationToken).ConfigureAwait(false))?.RecoverySite;
        }

        protected abstract Task<IEnumerable<string>> ReadNamesAsync(IVault vault, string site, CancellationToken cancellationToken);
    }

    public sealed class SiteNetworkNameCompleter : SiteInventoryCompleter
    {
        protected override async Task<IEnumerable<string>> ReadNamesAsync(IVault vault, string site, CancellationToken cancellationToken) =>
            (await SiteInventoryReader.ListNetworksAsync(vault, site, cancellationToken).ConfigureAwait(false)).Select(n => n.Name);
    }

    public sealed class SiteDatastoreNameCompleter : SiteInventoryCompleter
    {
        protected override async Task<IEnumerable<string>> ReadNamesAsync(IVault vault, string site, CancellationToken cancellationToken) =>
            (await SiteInventoryReader.ListDatastoresAsync(vault, site, cancellationToken).ConfigureAwait(false)).Select(n => n.Name);
    }
}
