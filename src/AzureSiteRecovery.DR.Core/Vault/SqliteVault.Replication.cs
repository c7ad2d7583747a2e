using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using Microsoft.Data.Sqlite;

namespace AzureSiteRecovery.DR.Core.Vault
{
    /// <summary>The replication half of the vault: protected VMs, their disks, recovery points and leases.</summary>
    public sealed partial class SqliteVault
    {
        private const string ProtectedVmColumns =
            "v.id, v.name, v.group_name, v.site, v.moref, v.instance_uuid, v.state, v.last_point_id, v.last_point_unix_ms, " +
            "v.last_app_point_unix_ms, v.last_cycle_unix_ms, v.bytes_sent, v.last_error, p.rpo_threshold_ticks, v.created_unix_ms, v.modified_unix_ms, " +
            "v.guest_id, v.num_cpu, v.memory_mb, v.networks, v.recovered_site, v.recovered_moref, v.pre_failover_point_id, v.firmware, v.last_transfer_mibps";
        private const string ProtectedVmFrom =
            "FROM protected_vms v JOIN protection_groups g ON g.name = v.group_name JOIN replication_policies p ON p.name = g.policy";
        private const string PointColumns =
            "r.id, r.vm_id, v.name, r.time_unix_ms, r.consistency, r.size_bytes, r.changed_bytes, r.stored_bytes, r.chunk_count, r.manifest_key";
        private const string PointFrom = "FROM recovery_points r JOIN protected_vms v ON v.id = r.vm_id";
        private const string ReplicaSnapshotColumns = "s.point_id, s.disk_key, s.blob_name, s.snapshot";

        public Task<ProtectedVm> AddProtectedVmAsync(ProtectedVm vm, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                var group = FindGroup(transaction, vm.ProtectionGroup)
                    ?? throw new ObjectNotFoundException("ProtectionGroup", vm.ProtectionGroup);
                if (!string.Equals(group.ProtectedSite, vm.Site, StringComparison.OrdinalIgnoreCase)) throw VaultRules.VmOnOtherSite(vm, group);

                var existing = ReadAll(transaction, $"SELECT {ProtectedVmColumns} {ProtectedVmFrom} WHERE v.site = $site AND v.moref = $moref;",
                    ReadProtectedVm, ("$site", vm.Site), ("$moref", vm.MoRef)).FirstOrDefault();
                if (existing != null) throw VaultRules.VmAlreadyProtected(vm, existing.ProtectionGroup);

                var now = Now();
                var added = vm with { ProtectionGroup = group.Name, Created = now, Modified = now };
                SaveProtectedVm(transaction, added, insert: true);
                return FindProtectedVm(transaction, added.VmId)!;
            }, cancellationToken);

        public Task<ProtectedVm?> FindProtectedVmAsync(string vmId, CancellationToken cancellationToken) =>
            ReadAsync(() => FindProtectedVm(null, vmId), cancellationToken);

        public Task<IReadOnlyList<ProtectedVm>> ListProtectedVmsAsync(string? group, CancellationToken cancellationToken) =>
            ReadAsync<IReadOnlyList<ProtectedVm>>(() =>
            {
                var vms = group is null
                    ? ReadAll(null, $"SELECT {ProtectedVmColumns} {ProtectedVmFrom} ORDER BY v.name;", ReadProtectedVm)
                    : ReadAll(null, $"SELECT {ProtectedVmColumns} {ProtectedVmFrom} WHERE v.group_name = $group ORDER BY v.name;", ReadProtectedVm, ("$group", group));
                var disks = ReadAll(null,
                        group is null
                            ? "SELECT d.vm_id, d.device_key, d.label, d.file_name, d.capacity_bytes, d.change_id FROM protected_disks d ORDER BY d.vm_id, d.device_key;"
                            : "SELECT d.vm_id, d.device_key, d.label, d.file_name, d.capacity_bytes, d.change_id FROM protected_disks d JOIN protected_vms v ON v.id = d.vm_id WHERE v.group_name = $group ORDER BY d.vm_id, d.device_key;",
                        reader => (VmId: reader.GetString(0), Disk: ReadDisk(reader)), ("$group", group))
                    .ToLookup(d => d.VmId, d => d.Disk);
                return vms.Select(vm => vm with { Disks = disks[vm.VmId].ToArray() }).ToList();
            }, cancellationToken);

