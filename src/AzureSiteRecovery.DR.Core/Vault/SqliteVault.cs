using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Storage;
using Microsoft.Data.Sqlite;

namespace AzureSiteRecovery.DR.Core.Vault
{
    /// <summary>
    /// The default vault: one SQLite file in WAL mode. Each instance owns one connection; every write
    /// is one BEGIN IMMEDIATE transaction, so writers in other instances and processes queue behind it
    /// (up to the busy timeout) instead of losing updates. Site secrets are sealed with the vault key,
    /// which lives in a file beside the vault (<see cref="VaultKey"/>).
    /// </summary>
    public sealed partial class SqliteVault : IVault
    {
        public static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);
        private const string SecretPurpose = "site-secret";
        private const int SqliteCorrupt = 11;
        private const int SqliteCannotOpen = 14;
        private const int SqliteNotADatabase = 26;

        private const string SiteColumns =
            "s.name, s.kind, s.role, s.description, s.server, s.user_name, s.certificate_thumbprint, s.skip_certificate_check, " +
            "s.tenant_id, s.subscription_id, s.resource_group, s.location, s.storage_account, s.authentication, s.client_id, " +
            "EXISTS (SELECT 1 FROM site_secrets x WHERE x.site_name = s.name), s.created_unix_ms, s.modified_unix_ms, s.client_certificate_thumbprint, " +
            "s.allow_insecure_http, s.server_instance_uuid, s.ranged_writes, s.environment, s.arm_endpoint, s.authority_host, s.arm_certificate_thumbprint, " +
            "s.bandwidth_limit_mibps, s.bandwidth_schedule";
        private const string PolicyColumns =
            "p.name, p.description, p.replication_interval_ticks, p.rpo_threshold_ticks, p.recovery_point_retention_ticks, " +
            "p.app_consistent_frequency_ticks, p.created_unix_ms, p.modified_unix_ms, p.transfer_stall_timeout_ticks";
        private const string GroupColumns =
            "g.name, g.description, g.protected_site, g.recovery_site, g.policy, g.created_unix_ms, g.modified_unix_ms, " +
            "(SELECT COUNT(*) FROM protected_vms v WHERE v.group_name = g.name)";

        private readonly SqliteConnection connection;
        // One connection is not safe for concurrent use, so calls on one instance take turns.
        private readonly SemaphoreSlim turn = new SemaphoreSlim(1, 1);
        private VaultKey? key;
        private AuthenticatedCipher? secretCipher;
        // A key given by the caller (Connect-DRVault -KeyFile/-KeySecretUri/-Key) instead of the file beside the vault.
        private readonly bool keyGiven;

        private SqliteVault(string path, SqliteConnection connection, VaultKey? givenKey)
        {
            Location = path;
            this.connection = connection;
            key = givenKey;
            keyGiven = givenKey != null;
        }

        /// <summary>The vault file.</summary>
        public string Location { get; }

        /// <summary>The file holding the key that seals this vault's secrets (unless a key was given to <see cref="Open(string, VaultKey)"/>).</summary>
        public string KeyPath => VaultKey.PathFor(Location);

        // What the errors call the key: the file beside the vault, or where the given key came from.
        private string KeyName => keyGiven ? key!.Description : $"the vault key file '{KeyPath}'";

        /// <summary>Opens the vault at <paramref name="path"/> (absolute), creating the folder and file if missing and migrating the schema.</summary>
        public static SqliteVault Open(string path) => Open(path, null);

