using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Threading;
using AzureSiteRecovery.DR.Core.Vault;
using AzureSiteRecovery.DR.Vault;

namespace AzureSiteRecovery.DR.Common
{
    /// <summary>Tab completion of names stored in the vault (the one the command would use: -Vault, Connect-DRVault's, AZSR_DR_VAULT or the default).</summary>
    public abstract class VaultNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var prefix = wordToComplete.Trim('\'', '"');
            string[] names;
            try
            {
                // A Table vault is across the network: typing never waits long.
                using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var vault = VaultSession.OpenForCompletion(fakeBoundParameters, budget.Token);
                names = vault is null ? Array.Empty<string>() : ReadNames(vault, budget.Token).ToArray();
            }
            catch (Exception)
            {
                // Completion must never throw into the user's typing; no vault means no suggestions.
                return Array.Empty<CompletionResult>();
            }

            return names
                .Where(n => n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                .OrderBy(n => n, StringComparer.OrdinalIgnoreCase)
                .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n))
                .ToArray();
        }

        protected abstract IEnumerable<string> ReadNames(IVault vault, CancellationToken cancellationToken);
    }

    public sealed class SiteNameCompleter : VaultNameCompleter
    {
        protected override IEnumerable<string> ReadNames(IVault vault, CancellationToken cancellationToken) =>
            vault.ListSitesAsync(cancellationToken).GetAwaiter().GetResult().Select(s => s.Name);
    }

    public sealed class PolicyNameCompleter : VaultNameCompleter
    {
        protected override IEnumerable<string> ReadNames(IVault vault, CancellationToken cancellationToken) =>
            vault.ListPoliciesAsync(cancellationToken).GetAwaiter().GetResult().Select(p => p.Name);
    }

    public sealed class ProtectionGroupNameCompleter : VaultNameCompleter
    {
        protected override IEnumerable<string> ReadNames(IVault vault, CancellationToken cancellationToken) =>
            vault.ListGroupsAsync(cancellationToken).GetAwaiter().GetResult().Select(g => g.Name);
    }
}
