using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Http;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Core;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using AzureSiteRecovery.DR.Core.Transfers.Retries;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>
    /// An object store in an Azure Blob container (or Azurite): one block blob per key, each put
    /// in a single Put Blob request, so it is atomic. The container is created on first write.
    /// Unreachable endpoints, timeouts and server errors (after the SDK's retries) become
    /// <see cref="StoreUnavailableException"/>; 401/403 <see cref="StoreAccessDeniedException"/>.
    /// </summary>
    public sealed class BlobStore : IObjectStore
    {
        private const string TouchedMetadata = "touched";
        private readonly BlobContainerClient container;

        public BlobStore(BlobContainerClient container)
        {
            this.container = container ?? throw new ArgumentNullException(nameof(container));
        }

        /// <summary>A store from an account URL (https://account.blob.core.windows.net, or Azurite's http://127.0.0.1:port/devstoreaccount1), account name and key.</summary>
        public static BlobStore Create(Uri serviceUri, string accountName, string accountKey, string containerName, BlobStoreOptions? options = null)
        {
            var service = new BlobServiceClient(serviceUri, new StorageSharedKeyCredential(accountName, accountKey), ClientOptions(options ?? new BlobStoreOptions()));
            return new BlobStore(service.GetBlobContainerClient(containerName));
        }

        /// <summary>A store on the container at <paramref name="containerUri"/>, signing in with a token (a managed identity).</summary>
        public static BlobStore Create(Uri containerUri, TokenCredential credential, BlobStoreOptions? options = null) =>
            new BlobStore(new BlobContainerClient(containerUri, credential, ClientOptions(options ?? new BlobStoreOptions())));

        /// <summary>A store on the container at <paramref name="containerUri"/>, signing in with the account's shared key.</summary>
        public static BlobStore Create(Uri containerUri, StorageSharedKeyCredential credential, BlobStoreOptions? options = null) =>
            new BlobStore(new BlobContainerClient(containerUri, credential, ClientOptions(options ?? new BlobStoreOptions())));

        /// <summary>A store on the container at <paramref name="containerUri"/>, signing in with a shared access signature.</summary>
        public static BlobStore Create(Uri containerUri, AzureSasCredential credential, BlobStoreOptions? options = null) =>
            new BlobStore(new BlobContainerClient(containerUri, credential, ClientOptions(options ?? new BlobStoreOptions())));

        /// <summary>A store from a storage connection string.</summary>
        public static BlobStore FromConnectionString(string connectionString, string containerName, BlobStoreOptions? options = null) =>
            new BlobStore(new BlobContainerClient(connectionString, containerName, ClientOptions(options ?? new BlobStoreOptions())));

        public string Location => container.Uri.ToString();

        public async Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
        {
            ObjectKeys.Validate(key);
            var blob = container.GetBlockBlobClient(key);
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    using var stream = AsStream(content);
                    // BlockBlobClient.Upload is one Put Blob: the blob appears whole or not at all.
                    await blob.UploadAsync(stream, new BlobUploadOptions(), cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (RequestFailedException ex) when (ex.Status == 404 && ex.ErrorCode == BlobErrorCode.ContainerNotFound && attempt == 0)
                {
                    await Run(key, cancellationToken, () => container.CreateIfNotExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
                }
                catch (Exception ex) when (Translate(ex, key, cancellationToken) is { } translated)
                {
                    throw translated;
                }
            }
        }

        public Task<byte[]> GetAsync(string key, CancellationToken cancellationToken)
        {
            ObjectKeys.Validate(key);
            return Run(key, cancellationToken, async () =>
            {
                try
                {
                    var result = await container.GetBlobClient(key).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
                    var memory = result.Value.Content.ToMemory();
                    return MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
                        ? segment.Array
                        : memory.ToArray();
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    throw new StoreObjectNotFoundException(Location, key);
                }
            });
        }

        public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken)
        {
            ObjectKeys.Validate(key);
            return Run(key, cancellationToken, async () => (await container.GetBlobClient(key).ExistsAsync(cancellationToken).ConfigureAwait(false)).Value);
        }

        /// <summary>Set Blob Metadata: a write, so it moves Last-Modified and the ETag (which makes a listed-then-deleted race fail its If-Match).</summary>
        public Task<bool> TouchAsync(string key, CancellationToken cancellationToken)
        {
            ObjectKeys.Validate(key);
            return Run(key, cancellationToken, async () =>
            {
                try
                {
                    var metadata = new Dictionary<string, string> { [TouchedMetadata] = DateTimeOffset.UtcNow.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture) };
                    await container.GetBlobClient(key).SetMetadataAsync(metadata, cancellationToken: cancellationToken).ConfigureAwait(false);
                    return true;
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    return false;
                }
            });
        }

        public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken)
        {
            ObjectKeys.Validate(key);
            return Run(key, cancellationToken, async () =>
            {
                try
                {
                    return (await container.GetBlobClient(key).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    return false; // the container itself is gone
                }
            });
        }

        public Task<bool> DeleteIfUnchangedAsync(StoredObject listed, CancellationToken cancellationToken)
        {
            ObjectKeys.Validate(listed.Key);
            return Run(listed.Key, cancellationToken, async () =>
            {
                try
                {
                    var conditions = new BlobRequestConditions { IfMatch = new ETag(listed.Version) };
                    await container.GetBlobClient(listed.Key).DeleteAsync(DeleteSnapshotsOption.None, conditions, cancellationToken).ConfigureAwait(false);
                    return true;
                }
                catch (RequestFailedException ex) when (ex.Status == 404 || ex.Status == 412)
                {
                    return false;
                }
            });
        }

        public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var pages = container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken).AsPages(pageSizeHint: 5000).GetAsyncEnumerator(cancellationToken);
            try
            {
                while (true)
                {
                    Page<BlobItem> page;
                    try
                    {
                        if (!await pages.MoveNextAsync().ConfigureAwait(false)) yield break;
                        page = pages.Current;
                    }
                    catch (RequestFailedException ex) when (ex.Status == 404)
                    {
                        yield break; // no container: nothing stored yet
                    }
                    catch (Exception ex) when (Translate(ex, prefix, cancellationToken) is { } translated)
                    {
                        throw translated;
                    }
                    foreach (var item in page.Values)
                    {
                        var properties = item.Properties;
                        yield return new StoredObject(item.Name, properties.ContentLength ?? 0, properties.LastModified ?? DateTimeOffset.MinValue, properties.ETag?.ToString() ?? "");
                    }
                }
            }
            finally
            {
                await pages.DisposeAsync().ConfigureAwait(false);
            }
        }

        private async Task<T> Run<T>(string key, CancellationToken cancellationToken, Func<Task<T>> action)
        {
            try
            {
                return await action().ConfigureAwait(false);
            }
            catch (Exception ex) when (Translate(ex, key, cancellationToken) is { } translated)
            {
                throw translated;
            }
        }

        private Exception? Translate(Exception ex, string key, CancellationToken cancellationToken) => TranslateFailure(ex, Location, key, cancellationToken);

        /// <summary>
        /// The typed exception for a Blob SDK failure on <paramref name="key"/> at <paramref name="location"/>; null to let it
        /// through (ours, or the caller's cancellation). Shared by everything in Core that talks to Blob storage.
        /// </summary>
        internal static Exception? TranslateFailure(Exception ex, string location, string key, CancellationToken cancellationToken)
        {
            switch (ex)
            {
                case Errors.DRException _:
                    return null;
                case OperationCanceledException _ when cancellationToken.IsCancellationRequested:
                    return null;
                case OperationCanceledException _:
                    return new StoreUnavailableException(location, $"The blob store '{location}' did not answer in time ({key}).", ex);
                case RequestFailedException rfe when rfe.Status == 401 || rfe.Status == 403:
                    return new StoreAccessDeniedException(location, $"The blob store '{location}' refused access to '{key}' ({rfe.Status} {rfe.ErrorCode}): check the account key or SAS.", ex);
                case RequestFailedException rfe when rfe.Status == 0 || rfe.Status == 408 || rfe.Status == 429 || rfe.Status >= 500:
                    return new StoreUnavailableException(location, $"The blob store '{location}' cannot be reached ({Describe(rfe)}).", ex);
                case RequestFailedException rfe:
                    return new StoreRequestFailedException(location, $"The blob store '{location}' refused the request for '{key}' ({rfe.Status} {rfe.ErrorCode}): {rfe.Message}", ex);
                case AggregateException aggregate:
                    // The SDK's retry policy gives up with every attempt's failure.
                    return new StoreUnavailableException(location, $"The blob store '{location}' cannot be reached: {aggregate.InnerExceptions[aggregate.InnerExceptions.Count - 1].Message}", ex);
                case HttpRequestException _:
                case IOException _:
                case SocketException _:
                    return new StoreUnavailableException(location, $"The blob store '{location}' cannot be reached: {ex.Message}", ex);
                default:
                    return null;
            }
        }

        private static string Describe(RequestFailedException ex) => ex.Status == 0 ? ex.InnerException?.Message ?? ex.Message : $"{ex.Status} {ex.ErrorCode}";

        private static Stream AsStream(ReadOnlyMemory<byte> content) =>
            MemoryMarshal.TryGetArray(content, out var segment)
                ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
                : new MemoryStream(content.ToArray(), writable: false);

        private static BlobClientOptions ClientOptions(BlobStoreOptions options)
        {
            var client = new BlobClientOptions();
            var settings = RetrySettings.Default;
            (settings with
            {
                MaxAttempts = options.MaxRetries + 1,
                Backoff = settings.Backoff with { First = options.RetryDelay },
                StallTimeout = options.NetworkTimeout,
            }).ApplyTo(client.Retry);
            return client;
        }
    }

    /// <summary>How hard a <see cref="BlobStore"/> tries before it reports the store unavailable: the module's retry settings unless a caller (a test) says otherwise.</summary>
    public sealed class BlobStoreOptions
    {
        public int MaxRetries { get; set; } = RetrySettings.Default.MaxAttempts - 1;
        public TimeSpan RetryDelay { get; set; } = RetrySettings.Default.Backoff.First;
        /// <summary>Per network operation of a request (the SDK's stall bound): a 4 MiB chunk over a slow uplink needs tens of seconds.</summary>
        public TimeSpan NetworkTimeout { get; set; } = RetrySettings.Default.StallTimeout;
    }
}
