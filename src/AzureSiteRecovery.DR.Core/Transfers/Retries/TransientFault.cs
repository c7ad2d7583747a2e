using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;

namespace AzureSiteRecovery.DR.Core.Transfers.Retries
{
    /// <summary>
    /// A failure worth another try: a connection refused, reset or ended early, a timeout or a stall,
    /// or an HTTP answer that says "later" (408, 429, 500 without a SOAP fault, 502, 503, 504).
    /// <see cref="NotSent"/> when the request provably never reached the server (refused connection,
    /// 408/429/503): only then is a request that changes something sent again.
    /// </summary>
    public sealed class TransientFault
    {
        private TransientFault(string description, bool notSent, TimeSpan? retryAfter)
        {
            Description = description;
            NotSent = notSent;
            RetryAfter = retryAfter;
        }

        /// <summary>What went wrong, in a few words, for the error that ends the retries.</summary>
        public string Description { get; }

        public bool NotSent { get; }

        /// <summary>The server's Retry-After, when it gave one.</summary>
        public TimeSpan? RetryAfter { get; }

        /// <summary>
        /// The fault <paramref name="e"/> is, or null when it is not transient (refused certificate, unknown
        /// host, authentication, a SOAP fault, a 4xx other than 408/429, the caller's cancellation).
        /// </summary>
        public static TransientFault? Of(Exception e)
        {
            switch (e)
            {
                case TransientHttpStatusException status:
                    return new TransientFault($"HTTP {status.StatusCode}", status.NotSent, status.RetryAfter);
                case TransferStalledException stalled:
                    return new TransientFault(stalled.Message, false, null);
                case TimeoutException _:
                    return new TransientFault("timed out", false, null);
                case Errors.SiteUnreachableException unknown when unknown.OutcomeUnknown:
                    // A call that changes something broke after it may have acted: retried only by a caller that checks first.
                    return new TransientFault(unknown.InnerException?.Message ?? unknown.Message, false, null);
            }

            var refused = false;
            for (var inner = e; inner != null; inner = inner.InnerException)
            {
                switch (inner)
                {
                    case AuthenticationException _:
                        // TLS refused (a certificate we do not trust): trying again changes nothing.
                        return null;
                    case SocketException socket:
                        switch (socket.SocketErrorCode)
                        {
                            case SocketError.HostNotFound:
                            case SocketError.NoData:
                            case SocketError.AddressNotAvailable:
                                return null;
                            case SocketError.ConnectionRefused:
                                refused = true;
                                break;
                        }
                        break;
                }
            }

            var root = Errors.ExceptionChain.Innermost(e);
            if (refused) return new TransientFault("connection refused: " + root.Message, true, null);
            return e is HttpRequestException || e is IOException || e.InnerException is IOException || e.InnerException is SocketException
                ? new TransientFault(root.Message, false, null)
                : null;
        }

        /// <summary>Whether an HTTP status is worth another try (a SOAP 500 carrying a fault is not: the caller checks that first).</summary>
        public static bool IsTransientStatus(HttpStatusCode status) =>
            status == HttpStatusCode.RequestTimeout || (int)status == 429 || status == HttpStatusCode.InternalServerError
            || status == HttpStatusCode.BadGateway || status == HttpStatusCode.ServiceUnavailable || status == HttpStatusCode.GatewayTimeout;

        /// <summary>Statuses that mean the server did not act on the request.</summary>
        public static bool MeansNotSent(HttpStatusCode status) =>
            status == HttpStatusCode.RequestTimeout || (int)status == 429 || status == HttpStatusCode.ServiceUnavailable;
    }

    /// <summary>An HTTP answer that asks to try again later; thrown inside a transfer's retry loop, never out of it.</summary>
    public sealed class TransientHttpStatusException : Exception
    {
        public TransientHttpStatusException(HttpStatusCode statusCode, TimeSpan? retryAfter, string url)
            : base($"HTTP {(int)statusCode} {statusCode} from '{url}'")
        {
            StatusCode = (int)statusCode;
            RetryAfter = retryAfter;
            NotSent = TransientFault.MeansNotSent(statusCode);
        }

        public int StatusCode { get; }
        public TimeSpan? RetryAfter { get; }
        public bool NotSent { get; }

        /// <summary>The Retry-After of a response (seconds or a date), if any.</summary>
        public static TimeSpan? RetryAfterOf(HttpResponseMessage response)
        {
            var header = response.Headers.RetryAfter;
            if (header is null) return null;
            if (header.Delta is TimeSpan delta) return delta;
            if (header.Date is DateTimeOffset date) return date - DateTimeOffset.UtcNow is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero;
            return null;
        }
    }

    /// <summary>A transfer that moved no byte for the stall timeout; thrown inside a retry loop.</summary>
    public sealed class TransferStalledException : Exception
    {
        public TransferStalledException(TimeSpan stallTimeout)
            : base($"no progress for {stallTimeout.TotalSeconds:0.#} s (stalled)")
        {
        }
    }
}
