using System;
using System.Diagnostics;

namespace AzureSiteRecovery.DR.Core.Vault
{
    /// <summary>
    /// Who holds a lease or runs a job, written as machine/pid/guid (the guid tells apart two holders
    /// in one process), and whether that holder is known to be gone.
    /// </summary>
    public static class ProcessOwner
    {
        /// <summary>A new owner id for the current process.</summary>
        public static string NewId()
        {
            using var process = Process.GetCurrentProcess();
            return $"{Environment.MachineName}/{process.Id}/{Guid.NewGuid():N}";
        }

        /// <summary>
        /// True only when the owner is a process of this machine that no longer runs (killed mid-work).
        /// An owner on another machine, or one not in our format, is never declared gone.
        /// </summary>
        public static bool IsGone(string? owner)
        {
            var parts = owner?.Split('/');
            return parts != null && parts.Length == 3 && parts[0] == Environment.MachineName
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
