using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Sites
{
    /// <summary>What a vSphere site offers to a recovery plan's mappings: its networks and datastores, by name.</summary>
    public static class SiteInventoryReader
    {
        public static async Task<IReadOnlyList<SiteNetwork>> ListNetworksAsync(IVault vault, string siteName, CancellationToken cancellationToken)
        {
            using var client = await SiteConnector.ConnectVSphereAsync(vault, siteName, cancellationToken).ConfigureAwait(false);
            return (await client.ListNetworksAsync(cancellationToken).ConfigureAwait(false))
                .OrderBy(n => n.Name, System.StringComparer.OrdinalIgnoreCase)
                .Select(n => new SiteNetwork
                {
                    Name = n.Name,
                    Site = siteName,
                    Kind = n.SwitchUuid is null ? SiteNetworkKind.StandardPortgroup : SiteNetworkKind.DistributedPortgroup,
                    SwitchUuid = n.SwitchUuid,
                })
                .ToList();
        }

        public static async Task<IReadOnlyList<SiteDatastore>> ListDatastoresAsync(IVault vault, string siteName, CancellationToken cancellationToken)
        {
            using var client = await SiteConnector.ConnectVSphereAsync(vault, siteName, cancellationToken).ConfigureAwait(false);
            return (await client.ListDatastoresAsync(cancellationToken).ConfigureAwait(false))
                .OrderBy(d => d.Name, System.StringComparer.OrdinalIgnoreCase)
                .Select(d => new SiteDatastore
                {
                    Name = d.Name,
                    Site = siteName,
                    Datacenter = d.Datacenter,
                    Capacity = d.CapacityBytes,
                    FreeSpace = d.FreeBytes,
                    Accessible = d.Accessible,
                })
                .ToList();
        }
    }
}
