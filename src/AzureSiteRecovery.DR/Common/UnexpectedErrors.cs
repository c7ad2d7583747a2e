using System;
using System.IO;
using System.Management.Automation;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Common
{
    /// <summary>
    /// Error ids for failures the service library did not anticipate: the id is one of ours, stable
    /// and short (scripts match on it), the message is the exception's, the exception stays in the record.
    /// </summary>
    internal static class UnexpectedErrors
    {
        /// <summary>Whether a PowerShell exception already carries a specific error id (not just its type's name).</summary>
        public static bool HasOwnId(Exception ex) =>
            ex is IContainsErrorRecord { ErrorRecord: { } record } && record.FullyQualifiedErrorId.IndexOf("Exception", StringComparison.Ordinal) < 0;

        public static ErrorRecord ToErrorRecord(Exception ex, object? target)
        {
            if (ex is DRException dr) return DRCmdlet.ToErrorRecord(dr, target);
            var (id, category) = ex switch
            {
                WildcardPatternException _ => ("InvalidWildcardPattern", ErrorCategory.InvalidArgument),
                UnauthorizedAccessException _ => ("AccessDenied", ErrorCategory.PermissionDenied),
                // By name: the cmdlet assembly does not reference SQLite itself.
                _ when ex.GetType().FullName == "Microsoft.Data.Sqlite.SqliteException" => ("VaultDatabaseError", ErrorCategory.ResourceUnavailable),
                FileNotFoundException _ => ("FileNotFound", ErrorCategory.ObjectNotFound),
                DirectoryNotFoundException _ => ("FileNotFound", ErrorCategory.ObjectNotFound),
                IOException _ => ("FileSystemError", ErrorCategory.WriteError),
                ArgumentException _ => ("InvalidArgument", ErrorCategory.InvalidArgument),
                FormatException _ => ("InvalidArgument", ErrorCategory.InvalidArgument),
                TimeoutException _ => ("OperationTimedOut", ErrorCategory.OperationTimeout),
                _ => ("UnexpectedError", ErrorCategory.NotSpecified),
            };
            return new ErrorRecord(ex, id, category, target);
        }
    }
}
