using System.Collections.Generic;
using AzureSiteRecovery.DR.Core.Errors;
using Microsoft.Data.Sqlite;

namespace AzureSiteRecovery.DR.Core.Vault
{
    /// <summary>
    /// The SQLite vault's tables, as an ordered list of forward migrations. PRAGMA user_version holds
    /// how many have been applied; each runs in its own transaction that also raises user_version.
    /// Append new migrations; never edit one that has shipped.
    /// </summary>
    internal static class VaultSchema
    {
        public static readonly IReadOnlyList<string> Migrations = new[]
        {
            // 1: sites, their encrypted secrets, replication policies, protection groups, protected VMs.
            @"
CREATE TABLE sites (
    name                   TEXT    NOT NULL COLLATE NOCASE PRIMARY KEY,
    kind                   TEXT    NOT NULL,
    role                   TEXT    NOT NULL,
    description            TEXT,
    server                 TEXT,
    user_name              TEXT,
    certificate_thumbprint TEXT,
    skip_certificate_check INTEGER NOT NULL DEFAULT 0,
    tenant_id              TEXT,
    subscription_id        TEXT,
    resource_group         TEXT,
    location               TEXT,
    storage_account        TEXT,
    authentication         TEXT,
    client_id              TEXT,
    client_certificate_thumbprint TEXT,
    created_unix_ms        INTEGER NOT NULL,
    modified_unix_ms       INTEGER NOT NULL
);

CREATE TABLE site_secrets (
    site_name  TEXT NOT NULL COLLATE NOCASE PRIMARY KEY REFERENCES sites (name) ON DELETE CASCADE,
    key_id     BLOB NOT NULL,
    ciphertext BLOB NOT NULL
);

CREATE TABLE replication_policies (
    name                           TEXT    NOT NULL COLLATE NOCASE PRIMARY KEY,
    description                    TEXT,
    replication_interval_ticks     INTEGER NOT NULL,
    rpo_threshold_ticks            INTEGER NOT NULL,
    recovery_point_retention_ticks INTEGER NOT NULL,
    app_consistent_frequency_ticks INTEGER NOT NULL,
    created_unix_ms                INTEGER NOT NULL,
    modified_unix_ms               INTEGER NOT NULL
);

CREATE TABLE protection_groups (
    name             TEXT    NOT NULL COLLATE NOCASE PRIMARY KEY,
    description      TEXT,
    protected_site   TEXT    NOT NULL COLLATE NOCASE REFERENCES sites (name),
    recovery_site    TEXT    NOT NULL COLLATE NOCASE REFERENCES sites (name),
    policy           TEXT    NOT NULL COLLATE NOCASE REFERENCES replication_policies (name),
    created_unix_ms  INTEGER NOT NULL,
    modified_unix_ms INTEGER NOT NULL
);
CREATE INDEX protection_groups_by_protected_site ON protection_groups (protected_site);
CREATE INDEX protection_groups_by_recovery_site ON protection_groups (recovery_site);
CREATE INDEX protection_groups_by_policy ON protection_groups (policy);

CREATE TABLE protected_vms (
    id               TEXT    NOT NULL PRIMARY KEY,
    name             TEXT    NOT NULL,
    group_name       TEXT    NOT NULL COLLATE NOCASE REFERENCES protection_groups (name),
    site             TEXT    NOT NULL COLLATE NOCASE REFERENCES sites (name),
    moref            TEXT,
    created_unix_ms  INTEGER NOT NULL,
    modified_unix_ms INTEGER NOT NULL
);
CREATE INDEX protected_vms_by_group ON protected_vms (group_name);
CREATE INDEX protected_vms_by_site ON protected_vms (site);
",

            // 2: replication: the protected VMs' state, their disks, recovery points, leases.
            @"
ALTER TABLE protected_vms ADD COLUMN instance_uuid TEXT;
ALTER TABLE protected_vms ADD COLUMN state TEXT NOT NULL DEFAULT 'InitialSync';
ALTER TABLE protected_vms ADD COLUMN last_point_id TEXT;
ALTER TABLE protected_vms ADD COLUMN last_point_unix_ms INTEGER;
ALTER TABLE protected_vms ADD COLUMN last_app_point_unix_ms INTEGER;
ALTER TABLE protected_vms ADD COLUMN last_cycle_unix_ms INTEGER;
ALTER TABLE protected_vms ADD COLUMN bytes_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE protected_vms ADD COLUMN last_error TEXT;
CREATE UNIQUE INDEX protected_vms_by_moref ON protected_vms (site, moref);

CREATE TABLE protected_disks (
    vm_id          TEXT    NOT NULL REFERENCES protected_vms (id) ON DELETE CASCADE,
    device_key     INTEGER NOT NULL,
    label          TEXT    NOT NULL,
    file_name      TEXT    NOT NULL,
    capacity_bytes INTEGER NOT NULL,
    change_id      TEXT,
    PRIMARY KEY (vm_id, device_key)
);

CREATE TABLE recovery_points (
    id             TEXT    NOT NULL PRIMARY KEY,
    vm_id          TEXT    NOT NULL REFERENCES protected_vms (id) ON DELETE CASCADE,
    time_unix_ms   INTEGER NOT NULL,
    consistency    TEXT    NOT NULL,
    size_bytes     INTEGER NOT NULL,
    changed_bytes  INTEGER NOT NULL,
    stored_bytes   INTEGER NOT NULL,
    chunk_count    INTEGER NOT NULL,
    manifest_key   TEXT    NOT NULL
);
CREATE INDEX recovery_points_by_vm ON recovery_points (vm_id, time_unix_ms);

CREATE TABLE leases (
    resource        TEXT    NOT NULL PRIMARY KEY,
    owner           TEXT    NOT NULL,
    expires_unix_ms INTEGER NOT NULL
);
",

            // 3: recovery plans, kept as the YAML they were imported from (the sites are copied out for listing).
            @"
CREATE TABLE recovery_plans (
    name             TEXT    NOT NULL COLLATE NOCASE PRIMARY KEY,
    yaml             TEXT    NOT NULL,
    protected_site   TEXT    NOT NULL COLLATE NOCASE,
    recovery_site    TEXT    NOT NULL COLLATE NOCASE,
    created_unix_ms  INTEGER NOT NULL,
    modified_unix_ms INTEGER NOT NULL
);
",

            // 4: jobs (test failover, failover, failback, ...) and their steps, each with start, end and result.
            @"
CREATE TABLE jobs (
    id              TEXT    NOT NULL PRIMARY KEY,
    operation       TEXT    NOT NULL,
    target          TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    owner           TEXT,
    stop_requested  INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    created_unix_ms INTEGER NOT NULL,
    started_unix_ms INTEGER,
    ended_unix_ms   INTEGER
);
CREATE INDEX jobs_by_created ON jobs (created_unix_ms);

CREATE TABLE job_steps (
    job_id          TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    step_index      INTEGER NOT NULL,
    name            TEXT    NOT NULL,
    group_name      TEXT,
    vm              TEXT,
    is_finally      INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL,
    started_unix_ms INTEGER,
    ended_unix_ms   INTEGER,
    error           TEXT,
    message         TEXT,
    PRIMARY KEY (job_id, step_index)
);
",

            // 5: recovery: a protected VM's hardware (what its recovered copy is created with) and where it runs when failed over;
            //    a job's parameters and what each step recorded for later steps and reports (JSON objects of strings);
            //    the folder a plan was imported from (its scripts' relative paths start there).
            @"
ALTER TABLE protected_vms ADD COLUMN guest_id TEXT;
ALTER TABLE protected_vms ADD COLUMN num_cpu INTEGER NOT NULL DEFAULT 0;
ALTER TABLE protected_vms ADD COLUMN memory_mb INTEGER NOT NULL DEFAULT 0;
ALTER TABLE protected_vms ADD COLUMN networks TEXT;
ALTER TABLE protected_vms ADD COLUMN recovered_site TEXT;
ALTER TABLE protected_vms ADD COLUMN recovered_moref TEXT;
ALTER TABLE jobs ADD COLUMN parameters TEXT;
ALTER TABLE job_steps ADD COLUMN details TEXT;
ALTER TABLE recovery_plans ADD COLUMN source_folder TEXT;
",

            // 6: safety: the vCenter a site was first connected to (about.instanceUuid) and whether its datastore interface was shown
            //    to take ranged writes (NULL: not probed yet; 1 or 0); a site allowed to use plain http (the password goes in clear);
            //    the plan a job started with (its YAML and SHA-256), so a resume never depends on what the vault holds now;
            //    a failed-over VM's last point from before the failover (retention keeps it until failback: the original disk's only copy).
            @"
ALTER TABLE sites ADD COLUMN server_instance_uuid TEXT;
ALTER TABLE sites ADD COLUMN ranged_writes INTEGER;
ALTER TABLE sites ADD COLUMN allow_insecure_http INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN plan_yaml TEXT;
ALTER TABLE jobs ADD COLUMN plan_hash TEXT;
ALTER TABLE protected_vms ADD COLUMN pre_failover_point_id TEXT;
",

            // 7: the Azure replica: per point and disk, the snapshot of the disk's page blob that holds the point (deleted with the point);
            //    per VM, the storage account and container of its blobs and the points whose chunks they may hold (the last committed one,
            //    then those a killed cycle began to write), so the next cycle knows which chunks to rewrite.
            @"
CREATE TABLE replica_snapshots (
    point_id  TEXT NOT NULL REFERENCES recovery_points (id) ON DELETE CASCADE,
    disk_key  TEXT NOT NULL,
    blob_name TEXT NOT NULL,
    snapshot  TEXT NOT NULL,
    PRIMARY KEY (point_id, disk_key)
);

CREATE TABLE replica_states (
    vm_id     TEXT NOT NULL PRIMARY KEY REFERENCES protected_vms (id) ON DELETE CASCADE,
    container TEXT NOT NULL,
    point_ids TEXT
);
",

            // 8: Azure sites: the cloud (Environment; NULL: AzureCloud), a custom Resource Manager endpoint, the Entra ID authority host,
            //    and the pinned SHA-256 thumbprint of the ARM endpoint's certificate; a protected VM's firmware (bios or efi, from
            //    config.firmware at discovery; NULL: not read yet), which picks the Hyper-V generation of its copy in Azure.
            //    Depends on no table or column of 7.
            @"
ALTER TABLE sites ADD COLUMN environment TEXT;
ALTER TABLE sites ADD COLUMN arm_endpoint TEXT;
ALTER TABLE sites ADD COLUMN authority_host TEXT;
ALTER TABLE sites ADD COLUMN arm_certificate_thumbprint TEXT;
ALTER TABLE protected_vms ADD COLUMN firmware TEXT;
",

            // 9: where the chunk store is (one row; none: the folder beside the vault): an Azure Blob container URL, how to sign in
            //    to it, and its account key or SAS sealed with the vault key like a site secret. Depends on no table or column of 8.
            @"
CREATE TABLE chunk_store (
    id               INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    kind             TEXT    NOT NULL,
    container_url    TEXT,
    authentication   TEXT,
    client_id        TEXT,
    key_id           BLOB,
    ciphertext       BLOB,
    modified_unix_ms INTEGER NOT NULL
);
",
            // 10: replication workers (many Sync-VmReplication -Continuous processes on one vault): each one's id, machine and pid,
            //    start, last heartbeat, lease duration (a worker silent for several of them is Lost), the VMs it cycles (names, one a
            //    line) and when it stopped by itself. Depends on no table or column of 8 or 9.
            @"
CREATE TABLE workers (
    id                TEXT    NOT NULL PRIMARY KEY,
    machine           TEXT    NOT NULL,
    process_id        INTEGER NOT NULL,
    started_unix_ms   INTEGER NOT NULL,
    heartbeat_unix_ms INTEGER NOT NULL,
    lease_ms          INTEGER NOT NULL,
    current_vms       TEXT,
    stopped_unix_ms   INTEGER
);
",
            // 11: events a runbook polls (Get-DREvent): one row per occurrence, its id naming it so that several workers record it once
            //    (RpoBreached:<vm id>:<point id>). No foreign key: an event outlives the VM it is about. Depends on no table or column of 10.
            @"
CREATE TABLE events (
    id                 TEXT    NOT NULL PRIMARY KEY,
    kind               TEXT    NOT NULL,
    time_unix_ms       INTEGER NOT NULL,
    vm_id              TEXT    NOT NULL,
    vm_name            TEXT    NOT NULL,
    group_name         TEXT    NOT NULL,
    point_id           TEXT,
    point_time_unix_ms INTEGER,
    rpo_threshold_ms   INTEGER NOT NULL,
    message            TEXT    NOT NULL
);
CREATE INDEX events_by_time ON events (time_unix_ms);
CREATE INDEX events_by_vm ON events (vm_id, time_unix_ms);
",
            // 12: transfers over a real network: a site's bandwidth cap (MiB/s, 0: none outside the windows; NULL: no cap) and its
            //    time-of-day windows ('08:00-18:00=5,...'); a policy's transfer stall timeout (60 s for policies made before);
            //    a protected VM's last achieved transfer rate (MiB/s read from the source; NULL: none yet). Depends on no table or column of 11.
            @"
ALTER TABLE sites ADD COLUMN bandwidth_limit_mibps REAL;
ALTER TABLE sites ADD COLUMN bandwidth_schedule TEXT;
ALTER TABLE replication_policies ADD COLUMN transfer_stall_timeout_ticks INTEGER NOT NULL DEFAULT 600000000;
ALTER TABLE protected_vms ADD COLUMN last_transfer_mibps REAL;
",
        };

