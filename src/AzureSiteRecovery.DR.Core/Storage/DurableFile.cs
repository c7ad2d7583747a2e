using System;
using System.IO;
using System.Runtime.InteropServices;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>Atomic replace-by-rename and folder fsync, which netstandard2.0 lacks (File.Move cannot overwrite there).</summary>
    internal static class DurableFile
    {
        private const uint MoveFileReplaceExisting = 0x1;
        private const uint MoveFileWriteThrough = 0x8;

        private static bool IsWindows => RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        /// <summary>Renames <paramref name="source"/> to <paramref name="destination"/>, replacing it atomically.</summary>
        public static void Replace(string source, string destination)
        {
            if (IsWindows)
            {
                if (!MoveFileEx(source, destination, MoveFileReplaceExisting | MoveFileWriteThrough))
                {
                    throw new IOException($"Could not rename '{source}' to '{destination}' (error {Marshal.GetLastWin32Error()}).");
                }
                return;
            }
            if (rename(source, destination) != 0)
            {
                var errno = Marshal.GetLastWin32Error();
                if (errno == 2) throw new FileNotFoundException($"Could not rename '{source}' to '{destination}': no such file or folder.", source);
                throw new IOException($"Could not rename '{source}' to '{destination}' (errno {errno}).");
            }
        }

        /// <summary>Makes a folder's entries (a rename into it, a new subfolder) durable. Windows (NTFS journals metadata) needs nothing.</summary>
        public static void SyncFolder(string folder)
        {
            if (IsWindows) return;
            var descriptor = open(folder, 0 /* O_RDONLY, the same value on Linux and macOS */);
            if (descriptor < 0) return; // best effort: some file systems refuse to open folders
            try
            {
                fsync(descriptor);
            }
            finally
            {
                close(descriptor);
            }
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int rename(string oldPath, string newPath);

        // No mode argument: open is variadic, and only O_CREAT reads the mode.
        [DllImport("libc", SetLastError = true)]
        private static extern int open(string path, int flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int fsync(int descriptor);

        [DllImport("libc", SetLastError = true)]
        private static extern int close(int descriptor);

        [DllImport("kernel32", SetLastError = true, CharSet = CharSet.Unicode)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool MoveFileEx(string existingFileName, string newFileName, uint flags);
    }
}
