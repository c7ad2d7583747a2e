using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Core.Tests.Replication
{
    /// <summary>A store that passes everything on to another one, each put through the test's hook (an outage, a failure, a hang).</summary>
    internal sealed class PutHookStore : IObjectStore
    {
        private readonly IObjectStore inner;
        private readonly Func<string, Func<Task>, CancellationToken, Task> put;

        /// <param name="inner">The real store.</param>
        /// <param name="put">Called with the key, the put itself (to call, or not) and the put's token.</param>
        public PutHookStore(IObjectStore inner, Func<string, Func<Task>, CancellationToken, Task> put)
        {
            this.inner = inner;
            this.put = put;
        }

        public string Location => inner.Location;

        public Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
            put(key, () => inner.PutAsync(key, content, cancellationToken), cancellationToken);

        public Task<byte[]> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken) => inner.ExistsAsync(key, cancellationToken);

        public Task<bool> TouchAsync(string key, CancellationToken cancellationToken) => inner.TouchAsync(key, cancellationToken);

        public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);

        public Task<bool> DeleteIfUnchangedAsync(StoredObject listed, CancellationToken cancellationToken) => inner.DeleteIfUnchangedAsync(listed, cancellationToken);

        public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
    }
}
