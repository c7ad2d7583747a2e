using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Transfers.Bandwidth
{
    /// <summary>
    /// A token bucket that paces the bytes of every transfer over one link (a vCenter, an Azure site) to the site's
    /// <see cref="BandwidthLimit"/> at the current local time. Callers take the bytes they move; the bucket may go into debt,
    /// and a caller waits until its share of the debt is paid, so concurrent streams together hold the rate. The bucket holds at
    /// most <see cref="BurstTime"/> of the rate (a short transfer after a pause is not inflated) and starts empty.
    /// </summary>
    public sealed class BandwidthLimiter
    {
        /// <summary>How much of the rate an idle link saves up: 100 ms worth.</summary>
        public static readonly TimeSpan BurstTime = TimeSpan.FromMilliseconds(100);
        /// <summary>How often the rate is looked up again (the schedule's windows change it by the time of day).</summary>
        private static readonly TimeSpan RateRefresh = TimeSpan.FromSeconds(1);

        // All jobs of a process share the link to a site, so its cap must be one bucket per link for the whole process (the one deliberate static state).
        private static readonly ConcurrentDictionary<string, BandwidthLimiter> Links = new ConcurrentDictionary<string, BandwidthLimiter>(StringComparer.OrdinalIgnoreCase);

        private readonly object gate = new object();
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private readonly Func<TimeSpan> timeOfDay;
        private BandwidthLimit? limit;
        private double bytesPerSecond;
        private double rateReadAt = double.NegativeInfinity;
        private double tokens;
        private double lastRefill;

        /// <summary>A bucket of its own (tests; <see cref="ForLink"/> gives the process-wide one of a link).</summary>
        public BandwidthLimiter(string link, BandwidthLimit? limit, Func<TimeSpan>? timeOfDay = null)
        {
            Link = link ?? throw new ArgumentNullException(nameof(link));
            this.timeOfDay = timeOfDay ?? (() => DateTime.Now.TimeOfDay);
            Update(limit);
        }

        /// <summary>The link this bucket paces: "vsphere:host:port" or "azure:&lt;ARM host&gt;/&lt;storage account&gt;".</summary>
        public string Link { get; }

        /// <summary>The limit in force; null: none.</summary>
        public BandwidthLimit? Limit => limit;

        /// <summary>
        /// The process-wide bucket of <paramref name="link"/>, set to <paramref name="limit"/> (the site's as last read: a changed
        /// limit takes effect for every transfer on the link); null when neither this nor an earlier connection set a limit on it.
        /// </summary>
        public static BandwidthLimiter? ForLink(string link, BandwidthLimit? limit)
        {
            if (link is null) throw new ArgumentNullException(nameof(link));
            if (limit is null)
            {
                // A link already paced keeps its bucket (transfers in flight hold it) but stops pacing.
                if (Links.TryGetValue(link, out var existing)) existing.Update(null);
                return null;
            }
            var limiter = Links.GetOrAdd(link, key => new BandwidthLimiter(key, limit));
            limiter.Update(limit);
            return limiter;
        }

        /// <summary>The link key of a vSphere server: its host and port.</summary>
        public static string VSphereLink(Uri server) => $"vsphere:{server.Host}:{server.Port}";

        /// <summary>The link key of an Azure site: its Resource Manager host and storage account (every transfer of the site shares it).</summary>
        public static string AzureLink(Site site) => $"azure:{site.GetArmEndpoint()?.Authority}/{site.StorageAccount}";

        /// <summary>Sets the limit (the site was read again).</summary>
        public void Update(BandwidthLimit? value)
        {
            lock (gate)
            {
                if (Equals(limit, value)) return;
                limit = value;
                rateReadAt = double.NegativeInfinity;
            }
        }

        /// <summary>The cap now in bytes per second; 0: no cap now.</summary>
        public double BytesPerSecond
        {
            get
            {
                lock (gate) return RateLocked(clock.Elapsed.TotalSeconds);
            }
        }

        /// <summary>Takes <paramref name="bytes"/> from the bucket, waiting until the rate allows them (at once when there is no cap now).</summary>
        public Task TakeAsync(long bytes, CancellationToken cancellationToken)
        {
            if (bytes <= 0) return Task.CompletedTask;
            double wait;
            lock (gate)
            {
                var now = clock.Elapsed.TotalSeconds;
                var rate = RateLocked(now);
                if (rate <= 0) return Task.CompletedTask;
                var burst = rate * BurstTime.TotalSeconds;
                tokens = Math.Min(burst, tokens + (now - lastRefill) * rate);
                lastRefill = now;
                tokens -= bytes;
                wait = tokens >= 0 ? 0 : -tokens / rate;
            }
            return wait <= 0 ? Task.CompletedTask : Task.Delay(TimeSpan.FromSeconds(wait), cancellationToken);
        }

        /// <summary>The largest piece a stream should move between two takes: the burst, at least 16 KiB, at most 1 MiB.</summary>
        public int PieceSize
        {
            get
            {
                var rate = BytesPerSecond;
                return rate <= 0 ? 1 << 20 : (int)Math.Max(16 * 1024, Math.Min(1 << 20, rate * BurstTime.TotalSeconds));
            }
        }

        private double RateLocked(double now)
        {
            if (now - rateReadAt < RateRefresh.TotalSeconds) return bytesPerSecond;
            rateReadAt = now;
            var mibps = limit?.MiBpsAt(timeOfDay()) ?? 0;
            var rate = mibps * 1024 * 1024;
            if (rate != bytesPerSecond)
            {
                // A new rate starts from an empty bucket: nothing saved up at the old rate bursts out.
                bytesPerSecond = rate;
                tokens = Math.Min(tokens, 0);
                lastRefill = now;
            }
            return bytesPerSecond;
        }
    }
}
