using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Data.Tables;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Vault.Tables
{
    /// <summary>
    /// Protected VMs: the VM's membership (unique site+moref, and its group) is two rows of the config partition
    /// written in one batch with a touch of the group; the VM itself (disks, state), its recovery points, its replica
    /// state and its replication lease are rows of the VM's own partition of the vms table, so a commit (point + VM
    /// change + lease check) is one batch. A VM row counts only while its membership names it.
    /// </summary>
    public sealed partial class TableVault
    {
        private const string VmRow = "vm";
        private const string ReplicaRow = "replica";
        private const string LeaseRow = "lease";
        private const string PointPrefix = "point|";
        private const string MemberPrefixAll = "member|";
        private const string VmLeasePrefix = "replication/";

        private static string VmPartition(string vmId) => Key(vmId);
        private static string RefRow(string site, string moref) => "vmref|" + NameKey(site) + "|" + Key(moref ?? "");
        private static string MemberPrefix(string groupRow) => MemberPrefixAll + Key(groupRow) + "|";
        private static string MemberRow(string groupRow, string vmId) => MemberPrefix(groupRow) + Key(vmId);
        private static string PointRow(string pointId) => PointPrefix + Key(pointId);

        public Task<ProtectedVm> AddProtectedVmAsync(ProtectedVm vm, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var groupRow = await FindAsync(config, ConfigPartition, GroupRow(vm.ProtectionGroup), cancellationToken).ConfigureAwait(false)
                    ?? throw new ObjectNotFoundException("ProtectionGroup", vm.ProtectionGroup);
                var group = Doc<ProtectionGroup>(groupRow);
                if (!string.Equals(group.ProtectedSite, vm.Site, StringComparison.OrdinalIgnoreCase)) throw VaultRules.VmOnOtherSite(vm, group);
                var refRow = RefRow(vm.Site, vm.MoRef);
                if (await FindAsync(config, ConfigPartition, refRow, cancellationToken).ConfigureAwait(false) is TableEntity taken)
                {
                    throw VaultRules.VmAlreadyProtected(vm, taken.GetString("GroupName"));
                }

                // 1. The VM's partition (invisible until its membership names it). Rows left there by a crash of an earlier
                //    add or remove of the same id have no membership: they go first.
                var partition = VmPartition(vm.VmId);
                var leftovers = (await PartitionAsync(vms, partition, null, cancellationToken).ConfigureAwait(false)).Where(r => r.RowKey != LeaseRow).ToList();
                if (leftovers.FirstOrDefault(r => r.RowKey == VmRow) is TableEntity old && await IsMemberAsync(old, cancellationToken).ConfigureAwait(false) is TableEntity member)
                {
                    throw VaultRules.VmAlreadyProtected(vm, member.GetString("GroupName"));
                }
                foreach (var batch in Batches(leftovers.Select(Delete)))
                {
                    await SubmitAsync(vms, batch, cancellationToken).ConfigureAwait(false);
                }
                var now = Now();
                var added = Normalize(vm) with { ProtectionGroup = group.Name, Created = now, Modified = now, Disks = vm.Disks.OrderBy(d => d.Key).ToArray() };
                await vms.AddEntityAsync(VmEntity(added, refRow), cancellationToken).ConfigureAwait(false);

                // 2. The membership, in one batch with a touch of the group: a group removed meanwhile fails it.
                try
                {
                    await SubmitAsync(config, new[]
                    {
                        Insert(new TableEntity(ConfigPartition, refRow) { ["VmId"] = vm.VmId, ["Group"] = groupRow.RowKey, ["GroupName"] = group.Name }),
                        Insert(new TableEntity(ConfigPartition, MemberRow(groupRow.RowKey, vm.VmId)) { ["VmId"] = vm.VmId, ["Group"] = groupRow.RowKey, ["GroupName"] = group.Name, ["RefRow"] = refRow }),
                        Touch(groupRow),
                    }, cancellationToken).ConfigureAwait(false);
                }
                catch (RequestFailedException)
                {
                    // Not a member: the VM row just written is a leftover; drop it now (a crash here leaves it invisible).
                    await vms.DeleteEntityAsync(partition, VmRow, ETag.All, cancellationToken).ConfigureAwait(false);
                    throw;
                }
                return added with { RpoThreshold = await RpoThresholdAsync(group.Policy, cancellationToken).ConfigureAwait(false) };
            }, cancellationToken));

        public Task<ProtectedVm?> FindProtectedVmAsync(string vmId, CancellationToken cancellationToken) =>
            Run(async () => (await FindVmAsync(vmId, cancellationToken).ConfigureAwait(false))?.Vm);

        public Task<IReadOnlyList<ProtectedVm>> ListProtectedVmsAsync(string? group, CancellationToken cancellationToken) =>
            Run<IReadOnlyList<ProtectedVm>>(async () =>
            {
                var rows = await PartitionAsync(config, ConfigPartition, null, cancellationToken).ConfigureAwait(false);
                var policies = rows.Where(r => r.RowKey.StartsWith(PolicyPrefix, StringComparison.Ordinal)).Select(Doc<ReplicationPolicy>).ToDictionary(p => PolicyRow(p.Name));
                var groups = rows.Where(r => r.RowKey.StartsWith(GroupPrefix, StringComparison.Ordinal)).Select(Doc<ProtectionGroup>).ToDictionary(g => GroupRow(g.Name));
                var members = rows.Where(r => r.RowKey.StartsWith(MemberPrefixAll, StringComparison.Ordinal))
                    .Where(m => group is null || m.GetString("Group") == GroupRow(group))
                    .ToDictionary(m => m.GetString("VmId"));
                var found = new List<ProtectedVm>();
                foreach (var row in await QueryAsync(vms, $"RowKey eq '{VmRow}'", cancellationToken).ConfigureAwait(false))
                {
                    var vm = ReadVm(row);
                    if (!members.TryGetValue(vm.VmId, out var member) || member.GetString("RefRow") != row.GetString("RefRow")) continue;
                    if (!groups.TryGetValue(member.GetString("Group"), out var owner)) continue;
                    found.Add(vm with
                    {
                        ProtectionGroup = owner.Name,
                        RpoThreshold = policies.TryGetValue(PolicyRow(owner.Policy), out var policy) ? policy.RpoThreshold : default,
                    });
                }
                return found.OrderBy(v => v.Name, StringComparer.Ordinal).ToList();
            });

        public Task<ProtectedVm> UpdateProtectedVmAsync(string vmId, Func<ProtectedVm, ProtectedVm> change, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var (current, row) = await FindVmAsync(vmId, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("ProtectedVm", vmId);
                var changed = Changed(current, change);
                await vms.UpdateEntityAsync(VmEntity(changed, row.GetString("RefRow")), row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return changed;
            }, cancellationToken));

        public Task<IReadOnlyList<RecoveryPoint>> RemoveProtectedVmAsync(string vmId, CancellationToken cancellationToken) =>
            Run(() => Optimistic<IReadOnlyList<RecoveryPoint>>(async () =>
            {
                var (vm, row) = await FindVmAsync(vmId, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("ProtectedVm", vmId);
                var member = await FindAsync(config, ConfigPartition, MemberRow(GroupRow(vm.ProtectionGroup), vm.VmId), cancellationToken).ConfigureAwait(false)
                    ?? throw new ObjectNotFoundException("ProtectedVm", vmId);
                return await RemoveVmRowsAsync(member, cancellationToken).ConfigureAwait(false);
            }, cancellationToken));

        /// <summary>
        /// Removes a member VM: 1. its membership (one batch: the VM is gone for every reader), 2. its partition, the VM row
        /// If-Match in the first batch so a commit racing it fails; 3. the points' index rows. Returns its points.
        /// </summary>
        private async Task<IReadOnlyList<RecoveryPoint>> RemoveVmRowsAsync(TableEntity member, CancellationToken cancellationToken)
        {
            var vmId = member.GetString("VmId");
            var refRow = await FindAsync(config, ConfigPartition, member.GetString("RefRow"), cancellationToken).ConfigureAwait(false);
            var actions = new List<TableTransactionAction> { Delete(member) };
            if (refRow is not null && refRow.GetString("VmId") == vmId) actions.Add(Delete(refRow));
            await SubmitAsync(config, actions, cancellationToken).ConfigureAwait(false);

            var partition = VmPartition(vmId);
            while (true)
            {
                var rows = (await PartitionAsync(vms, partition, null, cancellationToken).ConfigureAwait(false)).Where(r => r.RowKey != LeaseRow).ToList();
                var vmRow = rows.FirstOrDefault(r => r.RowKey == VmRow);
                var name = vmRow is null ? vmId : ReadVm(vmRow).Name;
                var found = rows.Where(r => r.RowKey.StartsWith(PointPrefix, StringComparison.Ordinal)).Select(r => ReadPoint(r, name)).ToList();
                try
                {
                    foreach (var batch in Batches(rows.OrderBy(r => r.RowKey == VmRow ? 0 : 1).Select(Delete)))
                    {
                        await SubmitAsync(vms, batch, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (RequestFailedException ex) when (IsConcurrentChange(ex))
                {
                    continue; // a commit or update won the race: read the partition again
                }
                foreach (var point in found)
                {
                    await DeleteIgnoringMissingAsync(points, Key(point.RecoveryPointId), "", cancellationToken).ConfigureAwait(false);
                }
                return OrderPoints(found);
            }
        }

        public Task<ProtectedVm> CommitRecoveryPointAsync(RecoveryPoint point, Func<ProtectedVm, ProtectedVm> vmChange, CancellationToken cancellationToken) =>
            CommitRecoveryPointAsync(point, vmChange, null, cancellationToken);

        public Task<ProtectedVm> CommitRecoveryPointAsync(RecoveryPoint point, Func<ProtectedVm, ProtectedVm> vmChange, LeaseClaim? lease, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var partition = VmPartition(point.VmId);
                var actions = new List<TableTransactionAction>();
                if (lease != null)
                {
                    var (leasePartition, leaseRow) = LeaseAddress(lease.Resource);
                    var held = await FindAsync(vms, leasePartition, leaseRow, cancellationToken).ConfigureAwait(false);
                    if (held?.GetString("Owner") != lease.Owner) throw VaultRules.LeaseLost(point.VmName);
                    // The lease row is in the VM's partition (replication/<vm id>): its touch makes the check part of the batch.
                    if (leasePartition == partition) actions.Add(Touch(held));
                }

                // A VM removed while its cycle ran (Disable-VmProtection): say so.
                var (current, row) = await FindVmAsync(point.VmId, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("ProtectedVm", point.VmId);
                var changed = Changed(current, vmChange);
                actions.Add(Insert(WithDoc(new TableEntity(partition, PointRow(point.RecoveryPointId)) { ["Added"] = DateTime.UtcNow.Ticks },
                    point with { VmName = "" }, "RecoveryPoint", point.RecoveryPointId)));
                actions.Add(Replace(VmEntity(changed, row.GetString("RefRow")), row.ETag));
                if (point.ReplicaSnapshots.Count > 0 && await FindAsync(vms, partition, ReplicaRow, cancellationToken).ConfigureAwait(false) is TableEntity replica)
                {
                    // The replica blobs now hold exactly this point.
                    var state = Doc<ReplicaState>(replica) with { PointIds = new[] { point.RecoveryPointId } };
                    actions.Add(Replace(WithDoc(new TableEntity(partition, ReplicaRow), state, "ProtectedVm", point.VmId), replica.ETag));
                }

                // The index row first: after a crash before the batch it points at nothing, which FindRecoveryPointAsync reads as no point.
                await points.UpsertEntityAsync(new TableEntity(Key(point.RecoveryPointId), "") { ["VmId"] = point.VmId }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                await SubmitAsync(vms, actions, cancellationToken).ConfigureAwait(false);
                return changed;
            }, cancellationToken));

        public Task<IReadOnlyList<RecoveryPoint>> ListRecoveryPointsAsync(string vmId, CancellationToken cancellationToken) =>
            Run<IReadOnlyList<RecoveryPoint>>(async () =>
            {
                var vm = (await FindVmAsync(vmId, cancellationToken).ConfigureAwait(false))?.Vm;
                if (vm is null) return Array.Empty<RecoveryPoint>();
                var rows = await PartitionAsync(vms, VmPartition(vmId), PointPrefix, cancellationToken).ConfigureAwait(false);
                return OrderPoints(rows.Select(r => (Point: ReadPoint(r, vm.Name), Added: r.GetInt64("Added") ?? 0)));
            });

        public Task<RecoveryPoint?> FindRecoveryPointAsync(string recoveryPointId, CancellationToken cancellationToken) =>
            Run(async () =>
            {
                var index = await FindAsync(points, Key(recoveryPointId), "", cancellationToken).ConfigureAwait(false);
                if (index is null) return null;
                var vm = (await FindVmAsync(index.GetString("VmId"), cancellationToken).ConfigureAwait(false))?.Vm;
                if (vm is null) return null;
                var row = await FindAsync(vms, VmPartition(vm.VmId), PointRow(recoveryPointId), cancellationToken).ConfigureAwait(false);
                return row is null ? null : ReadPoint(row, vm.Name);
            });

        public Task RemoveRecoveryPointAsync(string recoveryPointId, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var index = await FindAsync(points, Key(recoveryPointId), "", cancellationToken).ConfigureAwait(false);
                if (index is null) return true;
                var partition = VmPartition(index.GetString("VmId"));
                var rows = await PartitionAsync(vms, partition, null, cancellationToken).ConfigureAwait(false);
                var pointRow = rows.FirstOrDefault(r => r.RowKey == PointRow(recoveryPointId));
                if (pointRow != null)
                {
                    var actions = new List<TableTransactionAction> { Delete(pointRow) };
                    if (rows.FirstOrDefault(r => r.RowKey == VmRow) is TableEntity vmRow && ReadVm(vmRow) is var vm && vm.LastRecoveryPointId == recoveryPointId)
                    {
                        // A VM whose newest point goes keeps pointing at the newest one left.
                        var newest = OrderPoints(rows.Where(r => r.RowKey.StartsWith(PointPrefix, StringComparison.Ordinal) && r.RowKey != pointRow.RowKey)
                            .Select(r => (Point: ReadPoint(r, vm.Name), Added: r.GetInt64("Added") ?? 0))).LastOrDefault();
                        actions.Add(Replace(VmEntity(vm with { LastRecoveryPointId = newest?.RecoveryPointId, LastRecoveryPointTime = newest?.Time }, vmRow.GetString("RefRow")), vmRow.ETag));
                    }
                    await SubmitAsync(vms, actions, cancellationToken).ConfigureAwait(false);
                }
                // The index row last: a crash before leaves it pointing at nothing.
                await DeleteIgnoringMissingAsync(points, index.PartitionKey, "", cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken));

        public Task<ReplicaState?> FindReplicaStateAsync(string vmId, CancellationToken cancellationToken) =>
            Run(async () =>
            {
                if ((await FindVmAsync(vmId, cancellationToken).ConfigureAwait(false)) is null) return null;
                return await FindAsync(vms, VmPartition(vmId), ReplicaRow, cancellationToken).ConfigureAwait(false) is TableEntity row ? Doc<ReplicaState>(row) : null;
            });

        public Task SaveReplicaStateAsync(ReplicaState state, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var (_, row) = await FindVmAsync(state.VmId, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("ProtectedVm", state.VmId);
                var entity = WithDoc(new TableEntity(row.PartitionKey, ReplicaRow), state, "ProtectedVm", state.VmId);
                // The replica row is this VM's only writer's (its cycle); the touch keeps a removed VM from getting one back.
                await SubmitAsync(vms, new[] { new TableTransactionAction(TableTransactionActionType.UpsertReplace, entity), Touch(row) }, cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken));

        // ---- Leases: one row per resource; a VM's (replication/<vm id>) in the VM's partition ----

        private static (string Partition, string Row) LeaseAddress(string resource) =>
            resource.StartsWith(VmLeasePrefix, StringComparison.Ordinal) && resource.Length > VmLeasePrefix.Length
                ? (VmPartition(resource.Substring(VmLeasePrefix.Length)), LeaseRow)
                : ("lease|" + Key(resource), LeaseRow);

        public Task<bool> TryAcquireLeaseAsync(string resource, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var (partition, row) = LeaseAddress(resource);
                var held = await FindAsync(vms, partition, row, cancellationToken).ConfigureAwait(false);
                var now = NowMs();
                if (held != null && held.GetString("Owner") != owner && (held.GetInt64("Expires") ?? 0) > now) return false;
                var entity = new TableEntity(partition, row) { ["Resource"] = resource, ["Owner"] = owner, ["Expires"] = now + (long)duration.TotalMilliseconds };
                if (held is null) await vms.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
                else await vms.UpdateEntityAsync(entity, held.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken));

        public Task ReleaseLeaseAsync(string resource, string owner, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var (partition, row) = LeaseAddress(resource);
                var held = await FindAsync(vms, partition, row, cancellationToken).ConfigureAwait(false);
                if (held != null && held.GetString("Owner") == owner) await vms.DeleteEntityAsync(partition, row, held.ETag, cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken));

        public Task<string?> FindLeaseHolderAsync(string resource, CancellationToken cancellationToken) =>
            Run(async () =>
            {
                var (partition, row) = LeaseAddress(resource);
                var held = await FindAsync(vms, partition, row, cancellationToken).ConfigureAwait(false);
                return held != null && (held.GetInt64("Expires") ?? 0) > NowMs() ? held.GetString("Owner") : null;
            });

        public Task BreakLeaseAsync(string resource, string owner, CancellationToken cancellationToken) => ReleaseLeaseAsync(resource, owner, cancellationToken);

        public Task<bool> RenewLeaseAsync(string resource, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var (partition, row) = LeaseAddress(resource);
                var held = await FindAsync(vms, partition, row, cancellationToken).ConfigureAwait(false);
                // Our row, expired or not: nobody took the lease meanwhile (taking it replaces the owner; releasing deletes the row).
                if (held is null || held.GetString("Owner") != owner) return false;
                held["Expires"] = NowMs() + (long)duration.TotalMilliseconds;
                await vms.UpdateEntityAsync(held, held.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken));

        // ---- Workers: one row each in one partition; a worker writes only its own row ----

        private const string WorkerPartition = "workers";

        public Task SaveWorkerAsync(ReplicationWorker worker, CancellationToken cancellationToken) =>
            Run(() => Optimistic(async () =>
            {
                var row = await FindAsync(workers, WorkerPartition, Key(worker.WorkerId), cancellationToken).ConfigureAwait(false);
                // As SqliteVault: the first save fixes machine, process and start; later ones change the heartbeat, lease, VMs and stop.
                var stored = row is null ? worker : Doc<ReplicationWorker>(row) with
                {
                    LastHeartbeat = worker.LastHeartbeat, LeaseDuration = worker.LeaseDuration, CurrentVms = worker.CurrentVms, Stopped = worker.Stopped,
                };
                var entity = WithDoc(new TableEntity(WorkerPartition, Key(worker.WorkerId)) { ["Heartbeat"] = stored.LastHeartbeat.ToUnixTimeMilliseconds() },
                    stored with { Status = default }, "Worker", worker.WorkerId);
                if (row is null) await workers.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
                else await workers.UpdateEntityAsync(entity, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken));

        public Task<IReadOnlyList<ReplicationWorker>> ListWorkersAsync(CancellationToken cancellationToken) =>
            Run<IReadOnlyList<ReplicationWorker>>(async () => (await PartitionAsync(workers, WorkerPartition, null, cancellationToken).ConfigureAwait(false))
                .Select(Doc<ReplicationWorker>).OrderByDescending(w => w.Started.ToUnixTimeMilliseconds()).ThenBy(w => w.WorkerId, StringComparer.Ordinal).ToList());

        public Task<int> ForgetWorkersAsync(DateTimeOffset lastSeenBefore, CancellationToken cancellationToken) =>
            Run(async () =>
            {
                var forgotten = 0;
                var rows = await QueryAsync(workers, $"PartitionKey eq '{WorkerPartition}' and Heartbeat lt {lastSeenBefore.ToUnixTimeMilliseconds()}L", cancellationToken).ConfigureAwait(false);
                foreach (var row in rows)
                {
                    try
                    {
                        // If-Match: a worker that reported meanwhile is no longer stale.
                        await workers.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken).ConfigureAwait(false);
                        forgotten++;
                    }
                    catch (RequestFailedException ex) when (ex.Status == 412 || ex.Status == 404)
                    {
                    }
                }
                return forgotten;
            });

        // ---- Rows ----

        /// <summary>The VM and its row, when its membership names it (a VM row without one is a leftover of a crash); null otherwise.</summary>
        private async Task<(ProtectedVm Vm, TableEntity Row)?> FindVmAsync(string vmId, CancellationToken cancellationToken)
        {
            var row = await FindAsync(vms, VmPartition(vmId), VmRow, cancellationToken).ConfigureAwait(false);
            if (row is null) return null;
            var member = await IsMemberAsync(row, cancellationToken).ConfigureAwait(false);
            if (member is null) return null;
            var group = await FindAsync(config, ConfigPartition, member.GetString("Group"), cancellationToken).ConfigureAwait(false);
            if (group is null) return null;
            var owner = Doc<ProtectionGroup>(group);
            var vm = ReadVm(row) with { ProtectionGroup = owner.Name, RpoThreshold = await RpoThresholdAsync(owner.Policy, cancellationToken).ConfigureAwait(false) };
            return (vm, row);
        }

        /// <summary>The membership row naming the VM of <paramref name="vmRow"/>; null when none does.</summary>
        private async Task<TableEntity?> IsMemberAsync(TableEntity vmRow, CancellationToken cancellationToken)
        {
            var refRow = await FindAsync(config, ConfigPartition, vmRow.GetString("RefRow"), cancellationToken).ConfigureAwait(false);
            var vmId = ReadVm(vmRow).VmId;
            return refRow != null && refRow.GetString("VmId") == vmId ? refRow : null;
        }

        private async Task<TimeSpan> RpoThresholdAsync(string policy, CancellationToken cancellationToken) =>
            await FindAsync(config, ConfigPartition, PolicyRow(policy), cancellationToken).ConfigureAwait(false) is TableEntity row ? Doc<ReplicationPolicy>(row).RpoThreshold : default;

        private static ProtectedVm Changed(ProtectedVm current, Func<ProtectedVm, ProtectedVm> change)
        {
            var changed = change(current);
            VaultRules.CheckVmChange(current, changed);
            return Normalize(changed) with
            {
                Modified = Now(),
                RpoThreshold = current.RpoThreshold,
                Created = current.Created,
                MoRef = changed.MoRef ?? "",
                Disks = changed.Disks.OrderBy(d => d.Key).ToArray(),
            };
        }

        private static TableEntity VmEntity(ProtectedVm vm, string refRow) =>
            WithDoc(new TableEntity(VmPartition(vm.VmId), VmRow) { ["RefRow"] = refRow }, vm with { RpoThreshold = default }, "ProtectedVm", vm.Name);

        private static RecoveryPoint ReadPoint(TableEntity row, string vmName)
        {
            var point = Doc<RecoveryPoint>(row);
            // Empty lists read back as the shared empty array, as SqliteVault's do (records compare lists by reference).
            return point with { VmName = vmName, ReplicaSnapshots = point.ReplicaSnapshots.Count == 0 ? Array.Empty<ReplicaSnapshot>() : point.ReplicaSnapshots };
        }

        private static ProtectedVm ReadVm(TableEntity row) => Normalize(Doc<ProtectedVm>(row));

        private static ProtectedVm Normalize(ProtectedVm vm) => vm.Networks.Count == 0 && !(vm.Networks is string[]) ? vm with { Networks = Array.Empty<string>() } : vm;

        private static IReadOnlyList<RecoveryPoint> OrderPoints(IEnumerable<(RecoveryPoint Point, long Added)> found) =>
            found.OrderBy(p => p.Point.Time.ToUnixTimeMilliseconds()).ThenBy(p => p.Added).Select(p => p.Point).ToList();

        private static IReadOnlyList<RecoveryPoint> OrderPoints(IEnumerable<RecoveryPoint> found) =>
            found.OrderBy(p => p.Time.ToUnixTimeMilliseconds()).ToList();

        private static IEnumerable<List<TableTransactionAction>> Batches(IEnumerable<TableTransactionAction> actions)
        {
            var batch = new List<TableTransactionAction>();
            foreach (var action in actions)
            {
                batch.Add(action);
                if (batch.Count == 100)
                {
                    yield return batch;
                    batch = new List<TableTransactionAction>();
                }
            }
            if (batch.Count > 0) yield return batch;
        }

        private static async Task DeleteIgnoringMissingAsync(TableClient table, string partition, string row, CancellationToken cancellationToken)
        {
            try
            {
                await table.DeleteEntityAsync(partition, row, ETag.All, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
            }
        }
    }
}
