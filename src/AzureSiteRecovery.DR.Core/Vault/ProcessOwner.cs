using System;
using System.Diagnostics;

namespace AzureSiteRecovery.DR.Core.Vault
{
    /// <summary>
    /// Who holds a lease or runs a job, written as machine/pid/suffix (the suffix tells apart two holders
    /// in one process), and whether that holder is known to be gone.
    /// </summary>
    public static class ProcessOwner
    {
        /// <summary>
        /// Overrides the machine name in owner ids, for tests and containers (where several "machines" share one host, or every
        /// container has the same host name): processes with different names never declare each other gone by their PID.
        /// </summary>
        public const string MachineNameVariable = "AZSR_DR_WORKER_NAME";

        /// <summary>This process's machine name as owner ids write it: <see cref="MachineNameVariable"/> when set, else the host's.</summary>
        public static string MachineName =>
            Environment.GetEnvironmentVariable(MachineNameVariable) is string name && name.Trim().Length > 0 ? name.Trim().Replace('/', '-') : Environment.MachineName;

        /// <summary>A new owner id for the current process.</summary>
        public static string NewId() => NewId(32);

        /// <summary>A new owner id whose random suffix has <paramref name="suffixLength"/> hex digits (at most 32).</summary>
        public static string NewId(int suffixLength)
        {
            using var process = Process.GetCurrentProcess();
            return $"{MachineName}/{process.Id}/{Guid.NewGuid().ToString("N").Substring(0, Math.Min(32, suffixLength))}";
        }

        /// <summary>
        /// True only when the owner is a process of this machine that no longer runs (killed mid-work).
        /// An owner on another machine, or one not in our format, is never declared gone.
        /// </summary>
        public static bool IsGone(string? owner)
        {
            var parts = owner?.Split('/');
            return parts != null && parts.Length == 3 && parts[0] == MachineName
                && int.TryParse(parts[1], out var pid) && !IsRunning(pid);
        }

        private static bool IsRunning(int pid)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                return !process.HasExited;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }
    }
}
