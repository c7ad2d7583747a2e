using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;

namespace AzureSiteRecovery.DR.Core.Secrets
{
    /// <summary>
    /// Creates the vault's files and the chunk store's folders readable by their owner only (0600
    /// files, 0700 folders on Linux and macOS): they hold what protected VMs' disks held. On Windows
    /// the per-user folders already keep others out; nothing is changed there.
    /// </summary>
    internal static class OwnerOnly
    {
        public const int FolderMode = 0x1C0; // 0700
        public const int FileMode = LibC.OwnerReadWrite; // 0600

        private static bool IsWindows => RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        /// <summary>Creates <paramref name="folder"/> and its missing parents; the ones created here get mode 0700 (existing ones are left as they are).</summary>
        public static void CreateFolder(string folder)
        {
            var full = Path.GetFullPath(folder);
            if (IsWindows || Directory.Exists(full))
            {
                Directory.CreateDirectory(full);
                return;
            }

            var missing = new Stack<string>();
            for (var level = full; level != null && !Directory.Exists(level); level = Path.GetDirectoryName(level))
            {
                missing.Push(level);
            }
            Directory.CreateDirectory(full);
            foreach (var created in missing)
            {
                // Best effort: where the file system has no modes, its mount options decide who reads it.
                LibC.TryChangeMode(created, FolderMode);
            }
        }

        /// <summary>Creates an empty <paramref name="path"/> with mode 0600 unless it exists (another process may create it at the same time: it is never truncated).</summary>
        public static void CreateEmptyFile(string path)
        {
            if (IsWindows || File.Exists(path)) return;
            var temporary = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "." + Path.GetFileName(path) + "." + System.Guid.NewGuid().ToString("N") + ".tmp");
            LibC.Close(LibC.CreateFile(temporary, FileMode));
            try
            {
                // link never replaces: if another process created the file first, its file stays.
                var error = LibC.Link(temporary, path);
                if (error != 0 && error != LibC.FileExists)
                {
                    throw new IOException($"Could not create '{path}' (errno {error}).");
                }
            }
            finally
            {
                LibC.Unlink(temporary);
            }
        }

        /// <summary>Gives a file this process just created mode 0600.</summary>
        public static void Restrict(string file)
        {
            if (!IsWindows) LibC.TryChangeMode(file, FileMode);
        }
    }
}
