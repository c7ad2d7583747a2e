using System;
using System.IO;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks
{
    /// <summary>
    /// Where a plan's script file is: an absolute path as written, a relative one under the folder
    /// the plan was imported from (<see cref="RecoveryPlan.SourceFolder"/>). Used for validations
    /// and actions alike.
    /// </summary>
    public static class PlanScriptPath
    {
        /// <summary>The largest script file run; a plan's scripts are short.</summary>
        public const long MaxScriptBytes = 1024 * 1024;

        /// <summary>Why the file at <paramref name="fullPath"/> cannot be run as a script (not a regular file, too large); null when it can, or does not exist.</summary>
        public static string? Problem(string fullPath)
        {
            var why = RegularFile.WhyNotRegular(fullPath);
            if (why == "missing") return null;
            if (why != null) return $"'{fullPath}' is {why}, not a script file";
            var length = new FileInfo(fullPath).Length;
            return length > MaxScriptBytes ? $"'{fullPath}' is {length:N0} bytes long; a script may be at most {MaxScriptBytes:N0} bytes" : null;
        }

        /// <summary>The full path a script path of a plan names (see <see cref="Resolve"/>); null for a relative path without a plan folder.</summary>
        public static string? FullPath(string scriptPath, string? planFolder)
        {
            var native = scriptPath.Replace('\\', Path.DirectorySeparatorChar).Replace('/', Path.DirectorySeparatorChar);
            if (Path.IsPathRooted(native)) return Path.GetFullPath(native);
            return string.IsNullOrEmpty(planFolder) ? null : Path.GetFullPath(Path.Combine(planFolder, native));
        }

        /// <summary>
        /// The full path of an existing script file. '/' and '\' both separate folders, so a plan
        /// written on Windows works on Linux and back. Throws <see cref="PlanScriptException"/>
        /// (PlanScriptNotFound) naming the path and the plan when the file does not exist or a
        /// relative path has no plan folder to start from.
        /// </summary>
        public static string Resolve(string scriptPath, string? planFolder, string planName, PlanLocation? location = null)
        {
            if (string.IsNullOrWhiteSpace(scriptPath)) throw new ArgumentException("A script path is needed.", nameof(scriptPath));
            var where = location is null ? "" : $" ({location})";
            var full = FullPath(scriptPath, planFolder) ?? throw new PlanScriptException("PlanScriptNotFound", FailureKind.NotFound, scriptPath,
                $"The script '{scriptPath}' of recovery plan '{planName}'{where} is relative to the plan file, but the vault does not know " +
                $"the plan's folder (it was imported before the vault kept it). Import the plan again: Import-RecoveryPlan -Path <plan file> -Force.");

            if (Problem(full) is string problem)
            {
                throw new PlanScriptException("PlanScriptInvalid", FailureKind.InvalidArgument, full,
                    $"The script '{scriptPath}' of recovery plan '{planName}'{where} cannot be run: {problem}. " +
                    "Name a .ps1 file, and import the plan again with Import-RecoveryPlan -Force.");
            }

            if (!File.Exists(full))
            {
                throw new PlanScriptException("PlanScriptNotFound", FailureKind.NotFound, full,
                    $"The script '{scriptPath}' of recovery plan '{planName}'{where} was not found: '{full}' does not exist. " +
                    "Put it there, or change the plan and import it again with Import-RecoveryPlan -Force.");
            }

            return full;
        }
    }

    /// <summary>A plan's script that cannot be found or that failed; <see cref="DRException.ErrorId"/> says which.</summary>
    public sealed class PlanScriptException : DRException
    {
        public PlanScriptException(string errorId, FailureKind kind, string target, string message)
            : base(errorId, kind, target, message)
        {
        }
    }
}
