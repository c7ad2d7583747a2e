using System;
using System.Threading;

namespace AzureSiteRecovery.DR.Core.Transfers.Retries
{
    /// <summary>
    /// The one exponential back-off of the module: the wait before the n-th retry (or poll) grows from
    /// <see cref="First"/> by <see cref="Factor"/> up to <see cref="Slowest"/>. Retries of transfers
    /// (<see cref="Retrier"/>) take it with jitter, so clients cut off together do not come back together;
    /// pollers (task, guest, validation waits) and the scheduler's failure back-off take it plain.
    /// </summary>
    public sealed record Backoff(TimeSpan First, TimeSpan Slowest, double Factor = 2)
    {
        // Jitter needs randomness, not reproducibility; one generator per thread (Random is not thread-safe).
        private static readonly ThreadLocal<Random> Jitter = new ThreadLocal<Random>(() => new Random(Guid.NewGuid().GetHashCode()));

        /// <summary>The wait after the <paramref name="n"/>-th try (1: <see cref="First"/>).</summary>
        public TimeSpan After(int n)
        {
            if (n <= 1 || Factor <= 1) return Min(First, Slowest);
            var ticks = First.Ticks * Math.Pow(Factor, Math.Min(60, n - 1));
            return ticks >= Slowest.Ticks ? Slowest : TimeSpan.FromTicks((long)ticks);
        }

        /// <summary><see cref="After"/> with "equal jitter": half of it fixed, the other half random.</summary>
        public TimeSpan AfterWithJitter(int n)
        {
            var wait = After(n);
            var half = wait.Ticks / 2;
            return TimeSpan.FromTicks(half + (long)(Jitter.Value!.NextDouble() * half));
        }

        private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
    }
}
