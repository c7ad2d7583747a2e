using System;

namespace AzureSiteRecovery.DR.Core.Errors
{
    /// <summary>A vSphere condition (guest heartbeat, IP address) that did not come true in time.</summary>
    public sealed class VSphereTimeoutException : DRException
    {
        public VSphereTimeoutException(string errorId, string target, TimeSpan timeout, string message)
            : base(errorId, FailureKind.Unavailable, target, message, new TimeoutException(message))
        {
            Timeout = timeout;
        }

        public TimeSpan Timeout { get; }
    }
}