        public Task<ProtectedVm> UpdateProtectedVmAsync(string vmId, Func<ProtectedVm, ProtectedVm> change, CancellationToken cancellationToken) =>
            WriteAsync(transaction => ChangeProtectedVm(transaction, vmId, change), cancellationToken);

        public Task<IReadOnlyList<RecoveryPoint>> RemoveProtectedVmAsync(string vmId, CancellationToken cancellationToken) =>
            WriteAsync<IReadOnlyList<RecoveryPoint>>(transaction =>
            {
                var vm = FindProtectedVm(transaction, vmId) ?? throw new ObjectNotFoundException("ProtectedVm", vmId);
                var points = PointsOfVm(transaction, vm.VmId);
                // protected_disks, recovery_points, replica_snapshots and replica_states go with it (ON DELETE CASCADE).
                Execute(transaction, "DELETE FROM protected_vms WHERE id = $id;", ("$id", vm.VmId));
                return points;
            }, cancellationToken);

        public Task<ProtectedVm> CommitRecoveryPointAsync(RecoveryPoint point, Func<ProtectedVm, ProtectedVm> vmChange, CancellationToken cancellationToken) =>
            CommitRecoveryPointAsync(point, vmChange, null, cancellationToken);

        public Task<ProtectedVm> CommitRecoveryPointAsync(RecoveryPoint point, Func<ProtectedVm, ProtectedVm> vmChange, LeaseClaim? lease, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                if (lease != null && LeaseOwner(transaction, lease.Resource) != lease.Owner) throw VaultRules.LeaseLost(point.VmName);

                // A VM removed while its cycle ran (Disable-VmProtection): say so, not "FOREIGN KEY constraint failed".
                _ = FindProtectedVm(transaction, point.VmId) ?? throw new ObjectNotFoundException("ProtectedVm", point.VmId);
                Execute(transaction,
                    @"INSERT INTO recovery_points (id, vm_id, time_unix_ms, consistency, size_bytes, changed_bytes, stored_bytes, chunk_count, manifest_key)
                      VALUES ($id, $vm, $time, $consistency, $size, $changed, $stored, $chunks, $manifest);",
                    ("$id", point.RecoveryPointId), ("$vm", point.VmId), ("$time", ToUnixMs(point.Time)), ("$consistency", point.Consistency.ToString()),
                    ("$size", point.SizeBytes), ("$changed", point.ChangedBytes), ("$stored", point.StoredBytes), ("$chunks", point.ChunkCount),
                    ("$manifest", point.ManifestKey));
                foreach (var snapshot in point.ReplicaSnapshots)
                {
                    Execute(transaction, "INSERT INTO replica_snapshots (point_id, disk_key, blob_name, snapshot) VALUES ($point, $disk, $blob, $snapshot);",
                        ("$point", point.RecoveryPointId), ("$disk", snapshot.DiskKey), ("$blob", snapshot.BlobName), ("$snapshot", snapshot.Snapshot));
                }
                if (point.ReplicaSnapshots.Count > 0)
                {
                    // The replica blobs now hold exactly this point.
                    Execute(transaction, "UPDATE replica_states SET point_ids = $points WHERE vm_id = $vm;",
                        ("$points", StringMap.WriteList(new[] { point.RecoveryPointId })), ("$vm", point.VmId));
                }
                return ChangeProtectedVm(transaction, point.VmId, vmChange);
            }, cancellationToken);

        public Task<IReadOnlyList<RecoveryPoint>> ListRecoveryPointsAsync(string vmId, CancellationToken cancellationToken) =>
            ReadAsync<IReadOnlyList<RecoveryPoint>>(() =>
                PointsOfVm(null, vmId),
                cancellationToken);

        public Task<RecoveryPoint?> FindRecoveryPointAsync(string recoveryPointId, CancellationToken cancellationToken) =>
            ReadAsync<RecoveryPoint?>(() =>
            {
                var point = ReadAll(null, $"SELECT {PointColumns} {PointFrom} WHERE r.id = $id;", ReadPoint, ("$id", recoveryPointId)).FirstOrDefault();
                if (point is null) return null;
                var snapshots = ReadAll(null, $"SELECT {ReplicaSnapshotColumns} FROM replica_snapshots s WHERE s.point_id = $id ORDER BY s.disk_key;", ReadReplicaSnapshot, ("$id", recoveryPointId));
                return point with { ReplicaSnapshots = snapshots.Select(x => x.Snapshot).ToArray() };
            }, cancellationToken);

        public Task<ReplicaState?> FindReplicaStateAsync(string vmId, CancellationToken cancellationToken) =>
            ReadAsync<ReplicaState?>(() => ReadAll(null, "SELECT vm_id, container, point_ids FROM replica_states WHERE vm_id = $vm;",
                reader => new ReplicaState { VmId = reader.GetString(0), Container = reader.GetString(1), PointIds = StringMap.ReadList(NullableString(reader, 2)) },
                ("$vm", vmId)).FirstOrDefault(), cancellationToken);

        public Task SaveReplicaStateAsync(ReplicaState state, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                _ = FindProtectedVm(transaction, state.VmId) ?? throw new ObjectNotFoundException("ProtectedVm", state.VmId);
                Execute(transaction,
                    "INSERT INTO replica_states (vm_id, container, point_ids) VALUES ($vm, $container, $points) " +
                    "ON CONFLICT (vm_id) DO UPDATE SET container = excluded.container, point_ids = excluded.point_ids;",
                    ("$vm", state.VmId), ("$container", state.Container), ("$points", StringMap.WriteList(state.PointIds)));
                return true;
            }, cancellationToken);

        public Task RemoveRecoveryPointAsync(string recoveryPointId, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                Execute(transaction, "DELETE FROM recovery_points WHERE id = $id;", ("$id", recoveryPointId));
                // A VM whose newest point goes keeps pointing at the newest one left.
                Execute(transaction,
                    @"UPDATE protected_vms SET
                          last_point_id = (SELECT r.id FROM recovery_points r WHERE r.vm_id = protected_vms.id ORDER BY r.time_unix_ms DESC LIMIT 1),
                          last_point_unix_ms = (SELECT r.time_unix_ms FROM recovery_points r WHERE r.vm_id = protected_vms.id ORDER BY r.time_unix_ms DESC LIMIT 1)
                      WHERE last_point_id = $id;",
                    ("$id", recoveryPointId));
                return true;
            }, cancellationToken);

        public Task<bool> TryAcquireLeaseAsync(string resource, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                var now = ToUnixMs(DateTimeOffset.UtcNow);
                var holder = ReadAll(transaction, "SELECT owner, expires_unix_ms FROM leases WHERE resource = $resource;",
                    reader => (Owner: reader.GetString(0), Expires: reader.GetInt64(1)), ("$resource", resource)).FirstOrDefault();
                if (holder.Owner != null && holder.Owner != owner && holder.Expires > now)
                {
                    return false;
                }

                Execute(transaction,
                    "INSERT INTO leases (resource, owner, expires_unix_ms) VALUES ($resource, $owner, $expires) " +
                    "ON CONFLICT (resource) DO UPDATE SET owner = excluded.owner, expires_unix_ms = excluded.expires_unix_ms;",
                    ("$resource", resource), ("$owner", owner), ("$expires", now + (long)duration.TotalMilliseconds));
                return true;
            }, cancellationToken);

        public Task ReleaseLeaseAsync(string resource, string owner, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                Execute(transaction, "DELETE FROM leases WHERE resource = $resource AND owner = $owner;", ("$resource", resource), ("$owner", owner));
                return true;
            }, cancellationToken);

        public Task<string?> FindLeaseHolderAsync(string resource, CancellationToken cancellationToken) =>
            ReadAsync<string?>(() => ReadAll(null, "SELECT owner FROM leases WHERE resource = $resource AND expires_unix_ms > $now;",
                reader => reader.GetString(0), ("$resource", resource), ("$now", ToUnixMs(DateTimeOffset.UtcNow))).FirstOrDefault(), cancellationToken);

        public Task BreakLeaseAsync(string resource, string owner, CancellationToken cancellationToken) => ReleaseLeaseAsync(resource, owner, cancellationToken);

        public Task<bool> RenewLeaseAsync(string resource, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                // Our row, expired or not: nobody took the lease meanwhile (taking it replaces the owner; releasing deletes the row).
                if (LeaseOwner(transaction, resource) != owner)
                {
                    return false;
                }

                Execute(transaction, "UPDATE leases SET expires_unix_ms = $expires WHERE resource = $resource AND owner = $owner;",
                    ("$resource", resource), ("$owner", owner), ("$expires", ToUnixMs(DateTimeOffset.UtcNow) + (long)duration.TotalMilliseconds));
                return true;
            }, cancellationToken);

        private string? LeaseOwner(SqliteTransaction transaction, string resource) =>
            ReadAll(transaction, "SELECT owner FROM leases WHERE resource = $resource;", reader => reader.GetString(0), ("$resource", resource)).FirstOrDefault();

        public Task SaveWorkerAsync(ReplicationWorker worker, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                Execute(transaction,
                    @"INSERT INTO workers (id, machine, process_id, started_unix_ms, heartbeat_unix_ms, lease_ms, current_vms, stopped_unix_ms)
                      VALUES ($id, $machine, $pid, $started, $heartbeat, $lease, $vms, $stopped)
                      ON CONFLICT (id) DO UPDATE SET heartbeat_unix_ms = excluded.heartbeat_unix_ms, lease_ms = excluded.lease_ms,
                          current_vms = excluded.current_vms, stopped_unix_ms = excluded.stopped_unix_ms;",
                    ("$id", worker.WorkerId), ("$machine", worker.Machine), ("$pid", (long)worker.ProcessId), ("$started", ToUnixMs(worker.Started)),
                    ("$heartbeat", ToUnixMs(worker.LastHeartbeat)), ("$lease", (long)worker.LeaseDuration.TotalMilliseconds),
                    ("$vms", worker.CurrentVms.Count == 0 ? null : string.Join("\n", worker.CurrentVms)),
                    ("$stopped", worker.Stopped is null ? null : (object)ToUnixMs(worker.Stopped.Value)));
                return true;
            }, cancellationToken);

        public Task<int> ForgetWorkersAsync(DateTimeOffset lastSeenBefore, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                using var command = CreateCommand(transaction.Connection!, transaction, "DELETE FROM workers WHERE heartbeat_unix_ms < $before;", ("$before", ToUnixMs(lastSeenBefore)));
                return command.ExecuteNonQuery();
            }, cancellationToken);

        public Task<IReadOnlyList<ReplicationWorker>> ListWorkersAsync(CancellationToken cancellationToken) =>
            ReadAsync<IReadOnlyList<ReplicationWorker>>(() => ReadAll(null,
                "SELECT id, machine, process_id, started_unix_ms, heartbeat_unix_ms, lease_ms, current_vms, stopped_unix_ms FROM workers ORDER BY started_unix_ms DESC, id;",
                reader => new ReplicationWorker
                {
                    WorkerId = reader.GetString(0),
                    Machine = reader.GetString(1),
                    ProcessId = (int)reader.GetInt64(2),
                    Started = FromUnixMs(reader.GetInt64(3)),
                    LastHeartbeat = FromUnixMs(reader.GetInt64(4)),
                    LeaseDuration = TimeSpan.FromMilliseconds(reader.GetInt64(5)),
                    CurrentVms = NullableString(reader, 6)?.Split('\n') ?? Array.Empty<string>(),
                    Stopped = reader.IsDBNull(7) ? (DateTimeOffset?)null : FromUnixMs(reader.GetInt64(7)),
                }), cancellationToken);

        private ProtectedVm ChangeProtectedVm(SqliteTransaction transaction, string vmId, Func<ProtectedVm, ProtectedVm> change)
        {
            var current = FindProtectedVm(transaction, vmId) ?? throw new ObjectNotFoundException("ProtectedVm", vmId);
            var changed = change(current);
            VaultRules.CheckVmChange(current, changed);

            SaveProtectedVm(transaction, changed with { Modified = Now() }, insert: false);
            return FindProtectedVm(transaction, vmId)!;
        }

        private ProtectedVm? FindProtectedVm(SqliteTransaction? transaction, string vmId)
        {
            var vm = ReadAll(transaction, $"SELECT {ProtectedVmColumns} {ProtectedVmFrom} WHERE v.id = $id;", ReadProtectedVm, ("$id", vmId)).FirstOrDefault();
            if (vm is null)
            {
                return null;
            }

            var disks = ReadAll(transaction,
                "SELECT d.vm_id, d.device_key, d.label, d.file_name, d.capacity_bytes, d.change_id FROM protected_disks d WHERE d.vm_id = $id ORDER BY d.device_key;",
                ReadDisk, ("$id", vmId));
            return vm with { Disks = disks };
        }

        private static void SaveProtectedVm(SqliteTransaction transaction, ProtectedVm vm, bool insert)
        {
            var parameters = new (string, object?)[]
            {
                ("$id", vm.VmId), ("$name", vm.Name), ("$group", vm.ProtectionGroup), ("$site", vm.Site), ("$moref", vm.MoRef),
                ("$uuid", vm.InstanceUuid), ("$state", vm.State.ToString()), ("$lastPoint", vm.LastRecoveryPointId),
                ("$lastPointTime", ToNullableUnixMs(vm.LastRecoveryPointTime)), ("$lastAppTime", ToNullableUnixMs(vm.LastAppConsistentPointTime)),
                ("$lastCycle", ToNullableUnixMs(vm.LastCycleTime)), ("$bytes", vm.BytesSent), ("$error", vm.LastError),
                ("$created", ToUnixMs(vm.Created)), ("$modified", ToUnixMs(vm.Modified)),
                ("$guestId", vm.GuestId), ("$cpu", vm.NumCpu), ("$memory", vm.MemoryMB), ("$networks", StringMap.WriteList(vm.Networks)),
                ("$recoveredSite", vm.RecoveredSite), ("$recoveredMoRef", vm.RecoveredMoRef), ("$preFailoverPoint", vm.PreFailoverPointId),
                ("$firmware", vm.Firmware), ("$transferRate", vm.LastTransferMiBps),
            };
            Execute(transaction, insert
                ? @"INSERT INTO protected_vms (id, name, group_name, site, moref, instance_uuid, state, last_point_id, last_point_unix_ms,
                                               last_app_point_unix_ms, last_cycle_unix_ms, bytes_sent, last_error, created_unix_ms, modified_unix_ms,
                                               guest_id, num_cpu, memory_mb, networks, recovered_site, recovered_moref, pre_failover_point_id, firmware,
                                               last_transfer_mibps)
                    VALUES ($id, $name, $group, $site, $moref, $uuid, $state, $lastPoint, $lastPointTime, $lastAppTime, $lastCycle, $bytes, $error, $created, $modified,
                            $guestId, $cpu, $memory, $networks, $recoveredSite, $recoveredMoRef, $preFailoverPoint, $firmware, $transferRate);"
                : @"UPDATE protected_vms SET name = $name, moref = $moref, instance_uuid = $uuid, state = $state, last_point_id = $lastPoint,
                        last_point_unix_ms = $lastPointTime, last_app_point_unix_ms = $lastAppTime, last_cycle_unix_ms = $lastCycle,
                        bytes_sent = $bytes, last_error = $error, modified_unix_ms = $modified,
                        guest_id = $guestId, num_cpu = $cpu, memory_mb = $memory, networks = $networks,
                        recovered_site = $recoveredSite, recovered_moref = $recoveredMoRef, pre_failover_point_id = $preFailoverPoint,
                        firmware = $firmware, last_transfer_mibps = $transferRate
                    WHERE id = $id;",
                parameters);

            Execute(transaction, "DELETE FROM protected_disks WHERE vm_id = $id;", ("$id", vm.VmId));
            foreach (var disk in vm.Disks)
            {
                Execute(transaction,
                    "INSERT INTO protected_disks (vm_id, device_key, label, file_name, capacity_bytes, change_id) VALUES ($vm, $key, $label, $file, $capacity, $change);",
                    ("$vm", vm.VmId), ("$key", disk.Key), ("$label", disk.Label), ("$file", disk.FileName), ("$capacity", disk.CapacityBytes), ("$change", disk.ChangeId));
            }
        }

        private static ProtectedVm ReadProtectedVm(SqliteDataReader reader) => new ProtectedVm
        {
            VmId = reader.GetString(0),
            Name = reader.GetString(1),
            ProtectionGroup = reader.GetString(2),
            Site = reader.GetString(3),
            MoRef = NullableString(reader, 4) ?? "",
            InstanceUuid = NullableString(reader, 5),
            State = ParseEnum<ProtectionState>(reader.GetString(6)),
            LastRecoveryPointId = NullableString(reader, 7),
            LastRecoveryPointTime = NullableTime(reader, 8),
            LastAppConsistentPointTime = NullableTime(reader, 9),
            LastCycleTime = NullableTime(reader, 10),
            BytesSent = reader.GetInt64(11),
            LastError = NullableString(reader, 12),
            RpoThreshold = TimeSpan.FromTicks(reader.GetInt64(13)),
            Created = FromUnixMs(reader.GetInt64(14)),
            Modified = FromUnixMs(reader.GetInt64(15)),
            GuestId = NullableString(reader, 16),
            NumCpu = reader.GetInt32(17),
            MemoryMB = reader.GetInt32(18),
            Networks = StringMap.ReadList(NullableString(reader, 19)),
            RecoveredSite = NullableString(reader, 20),
            RecoveredMoRef = NullableString(reader, 21),
            PreFailoverPointId = NullableString(reader, 22),
            Firmware = NullableString(reader, 23),
            LastTransferMiBps = reader.IsDBNull(24) ? (double?)null : reader.GetDouble(24),
        };

        private static ProtectedDisk ReadDisk(SqliteDataReader reader) => new ProtectedDisk
        {
            Key = reader.GetInt32(1),
            Label = reader.GetString(2),
            FileName = reader.GetString(3),
            CapacityBytes = reader.GetInt64(4),
            ChangeId = NullableString(reader, 5),
        };

        /// <summary>A VM's points, oldest first, with their replica snapshots.</summary>
        private List<RecoveryPoint> PointsOfVm(SqliteTransaction? transaction, string vmId)
        {
            var points = ReadAll(transaction, $"SELECT {PointColumns} {PointFrom} WHERE r.vm_id = $vm ORDER BY r.time_unix_ms;", ReadPoint, ("$vm", vmId));
            var snapshots = ReadAll(transaction,
                    $"SELECT {ReplicaSnapshotColumns} FROM replica_snapshots s JOIN recovery_points r ON r.id = s.point_id WHERE r.vm_id = $vm ORDER BY s.disk_key;",
                    ReadReplicaSnapshot, ("$vm", vmId))
                .ToLookup(x => x.PointId, x => x.Snapshot);
            return points.Select(p => snapshots.Contains(p.RecoveryPointId) ? p with { ReplicaSnapshots = snapshots[p.RecoveryPointId].ToArray() } : p).ToList();
        }

        private static (string PointId, ReplicaSnapshot Snapshot) ReadReplicaSnapshot(SqliteDataReader reader) =>
            (reader.GetString(0), new ReplicaSnapshot { DiskKey = reader.GetString(1), BlobName = reader.GetString(2), Snapshot = reader.GetString(3) });

        private static RecoveryPoint ReadPoint(SqliteDataReader reader) => new RecoveryPoint
        {
            RecoveryPointId = reader.GetString(0),
            VmId = reader.GetString(1),
            VmName = reader.GetString(2),
            Time = FromUnixMs(reader.GetInt64(3)),
            Consistency = ParseEnum<PointConsistency>(reader.GetString(4)),
            SizeBytes = reader.GetInt64(5),
            ChangedBytes = reader.GetInt64(6),
            StoredBytes = reader.GetInt64(7),
            ChunkCount = reader.GetInt32(8),
            ManifestKey = reader.GetString(9),
        };

        private static DateTimeOffset? NullableTime(SqliteDataReader reader, int ordinal) =>
            reader.IsDBNull(ordinal) ? (DateTimeOffset?)null : FromUnixMs(reader.GetInt64(ordinal));

        private static object? ToNullableUnixMs(DateTimeOffset? value) => value is DateTimeOffset time ? ToUnixMs(time) : (object?)null;
    }
}
