using System;
using System.Diagnostics;
using System.Management.Automation;
using System.Security;
using AzureSiteRecovery.DR.ChunkStore;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Vault.Connection;
using AzureSiteRecovery.DR.Core.Vault.Copy;

namespace AzureSiteRecovery.DR.Vault
{
    /// <summary>Copies a vault and its chunk store into another vault and chunk store (a vault file to Azure Table storage and a Blob container, and back), then verifies the copy.</summary>
    /// <remarks>
    /// The source is the vault every cmdlet uses (-Vault, else Connect-DRVault's, else AZSR_DR_VAULT, else the per-user file) with
    /// its chunk store as Set-DRChunkStore configured it; it is only read. The destination is -Destination (a vault file path or a
    /// table endpoint URL, signed in to and keyed with the parameters Connect-DRVault takes) or -DestinationVault (what Connect-DRVault
    /// -PassThru or Get-DRVault output). Its chunk store is -DestinationChunkStore, a Blob container recorded in the destination
    /// vault as Set-DRChunkStore would, so the copy is usable at once; without it the destination keeps the chunk store it has
    /// (a vault file: the folder beside it). A Table vault needs a Blob chunk store.
    ///
    /// Chunks are copied as they are, encrypted, so the destination must use the source vault's key. That is checked before anything
    /// is written (VaultCopyKeyMismatch names the fix). A destination whose key is a file that does not exist yet (a new vault file,
    /// or a -KeyFile not made yet) gets the source's key in that file. To key a Table vault from Key Vault, put the source's key file
    /// there as base64 first (see the examples); the key is never printed.
    ///
    /// Chunks and recovery point manifests are copied first, then the records (sites with their sealed secrets, policies, groups,
    /// protected VMs, recovery points, replica states, plans, jobs); anything the destination has already is skipped, so running the
    /// same copy again finishes an interrupted one. A destination replicated to since an earlier copy (it holds recovery points the
    /// source lacks) is refused before anything is written (VaultCopyDestinationAhead): copy the other way, or into a new vault. Then every record is read back and compared, secrets included (in memory only),
    /// and every recovery point's chunks are re-read intact from the destination store (VaultCopyNotVerified otherwise). Leases and
    /// workers are not copied. Disks are not touched: only the vault and the chunk store are read.
    /// </remarks>
    /// <example>
    /// <code>$k = [Convert]::ToBase64String([IO.File]::ReadAllBytes("$HOME/.local/share/AzureSiteRecovery.DR/vault.db.key"))
    /// Set-AzKeyVaultSecret -VaultName contoso-kv -Name dr-vault-key -SecretValue (ConvertTo-SecureString $k -AsPlainText -Force)
    /// Copy-DRVault -Destination https://contosodr.table.core.windows.net/ -KeySecretUri https://contoso-kv.vault.azure.net/secrets/dr-vault-key `
    ///     -DestinationChunkStore https://contosodr.blob.core.windows.net/drchunks</code>
    /// <para>Moves the per-user vault file and its chunks to Azure: the vault key into Key Vault (on Windows the key file is protected with DPAPI;
    /// the VaultCopyKeyMismatch error shows the command that reads it), then the copy, signed in to the tables, Key Vault and the container with
    /// the managed identity. Runbooks then use Connect-DRVault https://contosodr.table.core.windows.net/ -KeySecretUri ... as well.</para>
    /// </example>
    /// <example>
    /// <code>Copy-DRVault -Vault ~/dr/vault.db -Destination https://contosodr.table.core.windows.net/ -AccountKey (Read-Host -AsSecureString) -KeyFile ~/dr/vault.db.key `
    ///     -DestinationChunkStore https://contosodr.blob.core.windows.net/drchunks -ChunkStoreSasToken (Read-Host -AsSecureString) -WhatIf</code>
    /// <para>Shows what would be copied into the Table vault (signed in with the account key, keyed by the vault file's own key file) and a
    /// container signed in to with a SAS; drop -WhatIf to copy.</para>
    /// </example>
    /// <example>
    /// <code>Connect-DRVault https://contosodr.table.core.windows.net/ -KeySecretUri https://contoso-kv.vault.azure.net/secrets/dr-vault-key
    /// Copy-DRVault -Destination ~/dr/restored.db</code>
    /// <para>And back: the session's Table vault and its Blob chunks into a new vault file, whose key file (~/dr/restored.db.key) is created
    /// holding the Table vault's key, and whose chunks go into the folder beside it.</para>
    /// </example>
    /// <example>
    /// <code>$azure = Get-DRVault -Vault https://contosodr.table.core.windows.net/
    /// Copy-DRVault -Vault ~/dr/vault.db -DestinationVault $azure</code>
    /// <para>Copies into a vault described by Get-DRVault (signed in as the AZSR_DR_VAULT_* variables or Connect-DRVault say) that has its
    /// Blob chunk store set already; running it again copies only what is new and verifies everything again.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Copy, "DRVault", SupportsShouldProcess = true, DefaultParameterSetName = LocationSet)]
    [OutputType(typeof(VaultCopyResult))]
    public sealed class CopyDRVaultCommand : DRCmdlet
    {
        private const string LocationSet = "Destination";
        private const string ConnectionSet = "DestinationVault";

