using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery
{
    /// <summary>One VM to bring up on a vSphere recovery site: from which point, under which name, on which networks, and how to tell it is up.</summary>
    internal sealed record VmRecoveryRequest
    {
        public string JobId { get; init; } = "";
        public ProtectedVm Vm { get; init; } = new ProtectedVm();
        public RecoveryPoint Point { get; init; } = new RecoveryPoint();
        public string RecoverySite { get; init; } = "";
        /// <summary>The name the recovered VM gets.</summary>
        public string Name { get; init; } = "";
        /// <summary>The recovery network of each NIC, in the source VM's NIC order.</summary>
        public IReadOnlyList<string> Networks { get; init; } = Array.Empty<string>();
        /// <summary><see cref="RecoveryTags.TestKind"/> or <see cref="RecoveryTags.FailoverKind"/>.</summary>
        public string Kind { get; init; } = RecoveryTags.TestKind;
        /// <summary>When the VM may be powered on at the earliest (its group's start plus its boot delay).</summary>
        public DateTimeOffset PowerOnAt { get; init; }
        public VmStartCondition WaitFor { get; init; }
        public TimeSpan StartTimeout { get; init; }
        /// <summary>An earlier run of the step started (its process died, or it failed): a VM it made may exist.</summary>
        public bool IsRetry { get; init; }
    }

    /// <summary>
    /// Brings a protected VM up on a vSphere recovery site from a recovery point: creates the VM
    /// (tagged with the job, so it can always be found again) with empty disks of the point's
    /// sizes, streams each disk's image from the chunk store into its flat file, powers it on and
    /// waits until it is up. Idempotent: a VM this job made for this protected VM before (a retried
    /// step) is deleted first, so a retry never leaves two.
    /// </summary>
    internal sealed class VSphereVmRecovery
    {
        private readonly RecoveryRun run;

        public VSphereVmRecovery(RecoveryRun run) => this.run = run;

        public async Task<StepDetails> RecoverAsync(VmRecoveryRequest request, CancellationToken cancellationToken)
        {
            var client = await run.SiteAsync(request.RecoverySite, cancellationToken).ConfigureAwait(false);
            var manifest = await run.Store.Chunks.ReadPointAsync(request.Vm.VmId, request.Point.RecoveryPointId, cancellationToken).ConfigureAwait(false);
            var placement = await run.PlacementAsync(request.RecoverySite, cancellationToken).ConfigureAwait(false);

            if (request.IsRetry)
            {
                // An earlier run of this step may have made the VM already: start again from nothing.
                foreach (var earlier in await FindAsync(client, request.JobId, request.Vm.VmId, cancellationToken).ConfigureAwait(false))
                {
                    await DestroyAsync(client, earlier, cancellationToken).ConfigureAwait(false);
                }
            }

            var disks = manifest.Disks.OrderBy(d => DiskOrder(d.DiskKey)).ToList();
            var moRef = await client.CreateVmAsync(new VmCreateSpec
            {
                Name = request.Name,
                Datacenter = placement.Datacenter,
                Datastore = placement.Name,
                GuestId = string.IsNullOrEmpty(request.Vm.GuestId) ? "otherGuest64" : request.Vm.GuestId!,
                NumCpu = Math.Max(1, request.Vm.NumCpu),
                MemoryMB = request.Vm.MemoryMB > 0 ? request.Vm.MemoryMB : 512,
                Disks = disks.Select(d => VmDiskSpec.New(d.Capacity)).ToList(),
                Nics = request.Networks.Select(n => new VmNicSpec(n)).ToList(),
                ExtraConfig = new Dictionary<string, string>
                {
                    [RecoveryTags.Job] = request.JobId,
                    [RecoveryTags.Vm] = request.Vm.VmId,
                    [RecoveryTags.Point] = request.Point.RecoveryPointId,
                    [RecoveryTags.Kind] = request.Kind,
                },
                Annotation = $"Recovered by AzureSiteRecovery.DR job {request.JobId} ({request.Kind}) from {request.Vm.Name} at {request.Point.Time:u}.",
            }, cancellationToken).ConfigureAwait(false);

            var created = await client.GetVmAsync(moRef, cancellationToken).ConfigureAwait(false)
                ?? throw new RecoveryException("RecoveredVmMissing", FailureKind.Unavailable, request.Name, $"VM '{request.Name}' ({moRef}) vanished right after it was created on site '{request.RecoverySite}'.");
            var targets = created.Disks.OrderBy(d => d.Key).ToList();
            if (targets.Count != disks.Count)
            {
                throw new RecoveryException("RecoveredVmDisksMismatch", FailureKind.InvalidData, request.Name,
                    $"VM '{request.Name}' was created with {targets.Count} disk(s) but recovery point {request.Point.RecoveryPointId} has {disks.Count}.");
            }

            long bytes = 0;
            var chunks = 0;
            var writer = new DiskImageWriter(run.Store.Chunks);
            for (var i = 0; i < disks.Count; i++)
            {
                var disk = disks[i];
                await run.DiskWrites.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await client.UploadFileAsync(VSphereClient.FlatExtentOf(targets[i].FileName), placement.Datacenter,
                        (stream, ct) => writer.WriteAsync(disk, stream, ct), disk.Capacity, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    run.DiskWrites.Release();
                }
                bytes += disk.Capacity;
                chunks += disk.Chunks.Count(h => !h.IsZero);
            }

            var wait = request.PowerOnAt - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }

            await client.PowerOnAsync(moRef, cancellationToken).ConfigureAwait(false);
            string? ip = null;
            if (request.WaitFor != VmStartCondition.PowerOn)
            {
                GuestState guest;
                try
                {
                    guest = await client.WaitForGuestAsync(moRef, request.WaitFor == VmStartCondition.IpAddress, request.StartTimeout, cancellationToken).ConfigureAwait(false);
                }
                catch (VSphereTimeoutException e)
                {
                    throw new RecoveryException("RecoveredVmNotUp", FailureKind.Unavailable, request.Name,
                        $"VM '{request.Name}' did not come up within its start timeout of {request.StartTimeout} " +
                        $"(waiting for {(request.WaitFor == VmStartCondition.IpAddress ? "a guest heartbeat and an IP address" : "a guest heartbeat")}).", e);
                }
                ip = guest.IpAddress;
            }

            return Details(request.Vm, request.Point, request.RecoverySite, moRef, request.Name, ip, bytes, chunks);
        }

        /// <summary>What a step that brought a VM up records (JobStepDetail keys), for later steps and the drill report.</summary>
        public static StepDetails Details(ProtectedVm vm, RecoveryPoint point, string site, string moRef, string name, string? ip, long bytesWritten, int chunksWritten) =>
            new StepDetails
            {
                [JobStepDetail.Kind] = JobStepKind.RecoverVm,
                [JobStepDetail.VmId] = vm.VmId,
                [JobStepDetail.RecoveryPointId] = point.RecoveryPointId,
                [JobStepDetail.RecoveryPointTime] = point.Time.ToString("o", CultureInfo.InvariantCulture),
                [JobStepDetail.Consistency] = point.Consistency.ToString(),
                [JobStepDetail.RecoveredSite] = site,
                [JobStepDetail.RecoveredMoRef] = moRef,
                [JobStepDetail.RecoveredName] = name,
                [JobStepDetail.IpAddress] = ip,
                [JobStepDetail.UpAt] = DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture),
                [JobStepDetail.BytesWritten] = bytesWritten.ToString(CultureInfo.InvariantCulture),
                [JobStepDetail.ChunksWritten] = chunksWritten.ToString(CultureInfo.InvariantCulture),
                [JobStepDetail.RpoThreshold] = vm.RpoThreshold > TimeSpan.Zero ? vm.RpoThreshold.ToString("c", CultureInfo.InvariantCulture) : null,
            };

        /// <summary>The VMs job <paramref name="jobId"/> made on the site (for one protected VM, or all of them).</summary>
        public static Task<IReadOnlyList<DiscoveredVm>> FindAsync(VSphereClient client, string jobId, string? vmId, CancellationToken cancellationToken) =>
            client.FindVmsByExtraConfigAsync(tags =>
                tags.TryGetValue(RecoveryTags.Job, out var job) && job == jobId &&
                (vmId is null || (tags.TryGetValue(RecoveryTags.Vm, out var vm) && vm == vmId)), cancellationToken);

        /// <summary>Deletes every VM (and its files) job <paramref name="jobId"/> made on the site; returns their names.</summary>
        public static async Task<IReadOnlyList<string>> DeleteAsync(VSphereClient client, string jobId, CancellationToken cancellationToken)
        {
            var deleted = new List<string>();
            foreach (var vm in await FindAsync(client, jobId, null, cancellationToken).ConfigureAwait(false))
            {
                await DestroyAsync(client, vm, cancellationToken).ConfigureAwait(false);
                deleted.Add(vm.Name);
            }
            return deleted;
        }

        /// <summary>Destroys a VM; one already gone counts as destroyed.</summary>
        public static async Task DestroyAsync(VSphereClient client, DiscoveredVm vm, CancellationToken cancellationToken)
        {
            try
            {
                await client.DestroyVmAsync(vm.MoRef, cancellationToken).ConfigureAwait(false);
            }
            catch (VSphereFaultException e) when (e.FaultName == "ManagedObjectNotFound")
            {
            }
        }

        private static long DiskOrder(string diskKey) => long.TryParse(diskKey, NumberStyles.Integer, CultureInfo.InvariantCulture, out var key) ? key : long.MaxValue;
    }

    /// <summary>What a step records (JobStep.Details); null values are left out.</summary>
    internal sealed class StepDetails : Dictionary<string, string>
    {
        public new string? this[string key]
        {
            get => TryGetValue(key, out var value) ? value : null;
            set
            {
                if (value is null) Remove(key);
                else base[key] = value;
            }
        }
    }
}
