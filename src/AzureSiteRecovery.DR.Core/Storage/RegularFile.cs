using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>
    /// Files a user names (plans, their scripts) are read only when they are regular files of a
    /// sane size: a device such as /dev/zero never ends, a FIFO blocks the reader forever.
    /// </summary>
    public static class RegularFile
    {
        private const int FileTypeMask = 0xF000;
        private const int Fifo = 0x1000;
        private const int CharacterDevice = 0x2000;
        private const int DirectoryType = 0x4000;
        private const int BlockDevice = 0x6000;
        private const int Regular = 0x8000;
        private const int Socket = 0xC000;

        /// <summary>
        /// Null when <paramref name="path"/> is an existing regular file (links followed); otherwise
        /// what it is instead: "missing", "a directory", "a character device", "a named pipe (FIFO)"...
        /// </summary>
        public static string? WhyNotRegular(string path)
        {
            if (Directory.Exists(path)) return "a directory";
            if (!File.Exists(path)) return "missing";
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) return null;

            var type = UnixFileType(path);
            return type switch
            {
                null => null,
                Regular => null,
                CharacterDevice => "a character device",
                BlockDevice => "a block device",
                Fifo => "a named pipe (FIFO)",
                Socket => "a socket",
                DirectoryType => "a directory",
                _ => "not a regular file",
            };
        }

        /// <summary>
        /// The text of a regular file of at most <paramref name="maxBytes"/> bytes; an
        /// <see cref="InvalidDataException"/> names what is wrong otherwise (read no further than the limit).
        /// </summary>
        public static string ReadAllText(string path, long maxBytes)
        {
            var why = WhyNotRegular(path);
            if (why == "missing") throw new FileNotFoundException($"The file '{path}' does not exist.", path);
            if (why != null) throw new InvalidDataException($"'{path}' is {why}, not a regular file.");

            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    throw new InvalidDataException($"'{path}' is larger than {maxBytes:N0} bytes, the most read from such a file.");
                }
                buffer.Write(chunk, 0, read);
            }
            buffer.Position = 0;
            using var reader = new StreamReader(buffer, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            return reader.ReadToEnd();
        }

        /// <summary>The S_IFMT bits of the file's mode; null when the runtime's native shim cannot be called.</summary>
        private static int? UnixFileType(string path)
        {
            // The runtime's own stat shim: one struct layout on every Unix .NET runs on (mode is its second int).
            var status = new byte[512];
            try
            {
                if (SystemNativeStat(path, status) != 0) return null;
            }
            catch (Exception ex) when (ex is DllNotFoundException || ex is EntryPointNotFoundException)
            {
                return null;
            }
            return BitConverter.ToInt32(status, 4) & FileTypeMask;
        }

        [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", SetLastError = true)]
        private static extern int SystemNativeStat([MarshalAs(UnmanagedType.LPStr)] string path, byte[] status);
    }
}
