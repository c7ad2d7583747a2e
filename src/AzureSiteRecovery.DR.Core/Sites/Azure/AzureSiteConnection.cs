using System;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.ResourceManager;
using Azure.ResourceManager.Resources;
using Azure.Storage;
using Azure.Storage.Blobs;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Transfers.Bandwidth;

namespace AzureSiteRecovery.DR.Core.Sites.Azure
{
    /// <summary>The site's storage account as Resource Manager describes it, with a client that holds one of its keys.</summary>
    public sealed record AzureStorageAccount(ResourceIdentifier Id, Uri BlobEndpoint, BlobServiceClient Blobs);

    /// <summary>
    /// A connection to an Azure site: the credential of its sign-in method, an <see cref="ArmClient"/>
    /// for its cloud (or custom endpoint, with a pinned certificate), the subscription, resource group and
    /// region, and its storage account (found through Resource Manager: blob endpoint and a key, so the
    /// vault holds no storage secret). No request is sent until something is asked for.
    /// </summary>
    public sealed class AzureSiteConnection : IDisposable
    {
        private readonly AzureTransport transport;
        private readonly HttpPipeline pipeline;
        private readonly ArmClientOptions options;
        private readonly SemaphoreSlim storageLock = new SemaphoreSlim(1, 1);
        private AzureStorageAccount? storage;

        private AzureSiteConnection(Site site, TokenCredential credential, AzureTransport transport, ArmClientOptions options)
        {
            Site = site;
            Credential = credential;
            this.transport = transport;
            this.options = options;
            Arm = new ArmClient(credential, site.SubscriptionId, options);
            // The same policies as the ArmClient's, for the few calls it has no method for (listKeys).
            pipeline = HttpPipelineBuilder.Build(options, new BearerTokenAuthenticationPolicy(credential, options.Environment!.Value.DefaultScope));
            SubscriptionId = SubscriptionResource.CreateResourceIdentifier(site.SubscriptionId);
            ResourceGroupId = ResourceGroupResource.CreateResourceIdentifier(site.SubscriptionId, site.ResourceGroup);
            Location = new AzureLocation(site.Location!);
        }

        public Site Site { get; }
        public string SiteName => Site.Name;
        public TokenCredential Credential { get; }
        public ArmClient Arm { get; }
        public ResourceIdentifier SubscriptionId { get; }
        public ResourceIdentifier ResourceGroupId { get; }
        public AzureLocation Location { get; }
        public SubscriptionResource Subscription => Arm.GetSubscriptionResource(SubscriptionId);
        public ResourceGroupResource ResourceGroup => Arm.GetResourceGroupResource(ResourceGroupId);

        /// <summary>
        /// A connection to <paramref name="site"/> (an Azure site; validated first) signing in with its
        /// method; <paramref name="secret"/> is the service principal's client secret (ServicePrincipalSecret), else ignored.
        /// </summary>
        public static AzureSiteConnection Open(Site site, string? secret)
        {
            if (site is null) throw new ArgumentNullException(nameof(site));
            if (site.Kind != SiteKind.Azure)
            {
                throw new InvalidSettingException("Site", site.Name, nameof(Site.Kind), $"Site '{site.Name}' is a {site.Kind} site; this needs an Azure site.");
            }
            site.Validate();
            var cloud = AzureCloud.Of(site);
            // Every transfer of the site (Resource Manager, its storage account, disk uploads by SAS) shares the site's bandwidth cap.
            var limiter = BandwidthLimiter.ForLink(BandwidthLimiter.AzureLink(site), site.BandwidthLimit);
            var transport = new AzureTransport(site.ArmCertificateThumbprint, AzureClouds.IsCustom(site.Environment), limiter);
            var credential = AzureCredentials.Create(site, secret, cloud, transport);
            var options = new ArmClientOptions { Environment = cloud.Arm };
            transport.Apply(options);
            AzureApiVersions.Apply(options);
            return new AzureSiteConnection(site, credential, transport, options);
        }

        /// <summary>The site's storage account (GET the account, POST listKeys), read once.</summary>
        public async Task<AzureStorageAccount> GetStorageAccountAsync(CancellationToken cancellationToken)
        {
            if (storage != null) return storage;
            await storageLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return storage ??= await ReadStorageAccountAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                storageLock.Release();
            }
        }

