using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>Runs an action over items with at most N at once; the first failure cancels the rest and is the one thrown.</summary>
    internal static class BoundedParallel
    {
        public static async Task ForEachAsync<T>(IEnumerable<T> items, int parallelism, Func<T, CancellationToken, Task> action, CancellationToken cancellationToken)
        {
            using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var enumerator = items.GetEnumerator();
            var gate = new object();

            async Task Worker()
            {
                while (true)
                {
                    T item;
                    lock (gate)
                    {
                        if (failed.IsCancellationRequested || !enumerator.MoveNext()) return;
                        item = enumerator.Current;
                    }
                    try
                    {
                        await action(item, failed.Token).ConfigureAwait(false);
                    }
                    catch
                    {
                        failed.Cancel();
                        throw;
                    }
                }
            }

            var workers = new Task[Math.Max(1, parallelism)];
            for (var i = 0; i < workers.Length; i++) workers[i] = Task.Run(Worker);
            await Task.WhenAll(workers).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}
