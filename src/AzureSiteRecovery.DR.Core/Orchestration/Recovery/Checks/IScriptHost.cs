using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks
{
    /// <summary>
    /// Runs a PowerShell script of a recovery plan (a validation or a group's action). The cmdlet
    /// layer implements it; the service library has no PowerShell types.
    /// </summary>
    public interface IScriptHost
    {
        /// <summary>
        /// Runs the script and reports how it went. A script fails when it throws, writes an error
        /// (terminating or not), runs longer than <see cref="ScriptRequest.Timeout"/> (it is then
        /// stopped), or its last output is <c>$false</c>. Cancellation stops the script and throws
        /// <see cref="OperationCanceledException"/>.
        /// </summary>
        Task<ScriptRunResult> RunAsync(ScriptRequest request, CancellationToken cancellationToken);
    }

    /// <summary>The names of the variables a plan's scripts get (as variables, and as parameters when the script declares them).</summary>
    public static class ScriptVariables
    {
        public const string VmName = "VmName";
        public const string IpAddress = "IpAddress";
        public const string RecoveryPlan = "RecoveryPlan";
        public const string Group = "Group";
        public const string JobId = "JobId";
        public const string Site = "Site";
    }

    /// <summary>A script to run: a file (absolute path) or inline text, with its variables and time limit.</summary>
    public sealed class ScriptRequest
    {
        private ScriptRequest(string? path, string? inline, string description, TimeSpan timeout, IReadOnlyDictionary<string, object?>? variables)
        {
            if (timeout <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "A script needs a positive timeout.");
            }

            var copy = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
            foreach (var pair in variables ?? new Dictionary<string, object?>())
            {
                if (string.IsNullOrEmpty(pair.Key) || !pair.Key.All(c => char.IsLetterOrDigit(c) || c == '_'))
                {
                    throw new ArgumentException($"'{pair.Key}' is not a PowerShell variable name (letters, digits and _).", nameof(variables));
                }

                copy[pair.Key] = pair.Value;
            }

            Path = path;
            Inline = inline;
            Description = string.IsNullOrWhiteSpace(description) ? (path ?? "inline script") : description;
            Timeout = timeout;
            Variables = copy;
        }

        /// <summary>The script file, an absolute path (relative plan paths are resolved by <see cref="PlanScriptPath"/>); null for an inline script.</summary>
        public string? Path { get; }

        /// <summary>The script text; null for a file.</summary>
        public string? Inline { get; }

        /// <summary>What the script is for, in messages ("validation script checks/db.ps1 of erp-db01").</summary>
        public string Description { get; }

        /// <summary>How long the script may run (the PowerShell runspace start included) before it is stopped and fails.</summary>
        public TimeSpan Timeout { get; }

        /// <summary>Variables the script gets (names without $, case-insensitive); values are strings, numbers or null.</summary>
        public IReadOnlyDictionary<string, object?> Variables { get; }

        /// <summary>A script file; <paramref name="path"/> must be absolute.</summary>
        public static ScriptRequest ForFile(string path, string description, TimeSpan timeout, IReadOnlyDictionary<string, object?>? variables = null)
        {
            if (string.IsNullOrWhiteSpace(path) || !System.IO.Path.IsPathRooted(path))
            {
                throw new ArgumentException($"A script file path must be absolute, not '{path}' (resolve plan paths with PlanScriptPath).", nameof(path));
            }

            return new ScriptRequest(path, null, description, timeout, variables);
        }

        /// <summary>Script text, as written inline in a plan.</summary>
        public static ScriptRequest ForInline(string script, string description, TimeSpan timeout, IReadOnlyDictionary<string, object?>? variables = null)
        {
            if (script is null) throw new ArgumentNullException(nameof(script));
            return new ScriptRequest(null, script, description, timeout, variables);
        }

        public override string ToString() => Description;
    }

    /// <summary>How a script run went.</summary>
    public sealed record ScriptRunResult
    {
        /// <summary>At most this many lines of output are kept: the last ones.</summary>
        public const int MaxOutputLines = 200;

        /// <summary>Longer lines are cut to this many characters.</summary>
        public const int MaxLineLength = 2000;

        public bool Succeeded { get; init; }

        /// <summary>The script ran longer than its timeout and was stopped.</summary>
        public bool TimedOut { get; init; }

        /// <summary>
        /// What the script wrote, in order: its output objects as strings, Write-Host and
        /// Write-Information text, and warnings ("WARNING: ..."); the last <see cref="MaxOutputLines"/> lines.
        /// </summary>
        public IReadOnlyList<string> Output { get; init; } = Array.Empty<string>();

        /// <summary>Earlier lines of output were dropped to keep <see cref="MaxOutputLines"/>.</summary>
        public bool OutputTruncated { get; init; }

        /// <summary>Why the script failed (its errors, the timeout, or a last output of $false); null when it succeeded.</summary>
        public string? Error { get; init; }

        public TimeSpan Duration { get; init; }
    }
}
