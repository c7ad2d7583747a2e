using System;
using System.Collections.Generic;
using System.Text;

namespace AzureSiteRecovery.DR.Core.Sites.Azure
{
    /// <summary>Cylinders, heads and sectors per track, as a VHD footer records them.</summary>
    public readonly struct VhdGeometry : IEquatable<VhdGeometry>
    {
        public VhdGeometry(int cylinders, int heads, int sectorsPerTrack)
        {
            Cylinders = cylinders;
            Heads = heads;
            SectorsPerTrack = sectorsPerTrack;
        }

        public int Cylinders { get; }
        public int Heads { get; }
        public int SectorsPerTrack { get; }

        public bool Equals(VhdGeometry other) => Cylinders == other.Cylinders && Heads == other.Heads && SectorsPerTrack == other.SectorsPerTrack;
        public override bool Equals(object? obj) => obj is VhdGeometry other && Equals(other);
        public override int GetHashCode() => (Cylinders << 16) ^ (Heads << 8) ^ SectorsPerTrack;
        public override string ToString() => $"{Cylinders}/{Heads}/{SectorsPerTrack}";
    }

    /// <summary>
    /// The 512-byte footer of a fixed VHD (Virtual Hard Disk Image Format Specification 1.0,
    /// "Hard Disk Footer Format"), as Azure imports it: big-endian, cookie "conectix", features 2,
    /// version 1.0, data offset all ones, creator "win " (so that tools size the disk by its current
    /// size, not by CHS), host "Wi2k", disk type 2 (fixed) and a one's complement checksum. Azure
    /// needs the virtual size to be a whole number of MiB; the blob is that size plus the footer.
    /// </summary>
    public sealed class VhdFooter
    {
        public const int Length = 512;
        public const int FixedDiskType = 2;
        private const long MiB = 1 << 20;
        private const uint Features = 0x00000002;
        private const uint FormatVersion = 0x00010000;
        private const uint CreatorVersion = 0x000A0000;
        private const uint CreatorHostWindows = 0x5769326B; // "Wi2k"
        private static readonly byte[] Cookie = Encoding.ASCII.GetBytes("conectix");
        private static readonly byte[] Creator = Encoding.ASCII.GetBytes("win ");
        private static readonly DateTimeOffset Epoch = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public VhdFooter(long originalSize, long currentSize, DateTimeOffset timestamp, Guid uniqueId)
        {
            if (currentSize <= 0 || currentSize % MiB != 0) throw new ArgumentOutOfRangeException(nameof(currentSize), "The virtual size of a VHD for Azure is a positive whole number of MiB.");
            OriginalSize = originalSize;
            CurrentSize = currentSize;
            Timestamp = timestamp;
            UniqueId = uniqueId;
            Geometry = GeometryFor(currentSize);
        }

        private VhdFooter(long originalSize, long currentSize, DateTimeOffset timestamp, Guid uniqueId, VhdGeometry geometry)
        {
            OriginalSize = originalSize;
            CurrentSize = currentSize;
            Timestamp = timestamp;
            UniqueId = uniqueId;
            Geometry = geometry;
        }

        /// <summary>The disk's size when the VHD was created.</summary>
        public long OriginalSize { get; }
        /// <summary>The virtual size Azure gives the disk: the blob length minus the footer.</summary>
        public long CurrentSize { get; }
        /// <summary>When the footer was made, to the second.</summary>
        public DateTimeOffset Timestamp { get; }
        public Guid UniqueId { get; }
        public VhdGeometry Geometry { get; }

        /// <summary>The footer of a new fixed VHD for a disk of <paramref name="capacity"/> bytes.</summary>
        public static VhdFooter ForDisk(long capacity, Guid uniqueId, DateTimeOffset timestamp)
        {
            var size = VirtualSizeFor(capacity);
            return new VhdFooter(size, size, timestamp, uniqueId);
        }

