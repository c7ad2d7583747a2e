using System;
using System.IO;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using AzureSiteRecovery.DR.Core.Vault;
using AzureSiteRecovery.DR.Core.Vault.Connection;

namespace AzureSiteRecovery.DR.Vault
{
    /// <summary>Where the vault a command uses came from (Get-DRVault's Source).</summary>
    public enum VaultSource
    {
        /// <summary>The command's -Vault parameter.</summary>
        Parameter,
        /// <summary>Connect-DRVault in this session.</summary>
        Session,
        /// <summary>The AZSR_DR_VAULT environment variable.</summary>
        Environment,
        /// <summary>The per-user default vault file.</summary>
        Default,
    }

    /// <summary>
    /// The vault Connect-DRVault set for a session (a runspace), and the one rule of which vault a command uses:
    /// -Vault, else the session's, else $env:AZSR_DR_VAULT, else the per-user default; the AZSR_DR_VAULT_* variables
    /// give the sign-in and key of a vault named by -Vault or AZSR_DR_VAULT unless the session's names the same vault.
    /// Kept per runspace, not per process: Automation runs jobs side by side in one process.
    /// </summary>
    internal static class VaultSession
    {
        private static readonly ConditionalWeakTable<Runspace, VaultConnection> Connected = new ConditionalWeakTable<Runspace, VaultConnection>();

        /// <summary>The session's vault (Connect-DRVault); null when none is set or no runspace runs this thread.</summary>
        public static VaultConnection? Current
        {
            get
            {
                var runspace = Runspace.DefaultRunspace;
                return runspace != null && Connected.TryGetValue(runspace, out var connection) ? connection : null;
            }
        }

        public static void Set(VaultConnection connection)
        {
            var runspace = Runspace.DefaultRunspace ?? throw new InvalidOperationException("Connect-DRVault runs in a PowerShell session.");
            Connected.Remove(runspace);
            Connected.Add(runspace, connection);
        }

        /// <summary>Forgets the session's vault; false when none was set.</summary>
        public static bool Clear()
        {
            var runspace = Runspace.DefaultRunspace;
            return runspace != null && Connected.Remove(runspace);
        }

        /// <summary>
        /// The vault a command uses. <paramref name="vaultParameter"/>: its -Vault (a path relative to the PowerShell location is resolved by
        /// <paramref name="resolvePath"/>, as AZSR_DR_VAULT's and a key file's are).
        /// </summary>
        public static (VaultConnection Connection, VaultSource Source) Resolve(string? vaultParameter, Func<string, string> resolvePath)
        {
            var session = Current;
            var environment = (Func<string, string?>)System.Environment.GetEnvironmentVariable;
            if (string.IsNullOrWhiteSpace(vaultParameter))
            {
                if (session != null) return (session, VaultSource.Session);
                var named = environment(VaultConnection.VaultVariable);
                return (VaultConnection.FromEnvironment(null, environment, resolvePath),
                    string.IsNullOrWhiteSpace(named) ? VaultSource.Default : VaultSource.Environment);
            }
            if (session != null && session.Names(vaultParameter!, environment(VaultConnection.TablePrefixVariable), resolvePath))
            {
                return (session, VaultSource.Parameter);
            }
            return (VaultConnection.FromEnvironment(vaultParameter, environment, resolvePath), VaultSource.Parameter);
        }

        /// <summary>
        /// For argument completers: the vault the command being typed would use (its -Vault in <paramref name="boundParameters"/>), opened;
        /// null when that is a vault file that does not exist yet (completion never creates one).
        /// </summary>
        public static IVault? OpenForCompletion(System.Collections.IDictionary boundParameters, System.Threading.CancellationToken cancellationToken)
        {
            var runspace = Runspace.DefaultRunspace;
            Func<string, string> resolve = path => Path.IsPathRooted(path) || runspace is null
                ? path
                : runspace.SessionStateProxy.Path.GetUnresolvedProviderPathFromPSPath(path);
            var (connection, _) = Resolve(boundParameters["Vault"] as string, resolve);
            if (connection.Kind == VaultKind.Sqlite && !File.Exists(connection.Location)) return null;
            return connection.OpenAsync(cancellationToken).GetAwaiter().GetResult();
        }
    }
}
