using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication.Scheduling;
using AzureSiteRecovery.DR.Core.Replication.Sources;
using AzureSiteRecovery.DR.Core.Sites;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using AzureSiteRecovery.DR.Core.Storage;
using AzureSiteRecovery.DR.Core.Transfers.Retries;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Replication
{
    /// <summary>What one replication cycle of a VM did.</summary>
    public sealed record CycleResult
    {
        public ProtectedVm Vm { get; init; } = new ProtectedVm();
        /// <summary>The point the cycle committed; null when its chunks went to the spool (the store was unreachable).</summary>
        public RecoveryPoint? Point { get; init; }
        /// <summary>
        /// How the changed areas were found: Full (first copy), ChangedBlockTracking, or Digest (whole disk read and compared);
        /// "+Resumed" when the cycle went on from what an interrupted one had stored (its resume record).
        /// </summary>
        public string Mode { get; init; } = "";
        public long BytesRead { get; init; }
        /// <summary>Bytes interrupted cycles had read and stored that this cycle took from their resume record instead of reading them again.</summary>
        public long ResumedBytes { get; init; }
        /// <summary>Transient network faults the cycle's transfers met and retried (connection cut, stall, 503, ...).</summary>
        public int Retries { get; init; }
        /// <summary>The rate the source was read at: BytesRead / the copy's time, in MiB/s (0 when nothing was read).</summary>
        public double TransferMiBps { get; init; }
        /// <summary>When the copy of the disks began and how long it took (what <see cref="TransferMiBps"/> is over); several cycles' copies overlap by them.</summary>
        public DateTimeOffset CopyStarted { get; init; }
        public TimeSpan CopyTime { get; init; }
        public int ChunksRead { get; init; }
        public int ChunksStored { get; init; }
        public long BytesStored { get; init; }
        public int ChunksSpooled { get; init; }
        public int PointsExpired { get; init; }
        /// <summary>For a group recovered to Azure: bytes sent to the replica page blobs (changed chunks and footers).</summary>
        public long ReplicaBytesSent { get; init; }
        /// <summary>Chunks written to the replica blobs (Put Page).</summary>
        public int ReplicaChunksWritten { get; init; }
        /// <summary>Chunks of the replica blobs cleared because they became all zeros (Clear Pages).</summary>
        public int ReplicaChunksCleared { get; init; }
        public TimeSpan Duration { get; init; }
        /// <summary>When the cycle began (its lease taken); with <see cref="Duration"/>, the span it held the VM.</summary>
        public DateTimeOffset Started { get; init; }
        /// <summary>Who ran it: the lease owner (machine/pid/suffix; a worker's id under Sync-VmReplication -Continuous).</summary>
        public string Worker { get; init; } = "";
    }

    /// <summary>Progress of a cycle: the step and, while copying, the bytes done of the bytes to look at.</summary>
    public sealed record CycleProgress(string VmName, string Step, long BytesDone, long BytesTotal);

    /// <summary>A VM's lease taken for one cycle (<see cref="VmReplicator.TryClaimAsync"/>), with the VM as read under it.</summary>
    public sealed record CycleClaim(ProtectedVm Vm, LeaseClaim Lease);

    /// <summary>
    /// The process server's work for one VM: snapshot, changed extents (CBT, or a full digest
    /// compare when CBT cannot answer), chunk and store, commit the point, remove the snapshot.
    /// Every step is safe to repeat: a cycle killed anywhere leaves the previous point as it was,
    /// and its snapshot is found and removed by the next cycle. A lease in the vault keeps two
    /// processes from cycling the same VM at once: short (<see cref="LeaseDuration"/>), renewed every
    /// third of it while the cycle runs, and checked again when the point is committed, so a worker
    /// that dies loses its VMs to the others once the lease expires, and a cycle whose lease was
    /// taken over meanwhile commits nothing.
    /// </summary>
    public sealed class VmReplicator
    {
        /// <summary>Our snapshots are named with this prefix, so a snapshot left by a killed cycle is recognised.</summary>
        public const string SnapshotPrefix = "azsr-dr-";
        /// <summary>How long a cycle's lease lasts unless renewed (renewed every third of it while the cycle runs).</summary>
        public static readonly TimeSpan DefaultLeaseDuration = TimeSpan.FromMinutes(2);
        /// <summary>The shortest lease allowed: renewals every third of it must still fit vault round trips.</summary>
        public static readonly TimeSpan MinimumLeaseDuration = TimeSpan.FromSeconds(3);
        private TimeSpan leaseDuration = DefaultLeaseDuration;
        private TimeSpan resumeCheckpointInterval = TimeSpan.FromSeconds(30);
        private int resumeCheckpointChunks = 64;

        private readonly IVault vault;
        private readonly Func<ReplicationStore> openStore;
        private readonly string leaseOwner;
        private readonly ReplicaContainerLocator? replicaContainers;

        /// <param name="vault">The vault holding the protected VMs and their points.</param>
        /// <param name="openStore">Opens the chunk store; each cycle gets its own, as a store's memory of known chunks must not outlive a cycle (garbage collection runs in between).</param>
        /// <param name="replicaContainers">Finds the replica container of an Azure recovery site; null: no replica is kept (and none deleted).</param>
        /// <param name="leaseOwner">Who the cycles' leases are taken for (a worker's id); null: a new owner id of this process.</param>
        public VmReplicator(IVault vault, Func<ReplicationStore> openStore, ReplicaContainerLocator? replicaContainers = null, string? leaseOwner = null)
        {
            this.vault = vault;
            this.openStore = openStore;
            this.replicaContainers = replicaContainers;
            this.leaseOwner = leaseOwner ?? ProcessOwner.NewId();
        }

        /// <summary>Who this replicator's cycles take their leases for.</summary>
        public string LeaseOwner => leaseOwner;

        /// <summary>How long a cycle's lease on its VM lasts without renewal (the time a dead worker's VMs wait for another); default 2 minutes.</summary>
        public TimeSpan LeaseDuration
        {
            get => leaseDuration;
            set => leaseDuration = value >= MinimumLeaseDuration ? value
                : throw new InvalidSettingException("Replication", "LeaseDuration", nameof(LeaseDuration),
                    $"A lease duration of {value} is too short: it must be at least {MinimumLeaseDuration} (renewed every third of it while a cycle runs).");
        }

        /// <summary>How often a copy writes its resume record (what it has stored so far, so a killed process does not start over); default 30 seconds.</summary>
        public TimeSpan ResumeCheckpointInterval
        {
            get => resumeCheckpointInterval;
            set => resumeCheckpointInterval = value > TimeSpan.Zero ? value
                : throw new InvalidSettingException("Replication", "ResumeCheckpointInterval", nameof(ResumeCheckpointInterval), $"A resume checkpoint interval of {value} is not valid: it must be positive.");
        }

        /// <summary>A copy also writes its resume record after every this many chunks stored; default 64 (256 MiB at 4 MiB chunks).</summary>
        public int ResumeCheckpointChunks
        {
            get => resumeCheckpointChunks;
            set => resumeCheckpointChunks = value > 0 ? value
                : throw new InvalidSettingException("Replication", "ResumeCheckpointChunks", nameof(ResumeCheckpointChunks), $"A resume checkpoint every {value} chunks is not valid: it must be at least 1.");
        }

        /// <summary>Records the VM in the group and turns CBT on; the first cycle then makes the full copy.</summary>
        public async Task<ProtectedVm> EnableAsync(DiscoveredVm vm, string group, CancellationToken cancellationToken)
        {
            var added = await vault.AddProtectedVmAsync(new ProtectedVm
            {
                VmId = Guid.NewGuid().ToString("N"),
                Name = vm.Name,
                ProtectionGroup = group,
                Site = vm.Site,
                MoRef = vm.MoRef,
                InstanceUuid = vm.InstanceUuid,
                State = ProtectionState.InitialSync,
                GuestId = vm.GuestId,
                NumCpu = vm.NumCpu,
                MemoryMB = vm.MemoryMB,
                Firmware = vm.Firmware,
                Networks = vm.Networks,
                Disks = vm.Disks.Select(d => new ProtectedDisk { Key = d.Key, Label = d.Label, FileName = d.FileName, CapacityBytes = d.CapacityBytes }).ToArray(),
            }, cancellationToken).ConfigureAwait(false);

            if (!vm.ChangeTrackingEnabled)
            {
                try
                {
                    using var client = await SiteConnector.ConnectVSphereAsync(vault, vm.Site, cancellationToken).ConfigureAwait(false);
                    await client.SetChangeTrackingAsync(vm.MoRef, true, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    // Not protected unless it can be replicated: take the record back.
                    await vault.RemoveProtectedVmAsync(added.VmId, CancellationToken.None).ConfigureAwait(false);
                    throw;
                }
            }

            return added;
        }

        /// <summary>
        /// Stops protection: removes our snapshots and turns CBT off (best effort when the site is
        /// unreachable) and, with <paramref name="removeData"/>, deletes the VM's points from the store.
        /// Refused (VmFailedOver) for a VM that is failed over or reprotected: its points are the way back.
        /// </summary>
        public async Task DisableAsync(ProtectedVm vm, bool removeData, CancellationToken cancellationToken)
        {
            RefuseIfFailedOver(new[] { vm });
            // Found before anything changes: when the storage account cannot be found, the VM stays protected and nothing is lost.
            var replica = removeData ? await OpenReplicaAsync(vm.ProtectionGroup, cancellationToken).ConfigureAwait(false) : null;
            try
            {
                using var client = await SiteConnector.ConnectVSphereAsync(vault, vm.Site, cancellationToken).ConfigureAwait(false);
                await VSphereReplicationSource.RemoveLeftoverSnapshotsAsync(client, vm.MoRef, cancellationToken).ConfigureAwait(false);
                await client.SetChangeTrackingAsync(vm.MoRef, false, cancellationToken).ConfigureAwait(false);
            }
            catch (DRException ex) when (ex.Kind == FailureKind.Unavailable || ex.Kind == FailureKind.NotFound)
            {
                // A VM that is gone or a site that is down must still be removable from protection.
            }

            var points = await vault.RemoveProtectedVmAsync(vm.VmId, cancellationToken).ConfigureAwait(false);
            if (removeData)
            {
                using var store = openStore();
                foreach (var point in points)
                {
                    await store.Chunks.DeletePointAsync(point.VmId, point.RecoveryPointId, cancellationToken).ConfigureAwait(false);
                }
                await store.Chunks.DeleteResumeAsync(vm.VmId, cancellationToken).ConfigureAwait(false);
                if (replica != null)
                {
                    await replica.DeleteVmAsync(vm.VmId, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        private Task<AzureReplica?> OpenReplicaAsync(string group, CancellationToken cancellationToken) =>
            AzureReplica.OpenForGroupAsync(vault, replicaContainers, group, cancellationToken);

        /// <summary>
        /// Removes a protection group and stops the protection of each of its VMs as
        /// <see cref="DisableAsync"/> does; when one of them is failed over or reprotected nothing
        /// changes (VmFailedOver).
        /// </summary>
        public async Task RemoveGroupAsync(string group, bool removeData, CancellationToken cancellationToken)
        {
            var found = await vault.FindGroupAsync(group, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("ProtectionGroup", group);
            var vms = await vault.ListProtectedVmsAsync(found.Name, cancellationToken).ConfigureAwait(false);
            RefuseIfFailedOver(vms);
            foreach (var vm in vms)
            {
                await DisableAsync(vm, removeData, cancellationToken).ConfigureAwait(false);
            }
            await vault.RemoveGroupAsync(found.Name, false, cancellationToken).ConfigureAwait(false);
        }

        private static void RefuseIfFailedOver(IReadOnlyCollection<ProtectedVm> vms)
        {
            var away = vms.Where(v => v.State == ProtectionState.FailedOver || v.State == ProtectionState.FailoverCommitted || v.State == ProtectionState.Reprotected).ToList();
            if (away.Count > 0)
            {
                throw new ObjectInUseException("VmFailedOver", away[0].Name,
                    $"VM(s) {string.Join(", ", away.Select(v => $"'{v.Name}' ({v.State}, on site '{v.RecoveredSite}')"))} are failed over: their protection and recovery points " +
                    "are the way back to the original VMs, so nothing was changed. Bring them back first (Undo-Failover for a failover not committed, " +
                    "else Invoke-Reprotect and Invoke-Failback), then stop their protection.");
            }
        }

        /// <summary>Runs one cycle for the VM; fails with VmReplicationInProgress while another process cycles it.</summary>
        public async Task<CycleResult> RunCycleAsync(string vmId, CancellationToken cancellationToken, IProgress<CycleProgress>? progress = null)
        {
            // The VM is read once, under the lease; only a busy one is read again, for its name (or why it is not replicating).
            var claim = await TryClaimAsync(vmId, null, cancellationToken).ConfigureAwait(false);
            if (claim is null)
            {
                var vm = await FindReplicatingAsync(vmId, cancellationToken).ConfigureAwait(false);
                throw new ObjectInUseException("VmReplicationInProgress", vm.Name,
                    $"VM '{vm.Name}' is being replicated by another process right now; its cycle will make the next point.");
            }

            return await RunCycleAsync(claim, cancellationToken, progress).ConfigureAwait(false);
        }

        /// <summary>
        /// Takes the VM's lease for one cycle, and reads the VM again under it (what a cycle starts from must be what the
        /// last cycle committed, not what was read before the lease). Null when another process holds the lease, or, with
        /// <paramref name="lastCycleSeen"/>, when the VM was cycled since the caller looked (its LastCycleTime moved: a
        /// worker that listed it as due while another one cycled it must not cycle it again at once); the lease is
        /// released then. Fails with VmFailedOver or ObjectNotFound as <see cref="RunCycleAsync(string, CancellationToken, IProgress{CycleProgress})"/>.
        /// The claim is run (and its lease released) by <see cref="RunCycleAsync(CycleClaim, CancellationToken, IProgress{CycleProgress})"/>,
        /// or given up with <see cref="ReleaseAsync"/>.
        /// </summary>
        public async Task<CycleClaim?> TryClaimAsync(string vmId, DateTimeOffset? lastCycleSeen, CancellationToken cancellationToken)
        {
            var resource = "replication/" + vmId;
            if (!await vault.TryAcquireLeaseAsync(resource, leaseOwner, LeaseDuration, cancellationToken).ConfigureAwait(false)
                && !await TakeOverFromDeadProcessAsync(resource, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var claim = new CycleClaim(new ProtectedVm { VmId = vmId }, new LeaseClaim(resource, leaseOwner));
            try
            {
                var vm = await FindReplicatingAsync(vmId, cancellationToken).ConfigureAwait(false);
                if (lastCycleSeen.HasValue && vm.LastCycleTime != lastCycleSeen)
                {
                    await ReleaseAsync(claim).ConfigureAwait(false);
                    return null;
                }

                return claim with { Vm = vm };
            }
            catch (Exception)
            {
                await ReleaseAsync(claim).ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>Gives up a claim without cycling (its lease released).</summary>
        public Task ReleaseAsync(CycleClaim claim) => vault.ReleaseLeaseAsync(claim.Lease.Resource, claim.Lease.Owner, CancellationToken.None);

        /// <summary>Runs one cycle under a claim from <see cref="TryClaimAsync"/>, renewing its lease meanwhile, and releases it.</summary>
        public async Task<CycleResult> RunCycleAsync(CycleClaim claim, CancellationToken cancellationToken, IProgress<CycleProgress>? progress = null)
        {
            var vm = claim.Vm;
            var started = DateTimeOffset.UtcNow;
            var watch = Stopwatch.StartNew();
            var renewal = new LeaseRenewal(vault, claim.Lease.Resource, claim.Lease.Owner, LeaseDuration, cancellationToken);
            try
            {
                using var store = openStore();
                var result = await CycleAsync(vm, store, progress, claim.Lease, renewal.Token).ConfigureAwait(false);
                return result with { Duration = watch.Elapsed, Started = started, Worker = claim.Lease.Owner };
            }
            catch (OperationCanceledException) when (renewal.Lost && !cancellationToken.IsCancellationRequested)
            {
                // Not an error of the VM: another worker has it now, and its cycle makes the next point.
                throw LeaseLost(vm);
            }
            catch (DRException ex) when (ex.ErrorId == "VmReplicationLeaseLost")
            {
                throw;
            }
            catch (Exception ex) when (!(ex is OperationCanceledException))
            {
                await vault.UpdateProtectedVmAsync(vm.VmId, v => v with
                {
                    // A reprotected VM stays reprotected: the error is in LastError.
                    State = v.State == ProtectionState.Reprotected ? v.State : v.LastRecoveryPointId is null ? ProtectionState.InitialSync : ProtectionState.Error,
                    LastError = ex.Message,
                    LastCycleTime = DateTimeOffset.UtcNow,
                }, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            finally
            {
                await renewal.StopAsync().ConfigureAwait(false);
                await ReleaseAsync(claim).ConfigureAwait(false);
            }
        }

        private async Task<ProtectedVm> FindReplicatingAsync(string vmId, CancellationToken cancellationToken)
        {
            var vm = await vault.FindProtectedVmAsync(vmId, cancellationToken).ConfigureAwait(false)
                ?? throw new ObjectNotFoundException("ProtectedVm", vmId);
            if (!vm.IsReplicating)
            {
                throw new ObjectInUseException("VmFailedOver", vm.Name,
                    $"VM '{vm.Name}' is failed over ({vm.State}) and runs on site '{vm.RecoveredSite}': replication resumes after Undo-Failover, or from the recovered VM after Invoke-Reprotect.");
            }

            return vm;
        }

        private static ObjectInUseException LeaseLost(ProtectedVm vm) =>
            new ObjectInUseException("VmReplicationLeaseLost", vm.Name,
                $"The cycle of VM '{vm.Name}' lost its lease to another worker (it could not be renewed in time) and was cancelled before it committed; " +
                "the other worker's cycle makes the next point. Check the vault's reachability and the worker's load.");

        /// <summary>A lease held by a process of this machine that no longer runs (killed mid-cycle) is taken over at once.</summary>
        private async Task<bool> TakeOverFromDeadProcessAsync(string resource, CancellationToken cancellationToken)
        {
            var holder = await vault.FindLeaseHolderAsync(resource, cancellationToken).ConfigureAwait(false);
            if (holder is null || !ProcessOwner.IsGone(holder))
            {
                return false;
            }

            await vault.BreakLeaseAsync(resource, holder!, cancellationToken).ConfigureAwait(false);
            return await vault.TryAcquireLeaseAsync(resource, leaseOwner, LeaseDuration, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>MiB/s of <paramref name="bytes"/> over <paramref name="elapsed"/>, to 0.01; 0 when nothing was read.</summary>
        internal static double TransferRate(long bytes, TimeSpan elapsed) =>
            bytes <= 0 || elapsed <= TimeSpan.Zero ? 0 : Math.Round(bytes / (1024.0 * 1024.0) / elapsed.TotalSeconds, 2);

        private async Task<CycleResult> CycleAsync(ProtectedVm vm, ReplicationStore store, IProgress<CycleProgress>? progress, LeaseClaim lease, CancellationToken cancellationToken)
        {
            var group = await vault.FindGroupAsync(vm.ProtectionGroup, cancellationToken).ConfigureAwait(false)
                ?? throw new ObjectNotFoundException("ProtectionGroup", vm.ProtectionGroup);
            var policy = await vault.FindPolicyAsync(group.Policy, cancellationToken).ConfigureAwait(false)
                ?? throw new ObjectNotFoundException("ReplicationPolicy", group.Policy);
            // Every transfer of the cycle (SOAP, datastore reads, store and replica writes) draws its retries from one budget, stalls bounded by the policy.
            using var retries = RetryBudget.Begin(RetrySettings.Default with { StallTimeout = policy.TransferStallTimeout });

            // Chunks spooled by an earlier cycle go first, so this point never names a chunk that is only in the spool.
            if (store.Objects.Spool.ListAsync("", cancellationToken) is var spooled && await AnyAsync(spooled, cancellationToken).ConfigureAwait(false))
            {
                progress?.Report(new CycleProgress(vm.Name, "Draining the spool", 0, 0));
                await store.Objects.DrainAsync(cancellationToken).ConfigureAwait(false);
            }

            // A reprotected VM is copied from its recovered VM on the recovery site (a vSphere or an Azure VM).
            var reprotected = vm.State == ProtectionState.Reprotected;
            using var source = await ReplicationSources.OpenAsync(vault, vm, cancellationToken).ConfigureAwait(false);
            // Before anything is read: the same site and the same VM as when it was protected (or recovered); leftovers of a killed cycle removed.
            await source.PrepareAsync(cancellationToken).ConfigureAwait(false);
            // The hardware a recovered copy gets is the VM's as of its newest point (the protected site's VM: a recovered VM's networks are the recovery site's).
            var hardware = reprotected ? null : await source.ReadHardwareAsync(cancellationToken).ConfigureAwait(false);

            var now = DateTimeOffset.UtcNow;
            var appConsistentDue = policy.AppConsistentFrequency > TimeSpan.Zero
                && (vm.LastAppConsistentPointTime is null || now - vm.LastAppConsistentPointTime >= policy.AppConsistentFrequency);
            var pointId = Guid.NewGuid().ToString("N");
            progress?.Report(new CycleProgress(vm.Name, appConsistentDue ? "Taking a quiesced snapshot" : "Taking a snapshot", 0, 0));
            var snapshot = await source.TakeSnapshotAsync(pointId, appConsistentDue, cancellationToken).ConfigureAwait(false);
            var consistency = snapshot.Consistency;
            var snapshotTime = DateTimeOffset.UtcNow;
            CycleResume? resume = null;
            var pointCommitted = false;
            try
            {
                // What an interrupted cycle stored is not read again (CycleResume says how, and why CBT rather than its snapshot).
                resume = await CycleResume.StartAsync(store.Chunks, vm, ResumeCheckpointInterval, ResumeCheckpointChunks, cancellationToken).ConfigureAwait(false);
                var disks = snapshot.Disks;
                RecoveryPointManifest? previous = null;
                try
                {
                    previous = vm.LastRecoveryPointId is null
                        ? null
                        : await store.Chunks.ReadPointAsync(vm.VmId, vm.LastRecoveryPointId, cancellationToken).ConfigureAwait(false);
                }
                catch (StoreUnavailableException)
                {
                    // The store is down: copy without the last point (whole disk) so the chunks still go to the spool.
                }

                var written = new List<DiskManifest>();
                var modes = new HashSet<string>();
                long bytesRead = 0, bytesStored = 0, resumedBytes = 0;
                int chunksRead = 0, chunksStored = 0;
                var total = disks.Sum(d => d.CapacityBytes);
                long done = 0;
                var copyStarted = DateTimeOffset.UtcNow;
                var copyWatch = Stopwatch.StartNew();
                foreach (var disk in disks)
                {
                    var diskKey = disk.Key.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    var previousDisk = previous?.Disks.FirstOrDefault(d => d.DiskKey == diskKey);
                    var previousChangeId = vm.Disks.FirstOrDefault(d => d.Key == disk.Key)?.ChangeId;
                    var ((baseline, changed, diskMode), resumedDisk, checkpoint) = await resume.PlanAsync(snapshot, disk, previousDisk, previousChangeId, cancellationToken).ConfigureAwait(false);
                    modes.Add(diskMode);
                    if (resumedDisk > 0) modes.Add("Resumed");
                    resumedBytes += resumedDisk;

                    var doneBefore = done;
                    var diskProgress = progress is null ? null : new Progress<long>(bytes =>
                        progress.Report(new CycleProgress(vm.Name, $"Copying {disk.Label} ({diskMode})", doneBefore + bytes, total)));
                    var result = await store.Chunks.WriteDiskAsync(diskKey, disk.CapacityBytes,
                        snapshot.ReaderOf(disk),
                        baseline, changed, cancellationToken, diskProgress, checkpoint).ConfigureAwait(false);
                    written.Add(result.Manifest);
                    bytesRead += result.BytesRead;
                    chunksRead += result.ChunksRead;
                    chunksStored += result.ChunksStored;
                    bytesStored += result.BytesStored;
                    done += disk.CapacityBytes;
                }

                var copyTime = copyWatch.Elapsed;
                var transferMiBps = TransferRate(bytesRead, copyTime);
                var manifest = new RecoveryPointManifest(vm.VmId, pointId, snapshotTime,
                    consistency, written);
                var outcome = await store.Chunks.WritePointAsync(manifest, cancellationToken).ConfigureAwait(false);
                var mode = string.Join("+", modes.OrderBy(m => m));
                if (outcome == PointWriteOutcome.Spooled)
                {
                    await resume.SaveAsync().ConfigureAwait(false);
                    // Not committed: the next cycle drains the spool and copies again from the last committed point, so nothing is lost.
                    var spooledVm = await vault.UpdateProtectedVmAsync(vm.VmId, v => v with
                    {
                        LastError = $"The chunk store '{store.Objects.Location}' was unreachable; {chunksStored} chunk(s) went to the local spool and will be sent by the next cycle.",
                        LastCycleTime = snapshotTime,
                    }, cancellationToken).ConfigureAwait(false);
                    return new CycleResult { Vm = spooledVm, Mode = mode, BytesRead = bytesRead, ResumedBytes = resumedBytes, ChunksRead = chunksRead, ChunksSpooled = chunksStored, Retries = retries.Spent, TransferMiBps = transferMiBps, CopyStarted = copyStarted, CopyTime = copyTime };
                }

                // A group recovered to Azure: its replica blobs are brought to the point and snapshotted before the point is committed,
                // so a committed point always names snapshots that exist (a failure here fails the cycle, committing nothing).
                // A reprotected VM's copy runs from the recovery site back home: the replica has nothing to take from it.
                var replica = reprotected ? null : await OpenReplicaAsync(group.Name, cancellationToken).ConfigureAwait(false);
                ReplicaWriteResult? replicaWrite = null;
                if (replica != null)
                {
                    progress?.Report(new CycleProgress(vm.Name, "Writing the Azure replica", 0, 0));
                    replicaWrite = await replica.WritePointAsync(manifest, store.Chunks, cancellationToken).ConfigureAwait(false);
                }

                var point = new RecoveryPoint
                {
                    RecoveryPointId = pointId,
                    VmId = vm.VmId,
                    VmName = vm.Name,
                    Time = snapshotTime,
                    Consistency = consistency,
                    SizeBytes = total,
                    ChangedBytes = bytesRead,
                    StoredBytes = bytesStored,
                    ChunkCount = written.Sum(d => d.Chunks.Count(h => !h.IsZero)),
                    ManifestKey = manifest.ObjectKey,
                    ReplicaSnapshots = replicaWrite?.Snapshots ?? Array.Empty<ReplicaSnapshot>(),
                };
                var committed = await vault.CommitRecoveryPointAsync(point, v => v with
                {
                    State = v.State == ProtectionState.Reprotected ? ProtectionState.Reprotected : ProtectionState.Protected,
                    Disks = disks.Select(d => new ProtectedDisk { Key = d.Key, Label = d.Label, FileName = d.FileName, CapacityBytes = d.CapacityBytes, ChangeId = d.ChangeId }).ToArray(),
                    LastRecoveryPointId = pointId,
                    LastRecoveryPointTime = snapshotTime,
                    LastAppConsistentPointTime = consistency == PointConsistency.AppConsistent ? snapshotTime : v.LastAppConsistentPointTime,
                    LastCycleTime = snapshotTime,
                    BytesSent = v.BytesSent + bytesStored,
                    LastTransferMiBps = bytesRead > 0 ? transferMiBps : v.LastTransferMiBps,
                    LastError = null,
                    GuestId = hardware?.GuestId ?? v.GuestId,
                    NumCpu = hardware?.NumCpu ?? v.NumCpu,
                    MemoryMB = hardware?.MemoryMB ?? v.MemoryMB,
                    Firmware = hardware?.Firmware ?? v.Firmware,
                    Networks = hardware?.Networks ?? v.Networks,
                }, lease, cancellationToken).ConfigureAwait(false);
                pointCommitted = true;
                await resume.DiscardAsync().ConfigureAwait(false);

                var expired = await ApplyRetentionAsync(committed, group, policy, store, replica, cancellationToken).ConfigureAwait(false);
                return new CycleResult
                {
                    Vm = committed,
                    Point = point,
                    Mode = mode,
                    BytesRead = bytesRead,
                    ResumedBytes = resumedBytes,
                    Retries = retries.Spent,
                    TransferMiBps = transferMiBps,
                    CopyStarted = copyStarted,
                    CopyTime = copyTime,
                    ChunksRead = chunksRead,
                    ChunksStored = chunksStored,
                    BytesStored = bytesStored,
                    PointsExpired = expired,
                    ReplicaBytesSent = replicaWrite?.BytesSent ?? 0,
                    ReplicaChunksWritten = replicaWrite?.ChunksWritten ?? 0,
                    ReplicaChunksCleared = replicaWrite?.ChunksCleared ?? 0,
                };
            }
            catch (Exception) when (resume != null && !pointCommitted)
            {
                // Any failure, Ctrl+C too: what was stored so far is the next cycle's starting point.
                await resume.SaveAsync().ConfigureAwait(false);
                throw;
            }
            finally
            {
                if (resume != null) await resume.StopAsync().ConfigureAwait(false);
                // Always, also after a failure or Ctrl+C: a snapshot left behind grows on the datastore.
                progress?.Report(new CycleProgress(vm.Name, "Removing the snapshot", 0, 0));
                await snapshot.RemoveAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }

        /// <summary>
        /// Deletes points older than the policy's retention, always keeping the newest, and, until
        /// failback ends, the last point from before a failover (the original disks' only old copy).
        /// A point's replica snapshots go with it; one that cannot be deleted now (storage down) is
        /// swept by a later cycle's replica write, as a snapshot no point names.
        /// </summary>
        private async Task<int> ApplyRetentionAsync(ProtectedVm vm, ProtectionGroup group, ReplicationPolicy policy, ReplicationStore store, AzureReplica? replica, CancellationToken cancellationToken)
        {
            var points = await vault.ListRecoveryPointsAsync(vm.VmId, cancellationToken).ConfigureAwait(false);
            var cutoff = DateTimeOffset.UtcNow - policy.RecoveryPointRetention;
            var expired = points.Take(points.Count - 1).Where(p => p.Time < cutoff && p.RecoveryPointId != vm.PreFailoverPointId).ToArray();
            foreach (var point in expired)
            {
                // Vault first: a point the vault no longer names is never used, and its manifest is garbage either way.
                await vault.RemoveRecoveryPointAsync(point.RecoveryPointId, cancellationToken).ConfigureAwait(false);
                await store.Chunks.DeletePointAsync(point.VmId, point.RecoveryPointId, cancellationToken).ConfigureAwait(false);
                if (point.ReplicaSnapshots.Count > 0)
                {
                    replica ??= await OpenReplicaAsync(group.Name, cancellationToken).ConfigureAwait(false);
                    try
                    {
                        if (replica != null) await replica.DeleteSnapshotsAsync(point.ReplicaSnapshots, cancellationToken).ConfigureAwait(false);
                    }
                    catch (DRException ex) when (ex.Kind == FailureKind.Unavailable)
                    {
                        // Swept later: the point is gone from the vault, so its snapshots are named by none.
                    }
                }
            }

            return expired.Length;
        }

        private static async Task<bool> AnyAsync(IAsyncEnumerable<StoredObject> objects, CancellationToken cancellationToken)
        {
            await foreach (var _ in objects.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                return true;
            }

            return false;
        }
    }
}
