using System;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using Microsoft.Data.Sqlite;

namespace AzureSiteRecovery.DR.Core.Vault
{
    public sealed partial class SqliteVault
    {
        public Task<ChunkStoreSetting> GetChunkStoreAsync(CancellationToken cancellationToken) =>
            ReadAsync(() => FindChunkStore(null), cancellationToken);

        public Task<ChunkStoreSetting> SetChunkStoreAsync(ChunkStoreSetting setting, string? secret, bool force, CancellationToken cancellationToken)
        {
            if (setting is null) throw new ArgumentNullException(nameof(setting));
            setting.Validate(secret is not null);
            return WriteAsync(transaction =>
            {
                var current = FindChunkStore(transaction);
                if (!force && !setting.SamePlaceAs(current))
                {
                    var points = ReadAll(transaction, "SELECT COUNT(*) FROM recovery_points;", reader => reader.GetInt64(0))[0];
                    if (points > 0) throw VaultRules.ChunkStoreInUse(points, current, setting);
                }
                var stored = setting with { HasSecret = secret is not null, Location = null, Modified = Now() };
                var sealedSecret = secret is null ? null : Seal(transaction, secret, VaultSecrets.ChunkStoreBinding(stored));
                Execute(transaction,
                    @"INSERT INTO chunk_store (id, kind, container_url, authentication, client_id, key_id, ciphertext, modified_unix_ms)
                      VALUES (1, $kind, $url, $authentication, $clientId, $keyId, $ciphertext, $modified)
                      ON CONFLICT (id) DO UPDATE SET
                          kind = excluded.kind, container_url = excluded.container_url, authentication = excluded.authentication,
                          client_id = excluded.client_id, key_id = excluded.key_id, ciphertext = excluded.ciphertext, modified_unix_ms = excluded.modified_unix_ms;",
                    ("$kind", stored.Kind.ToString()), ("$url", stored.BlobContainer?.AbsoluteUri),
                    ("$authentication", stored.Kind == ChunkStoreKind.AzureBlob ? (stored.Authentication ?? BlobAuthentication.ManagedIdentity).ToString() : null),
                    ("$clientId", stored.ClientId), ("$keyId", sealedSecret is null ? null : key!.Id), ("$ciphertext", sealedSecret),
                    ("$modified", ToUnixMs(stored.Modified!.Value)));
                return stored with { Authentication = stored.Kind == ChunkStoreKind.AzureBlob ? stored.Authentication ?? BlobAuthentication.ManagedIdentity : (BlobAuthentication?)null };
            }, cancellationToken);
        }

        public Task<string?> ReadChunkStoreSecretAsync(CancellationToken cancellationToken) =>
            ReadAsync(() =>
            {
                var setting = FindChunkStore(null);
                var row = ReadAll(null, "SELECT key_id, ciphertext FROM chunk_store WHERE id = 1 AND ciphertext IS NOT NULL;",
                    reader => (KeyId: (byte[])reader[0], Sealed: (byte[])reader[1])).FirstOrDefault();
                return row.Sealed is null ? null
                    : Unseal("the account key or SAS of the chunk store", "Set-DRChunkStore", row.KeyId, row.Sealed, VaultSecrets.ChunkStoreBinding(setting));
            }, cancellationToken);

        private ChunkStoreSetting FindChunkStore(SqliteTransaction? transaction) =>
            ReadAll(transaction, "SELECT kind, container_url, authentication, client_id, ciphertext IS NOT NULL, modified_unix_ms FROM chunk_store WHERE id = 1;",
                reader => new ChunkStoreSetting
                {
                    Kind = ParseEnum<ChunkStoreKind>(reader.GetString(0)),
                    BlobContainer = NullableString(reader, 1) is string url ? new Uri(url, UriKind.Absolute) : null,
                    Authentication = NullableString(reader, 2) is string authentication ? ParseEnum<BlobAuthentication>(authentication) : null,
                    ClientId = NullableString(reader, 3),
                    HasSecret = reader.GetInt64(4) != 0,
                    Modified = FromUnixMs(reader.GetInt64(5)),
                }).FirstOrDefault() ?? ChunkStoreSetting.Default;

        // The container URL is authenticated with its key or SAS, so a secret copied onto another URL (or a site's row) does not open.
    }
}