        /// <summary>The destination vault: a vault file path (created when missing), or a table endpoint URL (https://&lt;account&gt;.table.core.windows.net/, or http://127.0.0.1:&lt;port&gt;/devstoreaccount1 for Azurite).</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = LocationSet)]
        [ValidateNotNullOrEmpty]
        public string? Destination { get; set; }

        /// <summary>The destination vault as Connect-DRVault -PassThru or Get-DRVault describe it, with its sign-in and key source.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ConnectionSet)]
        [ValidateNotNull]
        public DRVaultConnection? DestinationVault { get; set; }

        /// <summary>The prefix of the destination Table vault's table names (letters and digits). Default: drvault.</summary>
        [Parameter(ParameterSetName = LocationSet)]
        [ValidateNotNullOrEmpty]
        public string? TablePrefix { get; set; }

        /// <summary>How the destination Table vault signs in: ManagedIdentity, SharedKey (with -AccountKey) or Sas (with -SasToken). Default: SharedKey when -AccountKey is given, Sas when -SasToken is, else ManagedIdentity.</summary>
        [Parameter(ParameterSetName = LocationSet)]
        public VaultAuthentication? Authentication { get; set; }

        /// <summary>The client id of a user-assigned managed identity for the destination's tables and Key Vault. Default: the system-assigned identity.</summary>
        [Parameter(ParameterSetName = LocationSet)]
        [ValidateNotNullOrEmpty]
        public string? ClientId { get; set; }

        /// <summary>The destination storage account's access key (Authentication SharedKey).</summary>
        [Parameter(ParameterSetName = LocationSet)]
        [ValidateNotNull]
        public SecureString? AccountKey { get; set; }

        /// <summary>A SAS token for the destination account's tables (Authentication Sas).</summary>
        [Parameter(ParameterSetName = LocationSet)]
        [ValidateNotNull]
        public SecureString? SasToken { get; set; }

        /// <summary>The destination's vault key file: the source's own key file, or a file that does not exist yet (created, owner-only, holding the source's key). Default for a vault file: the key file beside it.</summary>
        [Parameter(ParameterSetName = LocationSet)]
        [ValidateNotNullOrEmpty]
        public string? KeyFile { get; set; }

        /// <summary>A Key Vault secret holding the source vault's key as base64: https://&lt;vault&gt;.vault.azure.net/secrets/&lt;name&gt;[/&lt;version&gt;]. Read with the managed identity (-ClientId).</summary>
        [Parameter(ParameterSetName = LocationSet)]
        [ValidateNotNull]
        public Uri? KeySecretUri { get; set; }

        /// <summary>The source vault's key itself, the base64 of 32 bytes, as a SecureString or a string (e.g. Get-AutomationVariable of an encrypted variable).</summary>
        [Parameter(ParameterSetName = LocationSet)]
        [ValidateNotNull]
        [SecureStringTransformation]
        public SecureString? Key { get; set; }

        /// <summary>The SHA-256 thumbprint of a self-signed certificate to trust for the destination's table endpoint and Key Vault (a lab).</summary>
        [Parameter(ParameterSetName = LocationSet)]
        [ValidateNotNullOrEmpty]
        public string? CertificateThumbprint { get; set; }

        /// <summary>The destination's chunk store, a Blob container URL: https://&lt;account&gt;.blob.core.windows.net/&lt;container&gt; (or http://127.0.0.1:&lt;port&gt;/&lt;account&gt;/&lt;container&gt; for Azurite); recorded in the destination vault as Set-DRChunkStore would. Default: the chunk store the destination has (a vault file: the folder beside it).</summary>
        [Parameter]
        [ValidateNotNull]
        public Uri? DestinationChunkStore { get; set; }

        /// <summary>How to sign in to -DestinationChunkStore: ManagedIdentity, SharedKey (with -ChunkStoreAccountKey) or Sas (with -ChunkStoreSasToken). Default: SharedKey when -ChunkStoreAccountKey is given, Sas when -ChunkStoreSasToken is, else ManagedIdentity.</summary>
        [Parameter]
        public BlobAuthentication? ChunkStoreAuthentication { get; set; }

        /// <summary>The access key of -DestinationChunkStore's storage account (ChunkStoreAuthentication SharedKey); stored encrypted in the destination vault.</summary>
        [Parameter]
        [ValidateNotNull]
        public SecureString? ChunkStoreAccountKey { get; set; }

