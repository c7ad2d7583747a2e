using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Azure.Storage.Blobs;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Sites.Azure
{
    /// <summary>
    /// The replica containers (<see cref="AzureReplica.ContainerName"/>) of a vault's Azure sites, found
    /// through each site's <see cref="AzureSiteConnection"/> (its storage account by Resource Manager:
    /// blob endpoint and a key) and created when missing. One sign-in per site for the life of this
    /// object; a site changed in the vault since (Set-DRSite) is connected to again.
    /// </summary>
    public sealed class AzureReplicaContainers : IDisposable
    {
        private readonly IVault vault;
        private readonly Dictionary<string, Entry> sites = new Dictionary<string, Entry>(StringComparer.OrdinalIgnoreCase);
        private readonly List<AzureSiteConnection> connections = new List<AzureSiteConnection>();

        public AzureReplicaContainers(IVault vault) => this.vault = vault ?? throw new ArgumentNullException(nameof(vault));

        /// <summary>This object as the <see cref="ReplicaContainerLocator"/> replication and recovery take.</summary>
        public ReplicaContainerLocator Locator => LocateAsync;

        /// <summary>The replica container of Azure site <paramref name="recoverySite"/>; null for other kinds of site.</summary>
        public Task<BlobContainerClient?> LocateAsync(Site recoverySite, CancellationToken cancellationToken)
        {
            if (recoverySite is null) throw new ArgumentNullException(nameof(recoverySite));
            if (recoverySite.Kind != SiteKind.Azure) return Task.FromResult<BlobContainerClient?>(null);
            lock (sites)
            {
                if (!sites.TryGetValue(recoverySite.Name, out var entry) || !Equals(entry.Site, recoverySite) || entry.Container.IsFaulted || entry.Container.IsCanceled)
                {
                    entry = new Entry(recoverySite, OpenAsync(recoverySite));
                    sites[recoverySite.Name] = entry;
                }
                return entry.Container.WaitAsync(cancellationToken);
            }
        }

        private async Task<BlobContainerClient?> OpenAsync(Site site)
        {
            // Shared by every caller of this site: no one caller's cancellation may fail it for the others.
            var cancellationToken = CancellationToken.None;
            var secret = site.Authentication == AzureAuthentication.ServicePrincipalSecret
                ? await vault.ReadSiteSecretAsync(site.Name, cancellationToken).ConfigureAwait(false)
                : null;
            var connection = AzureSiteConnection.Open(site, secret);
            lock (connections) connections.Add(connection);
            var storage = await connection.GetStorageAccountAsync(cancellationToken).ConfigureAwait(false);
            var container = storage.Blobs.GetBlobContainerClient(AzureReplica.ContainerName);
            await AzureCalls.RunAsync(connection, $"replica container {AzureReplica.ContainerName} of storage account {storage.Id.Name}",
                ct => container.CreateIfNotExistsAsync(cancellationToken: ct), cancellationToken).ConfigureAwait(false);
            return container;
        }

        public void Dispose()
        {
            lock (connections)
            {
                foreach (var connection in connections) connection.Dispose();
                connections.Clear();
            }
        }

        private sealed class Entry
        {
            public Entry(Site site, Task<BlobContainerClient?> container)
            {
                Site = site;
                Container = container;
            }

            public Site Site { get; }
            public Task<BlobContainerClient?> Container { get; }
        }
    }
}
