using System;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;

namespace AzureSiteRecovery.DR.Core.Transfers.Retries
{
    /// <summary>What a request's retries ended with: the last failure, how many tries, and whether it was transient.</summary>
    public sealed record RetryOutcome(Exception Last, int Attempts, TransientFault? Fault)
    {
        /// <summary>"3 attempts" / "1 attempt", for messages.</summary>
        public string AttemptsText => Attempts == 1 ? "1 attempt" : $"{Attempts} attempts";

        /// <summary>The last failure in a few words: the transient fault's description, else the innermost exception's message.</summary>
        public string LastError => Fault?.Description ?? Errors.ExceptionChain.Innermost(Last).Message;
    }

    /// <summary>One try of a request: its number, its token (cancelled by the caller or by a stall), and progress to report.</summary>
    public sealed class RetryAttempt
    {
        private readonly StallWatch watch;

        internal RetryAttempt(int number, StallWatch watch)
        {
            Number = number;
            this.watch = watch;
        }

        public int Number { get; }

        /// <summary>Cancelled when the caller cancels, or when no progress was reported for the stall timeout.</summary>
        public CancellationToken Token => watch.Token;

        /// <summary>Bytes moved: the stall clock starts again, and this try does not count against the request's attempts.</summary>
        public void Progressed() => watch.Progressed();

        internal bool MadeProgress => watch.EverProgressed;
    }

    /// <summary>
    /// The one retry loop of the module: runs a request until it succeeds, fails with a fault that is not
    /// transient (at once), or spends its attempts or its cycle's <see cref="RetryBudget"/>. Waits the
    /// server's Retry-After when it gave one, else <see cref="RetrySettings.Backoff"/> with jitter. A
    /// request that changes something (<c>changesState</c>) is sent again only when the fault
    /// shows the server never acted on it. <c>fail</c> turns the final failure into the caller's typed error.
    /// </summary>
    public static class Retrier
    {
        public static async Task<T> RunAsync<T>(Func<RetryAttempt, Task<T>> operation, bool changesState, Func<RetryOutcome, Exception> fail, CancellationToken cancellationToken)
        {
            var budget = RetryBudget.Current;
            var settings = budget?.Settings ?? RetrySettings.Default;
            var number = 0;
            var withoutProgress = 0;
            while (true)
            {
                number++;
                withoutProgress++;
                Exception failure;
                var watch = new StallWatch(settings.StallTimeout, cancellationToken);
                var attempt = new RetryAttempt(number, watch);
                try
                {
                    return await operation(attempt).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (watch.Stalled && !cancellationToken.IsCancellationRequested)
                {
                    failure = new TransferStalledException(settings.StallTimeout);
                }
                catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
                {
                    failure = e;
                }
                finally
                {
                    watch.Dispose();
                }

                if (attempt.MadeProgress) withoutProgress = 1;
                var fault = TransientFault.Of(failure);
                var retry = fault != null
                    && (!changesState || fault.NotSent)
                    && withoutProgress < settings.MaxAttempts
                    && (budget?.TrySpend() ?? true);
                if (!retry)
                {
                    var mapped = fail(new RetryOutcome(failure, number, fault));
                    if (ReferenceEquals(mapped, failure)) ExceptionDispatchInfo.Capture(failure).Throw();
                    throw mapped;
                }

                var wait = fault!.RetryAfter is TimeSpan asked
                    ? (asked > settings.MaxRetryAfter ? settings.MaxRetryAfter : asked)
                    : settings.Backoff.AfterWithJitter(withoutProgress);
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
        }

        public static async Task RunAsync(Func<RetryAttempt, Task> operation, bool changesState, Func<RetryOutcome, Exception> fail, CancellationToken cancellationToken) =>
            await RunAsync<bool>(async attempt =>
            {
                await operation(attempt).ConfigureAwait(false);
                return true;
            }, changesState, fail, cancellationToken).ConfigureAwait(false);
    }
}