        /// <summary>
        /// Opens the vault at <paramref name="path"/> as <see cref="Open(string)"/>, sealing with <paramref name="key"/> (the vault owns
        /// and disposes it) instead of the key file beside the vault; null: that file.
        /// </summary>
        public static SqliteVault Open(string path, VaultKey? key)
        {
            if (string.IsNullOrEmpty(path)) throw new ArgumentException("A vault path is required.", nameof(path));
            // Relative paths are the cmdlets' to resolve against the PowerShell location, which is not the process's.
            if (!Path.IsPathRooted(path)) throw new ArgumentException($"The vault path '{path}' is relative; resolve it first.", nameof(path));

            if (RegularFile.WhyNotRegular(path) is string what && what != "missing")
            {
                throw new VaultException("VaultUnreadable", path, $"The vault path '{path}' is {what}, not a vault file. Pass the path of a vault file (vault.db) to -Vault.");
            }

            try
            {
                // Owner only from the first instant; SQLite gives the -wal and -shm files the vault file's mode.
                OwnerOnly.CreateFolder(Path.GetDirectoryName(Path.GetFullPath(path))!);
                OwnerOnly.CreateEmptyFile(path);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new VaultException("VaultUnreadable", path, $"The vault file '{path}' cannot be created: {ex.Message} Pass another -Vault, or fix the folder's permissions.", ex);
            }
            var connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = path,
                Mode = SqliteOpenMode.ReadWriteCreate,
                ForeignKeys = true,
                // A pooled connection would outlive Dispose and keep the file open.
                Pooling = false,
                DefaultTimeout = (int)BusyTimeout.TotalSeconds,
            }.ToString();

            var connection = new SqliteConnection(connectionString);
            try
            {
                connection.Open();
                Execute(connection, $"PRAGMA busy_timeout = {(int)BusyTimeout.TotalMilliseconds};");
                Execute(connection, "PRAGMA journal_mode = WAL;");
                VaultSchema.Migrate(connection, path);
                return new SqliteVault(path, connection, key);
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteNotADatabase || ex.SqliteErrorCode == SqliteCorrupt || ex.SqliteErrorCode == SqliteCannotOpen)
            {
                connection.Dispose();
                var reason = ex.SqliteErrorCode == SqliteCannotOpen
                    ? $"cannot be opened ({ex.Message})"
                    : "is not a vault: it is not a SQLite database, or it is damaged";
                throw new VaultException("VaultUnreadable", path, $"The vault file '{path}' {reason}. Pass another -Vault, or restore the file from a backup.", ex);
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        // ---- Sites ----

        public Task<Site> AddSiteAsync(Site site, string? secret, CancellationToken cancellationToken)
        {
            if (site is null) throw new ArgumentNullException(nameof(site));
            (site with { HasSecret = secret is not null }).Validate();
            return WriteAsync(transaction =>
            {
                if (FindSite(transaction, site.Name) is not null)
                {
                    throw new ObjectAlreadyExistsException("Site", site.Name, "Use Set-DRSite to change it, or choose another name.");
                }
                var now = Now();
                var stored = site with { Created = now, Modified = now, HasSecret = secret is not null };
                SaveSite(transaction, stored);
                if (secret is not null)
                {
                    SaveSecret(transaction, stored.Name, secret);
                }
                return stored;
            }, cancellationToken);
        }

        public Task<Site?> FindSiteAsync(string name, CancellationToken cancellationToken) =>
            ReadAsync(() => FindSite(null, name), cancellationToken);

        public Task<IReadOnlyList<Site>> ListSitesAsync(CancellationToken cancellationToken) =>
            ReadAsync<IReadOnlyList<Site>>(() => ReadAll(null, $"SELECT {SiteColumns} FROM sites s ORDER BY s.name;", ReadSite), cancellationToken);

        public Task<Site> UpdateSiteAsync(string name, Func<Site, Site> change, string? newSecret, CancellationToken cancellationToken)
        {
            if (change is null) throw new ArgumentNullException(nameof(change));
            return WriteAsync(transaction =>
            {
                var current = FindSite(transaction, name) ?? throw new ObjectNotFoundException("Site", name);
                var changed = change(current);
                RefuseRename("Site", current.Name, changed.Name, "New-DRSite");
                (changed with { HasSecret = current.HasSecret || newSecret is not null }).Validate();
                RefuseRoleThatGroupsNeed(transaction, changed);
                var stored = changed with { Created = current.Created, Modified = Now(), HasSecret = current.HasSecret || newSecret is not null };
                SaveSite(transaction, stored);
                if (newSecret is not null)
                {
                    SaveSecret(transaction, stored.Name, newSecret);
                }
                return stored;
            }, cancellationToken);
        }

        public Task RemoveSiteAsync(string name, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                var site = FindSite(transaction, name) ?? throw new ObjectNotFoundException("Site", name);
                var users = ReadAll(transaction,
                    "SELECT name FROM protection_groups WHERE protected_site = $name OR recovery_site = $name ORDER BY name;",
                    reader => reader.GetString(0), ("$name", site.Name));
                if (users.Count > 0) throw VaultRules.SiteInUse(site.Name, users);
                Execute(transaction, "DELETE FROM sites WHERE name = $name;", ("$name", site.Name));
                return true;
            }, cancellationToken);

