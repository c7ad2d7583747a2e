using System;
using System.IO;
using System.Runtime.InteropServices;

namespace AzureSiteRecovery.DR.Core.Secrets
{
    /// <summary>The few POSIX calls netstandard2.0 lacks: create a file with its mode set from the first instant, and link it atomically.</summary>
    internal static class LibC
    {
        public const int OwnerReadWrite = 0x180; // 0600
        public const int FileExists = 17; // EEXIST, the same on Linux and macOS
        private const int Interrupted = 4; // EINTR

        /// <summary>Creates (or truncates) <paramref name="path"/> with <paramref name="mode"/> and returns its descriptor.</summary>
        // creat, not open: open is variadic, and variadic P/Invoke passes the mode wrongly on Apple arm64.
        public static int CreateFile(string path, int mode)
        {
            var descriptor = creat(path, mode);
            if (descriptor < 0)
            {
                throw Failure("create", path);
            }
            return descriptor;
        }

        public static void WriteAllAndSync(int descriptor, byte[] data, string path)
        {
            // Pinned and written in place, so that no copy of the key is left behind in memory.
            var pinned = GCHandle.Alloc(data, GCHandleType.Pinned);
            try
            {
                var written = 0;
                while (written < data.Length)
                {
                    var count = write(descriptor, pinned.AddrOfPinnedObject() + written, (UIntPtr)(data.Length - written)).ToInt64();
                    if (count < 0)
                    {
                        if (Marshal.GetLastWin32Error() == Interrupted) continue;
                        throw Failure("write", path);
                    }
                    written += (int)count;
                }
            }
            finally
            {
                pinned.Free();
            }
            if (fsync(descriptor) != 0)
            {
                throw Failure("flush", path);
            }
        }

        public static void Close(int descriptor) => close(descriptor);

        /// <summary>Gives <paramref name="existingPath"/> the second name <paramref name="newPath"/>; returns the errno (0 on success), since EEXIST is an expected outcome.</summary>
        public static int Link(string existingPath, string newPath) =>
            link(existingPath, newPath) == 0 ? 0 : Marshal.GetLastWin32Error();

        public static void Unlink(string path) => unlink(path);

        /// <summary>Sets the permission bits of <paramref name="path"/>; false when the file system refuses (some network and FAT mounts have no modes).</summary>
        public static bool TryChangeMode(string path, int mode) => chmod(path, mode) == 0;

        private static IOException Failure(string action, string path) =>
            new IOException($"Could not {action} '{path}' (errno {Marshal.GetLastWin32Error()}).");

        [DllImport("libc", SetLastError = true)]
        private static extern int creat(string path, int mode);

        [DllImport("libc", SetLastError = true)]
        private static extern IntPtr write(int descriptor, IntPtr buffer, UIntPtr count);

        [DllImport("libc", SetLastError = true)]
        private static extern int fsync(int descriptor);

        [DllImport("libc", SetLastError = true)]
        private static extern int close(int descriptor);

        [DllImport("libc", SetLastError = true)]
        private static extern int link(string existingPath, string newPath);

        [DllImport("libc", SetLastError = true)]
        private static extern int unlink(string path);

        [DllImport("libc", SetLastError = true)]
        private static extern int chmod(string path, int mode);
    }
}
