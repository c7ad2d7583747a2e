using System;
using System.Diagnostics;
using System.Threading;

namespace AzureSiteRecovery.DR.Core.Transfers.Retries
{
    /// <summary>
    /// Cancels a transfer that moved nothing for the stall timeout: a token linked to the caller's, and a
    /// timer that looks at the time of the last progress four times per timeout.
    /// </summary>
    internal sealed class StallWatch : IDisposable
    {
        private readonly CancellationTokenSource source;
        private readonly Timer timer;
        private readonly long timeoutTicks;
        private long lastProgress;
        private volatile bool stalled;
        private volatile bool everProgressed;

        public StallWatch(TimeSpan timeout, CancellationToken caller)
        {
            source = CancellationTokenSource.CreateLinkedTokenSource(caller);
            timeoutTicks = (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            lastProgress = Stopwatch.GetTimestamp();
            var period = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond * 50, timeout.Ticks / 4));
            timer = new Timer(_ => Check(), null, period, period);
        }

        public CancellationToken Token => source.Token;

        public bool Stalled => stalled;

        public bool EverProgressed => everProgressed;

        public void Progressed()
        {
            everProgressed = true;
            Volatile.Write(ref lastProgress, Stopwatch.GetTimestamp());
        }

        private void Check()
        {
            if (stalled || Stopwatch.GetTimestamp() - Volatile.Read(ref lastProgress) < timeoutTicks) return;
            stalled = true;
            try
            {
                source.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The transfer ended meanwhile.
            }
        }

        public void Dispose()
        {
            timer.Dispose();
            source.Dispose();
        }
    }
}