        public Task<string?> ReadSiteSecretAsync(string name, CancellationToken cancellationToken) =>
            ReadAsync(() =>
            {
                var rows = ReadAll(null,
                    "SELECT s.name, x.key_id, x.ciphertext FROM sites s LEFT JOIN site_secrets x ON x.site_name = s.name WHERE s.name = $name;",
                    reader => (Name: reader.GetString(0), KeyId: reader.IsDBNull(1) ? null : (byte[])reader[1], Sealed: reader.IsDBNull(2) ? null : (byte[])reader[2]),
                    ("$name", name));
                if (rows.Count == 0) throw new ObjectNotFoundException("Site", name);
                var row = rows[0];
                return row.Sealed is null ? null : OpenSecret(row.Name, row.KeyId!, row.Sealed);
            }, cancellationToken);

        // ---- Replication policies ----

        public Task<ReplicationPolicy> AddPolicyAsync(ReplicationPolicy policy, CancellationToken cancellationToken)
        {
            if (policy is null) throw new ArgumentNullException(nameof(policy));
            policy.Validate();
            return WriteAsync(transaction =>
            {
                if (FindPolicy(transaction, policy.Name) is not null)
                {
                    throw new ObjectAlreadyExistsException("ReplicationPolicy", policy.Name, "Use Set-ReplicationPolicy to change it, or choose another name.");
                }
                var now = Now();
                var stored = policy with { Created = now, Modified = now };
                SavePolicy(transaction, stored);
                return stored;
            }, cancellationToken);
        }

        public Task<ReplicationPolicy?> FindPolicyAsync(string name, CancellationToken cancellationToken) =>
            ReadAsync(() => FindPolicy(null, name), cancellationToken);

        public Task<IReadOnlyList<ReplicationPolicy>> ListPoliciesAsync(CancellationToken cancellationToken) =>
            ReadAsync<IReadOnlyList<ReplicationPolicy>>(() => ReadAll(null, $"SELECT {PolicyColumns} FROM replication_policies p ORDER BY p.name;", ReadPolicy), cancellationToken);

        public Task<ReplicationPolicy> UpdatePolicyAsync(string name, Func<ReplicationPolicy, ReplicationPolicy> change, CancellationToken cancellationToken)
        {
            if (change is null) throw new ArgumentNullException(nameof(change));
            return WriteAsync(transaction =>
            {
                var current = FindPolicy(transaction, name) ?? throw new ObjectNotFoundException("ReplicationPolicy", name);
                var changed = change(current);
                RefuseRename("ReplicationPolicy", current.Name, changed.Name, "New-ReplicationPolicy");
                changed.Validate();
                var stored = changed with { Created = current.Created, Modified = Now() };
                SavePolicy(transaction, stored);
                return stored;
            }, cancellationToken);
        }