        /// <summary>The virtual size of the VHD of a disk: its capacity rounded up to a whole MiB.</summary>
        public static long VirtualSizeFor(long capacity)
        {
            if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity), "A disk capacity must be positive.");
            return (capacity + MiB - 1) / MiB * MiB;
        }

        /// <summary>The length of the page blob holding the VHD: the virtual size plus the footer.</summary>
        public static long BlobLengthFor(long capacity) => VirtualSizeFor(capacity) + Length;

        /// <summary>CHS per the specification's appendix (it rounds down; the same as QEMU's calculate_geometry).</summary>
        public static VhdGeometry GeometryFor(long size)
        {
            var totalSectors = size / 512;
            if (totalSectors > 65535L * 16 * 255) totalSectors = 65535L * 16 * 255;
            long sectorsPerTrack, heads, cylinderTimesHeads;
            if (totalSectors >= 65535L * 16 * 63)
            {
                sectorsPerTrack = 255;
                heads = 16;
                cylinderTimesHeads = totalSectors / sectorsPerTrack;
            }
            else
            {
                sectorsPerTrack = 17;
                cylinderTimesHeads = totalSectors / sectorsPerTrack;
                heads = (cylinderTimesHeads + 1023) / 1024;
                if (heads < 4) heads = 4;
                if (cylinderTimesHeads >= heads * 1024 || heads > 16)
                {
                    sectorsPerTrack = 31;
                    heads = 16;
                    cylinderTimesHeads = totalSectors / sectorsPerTrack;
                }
                if (cylinderTimesHeads >= heads * 1024)
                {
                    sectorsPerTrack = 63;
                    heads = 16;
                    cylinderTimesHeads = totalSectors / sectorsPerTrack;
                }
            }
            return new VhdGeometry((int)(cylinderTimesHeads / heads), (int)heads, (int)sectorsPerTrack);
        }

        public byte[] ToBytes()
        {
            var bytes = new byte[Length];
            Buffer.BlockCopy(Cookie, 0, bytes, 0, Cookie.Length);
            WriteUInt32(bytes, 8, Features);
            WriteUInt32(bytes, 12, FormatVersion);
            WriteUInt64(bytes, 16, ulong.MaxValue);
            WriteUInt32(bytes, 24, (uint)Math.Max(0, (long)(Timestamp - Epoch).TotalSeconds));
            Buffer.BlockCopy(Creator, 0, bytes, 28, Creator.Length);
            WriteUInt32(bytes, 32, CreatorVersion);
            WriteUInt32(bytes, 36, CreatorHostWindows);
            WriteUInt64(bytes, 40, (ulong)OriginalSize);
            WriteUInt64(bytes, 48, (ulong)CurrentSize);
            bytes[56] = (byte)(Geometry.Cylinders >> 8);
            bytes[57] = (byte)Geometry.Cylinders;
            bytes[58] = (byte)Geometry.Heads;
            bytes[59] = (byte)Geometry.SectorsPerTrack;
            WriteUInt32(bytes, 60, FixedDiskType);
            Buffer.BlockCopy(UniqueId.ToByteArray(), 0, bytes, 68, 16);
            WriteUInt32(bytes, 64, ChecksumOf(bytes));
            return bytes;
        }

        /// <summary>
        /// Reads a footer and lists everything that keeps it from being a valid fixed-VHD footer
        /// for Azure (and, with <paramref name="expectedSize"/>, of that virtual size); an empty list
        /// means it is one. <paramref name="footer"/> is null when the bytes are not a footer at all.
        /// </summary>
        public static IReadOnlyList<string> Validate(byte[] bytes, long? expectedSize, out VhdFooter? footer)
        {
            footer = null;
            var problems = new List<string>();
            if (bytes is null || bytes.Length != Length)
            {
                problems.Add($"A VHD footer is {Length} bytes, not {bytes?.Length ?? 0}.");
                return problems;
            }
            if (!Matches(bytes, 0, Cookie))
            {
                problems.Add($"The cookie is '{Printable(bytes, 0, 8)}', not 'conectix': this is not a VHD footer.");
                return problems;
            }

            var originalSize = (long)ReadUInt64(bytes, 40);
            var currentSize = (long)ReadUInt64(bytes, 48);
            var geometry = new VhdGeometry((bytes[56] << 8) | bytes[57], bytes[58], bytes[59]);
            var timestamp = Epoch.AddSeconds(ReadUInt32(bytes, 24));
            var idBytes = new byte[16];
            Buffer.BlockCopy(bytes, 68, idBytes, 0, 16);
            footer = new VhdFooter(originalSize, currentSize, timestamp, new Guid(idBytes), geometry);

            if ((ReadUInt32(bytes, 8) & Features) == 0) problems.Add($"The features field is 0x{ReadUInt32(bytes, 8):X8}: its reserved bit 0x2 must be set.");
            if (ReadUInt32(bytes, 12) != FormatVersion) problems.Add($"The file format version is 0x{ReadUInt32(bytes, 12):X8}, not 0x00010000.");
            if (ReadUInt64(bytes, 16) != ulong.MaxValue && ReadUInt64(bytes, 16) != 0xFFFFFFFF) problems.Add($"The data offset is 0x{ReadUInt64(bytes, 16):X16}: a fixed disk has none (all ones).");
            if (ReadUInt32(bytes, 60) != FixedDiskType) problems.Add($"The disk type is {ReadUInt32(bytes, 60)}, not {FixedDiskType} (fixed): Azure imports fixed VHDs only.");
            if (currentSize <= 0 || currentSize % MiB != 0) problems.Add($"The current size is {currentSize} bytes: Azure needs a whole number of MiB.");
            if (expectedSize is long expected && currentSize != expected) problems.Add($"The current size is {currentSize} bytes where {expected} were expected.");
            var checksum = ReadUInt32(bytes, 64);
            if (checksum != ChecksumOf(bytes)) problems.Add($"The checksum is 0x{checksum:X8} where the bytes sum to 0x{ChecksumOf(bytes):X8}: the footer was changed or damaged.");
            return problems;
        }

        /// <summary>One's complement of the sum of the footer's bytes, its checksum field counted as zeros.</summary>
        private static uint ChecksumOf(byte[] bytes)
        {
            uint sum = 0;
            for (var i = 0; i < Length; i++)
            {
                if (i >= 64 && i < 68) continue;
                sum += bytes[i];
            }
            return ~sum;
        }

        private static bool Matches(byte[] bytes, int offset, byte[] expected)
        {
            for (var i = 0; i < expected.Length; i++) if (bytes[offset + i] != expected[i]) return false;
            return true;
        }

        private static string Printable(byte[] bytes, int offset, int count)
        {
            var chars = new char[count];
            for (var i = 0; i < count; i++) chars[i] = bytes[offset + i] >= 0x20 && bytes[offset + i] < 0x7F ? (char)bytes[offset + i] : '?';
            return new string(chars);
        }

        private static void WriteUInt32(byte[] bytes, int offset, uint value)
        {
            bytes[offset] = (byte)(value >> 24);
            bytes[offset + 1] = (byte)(value >> 16);
            bytes[offset + 2] = (byte)(value >> 8);
            bytes[offset + 3] = (byte)value;
        }

        private static void WriteUInt64(byte[] bytes, int offset, ulong value)
        {
            WriteUInt32(bytes, offset, (uint)(value >> 32));
            WriteUInt32(bytes, offset + 4, (uint)value);
        }

        private static uint ReadUInt32(byte[] bytes, int offset) =>
            ((uint)bytes[offset] << 24) | ((uint)bytes[offset + 1] << 16) | ((uint)bytes[offset + 2] << 8) | bytes[offset + 3];

        private static ulong ReadUInt64(byte[] bytes, int offset) => ((ulong)ReadUInt32(bytes, offset) << 32) | ReadUInt32(bytes, offset + 4);
    }
}
