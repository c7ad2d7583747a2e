using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Data.Tables;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Transfers.Retries;

namespace AzureSiteRecovery.DR.Core.Vault.Tables
{
    /// <summary>
    /// The vault on Azure Table storage (design: README.md beside this file). Every read-change-write is optimistic:
    /// it writes If-Match the ETag it read and starts again on 412/409 with a short bounded back-off. Changes that
    /// must be atomic are one batch transaction in one partition; the few that span partitions write in an order
    /// that is safe after a crash at any point (README.md says why for each).
    /// </summary>
    public sealed partial class TableVault : IVault
    {
        public const string DefaultTablePrefix = "drvault";
        private const string SecretPurpose = "site-secret";
        private const int MaxAttempts = 40;
        private const int PartChars = 30_000; // 64 KiB per string property is 32 Ki UTF-16 characters
        private const int MaxParts = 15;      // 15 x 60 KB stays under the 1 MiB entity limit

        private static readonly JsonSerializerOptions Json = new JsonSerializerOptions
        {
            IgnoreReadOnlyProperties = true,
            Converters = { new JsonStringEnumConverter() },
        };

        private readonly TableClient config;
        private readonly TableClient vms;
        private readonly TableClient points;
        private readonly TableClient jobs;
        private readonly TableClient workers;
        private readonly TableClient events;
        private readonly VaultKey key;
        private readonly AuthenticatedCipher cipher;
        // Two writers that met a concurrent change must not come back together.
        private static readonly Backoff ConcurrentChangeBackoff = new Backoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(400));

        private TableVault(TableServiceClient service, string prefix, VaultKey key, string location)
        {
            config = service.GetTableClient(prefix + "config");
            vms = service.GetTableClient(prefix + "vms");
            points = service.GetTableClient(prefix + "points");
            jobs = service.GetTableClient(prefix + "jobs");
            workers = service.GetTableClient(prefix + "workers");
            events = service.GetTableClient(prefix + "events");
            this.key = key;
            cipher = key.CreateCipher(SecretPurpose);
            Location = location;
        }

        /// <summary>The table endpoint (no SAS, no key).</summary>
        public string Location { get; }

        /// <summary>
        /// Opens (creating the tables when missing) the vault whose tables are named <paramref name="tablePrefix"/>&lt;name&gt; in the
        /// account of <paramref name="service"/>. <paramref name="location"/> is what <see cref="Location"/> returns (the endpoint URL,
        /// no SAS, no key). The key seals site/chunk-store secrets; the vault records the key's Id and fails with VaultException
        /// "VaultKeyMismatch" when opened with another key while sealed data exists.
        /// </summary>
        public static async Task<TableVault> OpenAsync(TableServiceClient service, string tablePrefix, VaultKey key, string location, CancellationToken cancellationToken)
        {
            if (service is null) throw new ArgumentNullException(nameof(service));
            if (key is null) throw new ArgumentNullException(nameof(key));
            if (string.IsNullOrEmpty(location)) throw new ArgumentException("The vault's location (its endpoint URL) is required.", nameof(location));
            if (string.IsNullOrEmpty(tablePrefix) || !char.IsLetter(tablePrefix[0]) || tablePrefix.Any(c => !(c < 128 && char.IsLetterOrDigit(c))) || tablePrefix.Length > 50)
            {
                throw new ArgumentException($"The table prefix '{tablePrefix}' is not valid: use 1 to 50 letters and digits, starting with a letter (default '{DefaultTablePrefix}').", nameof(tablePrefix));
            }

            var vault = new TableVault(service, tablePrefix, key, location);
            try
            {
                await vault.Run(async () =>
                {
                    foreach (var table in new[] { vault.config, vault.vms, vault.points, vault.jobs, vault.workers, vault.events })
                    {
                        await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
                    }
                    await vault.CheckKeyAsync(cancellationToken).ConfigureAwait(false);
                    return true;
                }).ConfigureAwait(false);
                return vault;
            }
            catch
            {
                vault.Dispose();
                throw;
            }
        }

        public void Dispose() => cipher.Dispose();

        // ---- The vault key ----

        private const string MetaRow = "meta";

