using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Vault
{
    public sealed partial class SqliteVault
    {
        public Task<bool> AddEventAsync(DREvent dREvent, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                // The id is the primary key: a second worker recording the same occurrence changes nothing.
                using var command = CreateCommand(transaction.Connection!, transaction,
                    @"INSERT INTO events (id, kind, time_unix_ms, vm_id, vm_name, group_name, point_id, point_time_unix_ms, rpo_threshold_ms, message)
                      VALUES ($id, $kind, $time, $vm, $name, $group, $point, $pointTime, $threshold, $message) ON CONFLICT (id) DO NOTHING;",
                    ("$id", dREvent.EventId), ("$kind", dREvent.Kind.ToString()), ("$time", ToUnixMs(dREvent.Time)), ("$vm", dREvent.VmId),
                    ("$name", dREvent.VmName), ("$group", dREvent.ProtectionGroup), ("$point", dREvent.RecoveryPointId),
                    ("$pointTime", dREvent.RecoveryPointTime is DateTimeOffset t ? (object)ToUnixMs(t) : null),
                    ("$threshold", (long)dREvent.RpoThreshold.TotalMilliseconds), ("$message", dREvent.Message));
                return command.ExecuteNonQuery() == 1;
            }, cancellationToken);

        public Task<IReadOnlyList<DREvent>> ListEventsAsync(DateTimeOffset? since, string? vmId, DREventKind? kind, CancellationToken cancellationToken) =>
            ReadAsync<IReadOnlyList<DREvent>>(() =>
            {
                var sql = new StringBuilder("SELECT id, kind, time_unix_ms, vm_id, vm_name, group_name, point_id, point_time_unix_ms, rpo_threshold_ms, message FROM events WHERE 1 = 1");
                if (since != null) sql.Append(" AND time_unix_ms >= $since");
                if (vmId != null) sql.Append(" AND vm_id = $vm");
                if (kind != null) sql.Append(" AND kind = $kind");
                sql.Append(" ORDER BY time_unix_ms, id;");
                return ReadAll(null, sql.ToString(), reader => new DREvent
                {
                    EventId = reader.GetString(0),
                    Kind = ParseEnum<DREventKind>(reader.GetString(1)),
                    Time = FromUnixMs(reader.GetInt64(2)),
                    VmId = reader.GetString(3),
                    VmName = reader.GetString(4),
                    ProtectionGroup = reader.GetString(5),
                    RecoveryPointId = NullableString(reader, 6),
                    RecoveryPointTime = reader.IsDBNull(7) ? (DateTimeOffset?)null : FromUnixMs(reader.GetInt64(7)),
                    RpoThreshold = TimeSpan.FromMilliseconds(reader.GetInt64(8)),
                    Message = reader.GetString(9),
                }, ("$since", since is DateTimeOffset s ? (object)ToUnixMs(s) : null), ("$vm", vmId), ("$kind", kind?.ToString()));
            }, cancellationToken);
    }
}
