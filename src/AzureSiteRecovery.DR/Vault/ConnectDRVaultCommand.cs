using System;
using System.IO;
using System.Management.Automation;
using System.Security;
using System.Threading;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Vault.Connection;

namespace AzureSiteRecovery.DR.Vault
{
    /// <summary>Sets the vault every command of this session uses: a vault file, or a vault in Azure Table storage with its sign-in and key.</summary>
    /// <remarks>
    /// Like Connect-AzAccount, it holds for the session (this runspace): every cmdlet without -Vault uses this vault
    /// until Disconnect-DRVault. The vault is opened once to check the sign-in and the key before it is set.
    /// A Table vault (a table endpoint URL) signs in with a managed identity by default (https only), or with the
    /// account key (-AccountKey) or a SAS (-SasToken); its vault key is never stored in the tables, so one of
    /// -KeyFile, -KeySecretUri or -Key is required. A vault file keeps its key file beside it unless one is given.
    /// Secrets are held in memory for the session only and never shown. Child processes (workers, hybrid workers)
    /// use the AZSR_DR_VAULT_* environment variables instead (see about_AzureSiteRecovery.DR).
    /// </remarks>
    /// <example>
    /// <code>Connect-DRVault https://contosodr.table.core.windows.net/ -KeySecretUri https://contoso-kv.vault.azure.net/secrets/dr-vault-key</code>
    /// <para>A runbook: the vault in Table storage and its key in Key Vault, both read with the Automation account's managed identity.</para>
    /// </example>
    /// <example>
    /// <code>Connect-DRVault https://contosodr.table.core.windows.net/ -Key (Get-AutomationVariable -Name DrVaultKey)</code>
    /// <para>The vault key from an encrypted Automation variable holding the base64 of 32 random bytes.</para>
    /// </example>
    /// <example>
    /// <code>Connect-DRVault http://127.0.0.1:10002/devstoreaccount1 -AccountKey (Read-Host -AsSecureString) -KeyFile ~/dr/lab-vault.key</code>
    /// <para>A lab vault on Azurite with its account key; the key file is created on first use.</para>
    /// </example>
    /// <example>
    /// <code>Connect-DRVault ~/dr/vault.db</code>
    /// <para>A vault file for this session.</para>
    /// </example>
    [Cmdlet(VerbsCommunications.Connect, "DRVault", SupportsShouldProcess = true)]
    [OutputType(typeof(DRVaultConnection))]
    public sealed class ConnectDRVaultCommand : PSCmdlet, IDisposable
    {
        private readonly CancellationTokenSource cancellation = new CancellationTokenSource();

        /// <summary>The vault: a vault file path, or a table endpoint URL (https://&lt;account&gt;.table.core.windows.net/, or http://127.0.0.1:&lt;port&gt;/devstoreaccount1 for Azurite).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("Location")]
        [ValidateNotNullOrEmpty]
        public string? Vault { get; set; }

        /// <summary>The prefix of the Table vault's table names (letters and digits). Default: drvault.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? TablePrefix { get; set; }

        /// <summary>How a Table vault signs in: ManagedIdentity, SharedKey (with -AccountKey) or Sas (with -SasToken). Default: SharedKey when -AccountKey is given, Sas when -SasToken is, else ManagedIdentity.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public VaultAuthentication? Authentication { get; set; }

        /// <summary>The client id of a user-assigned managed identity, for the tables and Key Vault. Default: the system-assigned identity.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? ClientId { get; set; }

        /// <summary>The storage account's access key (Authentication SharedKey).</summary>
        [Parameter]
        [ValidateNotNull]
        public SecureString? AccountKey { get; set; }

        /// <summary>A SAS token for the account's tables, allowing read, add, update, delete, list and create (Authentication Sas).</summary>
        [Parameter]
        [ValidateNotNull]
        public SecureString? SasToken { get; set; }

        /// <summary>A file holding the vault key (created, owner-only, when missing).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? KeyFile { get; set; }

        /// <summary>A Key Vault secret holding the vault key as the base64 of 32 bytes: https://&lt;vault&gt;.vault.azure.net/secrets/&lt;name&gt;[/&lt;version&gt;]. Read with the managed identity (-ClientId).</summary>
        [Parameter]
        [ValidateNotNull]
        public Uri? KeySecretUri { get; set; }

        /// <summary>The vault key itself, the base64 of 32 bytes, as a SecureString or a string (e.g. Get-AutomationVariable of an encrypted variable).</summary>
        [Parameter]
        [ValidateNotNull]
        [SecureStringTransformation]
        public SecureString? Key { get; set; }

        /// <summary>The SHA-256 thumbprint of a self-signed certificate to trust for the table endpoint and Key Vault (a lab).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? CertificateThumbprint { get; set; }

        /// <summary>Writes the connection (without secrets).</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord()
        {
            try
            {
                var connection = Describe();
                if (connection.Kind == VaultKind.Sqlite && !File.Exists(connection.Location))
                {
                    throw new VaultException("VaultNotFound", FailureKind.NotFound, connection.Location,
                        $"The vault file '{connection.Location}' does not exist. Check the path; a new vault is created by New-DRSite, New-ReplicationPolicy or Import-RecoveryPlan -Vault '{connection.Location}'.");
                }
                if (!ShouldProcess(connection.ToString(), "Use this vault for the session"))
                {
                    return;
                }
                WriteVerbose($"Opening the vault '{connection}' (key: {connection.KeySource?.Description ?? "the key file beside it"}).");
                using (connection.OpenAsync(cancellation.Token).GetAwaiter().GetResult())
                {
                }
                VaultSession.Set(connection);
                if (PassThru)
                {
                    WriteObject(new DRVaultConnection(connection, VaultSource.Session));
                }
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
            }
            catch (DRException ex)
            {
                ThrowTerminatingError(DRCmdlet.ToErrorRecord(ex, ex.Target));
            }
            catch (ArgumentException ex)
            {
                ThrowTerminatingError(new ErrorRecord(ex, "VaultConnectionInvalid", ErrorCategory.InvalidArgument, Vault));
            }
        }

        private VaultConnection Describe() => new VaultConnectionParameters
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
        }.Describe(Vault!, GetUnresolvedProviderPathFromPSPath);

        protected override void StopProcessing() => cancellation.Cancel();

        public void Dispose() => cancellation.Dispose();
    }

    /// <summary>Lets a SecureString parameter take a plain string too (an Automation variable's value), converted at once.</summary>
    public sealed class SecureStringTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
            if (value is string text)
            {
                var secure = new SecureString();
                foreach (var c in text) secure.AppendChar(c);
                secure.MakeReadOnly();
                return secure;
            }
            return inputData;
        }
    }
}
