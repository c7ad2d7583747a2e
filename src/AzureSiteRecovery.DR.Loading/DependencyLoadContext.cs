using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.Loader;

namespace AzureSiteRecovery.DR.Loading
{
    /// <summary>
    /// The module's own load context on PowerShell 7: the service library and every third-party
    /// assembly it needs load here from <c>dependencies/</c>, whatever versions the session holds.
    /// Framework assemblies are shared with PowerShell (same types), unless ours is newer.
    /// </summary>
    internal sealed class DependencyLoadContext : AssemblyLoadContext
    {
        private const string ServiceLibraryName = "AzureSiteRecovery.DR.Core";

        // One context per process: a second Import-Module -Force must reuse it, or types would split.
        private static readonly object InstallLock = new object();
        private static DependencyLoadContext? installed;

        private readonly string dependencyFolder;
        private readonly Dictionary<string, string> frameworkAssemblies;

        private DependencyLoadContext(string dependencyFolder)
        {
            this.dependencyFolder = dependencyFolder;
            frameworkAssemblies = ReadTrustedPlatformAssemblies();
        }

        public static void Install(string dependencyFolder)
        {
            lock (InstallLock)
            {
                if (installed != null)
                {
                    return;
                }

                var context = new DependencyLoadContext(dependencyFolder);
                // PowerShell loads the cmdlet assembly in the default context; when it asks for the
                // service library, hand it over from our context. Nothing else is answered here.
                Default.Resolving += (_, name) =>
                    string.Equals(name.Name, ServiceLibraryName, StringComparison.OrdinalIgnoreCase)
                        ? context.LoadFromAssemblyName(name)
                        : null;
                installed = context;
            }
        }

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            var path = Path.Combine(dependencyFolder, assemblyName.Name + ".dll");
            if (!File.Exists(path))
            {
                return null;
            }

            if (frameworkAssemblies.TryGetValue(assemblyName.Name!, out var frameworkPath)
                && AssemblyName.GetAssemblyName(frameworkPath).Version >= (assemblyName.Version ?? new Version()))
            {
                return null;
            }

            return LoadFromAssemblyPath(path);
        }

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
        {
            var path = NativeLibraryPath.Find(dependencyFolder, unmanagedDllName);
            return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
        }

        private static Dictionary<string, string> ReadTrustedPlatformAssemblies()
        {
            var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string list)
            {
                foreach (var path in list.Split(Path.PathSeparator))
                {
                    result[Path.GetFileNameWithoutExtension(path)] = path;
                }
            }

            return result;
        }
    }
}
