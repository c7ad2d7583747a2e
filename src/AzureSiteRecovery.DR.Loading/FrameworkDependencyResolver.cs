using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace AzureSiteRecovery.DR.Loading
{
    /// <summary>Windows PowerShell 5.1: find our assemblies in <c>dependencies/</c> and preload native SQLite.</summary>
    internal static class FrameworkDependencyResolver
    {
        private static readonly object InstallLock = new object();
        private static bool installed;

        public static void Install(string dependencyFolder)
        {
            lock (InstallLock)
            {
                if (installed)
                {
                    return;
                }

                AppDomain.CurrentDomain.AssemblyResolve += (_, args) =>
                {
                    var path = Path.Combine(dependencyFolder, new AssemblyName(args.Name).Name + ".dll");
                    return File.Exists(path) ? Assembly.LoadFrom(path) : null;
                };

                // DllImport("e_sqlite3") finds a library already loaded under that name.
                var sqlite = NativeLibraryPath.Find(dependencyFolder, "e_sqlite3");
                if (sqlite != null)
                {
                    LoadLibrary(sqlite);
                }

                installed = true;
            }
        }

        [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr LoadLibrary(string path);
    }
}
