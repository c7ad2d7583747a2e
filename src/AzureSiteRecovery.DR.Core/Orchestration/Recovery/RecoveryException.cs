using System;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery
{
    /// <summary>A recovery that cannot go on as asked; <see cref="DRException.ErrorId"/> says why and the message what to do.</summary>
    public sealed class RecoveryException : DRException
    {
        public RecoveryException(string errorId, FailureKind kind, string? target, string message, Exception? inner = null)
            : base(errorId, kind, target, message, inner)
        {
        }
    }
}
