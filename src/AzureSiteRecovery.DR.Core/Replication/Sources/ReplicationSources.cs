using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Replication.Sources
{
    /// <summary>Opens the replication source of a protected VM by the kind of the site it runs on.</summary>
    internal static class ReplicationSources
    {
        /// <summary>The source a cycle of <paramref name="vm"/> copies now (<see cref="ProtectedVm.ReplicationSource"/>).</summary>
        public static Task<IReplicationSource> OpenAsync(IVault vault, ProtectedVm vm, CancellationToken cancellationToken)
        {
            var (site, vmRef) = vm.ReplicationSource;
            return OpenAsync(vault, vm, site, vmRef, cancellationToken);
        }

        /// <summary>The VM <paramref name="vmRef"/> (a vSphere moref, an Azure resource id) on <paramref name="siteName"/> as the source of <paramref name="vm"/>.</summary>
        public static async Task<IReplicationSource> OpenAsync(IVault vault, ProtectedVm vm, string siteName, string vmRef, CancellationToken cancellationToken)
        {
            var site = await vault.FindSiteAsync(siteName, cancellationToken).ConfigureAwait(false);
            if (site?.Kind == SiteKind.Azure)
            {
                return new AzureReplicationSource(await SiteConnector.ConnectAzureAsync(vault, siteName, cancellationToken).ConfigureAwait(false), vm, vmRef);
            }
            // Not stored: the vSphere connector says so.
            var client = await SiteConnector.ConnectVSphereAsync(vault, siteName, cancellationToken).ConfigureAwait(false);
            return new VSphereReplicationSource(vault, client, vm, vmRef, ownsClient: true);
        }
    }
}
