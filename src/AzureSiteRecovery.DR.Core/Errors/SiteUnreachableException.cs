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
    }
}