        public Task RemovePolicyAsync(string name, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                var policy = FindPolicy(transaction, name) ?? throw new ObjectNotFoundException("ReplicationPolicy", name);
                var users = ReadAll(transaction, "SELECT name FROM protection_groups WHERE policy = $name ORDER BY name;",
                    reader => reader.GetString(0), ("$name", policy.Name));
                if (users.Count > 0) throw VaultRules.PolicyInUse(policy.Name, users);
                Execute(transaction, "DELETE FROM replication_policies WHERE name = $name;", ("$name", policy.Name));
                return true;
            }, cancellationToken);

        // ---- Protection groups ----

        public Task<ProtectionGroup> AddGroupAsync(ProtectionGroup group, CancellationToken cancellationToken)
        {
            if (group is null) throw new ArgumentNullException(nameof(group));
            group.Validate();
            return WriteAsync(transaction =>
            {
                if (FindGroup(transaction, group.Name) is not null)
                {
                    throw new ObjectAlreadyExistsException("ProtectionGroup", group.Name, "Use Set-ProtectionGroup to change it, or choose another name.");
                }
                var now = Now();
                var stored = ResolveReferences(transaction, group) with { ProtectedVmCount = 0, Created = now, Modified = now };
                SaveGroup(transaction, stored);
                return stored;
            }, cancellationToken);
        }

        public Task<ProtectionGroup?> FindGroupAsync(string name, CancellationToken cancellationToken) =>
            ReadAsync(() => FindGroup(null, name), cancellationToken);

        public Task<IReadOnlyList<ProtectionGroup>> ListGroupsAsync(CancellationToken cancellationToken) =>
            ReadAsync<IReadOnlyList<ProtectionGroup>>(() => ReadAll(null, $"SELECT {GroupColumns} FROM protection_groups g ORDER BY g.name;", ReadGroup), cancellationToken);

        public Task<ProtectionGroup> UpdateGroupAsync(string name, Func<ProtectionGroup, ProtectionGroup> change, CancellationToken cancellationToken)
        {
            if (change is null) throw new ArgumentNullException(nameof(change));
            return WriteAsync(transaction =>
            {
                var current = FindGroup(transaction, name) ?? throw new ObjectNotFoundException("ProtectionGroup", name);
                var changed = change(current);
                RefuseRename("ProtectionGroup", current.Name, changed.Name, "New-ProtectionGroup");
                changed.Validate();
                var stored = ResolveReferences(transaction, changed) with
                {
                    ProtectedVmCount = current.ProtectedVmCount,
                    Created = current.Created,
                    Modified = Now(),
                };
                SaveGroup(transaction, stored);
                return stored;
            }, cancellationToken);
        }

        public Task RemoveGroupAsync(string name, bool force, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                var group = FindGroup(transaction, name) ?? throw new ObjectNotFoundException("ProtectionGroup", name);
                if (group.ProtectedVmCount > 0)
                {
                    if (!force) throw VaultRules.GroupHasProtectedVms(group.Name, group.ProtectedVmCount);
                    Execute(transaction, "DELETE FROM protected_vms WHERE group_name = $name;", ("$name", group.Name));
                }
                Execute(transaction, "DELETE FROM protection_groups WHERE name = $name;", ("$name", group.Name));
                return true;
            }, cancellationToken);

        public void Dispose()
        {
            connection.Dispose();
            secretCipher?.Dispose();
            key?.Dispose();
            turn.Dispose();
        }

        // ---- Rules ----

        /// <summary>Checks that the group's sites and policy exist and fit, and returns it with their names as stored.</summary>
        private ProtectionGroup ResolveReferences(SqliteTransaction transaction, ProtectionGroup group)
        {
            return VaultRules.ResolveReferences(group, FindSite(transaction, group.ProtectedSite), FindSite(transaction, group.RecoverySite), FindPolicy(transaction, group.Policy));
        }

        private void RefuseRoleThatGroupsNeed(SqliteTransaction transaction, Site site)
        {
            var protectedBy = ReadAll(transaction, "SELECT name FROM protection_groups WHERE protected_site = $name ORDER BY name;", reader => reader.GetString(0), ("$name", site.Name));
            var recoveredTo = ReadAll(transaction, "SELECT name FROM protection_groups WHERE recovery_site = $name ORDER BY name;", reader => reader.GetString(0), ("$name", site.Name));
            VaultRules.RefuseRoleThatGroupsNeed(site, protectedBy, recoveredTo);
        }

        private static void RefuseRename(string kind, string currentName, string changedName, string createCmdlet) =>
            VaultRules.RefuseRename(kind, currentName, changedName, createCmdlet);

        // ---- Secrets ----

        private void SaveSecret(SqliteTransaction transaction, string siteName, string secret)
        {
            var sealedSecret = Seal(transaction, secret, VaultSecrets.SiteBinding(siteName));
            Execute(transaction,
                "INSERT INTO site_secrets (site_name, key_id, ciphertext) VALUES ($name, $keyId, $ciphertext) " +
                "ON CONFLICT (site_name) DO UPDATE SET key_id = excluded.key_id, ciphertext = excluded.ciphertext;",
                ("$name", siteName), ("$keyId", key!.Id), ("$ciphertext", sealedSecret));
        }

        private string OpenSecret(string siteName, byte[] keyId, byte[] sealedSecret) =>
            Unseal($"the secret of site '{siteName}'", $"Set-DRSite {siteName}", keyId, sealedSecret, VaultSecrets.SiteBinding(siteName));

        /// <summary>Seals <paramref name="secret"/> with the vault key (created in <paramref name="transaction"/> when none exists yet), authenticating <paramref name="binding"/>.</summary>
        private byte[] Seal(SqliteTransaction transaction, string secret, ArraySegment<byte> binding)
        {
            return VaultSecrets.Seal(SecretCipher(transaction)!, secret, binding);
        }

        /// <summary>Opens a sealed secret; <paramref name="what"/> names it and <paramref name="fix"/> is the command that sets it again, for the errors.</summary>
        private string Unseal(string what, string fix, byte[] keyId, byte[] sealedSecret, ArraySegment<byte> binding)
        {
            var cipher = SecretCipher(null)
                ?? throw new VaultException("VaultKeyMissing", KeyPath,
                    $"The vault key file '{KeyPath}' is missing, so {what} cannot be read. Put the key file back from a backup, or set the secret again with {fix}.");
            if (!keyId.SequenceEqual(key!.Id))
            {
                throw new VaultException("VaultKeyMismatch", keyGiven ? Location : KeyPath, keyGiven
                    ? $"{VaultSecrets.Capitalize(what)} was encrypted with another key than {KeyName}. Give the vault's own key, or set the secret again with {fix}."
                    : $"{VaultSecrets.Capitalize(what)} was encrypted with another key than the one in '{KeyPath}' (the key file was replaced, or the vault was copied without it). " +
                    $"Put the original key file back, or set the secret again with {fix}.");
            }
            return VaultSecrets.Open(cipher, sealedSecret, binding, Location, what, fix);
        }

        // The site name is authenticated with its secret, so a secret copied onto another site's row does not open.

        /// <summary>The cipher for site secrets; null when the key file does not exist and no <paramref name="sealing"/> transaction may create it.</summary>
        private AuthenticatedCipher? SecretCipher(SqliteTransaction? sealing)
        {
            if (secretCipher is null)
            {
                key = keyGiven ? key : sealing != null ? VaultKey.OpenOrCreate(KeyPath, () => HoldsSealedData(connection, sealing)) : VaultKey.OpenExisting(KeyPath);
                secretCipher = key?.CreateCipher(SecretPurpose);
            }
            return secretCipher;
        }

        /// <summary>Whether the vault at <paramref name="path"/> holds anything sealed with its key (site secrets, recovery points); false when it does not exist.</summary>
        public static bool HoldsSealedData(string path)
        {
            if (!File.Exists(path)) return false;
            using var readOnly = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            readOnly.Open();
            return HoldsSealedData(readOnly, null);
        }

        private static bool HoldsSealedData(SqliteConnection connection, SqliteTransaction? transaction)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "SELECT EXISTS (SELECT 1 FROM site_secrets) OR EXISTS (SELECT 1 FROM recovery_points);";
            if (Convert.ToInt64(command.ExecuteScalar()) != 0) return true;
            // A vault not yet migrated to 9 has no chunk store table.
            command.CommandText = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chunk_store');";
            if (Convert.ToInt64(command.ExecuteScalar()) == 0) return false;
            command.CommandText = "SELECT EXISTS (SELECT 1 FROM chunk_store WHERE ciphertext IS NOT NULL);";
            return Convert.ToInt64(command.ExecuteScalar()) != 0;
        }

        // ---- Rows ----

        private Site? FindSite(SqliteTransaction? transaction, string name) =>
            ReadAll(transaction, $"SELECT {SiteColumns} FROM sites s WHERE s.name = $name;", ReadSite, ("$name", name)).FirstOrDefault();

        private ReplicationPolicy? FindPolicy(SqliteTransaction? transaction, string name) =>
            ReadAll(transaction, $"SELECT {PolicyColumns} FROM replication_policies p WHERE p.name = $name;", ReadPolicy, ("$name", name)).FirstOrDefault();

        private ProtectionGroup? FindGroup(SqliteTransaction? transaction, string name) =>
            ReadAll(transaction, $"SELECT {GroupColumns} FROM protection_groups g WHERE g.name = $name;", ReadGroup, ("$name", name)).FirstOrDefault();

        private static Site ReadSite(SqliteDataReader reader) => new Site
        {
            Name = reader.GetString(0),
            Kind = ParseEnum<SiteKind>(reader.GetString(1)),
            Role = ParseEnum<SiteRole>(reader.GetString(2)),
            Description = NullableString(reader, 3),
            Server = NullableString(reader, 4) is string server ? new Uri(server, UriKind.Absolute) : null,
            UserName = NullableString(reader, 5),
            CertificateThumbprint = NullableString(reader, 6),
            SkipCertificateCheck = reader.GetInt64(7) != 0,
            TenantId = NullableString(reader, 8),
            SubscriptionId = NullableString(reader, 9),
            ResourceGroup = NullableString(reader, 10),
            Location = NullableString(reader, 11),
            StorageAccount = NullableString(reader, 12),
            Authentication = NullableString(reader, 13) is string authentication ? ParseEnum<AzureAuthentication>(authentication) : null,
            ClientId = NullableString(reader, 14),
            HasSecret = reader.GetInt64(15) != 0,
            Created = FromUnixMs(reader.GetInt64(16)),
            Modified = FromUnixMs(reader.GetInt64(17)),
            ClientCertificateThumbprint = NullableString(reader, 18),
            AllowInsecureHttp = reader.GetInt64(19) != 0,
            ServerInstanceUuid = NullableString(reader, 20),
            RangedWrites = reader.IsDBNull(21) ? (bool?)null : reader.GetInt64(21) != 0,
            Environment = NullableString(reader, 22),
            ArmEndpoint = NullableString(reader, 23) is string arm ? new Uri(arm, UriKind.Absolute) : null,
            AuthorityHost = NullableString(reader, 24) is string authority ? new Uri(authority, UriKind.Absolute) : null,
            ArmCertificateThumbprint = NullableString(reader, 25),
            BandwidthLimit = reader.IsDBNull(26) ? null : new BandwidthLimit { MiBps = reader.GetDouble(26), Schedule = NullableString(reader, 27) },
        };

        private static ReplicationPolicy ReadPolicy(SqliteDataReader reader) => new ReplicationPolicy
        {
            Name = reader.GetString(0),
            Description = NullableString(reader, 1),
            ReplicationInterval = TimeSpan.FromTicks(reader.GetInt64(2)),
            RpoThreshold = TimeSpan.FromTicks(reader.GetInt64(3)),
            RecoveryPointRetention = TimeSpan.FromTicks(reader.GetInt64(4)),
            AppConsistentFrequency = TimeSpan.FromTicks(reader.GetInt64(5)),
            Created = FromUnixMs(reader.GetInt64(6)),
            Modified = FromUnixMs(reader.GetInt64(7)),
            TransferStallTimeout = TimeSpan.FromTicks(reader.GetInt64(8)),
        };

        private static ProtectionGroup ReadGroup(SqliteDataReader reader) => new ProtectionGroup
        {
            Name = reader.GetString(0),
            Description = NullableString(reader, 1),
            ProtectedSite = reader.GetString(2),
            RecoverySite = reader.GetString(3),
            Policy = reader.GetString(4),
            Created = FromUnixMs(reader.GetInt64(5)),
            Modified = FromUnixMs(reader.GetInt64(6)),
            ProtectedVmCount = reader.GetInt32(7),
        };

        private static void SaveSite(SqliteTransaction transaction, Site site) => Execute(transaction,
            @"INSERT INTO sites (name, kind, role, description, server, user_name, certificate_thumbprint, skip_certificate_check,
                                 tenant_id, subscription_id, resource_group, location, storage_account, authentication, client_id,
                                 client_certificate_thumbprint, created_unix_ms, modified_unix_ms,
                                 allow_insecure_http, server_instance_uuid, ranged_writes,
                                 environment, arm_endpoint, authority_host, arm_certificate_thumbprint, bandwidth_limit_mibps, bandwidth_schedule)
              VALUES ($name, $kind, $role, $description, $server, $userName, $thumbprint, $skipCheck,
                      $tenantId, $subscriptionId, $resourceGroup, $location, $storageAccount, $authentication, $clientId,
                      $clientCertificateThumbprint, $created, $modified, $allowHttp, $serverUuid, $rangedWrites,
                      $environment, $armEndpoint, $authorityHost, $armThumbprint, $bandwidth, $bandwidthSchedule)
              ON CONFLICT (name) DO UPDATE SET
                  kind = excluded.kind, role = excluded.role, description = excluded.description, server = excluded.server,
                  user_name = excluded.user_name, certificate_thumbprint = excluded.certificate_thumbprint,
                  skip_certificate_check = excluded.skip_certificate_check, tenant_id = excluded.tenant_id,
                  subscription_id = excluded.subscription_id, resource_group = excluded.resource_group, location = excluded.location,
                  storage_account = excluded.storage_account, authentication = excluded.authentication, client_id = excluded.client_id,
                  client_certificate_thumbprint = excluded.client_certificate_thumbprint, modified_unix_ms = excluded.modified_unix_ms,
                  allow_insecure_http = excluded.allow_insecure_http, server_instance_uuid = excluded.server_instance_uuid, ranged_writes = excluded.ranged_writes,
                  environment = excluded.environment, arm_endpoint = excluded.arm_endpoint, authority_host = excluded.authority_host,
                  arm_certificate_thumbprint = excluded.arm_certificate_thumbprint,
                  bandwidth_limit_mibps = excluded.bandwidth_limit_mibps, bandwidth_schedule = excluded.bandwidth_schedule;",
            ("$name", site.Name), ("$kind", site.Kind.ToString()), ("$role", site.Role.ToString()), ("$description", site.Description),
            ("$server", site.Server?.OriginalString), ("$userName", site.UserName), ("$thumbprint", site.CertificateThumbprint),
            ("$skipCheck", site.SkipCertificateCheck ? 1 : 0), ("$tenantId", site.TenantId), ("$subscriptionId", site.SubscriptionId),
            ("$resourceGroup", site.ResourceGroup), ("$location", site.Location), ("$storageAccount", site.StorageAccount),
            ("$authentication", site.Authentication?.ToString()), ("$clientId", site.ClientId),
            ("$clientCertificateThumbprint", site.ClientCertificateThumbprint), ("$created", ToUnixMs(site.Created)), ("$modified", ToUnixMs(site.Modified)),
            ("$allowHttp", site.AllowInsecureHttp ? 1 : 0), ("$serverUuid", site.ServerInstanceUuid),
            ("$rangedWrites", site.RangedWrites is bool ranged ? (ranged ? 1 : 0) : (object?)null),
            ("$environment", site.Environment), ("$armEndpoint", site.ArmEndpoint?.OriginalString), ("$authorityHost", site.AuthorityHost?.OriginalString),
            ("$armThumbprint", site.ArmCertificateThumbprint),
            ("$bandwidth", site.BandwidthLimit?.MiBps), ("$bandwidthSchedule", site.BandwidthLimit?.Schedule));

        private static void SavePolicy(SqliteTransaction transaction, ReplicationPolicy policy) => Execute(transaction,
            @"INSERT INTO replication_policies (name, description, replication_interval_ticks, rpo_threshold_ticks,
                                                recovery_point_retention_ticks, app_consistent_frequency_ticks, created_unix_ms, modified_unix_ms,
                                                transfer_stall_timeout_ticks)
              VALUES ($name, $description, $interval, $rpo, $retention, $appConsistent, $created, $modified, $stall)
              ON CONFLICT (name) DO UPDATE SET
                  description = excluded.description, replication_interval_ticks = excluded.replication_interval_ticks,
                  rpo_threshold_ticks = excluded.rpo_threshold_ticks, recovery_point_retention_ticks = excluded.recovery_point_retention_ticks,
                  app_consistent_frequency_ticks = excluded.app_consistent_frequency_ticks, modified_unix_ms = excluded.modified_unix_ms,
                  transfer_stall_timeout_ticks = excluded.transfer_stall_timeout_ticks;",
            ("$name", policy.Name), ("$description", policy.Description), ("$interval", policy.ReplicationInterval.Ticks),
            ("$rpo", policy.RpoThreshold.Ticks), ("$retention", policy.RecoveryPointRetention.Ticks),
            ("$appConsistent", policy.AppConsistentFrequency.Ticks), ("$created", ToUnixMs(policy.Created)), ("$modified", ToUnixMs(policy.Modified)),
            ("$stall", policy.TransferStallTimeout.Ticks));

        private static void SaveGroup(SqliteTransaction transaction, ProtectionGroup group) => Execute(transaction,
            @"INSERT INTO protection_groups (name, description, protected_site, recovery_site, policy, created_unix_ms, modified_unix_ms)
              VALUES ($name, $description, $protectedSite, $recoverySite, $policy, $created, $modified)
              ON CONFLICT (name) DO UPDATE SET
                  description = excluded.description, protected_site = excluded.protected_site, recovery_site = excluded.recovery_site,
                  policy = excluded.policy, modified_unix_ms = excluded.modified_unix_ms;",
            ("$name", group.Name), ("$description", group.Description), ("$protectedSite", group.ProtectedSite),
            ("$recoverySite", group.RecoverySite), ("$policy", group.Policy), ("$created", ToUnixMs(group.Created)), ("$modified", ToUnixMs(group.Modified)));

        // ---- SQLite plumbing ----

        /// <summary>Runs <paramref name="work"/> in one BEGIN IMMEDIATE transaction: the write lock is taken before the first read, so a read-modify-write cannot interleave with another writer.</summary>
        private async Task<T> WriteAsync<T>(Func<SqliteTransaction, T> work, CancellationToken cancellationToken)
        {
            await turn.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                using (var transaction = connection.BeginTransaction(deferred: false))
                {
                    var result = work(transaction);
                    transaction.Commit();
                    return result;
                }
            }
            finally
            {
                turn.Release();
            }
        }

        private async Task<T> ReadAsync<T>(Func<T> work, CancellationToken cancellationToken)
        {
            await turn.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                return work();
            }
            finally
            {
                turn.Release();
            }
        }

        private List<T> ReadAll<T>(SqliteTransaction? transaction, string sql, Func<SqliteDataReader, T> read, params (string Name, object? Value)[] parameters)
        {
            using (var command = CreateCommand(connection, transaction, sql, parameters))
            using (var reader = command.ExecuteReader())
            {
                var rows = new List<T>();
                while (reader.Read())
                {
                    rows.Add(read(reader));
                }
                return rows;
            }
        }

        private static void Execute(SqliteTransaction transaction, string sql, params (string Name, object? Value)[] parameters)
        {
            using (var command = CreateCommand(transaction.Connection!, transaction, sql, parameters))
            {
                command.ExecuteNonQuery();
            }
        }

        private static void Execute(SqliteConnection connection, string sql)
        {
            using (var command = CreateCommand(connection, null, sql))
            {
                command.ExecuteNonQuery();
            }
        }

        private static SqliteCommand CreateCommand(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
        {
            var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            }
            return command;
        }

        private static string? NullableString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

        private static T ParseEnum<T>(string value) where T : struct => (T)Enum.Parse(typeof(T), value, ignoreCase: false);

        // Truncated to milliseconds so that what Add returns equals what Find reads back.
        private static DateTimeOffset Now() => FromUnixMs(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

        private static DateTimeOffset FromUnixMs(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

        private static long ToUnixMs(DateTimeOffset value) => value.ToUnixTimeMilliseconds();
    }
}
