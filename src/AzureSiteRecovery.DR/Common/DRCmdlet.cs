using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Vault;
using AzureSiteRecovery.DR.Core.Vault.Connection;
using AzureSiteRecovery.DR.Vault;

namespace AzureSiteRecovery.DR.Common
{
    /// <summary>
    /// The base of every cmdlet: the -Vault parameter, the vault opened once per invocation,
    /// cancellation on Ctrl+C, and the mapping of service-library failures to ErrorRecords.
    /// </summary>
    public abstract class DRCmdlet : PSCmdlet, IDisposable
    {
        private readonly CancellationTokenSource cancellation = new CancellationTokenSource();
        private IVault? vault;
        private VaultConnection? connection;
        private ReplicationStore? store;
        private ConfiguredChunkStore? chunkStore;

        /// <summary>The vault to use: a vault file, or a table endpoint URL (https://&lt;account&gt;.table.core.windows.net/; a Table vault, signed in and keyed as Connect-DRVault or the AZSR_DR_VAULT_* environment variables say). Default: the vault of Connect-DRVault, else the AZSR_DR_VAULT environment variable, else the per-user vault file ($HOME/.local/share/AzureSiteRecovery.DR/vault.db on Linux and macOS, %LOCALAPPDATA%\AzureSiteRecovery.DR\vault.db on Windows). A -Vault file that does not exist is created by New-* and Import-* cmdlets only; the others report VaultNotFound.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Vault { get; set; }

        protected CancellationToken CancellationToken => cancellation.Token;

        /// <summary>Cancelled by Ctrl+C (StopProcessing); for helpers that run the cmdlet's work.</summary>
        internal CancellationToken Cancellation => cancellation.Token;

        // For helpers that report on the pipeline thread on the cmdlet's behalf.
        internal void WriteProgressRecord(ProgressRecord record) => WriteProgress(record);

        internal void WriteVerboseLine(string text) => WriteVerbose(text);

        /// <summary>Which vault this invocation uses and how it signs in (-Vault, else Connect-DRVault's, else AZSR_DR_VAULT, else the default).</summary>
        internal VaultConnection Connection => connection ??= VaultSession.Resolve(Vault, ResolvePath).Connection;

        /// <summary>A path as the user typed it, made absolute against the PowerShell location (not the process's).</summary>
        internal string ResolvePath(string path) => GetUnresolvedProviderPathFromPSPath(path);

        /// <summary>The vault of this invocation, opened on first use.</summary>
        protected IVault OpenVault()
        {
            if (vault is null)
            {
                var target = Connection;
                // A mistyped -Vault must not become a new, empty vault: only New-* and Import-* create one.
                if (Vault != null && target.Kind == VaultKind.Sqlite && !File.Exists(target.Location) && !CreatesVault(MyInvocation.MyCommand))
                {
                    throw new VaultException("VaultNotFound", FailureKind.NotFound, target.Location,
                        $"The vault file '{target.Location}' does not exist. Check the -Vault path; a new vault is created by New-DRSite, New-ReplicationPolicy or Import-RecoveryPlan.");
                }
                WriteVerbose($"Using the vault '{target}'.");
                vault = Await(target.OpenAsync);
            }

            return vault;
        }

        private static bool CreatesVault(CommandInfo? command) =>
            command is CmdletInfo cmdlet && (cmdlet.Verb == VerbsCommon.New || cmdlet.Verb == VerbsData.Import);

        /// <summary>The vault's chunk store (as Set-DRChunkStore configured it), opened on first use.</summary>
        protected ReplicationStore OpenStore() => store ??= OpenStoreForCycle();

        /// <summary>A new handle on the vault's chunk store, for one replication cycle; the caller disposes it. Cycles running in parallel may call it.</summary>
        protected ReplicationStore OpenStoreForCycle() => LazyInitializer.EnsureInitialized(ref chunkStore, () => new ConfiguredChunkStore(OpenVault(), Connection))!.Open();

        /// <summary>
        /// ShouldProcess for every cmdlet of the module: where the host cannot prompt (a runbook,
        /// pwsh -NonInteractive) a confirmation it asks for ends the command with ConfirmationRequired,
        /// naming -Confirm:$false, instead of the host's raw NonInteractive exception.
        /// </summary>
        protected new bool ShouldProcess(string target, string action)
        {
            try
            {
                return base.ShouldProcess(target, action);
            }
            catch (Exception ex) when (ex is PSInvalidOperationException || ex is System.Management.Automation.Host.HostException || ex is NotImplementedException)
            {
                ThrowTerminatingError(ToErrorRecord(new ConfirmationRequiredException(MyInvocation.MyCommand.Name, target, action, ex), target));
                return false;
            }
        }

        /// <summary>Runs service-library work on the pipeline thread and waits for it; Ctrl+C cancels it.</summary>
        protected T Await<T>(Func<CancellationToken, Task<T>> work) => work(CancellationToken).GetAwaiter().GetResult();

        protected void Await(Func<CancellationToken, Task> work) => work(CancellationToken).GetAwaiter().GetResult();

        /// <summary>Runs one item's work; a service-library failure becomes a non-terminating error for that item.</summary>
        protected void ForItem(object target, Action action)
        {
            try
            {
                action();
            }
            catch (DRException ex) when (ex.Kind != FailureKind.Cancelled && ex is not VaultException)
            {
                WriteError(ToErrorRecord(ex, target));
            }
        }

        protected override void ProcessRecord() => Terminating(ProcessItem);

