using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Core.Vault.Copy
{
    /// <summary>How far a copy is: the phase, and objects done out of those listed so far.</summary>
    public sealed class VaultCopyProgress
    {
        internal VaultCopyProgress(string phase, long done, long total)
        {
            Phase = phase;
            Done = done;
            Total = total;
        }

        /// <summary>"Copying chunks", "Copying records" or "Verifying".</summary>
        public string Phase { get; }
        public long Done { get; }
        public long Total { get; }
    }

    /// <summary>
    /// Copies one vault and its chunk store into another (SQLite to Azure Tables and back, or any
    /// two <see cref="IVault"/>s), then proves the copy: every record reads back equal, every secret
    /// opens with the destination's key, and every recovery point's chunks re-read intact from the
    /// destination store.
    /// <para>
    /// Order, so that a copy killed at any point leaves nothing wrong and a second run finishes it:
    /// the source is only read; the objects (chunks, then point manifests) go first, so no record in
    /// the destination names data it does not have; the records follow, each skipped when the
    /// destination has it already (by id or name). Chunks are copied as they are (encrypted), so the
    /// destination vault must use the source vault's key: the destination chunk store is opened
    /// with it and the verification fails on the first manifest if it is not.
    /// </para>
    /// Leases, workers and events (what the workers saw) are runtime state and are not copied; neither is the chunk store setting
    /// (the destination's own). The vault stamps Created on what it adds (sites, policies, groups,
    /// VMs, plans: their Created is the copy's time), jobs keep theirs.
    /// </summary>
    public sealed class VaultCopy
    {
        private readonly IVault source;
        private readonly IObjectStore sourceObjects;
        private readonly IVault destination;
        private readonly ChunkStore destinationChunks;
        private readonly int parallelism;

        public VaultCopy(IVault source, IObjectStore sourceObjects, IVault destination, ChunkStore destinationChunks, int parallelism = 8)
        {
            this.source = source ?? throw new ArgumentNullException(nameof(source));
            this.sourceObjects = sourceObjects ?? throw new ArgumentNullException(nameof(sourceObjects));
            this.destination = destination ?? throw new ArgumentNullException(nameof(destination));
            this.destinationChunks = destinationChunks ?? throw new ArgumentNullException(nameof(destinationChunks));
            this.parallelism = Math.Max(1, parallelism);
        }

        public async Task<VaultCopyResult> CopyAsync(IProgress<VaultCopyProgress>? progress, CancellationToken cancellationToken)
        {
            if (string.Equals(source.Location, destination.Location, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidSettingException("Vault", destination.Location, "Destination",
                    $"The destination vault '{destination.Location}' is the source vault. Name another vault to copy to.");
            }
            if (string.Equals(sourceObjects.Location, destinationChunks.Store.Location, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidSettingException("Vault", destinationChunks.Store.Location, "ChunkStore",
                    $"The destination chunk store '{destinationChunks.Store.Location}' is the source's. Give the destination a chunk store of its own.");
            }

            var started = DateTimeOffset.UtcNow;
            await RefuseDestinationAheadAsync(cancellationToken).ConfigureAwait(false);
            var objects = await CopyObjectsAsync(progress, cancellationToken).ConfigureAwait(false);
            var records = await CopyRecordsAsync(progress, cancellationToken).ConfigureAwait(false);
            var verification = await VerifyAsync(progress, cancellationToken).ConfigureAwait(false);
            return new VaultCopyResult
            {
                Source = source.Location,
                Destination = destination.Location,
                DestinationChunkStore = destinationChunks.Store.Location,
                ObjectsCopied = objects.Copied,
                ObjectsAlreadyThere = objects.AlreadyThere,
                BytesCopied = objects.Bytes,
                RecordsCopied = records.Copied,
                RecordsAlreadyThere = records.AlreadyThere,
                RecordsVerified = verification.Records,
                PointsVerified = verification.Points,
                ChunksVerified = verification.Chunks,
                Duration = DateTimeOffset.UtcNow - started,
            };
        }

        // A VM the destination replicated on after an earlier copy (it holds points the source does not) would be put back
        // to the source's older state by this copy: refused before anything is written.
        private async Task RefuseDestinationAheadAsync(CancellationToken cancellationToken)
        {
            var ahead = new List<string>();
            foreach (var vm in await destination.ListProtectedVmsAsync(null, cancellationToken).ConfigureAwait(false))
            {
                if (await source.FindProtectedVmAsync(vm.VmId, cancellationToken).ConfigureAwait(false) is null)
                {
                    continue;
                }

                var known = new HashSet<string>((await source.ListRecoveryPointsAsync(vm.VmId, cancellationToken).ConfigureAwait(false)).Select(p => p.RecoveryPointId), StringComparer.Ordinal);
                var newer = (await destination.ListRecoveryPointsAsync(vm.VmId, cancellationToken).ConfigureAwait(false)).Count(p => !known.Contains(p.RecoveryPointId));
                if (newer > 0)
                {
                    ahead.Add($"'{vm.Name}' ({newer} point(s))");
                }
            }

            if (ahead.Count > 0)
            {
                throw new VaultException("VaultCopyDestinationAhead", FailureKind.InvalidArgument, destination.Location,
                    $"The destination vault '{destination.Location}' has recovery points the source '{source.Location}' does not, for VM(s) {string.Join(", ", ahead)}: " +
                    "it was replicated to after an earlier copy, and copying over it would put those VMs back to the source's older state. Nothing was copied. " +
                    "Copy the other way (from the destination into this vault's place), or copy into a new vault.");
            }
        }

        // ---- Objects: chunks first, manifests after, so a manifest never names a chunk the destination lacks. ----

        private async Task<(int Copied, int AlreadyThere, long Bytes)> CopyObjectsAsync(IProgress<VaultCopyProgress>? progress, CancellationToken cancellationToken)
        {
            int copied = 0, alreadyThere = 0;
            long bytes = 0, done = 0;
            foreach (var (prefix, phase) in new[] { (ObjectKeys.ChunkPrefix, "Copying chunks"), (ObjectKeys.PointPrefix, "Copying recovery point manifests") })
            {
                var there = new Dictionary<string, long>(StringComparer.Ordinal);
                await foreach (var listed in destinationChunks.Store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
                {
                    there[listed.Key] = listed.Size;
                }
                var wanted = new List<StoredObject>();
                await foreach (var listed in sourceObjects.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
                {
                    wanted.Add(listed);
                }

                var total = wanted.Count;
                done = 0;
                await BoundedParallel.ForEachAsync(wanted, parallelism, async (listed, ct) =>
                {
                    if (there.TryGetValue(listed.Key, out var size) && size == listed.Size)
                    {
                        Interlocked.Increment(ref alreadyThere);
                    }
                    else
                    {
                        var content = await sourceObjects.GetAsync(listed.Key, ct).ConfigureAwait(false);
                        await destinationChunks.Store.PutAsync(listed.Key, content, ct).ConfigureAwait(false);
                        Interlocked.Increment(ref copied);
                        Interlocked.Add(ref bytes, content.Length);
                    }
                    progress?.Report(new VaultCopyProgress(phase, Interlocked.Increment(ref done), total));
                }, cancellationToken).ConfigureAwait(false);
            }
            return (copied, alreadyThere, bytes);
        }

        // ---- Records: referenced things before what refers to them. ----

        private async Task<(int Copied, int AlreadyThere)> CopyRecordsAsync(IProgress<VaultCopyProgress>? progress, CancellationToken ct)
        {
            int copied = 0, alreadyThere = 0;
            void Count(bool added) { if (added) copied++; else alreadyThere++; }
            const string Phase = "Copying records";

            foreach (var site in await source.ListSitesAsync(ct).ConfigureAwait(false))
            {
                var secret = await source.ReadSiteSecretAsync(site.Name, ct).ConfigureAwait(false);
                Count(await destination.FindSiteAsync(site.Name, ct).ConfigureAwait(false) is null
                    && await Added(() => destination.AddSiteAsync(site, secret, ct)).ConfigureAwait(false));
            }
            foreach (var policy in await source.ListPoliciesAsync(ct).ConfigureAwait(false))
            {
                Count(await destination.FindPolicyAsync(policy.Name, ct).ConfigureAwait(false) is null
                    && await Added(() => destination.AddPolicyAsync(policy, ct)).ConfigureAwait(false));
            }
            foreach (var group in await source.ListGroupsAsync(ct).ConfigureAwait(false))
            {
                Count(await destination.FindGroupAsync(group.Name, ct).ConfigureAwait(false) is null
                    && await Added(() => destination.AddGroupAsync(group, ct)).ConfigureAwait(false));
            }
            progress?.Report(new VaultCopyProgress(Phase, copied + alreadyThere, 0));

            foreach (var vm in await source.ListProtectedVmsAsync(null, ct).ConfigureAwait(false))
            {
                if (await destination.FindProtectedVmAsync(vm.VmId, ct).ConfigureAwait(false) is null)
                {
                    await destination.AddProtectedVmAsync(vm, ct).ConfigureAwait(false);
                    copied++;
                }
                else
                {
                    alreadyThere++;
                }

                var there = new HashSet<string>((await destination.ListRecoveryPointsAsync(vm.VmId, ct).ConfigureAwait(false)).Select(p => p.RecoveryPointId), StringComparer.Ordinal);
                foreach (var point in await source.ListRecoveryPointsAsync(vm.VmId, ct).ConfigureAwait(false))
                {
                    if (there.Contains(point.RecoveryPointId))
                    {
                        alreadyThere++;
                        continue;
                    }
                    await destination.CommitRecoveryPointAsync(point, v => v, ct).ConfigureAwait(false);
                    copied++;
                }

                // After its points (a commit with replica snapshots records what the replica blobs hold): the VM and its replica state as the source has them.
                await destination.UpdateProtectedVmAsync(vm.VmId, _ => vm, ct).ConfigureAwait(false);
                if (await source.FindReplicaStateAsync(vm.VmId, ct).ConfigureAwait(false) is ReplicaState replica)
                {
                    await destination.SaveReplicaStateAsync(replica, ct).ConfigureAwait(false);
                }
                progress?.Report(new VaultCopyProgress(Phase, copied + alreadyThere, 0));
            }

            foreach (var plan in await source.ListRecoveryPlansAsync(ct).ConfigureAwait(false))
            {
                Count(await destination.FindRecoveryPlanAsync(plan.Name, ct).ConfigureAwait(false) is null
                    && await Added(() => destination.AddRecoveryPlanAsync(plan, false, ct)).ConfigureAwait(false));
            }
            foreach (var job in await source.ListJobsAsync(null, ct).ConfigureAwait(false))
            {
                Count(await destination.FindJobAsync(job.JobId, ct).ConfigureAwait(false) is null
                    && await Added(() => destination.AddJobAsync(job, ct)).ConfigureAwait(false));
            }
            progress?.Report(new VaultCopyProgress(Phase, copied + alreadyThere, copied + alreadyThere));
            return (copied, alreadyThere);
        }

        // Another process adding the same record between our check and our add is fine: the record is there.
        private static async Task<bool> Added<T>(Func<Task<T>> add)
        {
            try
            {
                await add().ConfigureAwait(false);
                return true;
            }
            catch (DRException ex) when (ex.Kind == FailureKind.AlreadyExists)
            {
                return false;
            }
        }

        // ---- Verification: read everything back from the destination. ----

        private async Task<(int Records, int Points, int Chunks)> VerifyAsync(IProgress<VaultCopyProgress>? progress, CancellationToken ct)
        {
            var differences = new List<string>();
            var records = 0;

            void Same<T>(string kind, IEnumerable<T> expected, IEnumerable<T> actual, Func<T, string> id) where T : class
            {
                var copies = actual.ToDictionary(id, StringComparer.OrdinalIgnoreCase);
                foreach (var original in expected)
                {
                    records++;
                    var key = id(original);
                    if (!copies.TryGetValue(key, out var copy))
                    {
                        differences.Add($"{kind} '{key}' is missing");
                    }
                    else if (RecordText.Of(original) != RecordText.Of(copy))
                    {
                        differences.Add($"{kind} '{key}' differs");
                    }
                }
            }

            var sites = await source.ListSitesAsync(ct).ConfigureAwait(false);
            Same("Site", sites, await destination.ListSitesAsync(ct).ConfigureAwait(false), s => s.Name);
            foreach (var site in sites.Where(s => s.HasSecret))
            {
                // Compared in memory only: a secret never goes into a message.
                if (await source.ReadSiteSecretAsync(site.Name, ct).ConfigureAwait(false) != await destination.ReadSiteSecretAsync(site.Name, ct).ConfigureAwait(false))
                {
                    differences.Add($"the secret of site '{site.Name}' differs");
                }
            }
            Same("Replication policy", await source.ListPoliciesAsync(ct).ConfigureAwait(false), await destination.ListPoliciesAsync(ct).ConfigureAwait(false), p => p.Name);
            Same("Protection group", await source.ListGroupsAsync(ct).ConfigureAwait(false), await destination.ListGroupsAsync(ct).ConfigureAwait(false), g => g.Name);
            var vms = await source.ListProtectedVmsAsync(null, ct).ConfigureAwait(false);
            Same("Protected VM", vms, await destination.ListProtectedVmsAsync(null, ct).ConfigureAwait(false), v => v.VmId);
            var points = new List<RecoveryPoint>();
            foreach (var vm in vms)
            {
                var own = await source.ListRecoveryPointsAsync(vm.VmId, ct).ConfigureAwait(false);
                points.AddRange(own);
                Same("Recovery point", own, await destination.ListRecoveryPointsAsync(vm.VmId, ct).ConfigureAwait(false), p => p.RecoveryPointId);
                var replica = await source.FindReplicaStateAsync(vm.VmId, ct).ConfigureAwait(false);
                if (replica != null && RecordText.Of(replica) != RecordText.Of(await destination.FindReplicaStateAsync(vm.VmId, ct).ConfigureAwait(false)))
                {
                    differences.Add($"the replica state of VM '{vm.Name}' differs");
                }
            }
            Same("Recovery plan", await source.ListRecoveryPlansAsync(ct).ConfigureAwait(false), await destination.ListRecoveryPlansAsync(ct).ConfigureAwait(false), p => p.Name);
            Same("Job", await source.ListJobsAsync(null, ct).ConfigureAwait(false), await destination.ListJobsAsync(null, ct).ConfigureAwait(false), j => j.JobId);

            // Every point's manifest opens with the destination's key and every chunk it names re-reads intact.
            var verifier = new PointVerifier(destinationChunks);
            var chunks = 0;
            var done = 0;
            foreach (var point in points)
            {
                RecoveryPointManifest manifest;
                try
                {
                    manifest = await destinationChunks.ReadPointAsync(point.VmId, point.RecoveryPointId, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is DRException || ex is StoreObjectNotFoundException || ex is System.Security.Cryptography.CryptographicException)
                {
                    differences.Add($"recovery point '{point.RecoveryPointId}' of VM '{point.VmName}' cannot be read from the destination chunk store ({ex.Message})");
                    continue;
                }
                var check = await verifier.VerifyAsync(manifest, ct).ConfigureAwait(false);
                chunks += check.ChunksRead;
                if (!check.IsIntact)
                {
                    differences.Add($"recovery point '{point.RecoveryPointId}' of VM '{point.VmName}' has {check.Problems.Count} bad chunk(s) in the destination, the first {check.Problems[0]}");
                }
                progress?.Report(new VaultCopyProgress("Verifying", ++done, points.Count));
            }

            if (differences.Count > 0)
            {
                throw new VaultException("VaultCopyNotVerified", destination.Location,
                    $"The copy to '{destination.Location}' did not verify: {string.Join("; ", differences.Take(10))}" +
                    (differences.Count > 10 ? $"; and {differences.Count - 10} more" : "") +
                    ". The source is unchanged. Run Copy-DRVault again to finish an interrupted copy; if it still fails, remove the destination and copy again.");
            }
            return (records, points.Count, chunks);
        }
    }

    /// <summary>What Copy-DRVault did.</summary>
    public sealed record VaultCopyResult
    {
        public string Source { get; init; } = "";
        public string Destination { get; init; } = "";
        public string DestinationChunkStore { get; init; } = "";
        public int ObjectsCopied { get; init; }
        public int ObjectsAlreadyThere { get; init; }
        public long BytesCopied { get; init; }
        public int RecordsCopied { get; init; }
        public int RecordsAlreadyThere { get; init; }
        /// <summary>Records read back from the destination and found equal to the source's.</summary>
        public int RecordsVerified { get; init; }
        /// <summary>Recovery points whose every chunk was re-read intact from the destination.</summary>
        public int PointsVerified { get; init; }
        public int ChunksVerified { get; init; }
        public TimeSpan Duration { get; init; }
    }
}
