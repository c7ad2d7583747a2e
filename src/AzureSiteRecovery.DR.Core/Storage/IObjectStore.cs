using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>
    /// A flat store of immutable objects under '/'-separated keys (see <see cref="ObjectKeys"/>): a
    /// local folder or an Azure Blob container. Every operation is safe to repeat. Failures are
    /// <see cref="StoreObjectNotFoundException"/>, <see cref="StoreUnavailableException"/> (the store
    /// cannot be reached: callers may spool) and <see cref="StoreAccessDeniedException"/>.
    /// </summary>
    public interface IObjectStore
    {
        /// <summary>Where the store is (folder path or container URL), for messages.</summary>
        string Location { get; }

        /// <summary>Stores <paramref name="content"/> under <paramref name="key"/>, replacing any object there. Atomic (a reader sees the old object, the whole new one, or none) and durable when the task completes.</summary>
        Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

        /// <summary>The whole object; <see cref="StoreObjectNotFoundException"/> when there is none.</summary>
        Task<byte[]> GetAsync(string key, CancellationToken cancellationToken);

        Task<bool> ExistsAsync(string key, CancellationToken cancellationToken);

        /// <summary>Sets the object's last-modified time to now, so that a garbage collection that started earlier keeps it; false when there is no such object.</summary>
        Task<bool> TouchAsync(string key, CancellationToken cancellationToken);

        /// <summary>Deletes the object; false when there was none.</summary>
        Task<bool> DeleteAsync(string key, CancellationToken cancellationToken);

        /// <summary>
        /// Deletes the object only if it is still the version <paramref name="listed"/> describes
        /// (not replaced or touched since it was listed); true when deleted. This is what makes
        /// garbage collection safe against a cycle that touches the object at the same moment.
        /// </summary>
        Task<bool> DeleteIfUnchangedAsync(StoredObject listed, CancellationToken cancellationToken);

        /// <summary>Every object whose key starts with <paramref name="prefix"/>, streamed page by page (any order); suits millions of keys.</summary>
        IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken);
    }

    /// <summary>One object as listed. <see cref="Version"/> is opaque (an ETag, or a file's time and size) and changes with every put or touch.</summary>
    public sealed class StoredObject
    {
        public StoredObject(string key, long size, DateTimeOffset lastModified, string version)
        {
            Key = key;
            Size = size;
            LastModified = lastModified;
            Version = version;
        }

        public string Key { get; }
        public long Size { get; }
        public DateTimeOffset LastModified { get; }
        public string Version { get; }

        public override string ToString() => $"{Key} ({Size} bytes, {LastModified:u})";
    }
}
