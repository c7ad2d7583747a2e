using System;
using System.Management.Automation;
using System.Security;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;

namespace AzureSiteRecovery.DR.ChunkStore
{
    /// <summary>Sets where the vault keeps its chunk store: the local folder beside the vault, or an Azure Blob container.</summary>
    /// <remarks>
    /// Every cmdlet that reads or writes recovery point data (Sync-VmReplication, Test-RecoveryPoint,
    /// Export-RecoveryPoint, failover, failback) uses the store set here; chunks are spooled beside the
    /// vault while the store cannot be reached, and moved into it by a later cycle. An Azure Blob store
    /// survives the loss of the protected site. The account key or SAS is stored encrypted in the vault
    /// and never shown. Plain http is refused except to a loopback address (a local Azurite). A vault
    /// that already has recovery points keeps its store unless -Force is given: the points' chunks are
    /// not moved: Copy-DRVault copies a vault with its chunks to another vault and chunk store.
    /// </remarks>
    /// <example>
    /// <code>Set-DRChunkStore -BlobContainer https://drstore.blob.core.windows.net/chunks</code>
    /// <para>Keeps the chunks in the container 'chunks', signing in with the managed identity of the Automation account or VM.</para>
    /// </example>
    /// <example>
    /// <code>Set-DRChunkStore -BlobContainer https://drstore.blob.core.windows.net/chunks -AccountKey (Read-Host -AsSecureString)</code>
    /// <para>Signs in with the storage account's key, stored encrypted in the vault.</para>
    /// </example>
    /// <example>
    /// <code>Set-DRChunkStore -LocalFolder</code>
    /// <para>Goes back to the folder beside the vault file.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Set, "DRChunkStore", SupportsShouldProcess = true, DefaultParameterSetName = BlobSet)]
    [OutputType(typeof(ChunkStoreSetting))]
    public sealed class SetDRChunkStoreCommand : DRCmdlet
    {
        private const string BlobSet = "AzureBlob";
        private const string LocalSet = "LocalFolder";

        /// <summary>The Blob container URL: https://account.blob.core.windows.net/container (or http://127.0.0.1:port/account/container for a local Azurite). Without a query: give a SAS with -SasToken.</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = BlobSet, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNull]
        public Uri? BlobContainer { get; set; }

        /// <summary>How to sign in to the container: ManagedIdentity, SharedKey (with -AccountKey) or Sas (with -SasToken). Default: SharedKey when -AccountKey is given, Sas when -SasToken is, else ManagedIdentity.</summary>
        [Parameter(ParameterSetName = BlobSet, ValueFromPipelineByPropertyName = true)]
        public BlobAuthentication? Authentication { get; set; }

        /// <summary>The storage account's access key (Authentication SharedKey); stored encrypted in the vault.</summary>
        [Parameter(ParameterSetName = BlobSet)]
        [ValidateNotNull]
        public SecureString? AccountKey { get; set; }

        /// <summary>A shared access signature for the container, with read, write, delete, list and create permissions (Authentication Sas); stored encrypted in the vault.</summary>
        [Parameter(ParameterSetName = BlobSet)]
        [ValidateNotNull]
        public SecureString? SasToken { get; set; }

        /// <summary>The client id of a user-assigned managed identity (Authentication ManagedIdentity). Default: the system-assigned identity.</summary>
        [Parameter(ParameterSetName = BlobSet, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? ClientId { get; set; }

        /// <summary>Goes back to the chunk store in the folder beside the vault file (the default).</summary>
        [Parameter(Mandatory = true, ParameterSetName = LocalSet)]
        public SwitchParameter LocalFolder { get; set; }

        /// <summary>Switches the store even though the vault has recovery points: their chunks stay in the old store, so they cannot be tested, exported or recovered from the new one.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Writes the new setting to the pipeline.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessItem()
        {
            // Refused before the prompt: a bad URL should not be confirmed first.
            var (setting, secret) = LocalFolder
                ? (ChunkStoreSetting.Default, (string?)null)
                : new BlobChunkStoreParameters(nameof(BlobContainer), "") { Authentication = Authentication, AccountKey = AccountKey, SasToken = SasToken, ClientId = ClientId }
                    .Describe(BlobContainer!);

            var vault = OpenVault();
            var target = LocalFolder ? ReplicationStore.StoreFolderFor(Connection.LocalPath) : BlobContainer!.ToString();
            if (!ShouldProcess(target, "Set the vault's chunk store"))
            {
                return;
            }
            var stored = Await(ct => vault.SetChunkStoreAsync(setting, secret, Force, ct));
            if (PassThru)
            {
                WriteObject(GetDRChunkStoreCommand.Describe(stored, Connection.LocalPath));
            }
        }
    }
}