        private async Task<AzureStorageAccount> ReadStorageAccountAsync(CancellationToken cancellationToken)
        {
            var name = Site.StorageAccount;
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new InvalidSettingException("Site", Site.Name, nameof(Site.StorageAccount),
                    $"Azure site '{Site.Name}' names no storage account; the replica and the disks of recovered VMs come from one. Set it with Set-DRSite {Site.Name} -StorageAccount <name>.");
            }
            var id = name!.StartsWith("/subscriptions/", StringComparison.OrdinalIgnoreCase)
                ? new ResourceIdentifier(name)
                : new ResourceIdentifier($"{ResourceGroupId}/providers/Microsoft.Storage/storageAccounts/{name}");

            var account = await AzureCalls.RunAsync(this, $"storage account {id.Name}",
                ct => Arm.GetGenericResource(id).GetAsync(ct), cancellationToken).ConfigureAwait(false);
            var blob = ReadString(account.Value.Data.Properties, "primaryEndpoints", "blob")
                ?? throw new AzureException("AzureStorageAccountUnusable", FailureKind.InvalidData, id.ToString(),
                    $"Storage account '{id.Name}' of site '{Site.Name}' has no blob endpoint (properties.primaryEndpoints.blob); use a general-purpose v2 account.");

            var key = await ListKeyAsync(id, cancellationToken).ConfigureAwait(false);
            var blobOptions = new BlobClientOptions();
            transport.Apply(blobOptions);
            var endpoint = new Uri(blob);
            var client = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(id.Name, key), blobOptions);
            return new AzureStorageAccount(id, endpoint, client);
        }

        private async Task<string> ListKeyAsync(ResourceIdentifier account, CancellationToken cancellationToken)
        {
            using var message = pipeline.CreateMessage();
            var request = message.Request;
            request.Method = RequestMethod.Post;
            request.Uri.Reset(options.Environment!.Value.Endpoint);
            request.Uri.AppendPath(account.ToString() + "/listKeys", escape: false);
            request.Uri.AppendQuery("api-version", AzureApiVersions.Storage);
            request.Headers.Add("Accept", "application/json");
            try
            {
                await pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                throw AzureCalls.Map(this, $"the keys of storage account {account.Name}", e);
            }
            var response = message.Response;
            if (response.Status != 200)
            {
                throw AzureCalls.Map(this, $"the keys of storage account {account.Name}", new RequestFailedException(response));
            }
            using var json = JsonDocument.Parse(response.Content.ToMemory());
            if (json.RootElement.TryGetProperty("keys", out var keys) && keys.ValueKind == JsonValueKind.Array)
            {
                foreach (var k in keys.EnumerateArray())
                {
                    if (k.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.String && !string.IsNullOrEmpty(value.GetString()))
                    {
                        return value.GetString()!;
                    }
                }
            }
            throw new AzureException("AzureStorageAccountUnusable", FailureKind.Unauthorized, account.ToString(),
                $"Storage account '{account.Name}' of site '{Site.Name}' gave no key (listKeys); the site's identity needs the 'Storage Account Key Operator Service Role' or Contributor on it, and shared-key access must be allowed.");
        }

        /// <summary>A page blob by a SAS URL Azure handed out (a disk's or snapshot's access SAS), over the site's transport.</summary>
        public global::Azure.Storage.Blobs.Specialized.PageBlobClient SasPageBlob(Uri sas)
        {
            var blobOptions = new BlobClientOptions();
            transport.Apply(blobOptions);
            return new global::Azure.Storage.Blobs.Specialized.PageBlobClient(sas, blobOptions);
        }

        /// <summary>A string at a path of a resource's properties; null when absent.</summary>
        public static string? ReadString(BinaryData? properties, params string[] path)
        {
            if (properties is null) return null;
            using var json = JsonDocument.Parse(properties.ToMemory());
            var element = json.RootElement;
            foreach (var name in path)
            {
                if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element)) return null;
            }
            return element.ValueKind == JsonValueKind.String ? element.GetString() : null;
        }

        /// <summary>The thumbprint the endpoint presented when the last request was refused for an untrusted certificate.</summary>
        internal string? RefusedThumbprint => transport.RefusedThumbprint;

        public void Dispose()
        {
            transport.Dispose();
            storageLock.Dispose();
        }
    }
}
