using System;

namespace AzureSiteRecovery.DR.Core.Transfers.Retries
{
    /// <summary>
    /// How hard a transfer tries: attempts per request (an attempt that moved bytes does not count
    /// against them: a long copy over a flaky link keeps going while it progresses), the back-off
    /// between them, the retries a whole replication cycle may spend, and how long a transfer may
    /// go without progress before it is aborted and retried. The Azure SDK's clients get the same
    /// budget (<see cref="ApplyTo"/>) instead of a second one stacked on ours.
    /// </summary>
    public sealed record RetrySettings
    {
        public static RetrySettings Default { get; } = new RetrySettings();

        /// <summary>Tries of one request, the first included.</summary>
        public int MaxAttempts { get; init; } = 6;

        /// <summary>0.25 s, 0.5 s, 1 s, 2 s, 4 s (each halved to doubled by jitter; a Retry-After answer says its own).</summary>
        public Backoff Backoff { get; init; } = new Backoff(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(15));

        /// <summary>The longest Retry-After honoured: a server asking for more is retried after this.</summary>
        public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromSeconds(30);

        /// <summary>Retries one replication cycle may spend over all its requests; then it fails and the next cycle resumes.</summary>
        public int CycleRetries { get; init; } = 200;

        /// <summary>A transfer (a SOAP call, a read or write of a datastore file) with no byte moved for this long is aborted and retried.</summary>
        /// <remarks>A replication cycle takes its policy's TransferStallTimeout; elsewhere the policies' default.</remarks>
        public TimeSpan StallTimeout { get; init; } = Model.ReplicationPolicy.DefaultTransferStallTimeout;

        /// <summary>The same budget for an Azure SDK client: its retries, back-off and network timeout (its own stall bound).</summary>
        public void ApplyTo(Azure.Core.RetryOptions options)
        {
            if (options is null) throw new ArgumentNullException(nameof(options));
            options.Mode = Azure.Core.RetryMode.Exponential;
            options.MaxRetries = MaxAttempts - 1;
            options.Delay = Backoff.First;
            options.MaxDelay = Backoff.Slowest;
            options.NetworkTimeout = StallTimeout;
        }
    }
}
