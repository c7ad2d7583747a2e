using System;
using System.IO;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AzureSiteRecovery.DR.Loading
{
    /// <summary>
    /// Runs when PowerShell imports this nested module, before the cmdlet assembly: makes the
    /// service library and its third-party dependencies (kept in <c>dependencies/</c>, out of
    /// PowerShell's probing path) loadable.
    /// On PowerShell 7 they live in their own AssemblyLoadContext, so a session that already
    /// loaded other versions (Az.Accounts does) still works; on Windows PowerShell 5.1 an
    /// AssemblyResolve handler finds them.
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer
    {
        internal const string DependencyFolderName = "dependencies";

        public void OnImport()
        {
            var moduleFolder = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!;
            var dependencyFolder = Path.Combine(moduleFolder, DependencyFolderName);
            if (RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal))
            {
                FrameworkDependencyResolver.Install(dependencyFolder);
            }
            else
            {
                InstallLoadContext(dependencyFolder);
            }
        }

        // Kept out of OnImport so that .NET Framework, which has no AssemblyLoadContext, never has to compile a reference to it.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void InstallLoadContext(string dependencyFolder) => DependencyLoadContext.Install(dependencyFolder);
    }
}
