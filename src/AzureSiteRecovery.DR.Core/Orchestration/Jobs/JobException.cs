using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Core.Orchestration.Jobs
{
    /// <summary>A job that cannot be run or resumed as asked; <see cref="DRException.ErrorId"/> says why.</summary>
    public sealed class JobException : DRException
    {
        public JobException(string errorId, FailureKind kind, string jobId, string message)
            : base(errorId, kind, jobId, message)
        {
        }
    }
}
