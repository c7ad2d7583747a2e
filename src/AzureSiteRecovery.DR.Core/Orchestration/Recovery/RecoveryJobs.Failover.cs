using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Jobs;
using AzureSiteRecovery.DR.Core.Orchestration.Plans;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Replication.Sources;
using AzureSiteRecovery.DR.Core.Sites;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery
{
    /// <summary>
    /// The real thing: failover (planned: sources shut down and synced one last time; unplanned:
    /// from the chosen points), commit or undo, reprotection (the recovered VMs replicated back into
    /// the chunk store) and failback onto the original VMs, writing only the chunks that differ.
    /// Every step works on all of the plan's VMs and skips those already where it would put them,
    /// so a resumed job never redoes finished work and never recovers a VM twice.
    /// </summary>
    public sealed partial class RecoveryJobs
    {
        private static readonly TimeSpan GuestShutdownTimeout = TimeSpan.FromMinutes(10);

        // JobStepDetail.WriteMode of a failback step: only the changed chunks, whole disks, or nothing differed.
        private const string RangedWrites = "ranged";
        private const string WholeDisks = "whole";
        private const string NothingWritten = "none";

        /// <summary>Fails before a job is recorded when no VM of the plan is in the state the operation starts from.</summary>
        private static void RefuseUnlessReady(JobOperation operation, RecoveryPlan plan, RecoveryPlanTestResult check)
        {
            var vms = check.Vms.Select(v => v.Vm).GroupBy(v => v.VmId).Select(g => g.First()).ToList();
            switch (operation)
            {
                case JobOperation.Failover:
                    var away = vms.Where(v => !v.IsReplicating || v.State == ProtectionState.Reprotected).ToList();
                    if (away.Count > 0)
                    {
                        throw new RecoveryException("VmAlreadyFailedOver", FailureKind.InUse, plan.Name,
                            $"VM(s) {string.Join(", ", away.Select(v => $"'{v.Name}' ({v.State})"))} of plan '{plan.Name}' are failed over already; " +
                            "Undo-Failover, or Invoke-Reprotect and Invoke-Failback, bring them back first.");
                    }
                    if (!check.Passed) throw NotReady(plan, check);
                    return;
                case JobOperation.UndoFailover:
                    var committed = vms.Where(v => v.State == ProtectionState.FailoverCommitted || v.State == ProtectionState.Reprotected).ToList();
                    if (committed.Count > 0 && vms.All(v => v.State != ProtectionState.FailedOver))
                    {
                        throw new RecoveryException("FailoverCommitted", FailureKind.InvalidArgument, plan.Name,
                            $"The failover of plan '{plan.Name}' is committed ({string.Join(", ", committed.Select(v => $"{v.Name}: {v.State}"))}) and cannot be undone; " +
                            "bring the VMs back with Invoke-Reprotect and Invoke-Failback.");
                    }
                    Require(vms, plan, operation, ProtectionState.FailedOver, "Start-Failover");
                    return;
                case JobOperation.CompleteFailover:
                    Require(vms, plan, operation, ProtectionState.FailedOver, "Start-Failover");
                    return;
                case JobOperation.Reprotect:
                    Require(vms, plan, operation, ProtectionState.FailoverCommitted, "Complete-Failover");
                    return;
                case JobOperation.Failback:
                    Require(vms, plan, operation, ProtectionState.Reprotected, "Invoke-Reprotect");
                    return;
            }
        }

        private static void Require(IReadOnlyList<ProtectedVm> vms, RecoveryPlan plan, JobOperation operation, ProtectionState state, string before)
        {
            if (vms.Count == 0 || vms.All(v => v.State != state))
            {
                throw new RecoveryException("NoVmInState", FailureKind.InvalidArgument, plan.Name,
                    $"{operation} of plan '{plan.Name}' works on VMs that are {state}, and none is " +
                    $"({string.Join(", ", vms.Select(v => $"{v.Name}: {v.State}"))}); run {before} first.");
            }
        }

        private JobDefinition Failover(JobOperation operation, RecoveryPlan plan, IReadOnlyList<PlannedVm> vms, RecoveryRequest request)
        {
            var run = new RecoveryRun(services, request.Datastore);
            var members = vms.GroupBy(v => v.Vm.VmId).Select(g => g.First()).ToList();
            var steps = new List<JobStepDefinition>();
            switch (operation)
            {
                case JobOperation.Failover:
                    if (request.Planned)
                    {
                        steps.AddRange(members.Select(m => new JobStepDefinition($"Shut down {m.Vm.Name}",
                            (context, ct) => ShutDownSourceAsync(run, m.Vm.VmId, ct), m.Group.Name, m.Vm.Name) { Batch = "shutdown" }));
                        steps.AddRange(members.Select(m => new JobStepDefinition($"Final sync of {m.Vm.Name}",
                            (context, ct) => SyncAsync(m.Vm.VmId, ct), m.Group.Name, m.Vm.Name) { Batch = "sync" }));
                    }
                    steps.Add(new JobStepDefinition(PrepareStep, (context, ct) => ChoosePointsAsync(plan, vms,
                        request.Planned ? request with { Points = RecoveryPointChoice.Latest } : request, ct, failover: true)));
                    steps.AddRange(GroupSteps(run, plan, vms, RecoveryTags.FailoverKind));
                    break;
                case JobOperation.CompleteFailover:
                    steps.AddRange(members.Select(m => new JobStepDefinition($"Commit the failover of {m.Vm.Name}",
                        (context, ct) => CommitAsync(m.Vm.VmId, ct), m.Group.Name, m.Vm.Name) { Batch = "commit" }));
                    break;
                case JobOperation.UndoFailover:
                    steps.AddRange(members.Select(m => new JobStepDefinition($"Undo the failover of {m.Vm.Name}",
                        (context, ct) => UndoAsync(run, plan, m.Vm.VmId, ct), m.Group.Name, m.Vm.Name) { Batch = "undo" }));
                    break;
                case JobOperation.Reprotect:
                    steps.AddRange(members.Select(m => new JobStepDefinition($"Reprotect {m.Vm.Name}",
                        (context, ct) => ReprotectAsync(run, m.Vm.VmId, ct), m.Group.Name, m.Vm.Name) { Batch = "reprotect" }));
                    break;
                case JobOperation.Failback:
                    steps.AddRange(members.Select(m => new JobStepDefinition($"Shut down {m.Vm.Name} on the recovery site",
                        (context, ct) => ShutDownRecoveredAsync(run, m.Vm.VmId, ct), m.Group.Name, m.Vm.Name) { Batch = "shutdown" }));
                    steps.AddRange(members.Select(m => new JobStepDefinition($"Final sync of {m.Vm.Name}",
                        (context, ct) => SyncAsync(m.Vm.VmId, ct), m.Group.Name, m.Vm.Name) { Batch = "sync" }));
                    foreach (var group in plan.Groups)
                    {
                        var inGroup = members.Where(m => m.Group.Name == group.Name).ToList();
                        steps.AddRange(inGroup.Select(m => new JobStepDefinition($"Fail back {m.Vm.Name}",
                            (context, ct) => FailBackAsync(run, m, context, ct), group.Name, m.Vm.Name) { Batch = "failback " + group.Name }));
                    }
                    steps.AddRange(members.Select(m => new JobStepDefinition($"Protect {m.Vm.Name} forward again",
                        (context, ct) => ProtectForwardAsync(run, m.Vm.VmId, ct), m.Group.Name, m.Vm.Name) { Batch = "forward" }));
                    break;
            }

            var parameters = request.ToParameters().ToDictionary(p => p.Key, p => p.Value);
            parameters["recoverySite"] = plan.RecoverySite;
            parameters["protectedSite"] = plan.ProtectedSite;
            return new JobDefinition(operation, plan.Name, steps, null, parameters) { Resources = run };
        }

        private async Task<ProtectedVm> VmAsync(string vmId, CancellationToken cancellationToken) =>
            await services.Vault.FindProtectedVmAsync(vmId, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("ProtectedVm", vmId);

        private async Task<StepOutcome> ShutDownSourceAsync(RecoveryRun run, string vmId, CancellationToken cancellationToken)
        {
            var vm = await VmAsync(vmId, cancellationToken).ConfigureAwait(false);
            var source = await run.SiteAsync(vm.Site, cancellationToken).ConfigureAwait(false);
            var wasOn = await VSphereVmRecovery.ShutDownAsync(source, vm.MoRef, vm.Name, GuestShutdownTimeout, cancellationToken).ConfigureAwait(false);
            return StepOutcome.Done(wasOn ? $"{vm.Name} shut down." : $"{vm.Name} was powered off already.",
                new StepDetails { [JobStepDetail.Kind] = JobStepKind.Prepare, [SourceWasOn] = wasOn ? "true" : "false" });
        }

        private async Task<StepOutcome> ShutDownRecoveredAsync(RecoveryRun run, string vmId, CancellationToken cancellationToken)
        {
            var vm = await VmAsync(vmId, cancellationToken).ConfigureAwait(false);
            if (vm.State != ProtectionState.Reprotected || vm.RecoveredSite is null || vm.RecoveredMoRef is null)
            {
                return StepOutcome.Done($"{vm.Name} is {vm.State}: nothing runs on the recovery site.");
            }
            var recoverySite = await run.RecoverySiteAsync(vm.RecoveredSite, cancellationToken).ConfigureAwait(false);
            var wasOn = await recoverySite.ShutDownAsync(vm.RecoveredMoRef, vm.Name, GuestShutdownTimeout, cancellationToken).ConfigureAwait(false);
            return StepOutcome.Done(wasOn ? $"{vm.Name} shut down on site '{vm.RecoveredSite}'." : $"{vm.Name} was powered off already on site '{vm.RecoveredSite}'.",
                new StepDetails { [JobStepDetail.Kind] = JobStepKind.Prepare });
        }

        /// <summary>Key of a planned failover's shutdown step detail: whether the source was running (Undo-Failover powers it on again).</summary>
        private const string SourceWasOn = "sourceWasOn";

        private async Task<StepOutcome> SyncAsync(string vmId, CancellationToken cancellationToken)
        {
            var vm = await VmAsync(vmId, cancellationToken).ConfigureAwait(false);
            if (!vm.IsReplicating)
            {
                return StepOutcome.Done($"{vm.Name} is {vm.State}: its final point was taken before.");
            }
            var result = await new VmReplicator(services.Vault, services.OpenStore, services.ReplicaContainers).RunCycleAsync(vmId, cancellationToken).ConfigureAwait(false);
            return StepOutcome.Done($"Point {result.Point?.RecoveryPointId} of {result.Point?.Time:u}: {result.ChunksStored} new chunk(s).",
                new StepDetails { [JobStepDetail.Kind] = JobStepKind.Prepare, [JobStepDetail.RecoveryPointId] = result.Point?.RecoveryPointId });
        }

        private async Task<StepOutcome> CommitAsync(string vmId, CancellationToken cancellationToken)
        {
            var vm = await services.Vault.UpdateProtectedVmAsync(vmId, v => v.State == ProtectionState.FailedOver ? v with { State = ProtectionState.FailoverCommitted } : v,
                cancellationToken).ConfigureAwait(false);
            return StepOutcome.Done(vm.State == ProtectionState.FailoverCommitted ? $"{vm.Name} runs on site '{vm.RecoveredSite}' for good; Invoke-Reprotect replicates it back."
                : $"{vm.Name} is {vm.State}: nothing to commit.");
        }

        private async Task<StepOutcome> UndoAsync(RecoveryRun run, RecoveryPlan plan, string vmId, CancellationToken cancellationToken)
        {
            var vm = await VmAsync(vmId, cancellationToken).ConfigureAwait(false);
            if (vm.State == ProtectionState.FailoverCommitted || vm.State == ProtectionState.Reprotected)
            {
                throw new RecoveryException("FailoverCommitted", FailureKind.InvalidArgument, vm.Name,
                    $"The failover of '{vm.Name}' is committed ({vm.State}); bring it back with Invoke-Reprotect and Invoke-Failback.");
            }
            if (vm.State != ProtectionState.FailedOver)
            {
                return StepOutcome.Done($"{vm.Name} is not failed over ({vm.State}).");
            }

            var deleted = 0;
            if (vm.RecoveredSite != null)
            {
                var recoverySite = await run.RecoverySiteAsync(vm.RecoveredSite, cancellationToken).ConfigureAwait(false);
                deleted = await recoverySite.DeleteFailoverCopiesAsync(vm.VmId, cancellationToken).ConfigureAwait(false);
            }

            // A planned failover shut the source down: start it again.
            var poweredOn = false;
            var failover = (await services.Vault.ListJobsAsync(null, cancellationToken).ConfigureAwait(false))
                .FirstOrDefault(j => j.Operation == JobOperation.Failover && string.Equals(j.Target, plan.Name, StringComparison.OrdinalIgnoreCase));
            var shutdown = failover?.Steps.FirstOrDefault(s => s.Vm == vm.Name && s.Details.TryGetValue(SourceWasOn, out var on) && on == "true");
            if (shutdown != null)
            {
                var source = await run.SiteAsync(vm.Site, cancellationToken).ConfigureAwait(false);
                var live = await source.GetVmAsync(vm.MoRef, cancellationToken).ConfigureAwait(false);
                if (live?.PowerState == VmPowerState.PoweredOff)
                {
                    await source.PowerOnAsync(vm.MoRef, cancellationToken).ConfigureAwait(false);
                    poweredOn = true;
                }
            }

            await services.Vault.UpdateProtectedVmAsync(vmId, v => v with { State = ProtectionState.Protected, RecoveredSite = null, RecoveredMoRef = null, PreFailoverPointId = null },
                CancellationToken.None).ConfigureAwait(false);
            return StepOutcome.Done($"Deleted {deleted} recovered VM(s) of {vm.Name}{(poweredOn ? ", powered the source on again" : "")}; replication resumes.");
        }

        private async Task<StepOutcome> ReprotectAsync(RecoveryRun run, string vmId, CancellationToken cancellationToken)
        {
            var vm = await VmAsync(vmId, cancellationToken).ConfigureAwait(false);
            if (vm.State == ProtectionState.FailoverCommitted)
            {
                if (vm.RecoveredSite is null || vm.RecoveredMoRef is null)
                {
                    throw new RecoveryException("RecoveredVmUnknown", FailureKind.InvalidData, vm.Name, $"The vault does not record where '{vm.Name}' was recovered to.");
                }
                // The recovered VM as the source of the cycles from now on (a vSphere VM: CBT on; an Azure VM: its disk snapshots).
                IReadOnlyList<ProtectedDisk> disks;
                using (var source = await ReplicationSources.OpenAsync(services.Vault, vm, vm.RecoveredSite, vm.RecoveredMoRef, cancellationToken).ConfigureAwait(false))
                {
                    disks = await source.StartReprotectAsync(cancellationToken).ConfigureAwait(false);
                }
                vm = await services.Vault.UpdateProtectedVmAsync(vmId, v => v with
                {
                    State = ProtectionState.Reprotected,
                    Disks = disks,
                }, CancellationToken.None).ConfigureAwait(false);
            }
            if (vm.State != ProtectionState.Reprotected)
            {
                return StepOutcome.Done($"{vm.Name} is {vm.State}: nothing to reprotect.");
            }

            var result = await new VmReplicator(services.Vault, services.OpenStore, services.ReplicaContainers).RunCycleAsync(vmId, cancellationToken).ConfigureAwait(false);
            return StepOutcome.Done($"{vm.Name} replicates from site '{vm.RecoveredSite}': point {result.Point?.RecoveryPointId}, {result.ChunksStored} new chunk(s) of {result.ChunksRead} read.",
                new StepDetails { [JobStepDetail.ChunksWritten] = result.ChunksStored.ToString(CultureInfo.InvariantCulture) });
        }

        /// <summary>
        /// Writes the newest point of a reprotected VM onto its original VM. Each chunk of the original
        /// disk is read and hashed first; only a disk with chunks that differ is written: those chunks
        /// (ranged writes) on a site shown to take them, else the whole disk from the chunk store.
        /// Every disk written is then read back and compared chunk by chunk with the point
        /// (FailbackVerifyFailed) before the original VM starts; until then the recovered VM, which
        /// holds the same data, is kept (and started again when this step fails), so a second
        /// Invoke-Failback can finish.
        /// </summary>
        private async Task<StepOutcome> FailBackAsync(RecoveryRun run, PlannedVm member, JobStepContext context, CancellationToken cancellationToken)
        {
            var vm = await VmAsync(member.Vm.VmId, cancellationToken).ConfigureAwait(false);
            if (vm.State != ProtectionState.Reprotected)
            {
                return StepOutcome.Done($"{vm.Name} is {vm.State}: nothing to fail back.");
            }
            var originalStarted = new StrongBox<bool>();
            try
            {
                return await WriteBackAsync(run, member, vm, originalStarted, cancellationToken).ConfigureAwait(false);
            }
            catch (DRException) when (!originalStarted.Value)
            {
                // Never two copies running: once the original was started, the recovered VM stays off.
                await RestartRecoveredAsync(run, vm).ConfigureAwait(false);
                throw;
            }
        }

        private async Task<StepOutcome> WriteBackAsync(RecoveryRun run, PlannedVm member, ProtectedVm vm, StrongBox<bool> originalStarted, CancellationToken cancellationToken)
        {
            var pointId = vm.LastRecoveryPointId ?? throw new RecoveryException("NoRecoveryPoint", FailureKind.NotFound, vm.Name, $"VM '{vm.Name}' has no recovery point to fail back from.");
            var point = await services.Vault.FindRecoveryPointAsync(pointId, cancellationToken).ConfigureAwait(false)
                ?? throw new RecoveryException("RecoveryPointGone", FailureKind.NotFound, vm.Name, $"Recovery point {pointId} of '{vm.Name}' is gone.");
            var manifest = await run.Store.Chunks.ReadPointAsync(vm.VmId, pointId, cancellationToken).ConfigureAwait(false);
            var client = await run.SiteAsync(vm.Site, cancellationToken).ConfigureAwait(false);
            // Before anything is read or written: the same vCenter and the same VM as when it was protected.
            var original = await VmIdentity.VerifyAsync(services.Vault, client, vm, vm.MoRef, cancellationToken).ConfigureAwait(false)
                ?? throw new RecoveryException("VmGone", FailureKind.NotFound, vm.Name,
                    $"The original VM '{vm.Name}' ({vm.MoRef}) is not on site '{vm.Site}' any more; recover it with Start-Failover of a plan to that site instead.");
            if (original.PowerState != VmPowerState.PoweredOff)
            {
                await client.PowerOffAsync(vm.MoRef, cancellationToken).ConfigureAwait(false);
            }

            var disks = manifest.Disks.OrderBy(d => long.TryParse(d.DiskKey, NumberStyles.Integer, CultureInfo.InvariantCulture, out var k) ? k : long.MaxValue).ToList();
            var targets = original.Disks.OrderBy(d => d.Key).ToList();
            if (targets.Count != disks.Count || targets.Zip(disks, (t, d) => t.CapacityBytes != d.Capacity).Any(x => x))
            {
                throw new RecoveryException("OriginalVmDisksChanged", FailureKind.InvalidData, vm.Name,
                    $"The disks of the original VM '{vm.Name}' ({string.Join(", ", targets.Select(t => t.CapacityBytes))} bytes) do not match recovery point {pointId} " +
                    $"({string.Join(", ", disks.Select(d => d.Capacity))} bytes); fail back to a new VM with Start-Failover instead.");
            }

            // Which chunks differ decides whether anything moves at all.
            var differing = new List<int>[disks.Count];
            var compared = 0;
            for (var i = 0; i < disks.Count; i++)
            {
                differing[i] = await DifferingChunksAsync(client, VSphereClient.FlatExtentOf(targets[i].FileName), disks[i], run.Store.Chunks, cancellationToken).ConfigureAwait(false);
                compared += disks[i].Chunks.Count;
            }
            var changed = differing.Sum(d => d.Count);
            var mode = NothingWritten;
            if (changed > 0)
            {
                var first = Array.FindIndex(differing, d => d.Count > 0);
                mode = await TakesRangedWritesAsync(client, vm.Site, VSphereClient.FlatExtentOf(targets[first].FileName), cancellationToken).ConfigureAwait(false) ? RangedWrites : WholeDisks;
            }

            long bytes = 0;
            var chunks = 0;
            var writer = new DiskImageWriter(run.Store.Chunks);
            for (var i = 0; i < disks.Count; i++)
            {
                if (differing[i].Count == 0) continue;
                var disk = disks[i];
                var flat = VSphereClient.FlatExtentOf(targets[i].FileName);
                if (mode == RangedWrites)
                {
                    byte[]? zeros = null;
                    foreach (var c in differing[i])
                    {
                        var wanted = disk.Chunks[c];
                        var length = disk.LengthOf(c);
                        var data = wanted.IsZero ? zeros ??= new byte[disk.ChunkSize] : await run.Store.Chunks.ReadChunkAsync(wanted, length, cancellationToken).ConfigureAwait(false);
                        try
                        {
                            await client.WriteFileRangeAsync(flat, disk.OffsetOf(c), data, length, cancellationToken).ConfigureAwait(false);
                        }
                        catch (DiskWriteException)
                        {
                            // The site stopped taking ranged writes: a second failback writes whole disks.
                            await services.Vault.UpdateSiteAsync(vm.Site, s => s with { RangedWrites = false }, null, CancellationToken.None).ConfigureAwait(false);
                            throw;
                        }
                        chunks++;
                        bytes += length;
                    }
                }
                else
                {
                    await run.DiskWrites.WaitAsync(cancellationToken).ConfigureAwait(false);
                    try
                    {
                        await client.UploadFileAsync(flat, (stream, ct) => writer.WriteAsync(disk, stream, ct), disk.Capacity, cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        run.DiskWrites.Release();
                    }
                    chunks += disk.Chunks.Count;
                    bytes += disk.Capacity;
                }
            }

            // Read back what was written before anything depends on it (the recovered VM is deleted only after this).
            for (var i = 0; i < disks.Count; i++)
            {
                if (differing[i].Count == 0) continue;
                await VerifyDiskAsync(client, vm, VSphereClient.FlatExtentOf(targets[i].FileName), disks[i], run.Store.Chunks, pointId, cancellationToken).ConfigureAwait(false);
            }

            originalStarted.Value = true;
            var poweredOnAt = DateTimeOffset.UtcNow;
            await client.PowerOnAsync(vm.MoRef, cancellationToken).ConfigureAwait(false);
            string? ip = null;
            string? guestWait = null;
            if (member.Settings.WaitFor != VmStartCondition.PowerOn)
            {
                var guest = await client.WaitForGuestAsync(vm.MoRef, member.Settings.WaitFor == VmStartCondition.IpAddress, member.Settings.StartTimeout, cancellationToken).ConfigureAwait(false);
                ip = guest.IpAddress;
                guestWait = client.GuestWaitMethod;
            }

            var how = mode switch
            {
                RangedWrites => $"{changed} of {compared} chunk(s) differed and were written ({bytes} bytes, ranged writes)",
                WholeDisks => $"{changed} of {compared} chunk(s) differed; site '{vm.Site}' does not take ranged writes, so the whole disk(s) were written ({bytes} bytes)",
                _ => $"0 of {compared} chunk(s) differed: nothing was written",
            };
            var details = StepDetails.Recovered(vm, point, vm.Site, vm.MoRef, original.Name, ip, bytes, chunks);
            details[JobStepDetail.WriteMode] = mode;
            details.Started(poweredOnAt, guestWait);
            return StepOutcome.Done($"{vm.Name} is back on site '{vm.Site}': {how}{(changed > 0 ? "; read back and verified" : "")}.", details);
        }

        /// <summary>The chunks of a disk whose bytes on the datastore differ from the point's.</summary>
        private static async Task<List<int>> DifferingChunksAsync(VSphereClient client, string flat, DiskManifest disk, ChunkStore chunks, CancellationToken cancellationToken)
        {
            var differing = new List<int>();
            var buffer = new byte[disk.ChunkSize];
            for (var c = 0; c < disk.Chunks.Count; c++)
            {
                var length = disk.LengthOf(c);
                await client.ReadDiskAsync(flat, disk.OffsetOf(c), buffer, length, cancellationToken).ConfigureAwait(false);
                if (ChunkStore.HashOf(buffer, length) != disk.Chunks[c]) differing.Add(c);
            }
            return differing;
        }

        /// <summary>Re-reads a written disk and compares every chunk with the point: FailbackVerifyFailed at a chunk that differs, or when the file's length changed.</summary>
        private static async Task VerifyDiskAsync(VSphereClient client, ProtectedVm vm, string flat, DiskManifest disk, ChunkStore chunks, string pointId, CancellationToken cancellationToken)
        {
            var length = await client.GetFileLengthAsync(flat, cancellationToken).ConfigureAwait(false);
            if (length is long actual && actual != disk.Capacity)
            {
                throw VerifyFailed(vm, flat, disk, pointId, $"the file is {actual} bytes long, not {disk.Capacity}");
            }
            var differing = await DifferingChunksAsync(client, flat, disk, chunks, cancellationToken).ConfigureAwait(false);
            if (differing.Count > 0)
            {
                var c = differing[0];
                throw VerifyFailed(vm, flat, disk, pointId, $"chunk {c} (offset {disk.OffsetOf(c)}, {disk.LengthOf(c)} bytes) differs" + (differing.Count > 1 ? $", and {differing.Count - 1} more" : ""));
            }
        }

        private static DiskWriteException VerifyFailed(ProtectedVm vm, string flat, DiskManifest disk, string pointId, string what) =>
            new DiskWriteException("FailbackVerifyFailed", vm.Name,
                $"Failback of '{vm.Name}' wrote disk {disk.DiskKey} ('{flat}') on site '{vm.Site}', but reading it back does not give recovery point {pointId}: {what}. " +
                $"The original VM was not started; the recovered VM on site '{vm.RecoveredSite}' is kept and runs again, and '{vm.Name}' stays Reprotected: " +
                "run Invoke-Failback again to write the disk again.");

        /// <summary>Whether the site's datastore interface takes ranged writes: probed once (next to the disk, on a scratch file) and remembered in the vault.</summary>
        private async Task<bool> TakesRangedWritesAsync(VSphereClient client, string siteName, string diskFile, CancellationToken cancellationToken)
        {
            var site = await services.Vault.FindSiteAsync(siteName, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("Site", siteName);
            if (site.RangedWrites is bool known) return known;
            var probed = await client.ProbeRangedWritesAsync(diskFile, cancellationToken).ConfigureAwait(false);
            await services.Vault.UpdateSiteAsync(siteName, s => s with { RangedWrites = probed }, null, CancellationToken.None).ConfigureAwait(false);
            return probed;
        }

        /// <summary>After a failed failback step: the recovered VM (still holding the VM's data) runs again; best effort.</summary>
        private static async Task RestartRecoveredAsync(RecoveryRun run, ProtectedVm vm)
        {
            if (vm.RecoveredSite is null || vm.RecoveredMoRef is null) return;
            try
            {
                var recoverySite = await run.RecoverySiteAsync(vm.RecoveredSite, CancellationToken.None).ConfigureAwait(false);
                await recoverySite.StartIfStoppedAsync(vm.RecoveredMoRef, CancellationToken.None).ConfigureAwait(false);
            }
            catch (DRException)
            {
                // The step's own error says what failed; the VM can be started by hand.
            }
        }

        /// <summary>After failback: the recovered VM is deleted, the record points at the original VM again, and a cycle makes its first point there.</summary>
        private async Task<StepOutcome> ProtectForwardAsync(RecoveryRun run, string vmId, CancellationToken cancellationToken)
        {
            var vm = await VmAsync(vmId, cancellationToken).ConfigureAwait(false);
            if (vm.State == ProtectionState.Reprotected)
            {
                if (vm.RecoveredSite != null && vm.RecoveredMoRef != null)
                {
                    var recoverySite = await run.RecoverySiteAsync(vm.RecoveredSite, cancellationToken).ConfigureAwait(false);
                    await recoverySite.DestroyVmAsync(vm.RecoveredMoRef, cancellationToken).ConfigureAwait(false);
                }

                var client = await run.SiteAsync(vm.Site, cancellationToken).ConfigureAwait(false);
                var original = await client.GetVmAsync(vm.MoRef, cancellationToken).ConfigureAwait(false)
                    ?? throw new RecoveryException("VmGone", FailureKind.NotFound, vm.Name, $"The original VM '{vm.Name}' ({vm.MoRef}) is not on site '{vm.Site}' any more.");
                await client.SetChangeTrackingAsync(vm.MoRef, true, cancellationToken).ConfigureAwait(false);
                vm = await services.Vault.UpdateProtectedVmAsync(vmId, v => v with
                {
                    State = ProtectionState.Protected,
                    RecoveredSite = null,
                    RecoveredMoRef = null,
                    PreFailoverPointId = null,
                    Disks = original.Disks.Select(d => new ProtectedDisk { Key = d.Key, Label = d.Label, FileName = d.FileName, CapacityBytes = d.CapacityBytes }).ToArray(),
                }, CancellationToken.None).ConfigureAwait(false);
            }
            if (!vm.IsReplicating)
            {
                return StepOutcome.Done($"{vm.Name} is {vm.State}: not replicated.");
            }

            var result = await new VmReplicator(services.Vault, services.OpenStore, services.ReplicaContainers).RunCycleAsync(vmId, cancellationToken).ConfigureAwait(false);
            return StepOutcome.Done($"{vm.Name} is protected from site '{vm.Site}' again: point {result.Point?.RecoveryPointId}, {result.ChunksStored} new chunk(s).");
        }
    }
}
