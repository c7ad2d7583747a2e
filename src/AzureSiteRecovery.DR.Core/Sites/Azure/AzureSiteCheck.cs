using System;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;

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
    }

    /// <summary>
    /// Tests an Azure site end to end before it is relied on: signs in with its method, reads its
    /// resource group (so the subscription and group exist and the identity may read them), and finds
    /// its storage account's blob endpoint and a key. Failures are <see cref="Errors.AzureException"/>s that say what to fix.
    /// </summary>
    public static class AzureSiteCheck
    {
        public static async Task<AzureSiteCheckResult> RunAsync(AzureSiteConnection connection, CancellationToken cancellationToken)
        {
            if (connection is null) throw new ArgumentNullException(nameof(connection));
            var site = connection.Site;
            var group = await AzureCalls.RunAsync(connection, $"resource group {site.ResourceGroup}",
                ct => connection.ResourceGroup.GetAsync(ct), cancellationToken).ConfigureAwait(false);
            Uri? blobs = null;
            if (!string.IsNullOrEmpty(site.StorageAccount))
            {
                blobs = (await connection.GetStorageAccountAsync(cancellationToken).ConfigureAwait(false)).BlobEndpoint;
            }
            return new AzureSiteCheckResult
            {
                ArmEndpoint = site.GetArmEndpoint()!,
                ResourceGroupId = group.Value.Id.ToString(),
                BlobEndpoint = blobs,
            };
        }
    }
}
