using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Azure.Data.Tables;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Vault.Tables
{
    /// <summary>Where the chunk store is: one row of the config partition, its account key or SAS sealed beside it.</summary>
    public sealed partial class TableVault
    {
        private const string ChunkStoreRow = "chunkstore";

        public Task<ChunkStoreSetting> GetChunkStoreAsync(CancellationToken cancellationToken) =>
            Run(async () => ReadChunkStore(await FindAsync(config, ConfigPartition, ChunkStoreRow, cancellationToken).ConfigureAwait(false)));

        public Task<ChunkStoreSetting> SetChunkStoreAsync(ChunkStoreSetting setting, string? secret, bool force, CancellationToken cancellationToken)
        {
            if (setting is null) throw new ArgumentNullException(nameof(setting));
            setting.Validate(secret is not null);
            return Run(() => Optimistic(async () =>
            {
                var row = await FindAsync(config, ConfigPartition, ChunkStoreRow, cancellationToken).ConfigureAwait(false);
                var current = ReadChunkStore(row);
                if (!force && !setting.SamePlaceAs(current))
                {
                    // Not one transaction with the commits (they are in the VMs' partitions): a point committed while the store
                    // switches is the documented gap (README.md); -Force is the user's word that none matter.
                    long count = 0;
                    await foreach (var _ in vms.QueryAsync<TableEntity>(RowPrefix(PointPrefix), null, new[] { "RowKey" }, cancellationToken).ConfigureAwait(false)) count++;
                    if (count > 0) throw VaultRules.ChunkStoreInUse(count, current, setting);
                }
                var authentication = setting.Kind == ChunkStoreKind.AzureBlob ? setting.Authentication ?? BlobAuthentication.ManagedIdentity : (BlobAuthentication?)null;
                var stored = setting with { HasSecret = secret is not null, Location = null, Modified = Now(), Authentication = authentication };
                var entity = new TableEntity(ConfigPartition, ChunkStoreRow)
                {
                    ["Kind"] = stored.Kind.ToString(),
                    ["Container"] = stored.BlobContainer?.AbsoluteUri,
                    ["Authentication"] = authentication?.ToString(),
                    ["ClientId"] = stored.ClientId,
                    ["Modified"] = stored.Modified!.Value.ToUnixTimeMilliseconds(),
                };
                var actions = new List<TableTransactionAction>();
                if (secret is not null)
                {
                    entity["KeyId"] = key.Id;
                    entity["Ciphertext"] = Seal(secret, VaultSecrets.ChunkStoreBinding(stored));
                    entity["Sealed"] = true;
                    actions.Add(await MetaCheckAsync(cancellationToken).ConfigureAwait(false));
                }
                actions.Insert(0, row is null ? Insert(entity) : Replace(entity, row.ETag));
                await SubmitAsync(config, actions, cancellationToken).ConfigureAwait(false);
                return stored;
            }, cancellationToken));
        }

        public Task<string?> ReadChunkStoreSecretAsync(CancellationToken cancellationToken) =>
            Run(async () =>
            {
                var row = await FindAsync(config, ConfigPartition, ChunkStoreRow, cancellationToken).ConfigureAwait(false);
                return row?.GetBinary("Ciphertext") is byte[] sealedSecret
                    ? Unseal("the account key or SAS of the chunk store", "Set-DRChunkStore", row.GetBinary("KeyId")!, sealedSecret, VaultSecrets.ChunkStoreBinding(ReadChunkStore(row)))
                    : null;
            });

        private static ChunkStoreSetting ReadChunkStore(TableEntity? row) => row is null ? ChunkStoreSetting.Default : new ChunkStoreSetting
        {
            Kind = (ChunkStoreKind)Enum.Parse(typeof(ChunkStoreKind), row.GetString("Kind")),
            BlobContainer = row.GetString("Container") is string url ? new Uri(url, UriKind.Absolute) : null,
            Authentication = row.GetString("Authentication") is string authentication ? (BlobAuthentication)Enum.Parse(typeof(BlobAuthentication), authentication) : null,
            ClientId = row.GetString("ClientId"),
            HasSecret = row.GetBinary("Ciphertext") is not null,
            Modified = DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64("Modified") ?? 0),
        };

        // The container URL is authenticated with its key or SAS, so a secret copied onto another URL (or a site's row) does not open (as SqliteVault).
    }
}
