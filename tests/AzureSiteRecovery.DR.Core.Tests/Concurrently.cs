using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace AzureSiteRecovery.DR.Core.Tests
{
    /// <summary>Runs work on several threads released together, so it really overlaps even on a machine with few cores.</summary>
    internal static class Concurrently
    {
        public static Task<T[]> Run<T>(int count, Func<int, Task<T>> work)
        {
            var start = new Barrier(count);
            var tasks = Enumerable.Range(0, count).Select(index => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                return work(index);
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap()).ToArray();
            return Task.WhenAll(tasks).ContinueWith(all =>
            {
                start.Dispose();
                return all;
            }, TaskScheduler.Default).Unwrap();
        }

        public static Task<T[]> Run<T>(int count, Func<int, T> work) => Run(count, index => Task.FromResult(work(index)));
    }
}
