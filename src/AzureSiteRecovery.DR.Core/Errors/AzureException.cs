using System;

namespace AzureSiteRecovery.DR.Core.Errors
{
    /// <summary>
    /// A failure talking to Azure for an Azure site: sign-in (AzureSignInFailed), a Resource Manager or
    /// storage request (AzureRequestFailed, with the service's own error code in the message), an untrusted
    /// endpoint certificate (AzureCertificateUntrusted), or something missing there (AzureResourceNotFound).
    /// </summary>
    public sealed class AzureException : DRException
    {
        public AzureException(string errorId, FailureKind kind, string? target, string message, Exception? inner = null)
            : base(errorId, kind, target, message, inner)
        {
        }
    }
}
