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
    /// <summary>
    /// Brings a protected VM up on a vSphere recovery site from a recovery point: creates the VM
    /// (tagged with the job, so it can always be found again) with empty disks of the point's
    /// sizes, streams each disk's image from the chunk store into its flat file, powers it on and
    /// waits until it is up. Idempotent: a VM this job made for this protected VM before (a retried
    /// step) is deleted first, so a retry never leaves two. Everything a job makes is the VM itself
    /// (its files go with it), found again by the job's extraConfig keys: no journal is needed.
    /// </summary>
    internal sealed class VSphereVmRecovery : IRecoverySite
    {
        private readonly RecoveryRun run;
        private readonly VSphereClient client;

        /// <param name="run">The run the recovery belongs to (chunk store, placement, disk-write throttle).</param>
        /// <param name="client">The run's connection to the site; the run disposes it.</param>
        public VSphereVmRecovery(RecoveryRun run, VSphereClient client)
        {
            this.run = run;
            this.client = client;
        }

        public string Name => client.SiteName;

        public async Task<StepDetails> RecoverVmAsync(VmRecoveryRequest request, CancellationToken cancellationToken)
        {
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

            var poweredOnAt = DateTimeOffset.UtcNow;
            await client.PowerOnAsync(moRef, cancellationToken).ConfigureAwait(false);
            string? ip = null;
            string? guestWait = null;
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
                guestWait = client.GuestWaitMethod;
            }

            var details = StepDetails.Recovered(request.Vm, request.Point, request.RecoverySite, moRef, request.Name, ip, bytes, chunks);
            details.Started(poweredOnAt, guestWait);
            return details;
        }

        /// <summary>The VMs job <paramref name="jobId"/> made on the site (for one protected VM, or all of them).</summary>
        public static Task<IReadOnlyList<DiscoveredVm>> FindAsync(VSphereClient client, string jobId, string? vmId, CancellationToken cancellationToken) =>
            client.FindVmsByExtraConfigAsync(tags =>
                tags.TryGetValue(RecoveryTags.Job, out var job) && job == jobId &&
                (vmId is null || (tags.TryGetValue(RecoveryTags.Vm, out var vm) && vm == vmId)), cancellationToken);

        /// <summary>Deletes every VM (and its files) the job made on the site; returns their names.</summary>
        public async Task<IReadOnlyList<string>> DeleteJobAsync(DRJob job, CancellationToken cancellationToken)
        {
            var deleted = new List<string>();
            foreach (var vm in await FindAsync(client, job.JobId, null, cancellationToken).ConfigureAwait(false))
            {
                await DestroyAsync(client, vm, cancellationToken).ConfigureAwait(false);
                deleted.Add(vm.Name);
            }
            return deleted;
        }

        public async Task<int> DeleteFailoverCopiesAsync(string vmId, CancellationToken cancellationToken)
        {
            var copies = await client.FindVmsByExtraConfigAsync(tags =>
                tags.TryGetValue(RecoveryTags.Vm, out var id) && id == vmId &&
                tags.TryGetValue(RecoveryTags.Kind, out var kind) && kind == RecoveryTags.FailoverKind, cancellationToken).ConfigureAwait(false);
            foreach (var copy in copies)
            {
                await DestroyAsync(client, copy, cancellationToken).ConfigureAwait(false);
            }
            return copies.Count;
        }

        public async Task<IReadOnlyList<string>> SweepTestsAsync(Func<string, CancellationToken, Task<bool>> isOrphan, CancellationToken cancellationToken)
        {
            var swept = new List<string>();
            foreach (var vm in await client.FindVmsByExtraConfigAsync(RecoveryTags.Kind, RecoveryTags.TestKind, cancellationToken).ConfigureAwait(false))
            {
                var config = await client.GetExtraConfigAsync(vm.MoRef, cancellationToken).ConfigureAwait(false);
                if (!config.TryGetValue(RecoveryTags.Job, out var jobId)) continue;
                if (await isOrphan(jobId, cancellationToken).ConfigureAwait(false))
                {
                    await DestroyAsync(client, vm, cancellationToken).ConfigureAwait(false);
                    swept.Add(vm.Name);
                }
            }
            return swept;
        }

        public Task<bool> ShutDownAsync(string vmRef, string name, TimeSpan timeout, CancellationToken cancellationToken) =>
            ShutDownAsync(client, vmRef, name, timeout, cancellationToken);

        /// <summary>Shuts the guest down (VMware Tools), or powers the VM off when there is no running guest; true when it was on.</summary>
        public static async Task<bool> ShutDownAsync(VSphereClient client, string moRef, string name, TimeSpan timeout, CancellationToken cancellationToken)
        {
            var vm = await client.GetVmAsync(moRef, cancellationToken).ConfigureAwait(false)
                ?? throw new RecoveryException("VmGone", FailureKind.NotFound, name, $"VM '{name}' ({moRef}) is not on site '{client.SiteName}' any more.");
            if (vm.PowerState == VmPowerState.PoweredOff) return false;
            try
            {
                await client.ShutdownGuestAsync(moRef, timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (VSphereFaultException e) when (e.FaultName == "ToolsUnavailable" || e.FaultName == "InvalidState" || e.FaultName == "InvalidPowerState")
            {
                await client.PowerOffAsync(moRef, cancellationToken).ConfigureAwait(false);
            }
            return true;
        }

        public async Task<bool> StartIfStoppedAsync(string vmRef, CancellationToken cancellationToken)
        {
            var vm = await client.GetVmAsync(vmRef, cancellationToken).ConfigureAwait(false);
            if (vm?.PowerState != VmPowerState.PoweredOff) return false;
            await client.PowerOnAsync(vmRef, cancellationToken).ConfigureAwait(false);
            return true;
        }

        public async Task DestroyVmAsync(string vmRef, CancellationToken cancellationToken)
        {
            var vm = await client.GetVmAsync(vmRef, cancellationToken).ConfigureAwait(false);
            if (vm != null)
            {
                await DestroyAsync(client, vm, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>The run owns the connection.</summary>
        public void Dispose()
        {
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
}