        public static int LatestVersion => Migrations.Count;

        /// <summary>Brings the file up to <see cref="LatestVersion"/>; refuses a file written by a newer module.</summary>
        public static void Migrate(SqliteConnection connection, string path)
        {
            var version = ReadVersion(connection, null);
            RefuseIfTooNew(version, path);
            while (version < LatestVersion)
            {
                // IMMEDIATE takes the write lock first, so of two processes opening a new vault only one migrates; the other re-reads the version.
                using (var transaction = connection.BeginTransaction(deferred: false))
                {
                    version = ReadVersion(connection, transaction);
                    RefuseIfTooNew(version, path);
                    if (version < LatestVersion)
                    {
                        using (var command = connection.CreateCommand())
                        {
                            command.Transaction = transaction;
                            command.CommandText = Migrations[version] + $"\nPRAGMA user_version = {version + 1};";
                            command.ExecuteNonQuery();
                        }
                        version++;
                    }
                    transaction.Commit();
                }
            }
        }

        private static int ReadVersion(SqliteConnection connection, SqliteTransaction? transaction)
        {
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = "PRAGMA user_version;";
                return System.Convert.ToInt32(command.ExecuteScalar());
            }
        }

        private static void RefuseIfTooNew(int version, string path)
        {
            if (version > LatestVersion)
            {
                throw new VaultException("VaultSchemaTooNew", path,
                    $"The vault '{path}' has schema version {version}, but this module knows versions up to {LatestVersion}: " +
                    "a newer AzureSiteRecovery.DR wrote it. Update the module (Update-Module AzureSiteRecovery.DR) to use this vault.");
            }
        }
    }
}
