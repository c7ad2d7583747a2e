using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Sites;
using AzureSiteRecovery.DR.Core.Sites.VSphere;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery
{
    /// <summary>
    /// What the steps of one run of a recovery job share: one connection per site, the chunk
    /// store, the recovery datastore, and the throttle on disk writes. Created with the job's
    /// definition, disposed by the runner when the run returns.
    /// </summary>
    internal sealed class RecoveryRun : IDisposable
    {
        private readonly RecoveryServices services;
        private readonly SharedTasks<VSphereClient> sites = new SharedTasks<VSphereClient>();
        private readonly SharedTasks<IRecoverySite> recoverySites = new SharedTasks<IRecoverySite>();
        private readonly Lazy<ReplicationStore> store;
        private readonly SharedTasks<DatastoreInfo> placements = new SharedTasks<DatastoreInfo>();

        public RecoveryRun(RecoveryServices services, string? datastore)
        {
            this.services = services;
            Datastore = datastore;
            store = new Lazy<ReplicationStore>(services.OpenStore, LazyThreadSafetyMode.ExecutionAndPublication);
            DiskWrites = new SemaphoreSlim(Math.Max(1, services.MaxParallelDiskWrites));
        }

        public RecoveryServices Services => services;
        /// <summary>The datastore asked for (-Datastore); null picks the one with the most free space.</summary>
        public string? Datastore { get; }
        public SemaphoreSlim DiskWrites { get; }
        public ReplicationStore Store => store.Value;

        /// <summary>The recovery side of <paramref name="site"/> (<see cref="IRecoverySite"/> of the site's kind), made once per run.</summary>
        public Task<IRecoverySite> RecoverySiteAsync(string site, CancellationToken cancellationToken) =>
            recoverySites.GetAsync(site, () => OpenRecoverySiteAsync(site), cancellationToken);

        private async Task<IRecoverySite> OpenRecoverySiteAsync(string site)
        {
            var stored = await services.Vault.FindSiteAsync(site, CancellationToken.None).ConfigureAwait(false);
            if (stored?.Kind == SiteKind.Azure)
            {
                return new AzureVmRecovery(await SiteConnector.ConnectAzureAsync(services.Vault, site, CancellationToken.None).ConfigureAwait(false));
            }
            // Not stored: the vSphere connector says so.
            return new VSphereVmRecovery(this, await SiteAsync(site, CancellationToken.None).ConfigureAwait(false));
        }

        /// <summary>The run's connection to vSphere site <paramref name="site"/>, made once.</summary>
        public Task<VSphereClient> SiteAsync(string site, CancellationToken cancellationToken) =>
            sites.GetAsync(site, () => SiteConnector.ConnectVSphereAsync(services.Vault, site, CancellationToken.None), cancellationToken);

        /// <summary>Where recovered VMs of <paramref name="site"/> go: the datastore asked for, or the accessible one with the most free space.</summary>
        public Task<DatastoreInfo> PlacementAsync(string site, CancellationToken cancellationToken) =>
            placements.GetAsync(site, () => ChoosePlacementAsync(site), cancellationToken);

        private async Task<DatastoreInfo> ChoosePlacementAsync(string site)
        {
            var client = await SiteAsync(site, CancellationToken.None).ConfigureAwait(false);
            var all = await client.ListDatastoresAsync(CancellationToken.None).ConfigureAwait(false);
            if (Datastore != null)
            {
                return all.FirstOrDefault(d => string.Equals(d.Name, Datastore, StringComparison.Ordinal))
                    ?? throw new RecoveryException("DatastoreNotFound", FailureKind.NotFound, Datastore,
                        $"Datastore '{Datastore}' is not on recovery site '{site}'. Its datastores: {string.Join(", ", all.Select(d => d.Name))}.");
            }

            return all.Where(d => d.Accessible).OrderByDescending(d => d.FreeBytes).FirstOrDefault()
                ?? throw new RecoveryException("DatastoreNotFound", FailureKind.NotFound, site, $"Recovery site '{site}' has no accessible datastore.");
        }

        public void Dispose()
        {
            // Recovery sites first: a vSphere one uses its site's connection.
            foreach (var recoverySite in recoverySites.TakeCompleted()) recoverySite.Dispose();
            foreach (var client in sites.TakeCompleted()) client.Dispose();
            if (store.IsValueCreated) store.Value.Dispose();
            DiskWrites.Dispose();
        }
    }

    /// <summary>One task per key (a site name), started at the first ask and shared by every step; a failed or cancelled one is started again at the next ask.</summary>
    internal sealed class SharedTasks<T>
    {
        private readonly Dictionary<string, Task<T>> tasks = new Dictionary<string, Task<T>>(StringComparer.OrdinalIgnoreCase);

        public Task<T> GetAsync(string key, Func<Task<T>> start, CancellationToken cancellationToken)
        {
            lock (tasks)
            {
                if (!tasks.TryGetValue(key, out var task) || task.IsFaulted || task.IsCanceled)
                {
                    task = start();
                    tasks[key] = task;
                }
                return task.WaitAsync(cancellationToken);
            }
        }

        /// <summary>The results of the tasks that completed; the set is empty afterwards.</summary>
        public IReadOnlyList<T> TakeCompleted()
        {
            lock (tasks)
            {
                var done = tasks.Values.Where(t => t.Status == TaskStatus.RanToCompletion).Select(t => t.Result).ToList();
                tasks.Clear();
                return done;
            }
        }
    }

    internal static class TaskWaiting
    {
        /// <summary>Waits for a shared task but gives up when this caller is cancelled (the task goes on for the others).</summary>
        public static async Task<T> WaitAsync<T>(this Task<T> task, CancellationToken cancellationToken)
        {
            if (!cancellationToken.CanBeCanceled || task.IsCompleted) return await task.ConfigureAwait(false);
            var cancelled = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(() => cancelled.TrySetCanceled(cancellationToken)))
            {
                return await (await Task.WhenAny(task, cancelled.Task).ConfigureAwait(false)).ConfigureAwait(false);
            }
        }
    }
}
