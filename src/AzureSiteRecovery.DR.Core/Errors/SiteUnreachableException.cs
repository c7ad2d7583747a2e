using System;

namespace AzureSiteRecovery.DR.Core.Errors
{
    /// <summary>A site endpoint that cannot be reached: connection refused, unknown host, timeout, broken TLS.</summary>
    public sealed class SiteUnreachableException : DRException
    {
        public SiteUnreachableException(string errorId, string url, string message, Exception? inner = null)
            : base(errorId, FailureKind.Unavailable, url, message, inner)
        {
        }

        /// <summary>
        /// The request changes something and its connection broke after it may have reached the server: whether it took
        /// effect is unknown, so it was not sent again. A caller that can check (a snapshot by name) retries after checking.
        /// </summary>
        public bool OutcomeUnknown { get; init; }
    }
}
