using System;
using System.Runtime.InteropServices;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Core.Vault
{
    /// <summary>Where the vault file is when a cmdlet is not told.</summary>
    public static class VaultLocation
    {
        public const string EnvironmentVariable = "AZSR_DR_VAULT";
        public const string FolderName = "AzureSiteRecovery.DR";
        public const string FileName = "vault.db";

        /// <summary>
        /// <paramref name="explicitPath"/> when given (relative paths are the caller's to resolve), else
        /// $AZSR_DR_VAULT, else the per-user default: $XDG_DATA_HOME or ~/.local/share on Linux and macOS,
        /// %LOCALAPPDATA% on Windows, followed by AzureSiteRecovery.DR/vault.db.
        /// </summary>
        public static string Resolve(string? explicitPath) =>
            Resolve(explicitPath, Environment.GetEnvironmentVariable, RuntimeInformation.IsOSPlatform(OSPlatform.Windows));

        internal static string Resolve(string? explicitPath, Func<string, string?> environment, bool isWindows)
        {
            if (!string.IsNullOrEmpty(explicitPath))
            {
                return explicitPath!;
            }
            var fromEnvironment = environment(EnvironmentVariable);
            if (!string.IsNullOrEmpty(fromEnvironment))
            {
                return fromEnvironment!;
            }
            return DefaultPath(environment, isWindows);
        }

        /// <summary>The per-user vault file, whatever AZSR_DR_VAULT says.</summary>
        public static string DefaultPath() =>
            DefaultPath(Environment.GetEnvironmentVariable, RuntimeInformation.IsOSPlatform(OSPlatform.Windows));

        internal static string DefaultPath(Func<string, string?> environment, bool isWindows)
        {
            if (isWindows)
            {
                var localAppData = environment("LOCALAPPDATA");
                return string.IsNullOrEmpty(localAppData)
                    ? throw Unknown("LOCALAPPDATA is not set")
                    : localAppData!.TrimEnd('\\') + "\\" + FolderName + "\\" + FileName;
            }

            // The XDG spec says to ignore a relative XDG_DATA_HOME.
            var dataHome = environment("XDG_DATA_HOME");
            if (string.IsNullOrEmpty(dataHome) || !dataHome!.StartsWith("/", StringComparison.Ordinal))
            {
                var home = environment("HOME");
                if (string.IsNullOrEmpty(home))
                {
                    throw Unknown("neither XDG_DATA_HOME nor HOME is set");
                }
                dataHome = home!.TrimEnd('/') + "/.local/share";
            }
            return dataHome.TrimEnd('/') + "/" + FolderName + "/" + FileName;
        }

        private static VaultException Unknown(string reason) =>
            new VaultException("VaultLocationUnknown", "",
                $"The default vault location cannot be found ({reason}). Set {EnvironmentVariable} to the vault file, or pass -Vault.");
    }
}
