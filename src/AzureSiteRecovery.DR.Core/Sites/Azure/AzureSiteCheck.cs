using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using Azure;
using Azure.Core;

namespace AzureSiteRecovery.DR.Core.Sites.Azure
{
    /// <summary>What New-DRSite and Test-DRSite found when they signed in to an Azure site.</summary>
    public sealed record AzureSiteCheckResult
    {
        /// <summary>The Resource Manager endpoint signed in to.</summary>
        public Uri ArmEndpoint { get; init; } = new Uri("https://management.azure.com/");
        /// <summary>The resource group's full id, as Resource Manager returned it.</summary>
        public string ResourceGroupId { get; init; } = "";
        /// <summary>The storage account's blob endpoint; null when the site names no storage account.</summary>
        public Uri? BlobEndpoint { get; init; }
        /// <summary>The subscription's display name, as Resource Manager returned it.</summary>
        public string? SubscriptionName { get; init; }
        /// <summary>How many subnets named by the recovery plans of the site were looked up.</summary>
        public int SubnetsChecked { get; init; }
        /// <summary>Subnets a plan of the site maps a network to that do not exist, each as "plan 'p': test subnet 'vnet/snet' (id)".</summary>
        public IReadOnlyList<string> MissingSubnets { get; init; } = Array.Empty<string>();
    }

    /// <summary>
    /// Tests an Azure site end to end before it is relied on: signs in with its method, reads its
    /// resource group (so the subscription and group exist and the identity may read them), and finds
    /// its storage account's blob endpoint and a key; with plans, also that every subnet their
    /// network mappings name exists. Failures are <see cref="Errors.AzureException"/>s that say what to fix.
    /// </summary>
    public static class AzureSiteCheck
    {
        public static Task<AzureSiteCheckResult> RunAsync(AzureSiteConnection connection, CancellationToken cancellationToken) =>
            RunAsync(connection, Array.Empty<RecoveryPlan>(), cancellationToken);

        /// <param name="connection">The signed-in site.</param>
        /// <param name="plans">Recovery plans; the subnets of those whose recovery site is this one are looked up.</param>
        /// <param name="cancellationToken">Cancels the check.</param>
        public static async Task<AzureSiteCheckResult> RunAsync(AzureSiteConnection connection, IEnumerable<RecoveryPlan> plans, CancellationToken cancellationToken)
        {
            if (connection is null) throw new ArgumentNullException(nameof(connection));
            var site = connection.Site;
            var subscription = await AzureCalls.RunAsync(connection, $"subscription {site.SubscriptionId}",
                ct => connection.Subscription.GetAsync(ct), cancellationToken).ConfigureAwait(false);
            var group = await AzureCalls.RunAsync(connection, $"resource group {site.ResourceGroup}",
                ct => connection.ResourceGroup.GetAsync(ct), cancellationToken).ConfigureAwait(false);
            Uri? blobs = null;
            if (!string.IsNullOrEmpty(site.StorageAccount))
            {
                blobs = (await connection.GetStorageAccountAsync(cancellationToken).ConfigureAwait(false)).BlobEndpoint;
            }
            var missing = new List<string>();
            var checkedCount = 0;
            foreach (var plan in plans.Where(p => string.Equals(p.RecoverySite, site.Name, StringComparison.OrdinalIgnoreCase)))
            {
                foreach (var mapping in plan.NetworkMappings)
                {
                    foreach (var (what, network) in new[] { ("recovery", mapping.RecoveryNetwork), ("test", mapping.TestNetwork) })
                    {
                        // A network that is not in subnet form is Test-RecoveryPlan's finding, at its plan line.
                        var subnet = string.IsNullOrEmpty(network) ? null : AzureSubnetReference.Parse(network, out _);
                        if (subnet is null) continue;
                        var id = new ResourceIdentifier(subnet.ResourceIdIn(site.SubscriptionId!, site.ResourceGroup!));
                        checkedCount++;
                        try
                        {
                            await connection.Arm.GetGenericResource(id).GetAsync(cancellationToken).ConfigureAwait(false);
                        }
                        catch (RequestFailedException e) when (e.Status == 404)
                        {
                            missing.Add($"plan '{plan.Name}': {what} subnet '{network}' ({id})");
                        }
                        catch (RequestFailedException e)
                        {
                            throw AzureCalls.Map(connection, $"subnet {id}", e);
                        }
                    }
                }
            }

            return new AzureSiteCheckResult
            {
                ArmEndpoint = site.GetArmEndpoint()!,
                ResourceGroupId = group.Value.Id.ToString(),
                BlobEndpoint = blobs,
                SubscriptionName = subscription.Value.Data.DisplayName,
                SubnetsChecked = checkedCount,
                MissingSubnets = missing,
            };
        }
    }
}
