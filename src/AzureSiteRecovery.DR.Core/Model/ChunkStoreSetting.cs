using System;
using System.Net;
using System.Text.RegularExpressions;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>Where a vault's chunk store is.</summary>
    public enum ChunkStoreKind
    {
        /// <summary>The folder beside the vault file (vault.store): the embedded default.</summary>
        LocalFolder,
        /// <summary>A container in Azure Blob storage (or Azurite), which survives the loss of the protected site.</summary>
        AzureBlob,
    }

    /// <summary>How the module signs in to the Blob container of a chunk store.</summary>
    public enum BlobAuthentication
    {
        /// <summary>The managed identity of the Automation account or VM (needs https; Storage Blob Data Contributor on the container).</summary>
        ManagedIdentity,
        /// <summary>The storage account's shared key (stored encrypted in the vault).</summary>
        SharedKey,
        /// <summary>A shared access signature for the container (stored encrypted in the vault).</summary>
        Sas,
    }

    /// <summary>The chunk store a vault uses (Set-DRChunkStore, Get-DRChunkStore). Never holds the key or SAS: HasSecret says whether the vault does.</summary>
    public sealed record ChunkStoreSetting
    {
        private static readonly Regex ContainerName = new Regex("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", RegexOptions.CultureInvariant);

        /// <summary>The setting of a vault nobody configured: the local folder.</summary>
        public static ChunkStoreSetting Default { get; } = new ChunkStoreSetting();

        public ChunkStoreKind Kind { get; init; } = ChunkStoreKind.LocalFolder;
        /// <summary>The container URL (AzureBlob): https://account.blob.core.windows.net/container, or Azurite's http://127.0.0.1:port/account/container.</summary>
        public Uri? BlobContainer { get; init; }
        /// <summary>How to sign in to the container (AzureBlob).</summary>
        public BlobAuthentication? Authentication { get; init; }
        /// <summary>The client id of a user-assigned managed identity; null: the system-assigned one.</summary>
        public string? ClientId { get; init; }
        /// <summary>Whether the vault holds a sealed account key or SAS for the container.</summary>
        public bool HasSecret { get; init; }
        /// <summary>Where the chunks are: the folder path or the container URL (filled in when read for display).</summary>
        public string? Location { get; init; }
        /// <summary>When the setting was last changed; null: never (the default).</summary>
        public DateTimeOffset? Modified { get; init; }

        /// <summary>Whether <paramref name="other"/> names the same place (a key or sign-in change keeps the data where it is).</summary>
        public bool SamePlaceAs(ChunkStoreSetting other) =>
            Kind == other.Kind && (Kind == ChunkStoreKind.LocalFolder || string.Equals(BlobContainer?.AbsoluteUri.TrimEnd('/'), other.BlobContainer?.AbsoluteUri.TrimEnd('/'), StringComparison.Ordinal));

        /// <summary>
        /// Checks the setting; <paramref name="hasSecret"/>: whether a key or SAS goes with it. Failures are InvalidChunkStoreSetting naming the setting
        /// and the parameters that set it: Set-DRChunkStore's (-BlobContainer, -AccountKey...) unless <paramref name="containerParameter"/> and
        /// <paramref name="parameterPrefix"/> say otherwise (Copy-DRVault: -DestinationChunkStore, -ChunkStoreAccountKey...).
        /// </summary>
        public void Validate(bool hasSecret, string containerParameter = "BlobContainer", string parameterPrefix = "")
        {
            string Name(string parameter) => "-" + parameterPrefix + parameter;
            if (Kind == ChunkStoreKind.LocalFolder)
            {
                if (BlobContainer != null || Authentication != null || ClientId != null || hasSecret)
                {
                    throw Invalid(nameof(BlobContainer), "The local folder chunk store takes no container, sign-in or secret.");
                }
                return;
            }

            var url = BlobContainer ?? throw Invalid(nameof(BlobContainer), $"An Azure Blob chunk store needs -{containerParameter}, the container URL (https://<account>.blob.core.windows.net/<container>).");
            ValidateContainerUrl(url, containerParameter, parameterPrefix);
            var authentication = Authentication ?? BlobAuthentication.ManagedIdentity;
            if (authentication == BlobAuthentication.ManagedIdentity)
            {
                if (hasSecret)
                {
                    throw Invalid(nameof(Authentication), $"A managed identity takes no account key or SAS; give {Name("Authentication")} SharedKey with {Name("AccountKey")}, or {Name("Authentication")} Sas with {Name("SasToken")}.");
                }
                if (url.Scheme != Uri.UriSchemeHttps)
                {
                    throw Invalid(nameof(BlobContainer), $"The chunk store container (-{containerParameter}) '{url}' is plain http, and a managed identity's token is only sent over https. Use SharedKey or Sas for a local emulator.");
                }
            }
            else
            {
                if (!hasSecret)
                {
                    var parameter = authentication == BlobAuthentication.SharedKey ? Name("AccountKey") : Name("SasToken");
                    throw Invalid(nameof(Authentication), $"Authentication {authentication} needs the secret: give it with {parameter}.");
                }
                if (ClientId != null)
                {
                    throw Invalid(nameof(ClientId), $"{Name("ClientId")} names a user-assigned managed identity; it goes with {Name("Authentication")} ManagedIdentity only.");
                }
            }
        }

        /// <summary>
        /// A container URL the chunk store can use: absolute https (plain http only to a loopback address: Azurite),
        /// naming a container and nothing below it, without a query (a SAS there would be stored in clear).
        /// </summary>
        public static void ValidateContainerUrl(Uri url, string containerParameter = "BlobContainer", string parameterPrefix = "")
        {
            if (url is null) throw new ArgumentNullException(nameof(url));
            if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
            {
                throw Invalid(nameof(BlobContainer), $"The chunk store container (-{containerParameter}) '{url}' is not an https URL; give it as https://<account>.blob.core.windows.net/<container>.");
            }
            if (url.Scheme == Uri.UriSchemeHttp && !IsLoopback(url))
            {
                throw Invalid(nameof(BlobContainer),
                    $"The chunk store container (-{containerParameter}) '{url}' is plain http to '{url.Host}', which would send the chunks and the key in clear: use https. Plain http is allowed only to a loopback address (a local Azurite).");
            }
            if (!string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.Fragment))
            {
                throw Invalid(nameof(BlobContainer),
                    $"The chunk store container URL (-{containerParameter}) '{url.GetLeftPart(UriPartial.Path)}' has a query: a SAS in the URL would be stored in clear. Give the URL without '?…' and the SAS with -{parameterPrefix}SasToken.");
            }
            var segments = url.AbsolutePath.Trim('/').Split(new[] { '/' }, StringSplitOptions.RemoveEmptyEntries);
            // Azurite (and any IP-style endpoint) puts the account in the path: /account/container.
            var expected = IsIpStyle(url) ? 2 : 1;
            if (segments.Length != expected || !ContainerName.IsMatch(segments[expected - 1]))
            {
                var shape = IsIpStyle(url) ? "http://127.0.0.1:<port>/<account>/<container>" : "https://<account>.blob.core.windows.net/<container>";
                throw Invalid(nameof(BlobContainer),
                    $"The chunk store container URL (-{containerParameter}) '{url}' does not name one container ({shape}; a container name is 3-63 lower-case letters, digits and single hyphens).");
            }
        }

        private static bool IsIpStyle(Uri url) => url.HostNameType == UriHostNameType.IPv4 || url.HostNameType == UriHostNameType.IPv6 || url.IsLoopback;

        private static bool IsLoopback(Uri url) =>
            url.IsLoopback || (IPAddress.TryParse(url.DnsSafeHost, out var address) && IPAddress.IsLoopback(address));

        private static InvalidSettingException Invalid(string setting, string message) => new InvalidSettingException("ChunkStore", "chunk store", setting, message);
    }
}
