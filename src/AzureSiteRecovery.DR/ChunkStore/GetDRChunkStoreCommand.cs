using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;

namespace AzureSiteRecovery.DR.ChunkStore
{
    /// <summary>Gets where the vault keeps its chunk store.</summary>
    /// <remarks>
    /// Shows the kind (LocalFolder or AzureBlob), the folder or container URL, how the module signs in
    /// to the container, and whether the vault holds a key or SAS for it (HasSecret). The key or SAS
    /// itself is never part of the output.
    /// </remarks>
    /// <example>
    /// <code>Get-DRChunkStore</code>
    /// <para>Shows the chunk store of the default vault.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "DRChunkStore")]
    [OutputType(typeof(ChunkStoreSetting))]
    public sealed class GetDRChunkStoreCommand : DRCmdlet
    {
        protected override void ProcessItem()
        {
            var vault = OpenVault();
            WriteObject(Describe(Await(vault.GetChunkStoreAsync), Connection.LocalPath));
        }

        /// <summary>The setting with its Location filled in: the container URL, or the folder beside the vault.</summary>
        internal static ChunkStoreSetting Describe(ChunkStoreSetting setting, string vaultPath) =>
            setting with { Location = setting.BlobContainer?.ToString() ?? ReplicationStore.StoreFolderFor(vaultPath) };
    }
}
