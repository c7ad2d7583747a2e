using System;
using System.IO;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks
{
    /// <summary>
    /// Where a plan's script file is: an absolute path as written, a relative one under the folder
    /// the plan was imported from (<see cref="RecoveryPlan.SourceFolder"/>). Used for validations
    /// and actions alike.
    /// </summary>
    public static class PlanScriptPath
    {
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
            var native = scriptPath.Replace('\\', Path.DirectorySeparatorChar).Replace('/', Path.DirectorySeparatorChar);
            string full;
            if (Path.IsPathRooted(native))
            {
                full = Path.GetFullPath(native);
            }
            else if (string.IsNullOrEmpty(planFolder))
            {
                throw new PlanScriptException("PlanScriptNotFound", FailureKind.NotFound, scriptPath,
                    $"The script '{scriptPath}' of recovery plan '{planName}'{where} is relative to the plan file, but the vault does not know " +
                    $"the plan's folder (it was imported before the vault kept it). Import the plan again: Import-RecoveryPlan -Path <plan file> -Force.");
            }
            else
            {
                full = Path.GetFullPath(Path.Combine(planFolder, native));
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