        /// <summary>A SAS for -DestinationChunkStore with read, write, delete, list and create permissions (ChunkStoreAuthentication Sas); stored encrypted in the destination vault.</summary>
        [Parameter]
        [ValidateNotNull]
        public SecureString? ChunkStoreSasToken { get; set; }

        /// <summary>The client id of a user-assigned managed identity for -DestinationChunkStore (ChunkStoreAuthentication ManagedIdentity). Default: the system-assigned identity.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? ChunkStoreClientId { get; set; }

        protected override void ProcessItem()
        {
            // Everything given is checked before the source is opened or anything is written.
            var destination = DestinationVault?.Connection ?? new VaultConnectionParameters
            {
                TablePrefix = TablePrefix,
                Authentication = Authentication,
                ClientId = ClientId,
                AccountKey = AccountKey,
                SasToken = SasToken,
                KeyFile = KeyFile,
                KeySecretUri = KeySecretUri,
                Key = Key,
                CertificateThumbprint = CertificateThumbprint,
            }.Describe(Destination!, ResolvePath);
            var storeParameters = new BlobChunkStoreParameters(nameof(DestinationChunkStore), "ChunkStore")
            {
                Authentication = ChunkStoreAuthentication,
                AccountKey = ChunkStoreAccountKey,
                SasToken = ChunkStoreSasToken,
                ClientId = ChunkStoreClientId,
            };
            if (DestinationChunkStore is null && storeParameters.AnyGiven)
            {
                throw new InvalidSettingException("ChunkStore", "chunk store", nameof(DestinationChunkStore),
                    "-ChunkStoreAuthentication, -ChunkStoreAccountKey, -ChunkStoreSasToken and -ChunkStoreClientId sign in to -DestinationChunkStore; give the container URL with -DestinationChunkStore.");
            }
            var (chunkStore, chunkStoreSecret) = DestinationChunkStore is null
                ? ((ChunkStoreSetting?)null, (string?)null)
                : storeParameters.Describe(DestinationChunkStore);
            if (Connection.Kind == destination.Kind && string.Equals(Connection.Location, destination.Location, StringComparison.OrdinalIgnoreCase)
                && string.Equals(Connection.TablePrefix, destination.TablePrefix, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidSettingException("Vault", destination.Location, nameof(Destination),
                    $"The destination vault '{destination}' is the source vault. Name another vault to copy to (-Destination), or another source (-Vault).");
            }

            var source = OpenVault();
            var sourceObjects = OpenStore().Objects.Primary;
            using var sourceKey = Await(ct => VaultCopyTarget.PeekKeyAsync(Connection, ct))
                ?? throw VaultKey.Missing(Connection.KeySource?.FilePath ?? VaultKey.PathFor(Connection.Location));
            var keyFileToCreate = Await(ct => VaultCopyTarget.CheckKeyAsync(Connection, sourceKey, destination, ct));
            var summary = Await(ct => VaultCopySummary.OfAsync(source, sourceObjects, ct));
            var into = DestinationChunkStore != null ? $" and the chunk store {DestinationChunkStore}" : "";
            if (!ShouldProcess($"{destination}{into}", $"Copy {summary} from the vault '{Connection}' (chunk store {sourceObjects.Location})"))
            {
                return;
            }

            if (keyFileToCreate != null)
            {
                WriteVerbose($"The destination's key file '{keyFileToCreate}' does not exist: it is created holding the source vault's key.");
            }
            WriteVerbose($"Opening the destination vault '{destination}'.");
            using var target = Await(ct => VaultCopyTarget.OpenAsync(destination, sourceKey, keyFileToCreate, chunkStore, chunkStoreSecret, ct));
            WriteVerbose($"Copying into the chunk store '{target.Chunks.Store.Location}'.");

            var activity = $"Copying the vault to {destination}";
            var clock = Stopwatch.StartNew();
            var lastPhase = "";
            using var dispatcher = new PipelineDispatcher();
            var progress = new DispatchedProgress<VaultCopyProgress>(dispatcher, report =>
            {
                // One record per object would swamp the host: a phase change, the end of a phase, else at most 4 a second.
                if (report.Phase == lastPhase && report.Done != report.Total && clock.ElapsedMilliseconds < 250) return;
                lastPhase = report.Phase;
                clock.Restart();
                var status = report.Total > 0 ? $"{report.Phase}: {report.Done} of {report.Total}" : $"{report.Phase}: {report.Done}";
                var record = new ProgressRecord(1, activity, status);
                if (report.Total > 0) record.PercentComplete = (int)Math.Min(100, report.Done * 100 / report.Total);
                WriteProgress(record);
            });
            var result = dispatcher.Run(() => new VaultCopy(source, sourceObjects, target.Vault, target.Chunks).CopyAsync(progress, Cancellation));
            WriteProgress(new ProgressRecord(1, activity, "Done") { PercentComplete = 100, RecordType = ProgressRecordType.Completed });
            WriteObject(result);
        }
    }
}
