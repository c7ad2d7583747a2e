using System.IO;
using System.Runtime.InteropServices;

namespace AzureSiteRecovery.DR.Loading
{
    /// <summary>Where the native SQLite library for this OS and processor sits under <c>dependencies/runtimes/</c>.</summary>
    internal static class NativeLibraryPath
    {
        public static string? Find(string dependencyFolder, string libraryName)
        {
            string os, prefix, extension;
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                (os, prefix, extension) = ("win", "", ".dll");
            }
            else if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX))
            {
                (os, prefix, extension) = ("osx", "lib", ".dylib");
            }
            else
            {
                (os, prefix, extension) = (IsMusl() ? "linux-musl" : "linux", "lib", ".so");
            }

            var architecture = RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.X86 => "x86",
                Architecture.Arm => "arm",
                Architecture.Arm64 => "arm64",
                _ => "x64",
            };
            var path = Path.Combine(dependencyFolder, "runtimes", $"{os}-{architecture}", "native", prefix + libraryName + extension);
            return File.Exists(path) ? path : null;
        }

        // Alpine and other musl distributions need the musl build of the library.
        private static bool IsMusl() => File.Exists("/lib/ld-musl-x86_64.so.1") || File.Exists("/lib/ld-musl-aarch64.so.1");
    }
}