        /// <summary>Records the key's Id at first use; refuses another key while anything sealed with the recorded one exists.</summary>
        private Task CheckKeyAsync(CancellationToken cancellationToken) => Optimistic(async () =>
        {
            var meta = await FindAsync(config, ConfigPartition, MetaRow, cancellationToken).ConfigureAwait(false);
            if (meta is null)
            {
                await config.AddEntityAsync(MetaEntity(), cancellationToken).ConfigureAwait(false);
                return true;
            }
            if (meta.GetBinary("KeyId") is byte[] recorded && recorded.SequenceEqual(key.Id))
            {
                return true;
            }
            if (await HoldsSealedDataAsync(cancellationToken).ConfigureAwait(false))
            {
                throw KeyMismatch(meta);
            }
            // Nothing sealed yet: the vault takes this key.
            await config.UpdateEntityAsync(MetaEntity(), meta.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);

        private TableEntity MetaEntity() => new TableEntity(ConfigPartition, MetaRow)
        {
            ["KeyId"] = key.Id,
            // Where the key came from, to name it when another key is given (the key itself is never stored).
            ["KeySource"] = key.FilePath,
            ["Schema"] = 1,
        };

        private VaultException KeyMismatch(TableEntity meta) =>
            new VaultException("VaultKeyMismatch", Location,
                $"The vault '{Location}' holds secrets and recovery points sealed with another vault key (id {Hex(meta.GetBinary("KeyId"))}, " +
                $"from '{meta.GetString("KeySource")}') than the one given (id {Hex(key.Id)}, from '{key.FilePath}'). " +
                "Open the vault with the key source it was created with (the same key file, Key Vault secret or Automation variable).");

        private static string Hex(byte[]? bytes) => bytes is null ? "none" : BitConverter.ToString(bytes, 0, Math.Min(8, bytes.Length)).Replace("-", "").ToLowerInvariant();

        private async Task<bool> HoldsSealedDataAsync(CancellationToken cancellationToken)
        {
            await foreach (var _ in config.QueryAsync<TableEntity>($"PartitionKey eq '{ConfigPartition}' and Sealed eq true", 1, new[] { "RowKey" }, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }
            await foreach (var _ in points.QueryAsync<TableEntity>((string?)null, 1, new[] { "RowKey" }, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }
            return false;
        }

        /// <summary>The meta row If-Match, for a batch that seals: fails the batch when another key took the vault meanwhile.</summary>
        private async Task<TableTransactionAction> MetaCheckAsync(CancellationToken cancellationToken)
        {
            var meta = await FindAsync(config, ConfigPartition, MetaRow, cancellationToken).ConfigureAwait(false)
                ?? throw new VaultException("VaultUnreadable", Location, $"The vault '{Location}' lost its meta row; open it again (Connect-DRVault) to record its key.");
            if (!(meta.GetBinary("KeyId") is byte[] recorded && recorded.SequenceEqual(key.Id))) throw KeyMismatch(meta);
            return Touch(meta);
        }

        private byte[] Seal(string secret, ArraySegment<byte> binding)
        {
            return VaultSecrets.Seal(cipher, secret, binding);
        }

        private string Unseal(string what, string fix, byte[] keyId, byte[] sealedSecret, ArraySegment<byte> binding)
        {
            if (!keyId.SequenceEqual(key.Id))
            {
                throw new VaultException("VaultKeyMismatch", Location,
                    $"{VaultSecrets.Capitalize(what)} in the vault '{Location}' was encrypted with another key (id {Hex(keyId)}) than the one given (id {Hex(key.Id)}, from '{key.FilePath}'). " +
                    $"Open the vault with the key source it was created with, or set the secret again with {fix}.");
            }
            return VaultSecrets.Open(cipher, sealedSecret, binding, Location, what, fix);
        }

        // ---- Table plumbing ----

        /// <summary>Runs one vault call, mapping the table service's failures to <see cref="VaultException"/>s that say what to fix.</summary>
        private async Task<T> Run<T>(Func<Task<T>> work)
        {
            try
            {
                return await work().ConfigureAwait(false);
            }
            catch (RequestFailedException ex)
            {
                throw Unreadable(ex);
            }
            catch (HttpRequestException ex)
            {
                throw new VaultException("VaultUnreadable", FailureKind.Unavailable, Location,
                    $"The table vault '{Location}' cannot be reached ({ex.Message}). Check the endpoint URL and the network, then try again.", ex);
            }
        }

        private Task Run(Func<Task> work) => Run(async () => { await work().ConfigureAwait(false); return true; });

        private VaultException Unreadable(RequestFailedException ex)
        {
            // The service's message never holds the key or the SAS (they are not echoed); ours names only the endpoint.
            var fix = ex.Status switch
            {
                0 => "it cannot be reached: check the endpoint URL and the network",
                401 or 403 => "the table service refused the sign-in: check the account key or SAS (its permissions and expiry), or the managed identity's role (Storage Table Data Contributor)",
                404 => "the account or a vault table does not exist: check the endpoint URL (account name), or open the vault again so it creates its tables",
                _ => $"the table service answered {ex.Status} {ex.ErrorCode}: try again, and check the storage account's health",
            };
            return new VaultException("VaultUnreadable", ex.Status == 0 ? FailureKind.Unavailable : ex.Status == 401 || ex.Status == 403 ? FailureKind.Unauthorized : FailureKind.InvalidData, Location,
                $"The table vault '{Location}' cannot be used: {fix}.", ex);
        }

        /// <summary>Runs <paramref name="attempt"/> until none of its conditional writes meets a concurrent change (412, 409, or 404 of a row read).</summary>
        private async Task<T> Optimistic<T>(Func<Task<T>> attempt, CancellationToken cancellationToken)
        {
            for (var i = 1; ; i++)
            {
                try
                {
                    return await attempt().ConfigureAwait(false);
                }
                catch (RequestFailedException ex) when (IsConcurrentChange(ex) && i < MaxAttempts)
                {
                    await Task.Delay(ConcurrentChangeBackoff.AfterWithJitter(i), cancellationToken).ConfigureAwait(false);
                }
            }
        }

        private static bool IsConcurrentChange(RequestFailedException ex) =>
            ex.Status == 412 || ex.Status == 409 || (ex.Status == 404 && ex.ErrorCode != "TableNotFound");

        private static async Task<TableEntity?> FindAsync(TableClient table, string partition, string row, CancellationToken cancellationToken)
        {
            // A filter, not a point read: GetEntityIfExistsAsync throws NullReferenceException on Azurite's 404 (12.13.0).
            await foreach (var found in table.QueryAsync<TableEntity>($"PartitionKey eq '{Quote(partition)}' and RowKey eq '{Quote(row)}'", 1, null, cancellationToken).ConfigureAwait(false))
            {
                return found;
            }
            return null;
        }

        private static async Task<List<TableEntity>> QueryAsync(TableClient table, string? filter, CancellationToken cancellationToken)
        {
            var rows = new List<TableEntity>();
            await foreach (var row in table.QueryAsync<TableEntity>(filter, null, null, cancellationToken).ConfigureAwait(false))
            {
                rows.Add(row);
            }
            return rows;
        }

        /// <summary>The rows of <paramref name="partition"/> whose row keys start with <paramref name="prefix"/> (all when null).</summary>
        private static Task<List<TableEntity>> PartitionAsync(TableClient table, string partition, string? prefix, CancellationToken cancellationToken) =>
            QueryAsync(table, prefix is null ? $"PartitionKey eq '{Quote(partition)}'" : $"PartitionKey eq '{Quote(partition)}' and {RowPrefix(prefix)}", cancellationToken);

        /// <summary>A filter for row keys starting with <paramref name="prefix"/> (which ends with '|'; '}' sorts right after it).</summary>
        private static string RowPrefix(string prefix) => $"RowKey ge '{Quote(prefix)}' and RowKey lt '{Quote(prefix.Substring(0, prefix.Length - 1) + "}")}'";

        private static string Quote(string value) => value.Replace("'", "''");

        /// <summary>Submits one batch (one partition, at most 100 actions); nothing when empty.</summary>
        private static async Task SubmitAsync(TableClient table, IReadOnlyList<TableTransactionAction> actions, CancellationToken cancellationToken)
        {
            if (actions.Count == 0) return;
            if (actions.Count == 1)
            {
                var action = actions[0];
                switch (action.ActionType)
                {
                    case TableTransactionActionType.Add:
                        await table.AddEntityAsync(action.Entity, cancellationToken).ConfigureAwait(false);
                        return;
                    case TableTransactionActionType.Delete:
                        await table.DeleteEntityAsync(action.Entity.PartitionKey, action.Entity.RowKey, action.ETag, cancellationToken).ConfigureAwait(false);
                        return;
                }
            }
            await table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>A merge of nothing If-Match the row's ETag: the batch fails when the row changed or went since it was read.</summary>
        private static TableTransactionAction Touch(TableEntity row) =>
            new TableTransactionAction(TableTransactionActionType.UpdateMerge, new TableEntity(row.PartitionKey, row.RowKey), row.ETag);

        private static TableTransactionAction Insert(ITableEntity row) => new TableTransactionAction(TableTransactionActionType.Add, row);

        private static TableTransactionAction Replace(ITableEntity row, ETag etag) => new TableTransactionAction(TableTransactionActionType.UpdateReplace, row, etag);

        private static TableTransactionAction Delete(TableEntity row) => new TableTransactionAction(TableTransactionActionType.Delete, row, row.ETag);

        /// <summary>A key for <paramref name="value"/> (table keys refuse '/', '\\', '#', '?' and control characters).</summary>
        private static string Key(string value) => Uri.EscapeDataString(value);

        /// <summary>The key a name is unique under: COLLATE NOCASE, as the SQLite vault.</summary>
        private static string NameKey(string name) => Key(VaultRules.FoldAscii(name));

        /// <summary>Stores <paramref name="value"/> as JSON in properties D0..Dn (a plan's YAML can exceed one property's 64 KiB).</summary>
        private static TableEntity WithDoc(TableEntity entity, object value, string kind, string name)
        {
            var json = JsonSerializer.Serialize(value, value.GetType(), Json);
            var parts = (json.Length + PartChars - 1) / PartChars;
            if (parts > MaxParts)
            {
                throw new InvalidSettingException(kind, name, "Size",
                    $"{ObjectNotFoundException.Describe(kind)} '{name}' is {json.Length / 1024} KiB as stored, more than a table vault row holds ({MaxParts * PartChars / 1024} KiB). Make it smaller (split a plan into several).");
            }
            entity["Parts"] = parts;
            for (var i = 0; i < parts; i++)
            {
                entity["D" + i] = json.Substring(i * PartChars, Math.Min(PartChars, json.Length - i * PartChars));
            }
            return entity;
        }

        private static T Doc<T>(TableEntity entity)
        {
            var parts = entity.GetInt32("Parts") ?? 0;
            var json = new StringBuilder();
            for (var i = 0; i < parts; i++)
            {
                json.Append(entity.GetString("D" + i));
            }
            return JsonSerializer.Deserialize<T>(json.ToString(), Json)!;
        }

        /// <summary>For tests: how many rows of a kind the tables hold, named as the SQLite tables (recovery_points, protected_vms, protected_disks, site_secrets).</summary>
        internal async Task<long> CountRowsAsync(string what, CancellationToken cancellationToken)
        {
            switch (what)
            {
                case "recovery_points": return (await QueryAsync(vms, RowPrefix(PointPrefix), cancellationToken).ConfigureAwait(false)).Count;
                case "protected_vms": return (await QueryAsync(vms, $"RowKey eq '{VmRow}'", cancellationToken).ConfigureAwait(false)).Count;
                case "protected_disks": return (await QueryAsync(vms, $"RowKey eq '{VmRow}'", cancellationToken).ConfigureAwait(false)).Sum(r => Doc<ProtectedVm>(r).Disks.Count);
                case "site_secrets": return (await PartitionAsync(config, ConfigPartition, SitePrefix, cancellationToken).ConfigureAwait(false)).Count(r => r.GetBinary("Ciphertext") != null);
                default: throw new ArgumentException($"No rows named '{what}'.", nameof(what));
            }
        }

        // Truncated to milliseconds so that what Add returns equals what Find reads back.
        private static DateTimeOffset Now() => DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

        private static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    }
}