        /// <summary>
        /// Runs <paramref name="work"/> (ProcessItem, or an EndProcessing's work) so that whatever
        /// escapes it stops the cmdlet with an error id of ours, never a .NET type name.
        /// </summary>
        protected void Terminating(Action work)
        {
            try
            {
                work();
            }
            catch (OperationCanceledException) when (CancellationToken.IsCancellationRequested)
            {
                // Ctrl+C: PowerShell is already stopping the pipeline.
            }
            catch (DRException ex)
            {
                ThrowTerminatingError(ToErrorRecord(ex, ex.Target));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException && ex is not ActionPreferenceStopException && !UnexpectedErrors.HasOwnId(ex))
            {
                // PowerShell's stops carry their record; anything else is ours to name.
                ThrowTerminatingError(UnexpectedErrors.ToErrorRecord(ex, null));
            }
        }

        /// <summary>The cmdlet's work for one pipeline input.</summary>
        protected abstract void ProcessItem();

        protected override void StopProcessing() => cancellation.Cancel();

        /// <summary>Reports a name given without wildcards that matched nothing, like Get-Item does.</summary>
        protected void WriteNotFound(string objectKind, string name, string? where = null) =>
            WriteError(ToErrorRecord(new ObjectNotFoundException(objectKind, name, where: where), name));

        /// <summary>
        /// The protected VMs <paramref name="idOrName"/> names: the VM with that id, else those with
        /// that name (several sites may protect VMs of one name), else those matching the wildcard
        /// pattern. A name without wildcards that matches nothing is ProtectedVmNotFound; a pattern
        /// that matches nothing is no VM.
        /// </summary>
        protected IReadOnlyList<ProtectedVm> ResolveProtectedVms(string idOrName)
        {
            var vault = OpenVault();
            var byId = Await(ct => vault.FindProtectedVmAsync(idOrName, ct));
            if (byId != null)
            {
                return new[] { byId };
            }

            var all = Await(ct => vault.ListProtectedVmsAsync(null, ct));
            if (WildcardPattern.ContainsWildcardCharacters(idOrName))
            {
                var pattern = WildcardPattern.Get(idOrName, WildcardOptions.IgnoreCase);
                return all.Where(vm => pattern.IsMatch(vm.Name)).ToList();
            }

            var named = all.Where(vm => string.Equals(vm.Name, idOrName, StringComparison.OrdinalIgnoreCase)).ToList();
            return named.Count > 0
                ? named
                : throw new ObjectNotFoundException("ProtectedVm", idOrName, "Get-ProtectedVm lists the protected VMs with their names and ids.");
        }

        /// <summary>
        /// Items whose name matches one of the patterns (all items when none is given); a name
        /// without wildcards that matches nothing is reported. Exact names are looked up one by
        /// one instead of listing everything. <paramref name="where"/> says where they were looked
        /// for in a not-found error ("on site 'onprem'"; the vault by default).
        /// </summary>
        protected IEnumerable<T> SelectByName<T>(string[]? patterns, string objectKind, Func<T, string> nameOf,
            Func<CancellationToken, Task<IReadOnlyList<T>>> listAll, Func<string, CancellationToken, Task<T?>>? findOne = null, string? where = null)
            where T : class
        {
            if (findOne != null && patterns is { Length: > 0 } && !Array.Exists(patterns, WildcardPattern.ContainsWildcardCharacters))
            {
                foreach (var name in patterns)
                {
                    var item = Await(ct => findOne(name, ct));
                    if (item is null)
                    {
                        WriteNotFound(objectKind, name, where);
                    }
                    else
                    {
                        yield return item;
                    }
                }

                yield break;
            }

            var items = Await(listAll);
            if (patterns is null || patterns.Length == 0)
            {
                foreach (var item in items)
                {
                    yield return item;
                }

                yield break;
            }

            var wildcards = Array.ConvertAll(patterns, p => WildcardPattern.Get(p, WildcardOptions.IgnoreCase));
            var matched = new bool[patterns.Length];
            foreach (var item in items)
            {
                var isMatch = false;
                for (var i = 0; i < wildcards.Length; i++)
                {
                    if (wildcards[i].IsMatch(nameOf(item)))
                    {
                        matched[i] = true;
                        isMatch = true;
                    }
                }

                if (isMatch)
                {
                    yield return item;
                }
            }

            for (var i = 0; i < patterns.Length; i++)
            {
                if (!matched[i] && !WildcardPattern.ContainsWildcardCharacters(patterns[i]))
                {
                    WriteNotFound(objectKind, patterns[i], where);
                }
            }
        }

        internal static ErrorRecord ToErrorRecord(DRException ex, object? target) =>
            new ErrorRecord(ex, ex.ErrorId, CategoryOf(ex.Kind), target ?? ex.Target);

        private static ErrorCategory CategoryOf(FailureKind kind) => kind switch
        {
            FailureKind.NotFound => ErrorCategory.ObjectNotFound,
            FailureKind.AlreadyExists => ErrorCategory.ResourceExists,
            FailureKind.InvalidArgument => ErrorCategory.InvalidArgument,
            FailureKind.InUse => ErrorCategory.ResourceBusy,
            FailureKind.InvalidData => ErrorCategory.InvalidData,
            FailureKind.Unavailable => ErrorCategory.ResourceUnavailable,
            FailureKind.Unauthorized => ErrorCategory.AuthenticationError,
            FailureKind.Security => ErrorCategory.SecurityError,
            FailureKind.Cancelled => ErrorCategory.OperationStopped,
            _ => ErrorCategory.NotSpecified,
        };

        public void Dispose()
        {
            store?.Dispose();
            vault?.Dispose();
            cancellation.Dispose();
        }
    }
}
