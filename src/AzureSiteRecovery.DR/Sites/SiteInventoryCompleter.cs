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

namespace AzureSiteRecovery.DR.Sites
{
    /// <summary>
    /// Tab completion of what the site named by -Site offers. It connects to the site, so it gives
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
            var site = fakeBoundParameters["Site"] switch
            {
                string name => name,
                PSObject { BaseObject: Core.Model.Site s } => s.Name,
                Core.Model.Site s => s.Name,
                _ => null,
            };
            if (string.IsNullOrEmpty(site))
            {
                return Array.Empty<CompletionResult>();
            }

            string[] names;
            try
            {
                using var timeout = new CancellationTokenSource(Budget);
                using var vault = SqliteVault.Open(VaultLocation.Resolve(fakeBoundParameters["Vault"] as string));
                var reading = ReadNamesAsync(vault, site!, timeout.Token);
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
