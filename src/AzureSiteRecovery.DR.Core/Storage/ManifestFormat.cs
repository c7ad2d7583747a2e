using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>
    /// The binary form of a recovery point manifest (before it is sealed):
    /// "DRPT" | version 1 | vmId | pointId | created (UTC ticks, 8) | consistency (1) | disk count,
    /// then per disk: diskKey | capacity (8) | chunk size (4) | chunk count | runs, where a run is
    /// 0x00 + count (zero chunks) or 0x01 + 32-byte SHA-256. Counts are unsigned LEB128, strings
    /// LEB128 length + UTF-8, integers little-endian. Hand-written, so Core needs no JSON library.
    /// Resume records (<see cref="ResumeRecord"/>) use the same disk entries.
    /// </summary>
    internal static class ManifestFormat
    {
        private static readonly byte[] Magic = { (byte)'D', (byte)'R', (byte)'P', (byte)'T' };
        private const byte Version = 1;
        private const byte ZeroRun = 0;
        private const byte StoredChunk = 1;

        public static byte[] Write(RecoveryPointManifest point)
        {
            using var stream = new MemoryStream();
            using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
            {
                WriteHeader(writer, Magic);
                WriteString(writer, point.VmId);
                WriteString(writer, point.PointId);
                writer.Write(point.Created.UtcTicks);
                writer.Write((byte)point.Consistency);
                WriteCount(writer, point.Disks.Count);
                foreach (var disk in point.Disks)
                {
                    WriteDisk(writer, disk);
                }
            }
            return stream.ToArray();
        }

        /// <summary>Parses a manifest; <see cref="InvalidDataException"/> when it is not one this module can read.</summary>
        public static RecoveryPointManifest Read(byte[] bytes)
        {
            try
            {
                using var reader = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
                ReadHeader(reader, Magic, "recovery point manifest");
                var vmId = ReadString(reader);
                var pointId = ReadString(reader);
                var created = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
                var consistency = (Model.PointConsistency)reader.ReadByte();
                var diskCount = ReadCount(reader);
                var disks = new List<DiskManifest>(diskCount);
                for (var d = 0; d < diskCount; d++)
                {
                    disks.Add(ReadDisk(reader));
                }
                if (reader.BaseStream.Position != bytes.Length) throw new InvalidDataException("The manifest has bytes past its end.");
                return new RecoveryPointManifest(vmId, pointId, created, consistency, disks);
            }
            catch (Exception ex) when (ex is EndOfStreamException || ex is ArgumentException)
            {
                throw new InvalidDataException("The manifest is truncated or malformed: " + ex.Message, ex);
            }
        }

        private static readonly byte[] ResumeMagic = { (byte)'D', (byte)'R', (byte)'R', (byte)'S' };

        /// <summary>
        /// A resume record: "DRRS" | version 1 | vmId | base point id ("" for none) | written (UTC ticks, 8) | disk count,
        /// then per disk: the disk as in a manifest | change id | mode | bytes done (8) | pending extent count | (offset, length) (8 + 8) each.
        /// </summary>
        public static byte[] WriteResume(ResumeRecord record)
        {
            using var stream = new MemoryStream();
            using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
            {
                WriteHeader(writer, ResumeMagic);
                WriteString(writer, record.VmId);
                WriteString(writer, record.BasePointId ?? "");
                writer.Write(record.Written.UtcTicks);
                WriteCount(writer, record.Disks.Count);
                foreach (var disk in record.Disks)
                {
                    WriteDisk(writer, disk.Chunks);
                    WriteString(writer, disk.ChangeId);
                    WriteString(writer, disk.Mode);
                    writer.Write(disk.BytesDone);
                    WriteCount(writer, disk.Pending.Count);
                    foreach (var extent in disk.Pending)
                    {
                        writer.Write(extent.Offset);
                        writer.Write(extent.Length);
                    }
                }
            }
            return stream.ToArray();
        }

        /// <summary>Parses a resume record; <see cref="InvalidDataException"/> when it is not one this module can read.</summary>
        public static ResumeRecord ReadResume(byte[] bytes)
        {
            try
            {
                using var reader = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
                ReadHeader(reader, ResumeMagic, "resume record");
                var vmId = ReadString(reader);
                var basePointId = ReadString(reader);
                var written = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
                var diskCount = ReadCount(reader);
                var disks = new List<ResumeDisk>(diskCount);
                for (var d = 0; d < diskCount; d++)
                {
                    var chunks = ReadDisk(reader);
                    var changeId = ReadString(reader);
                    var mode = ReadString(reader);
                    var bytesDone = reader.ReadInt64();
                    var extentCount = ReadCount(reader);
                    var pending = new List<Model.DiskExtent>(Math.Min(extentCount, 1 << 16));
                    for (var e = 0; e < extentCount; e++)
                    {
                        var extent = new Model.DiskExtent(reader.ReadInt64(), reader.ReadInt64());
                        if (extent.End > chunks.Capacity) throw new InvalidDataException("The resume record has an extent past the end of its disk.");
                        pending.Add(extent);
                    }
                    disks.Add(new ResumeDisk(chunks, changeId, mode, bytesDone, pending));
                }
                if (reader.BaseStream.Position != bytes.Length) throw new InvalidDataException("The resume record has bytes past its end.");
                return new ResumeRecord(vmId, basePointId.Length == 0 ? null : basePointId, written, disks);
            }
            catch (Exception ex) when (ex is EndOfStreamException || ex is ArgumentException)
            {
                throw new InvalidDataException("The resume record is truncated or malformed: " + ex.Message, ex);
            }
        }

        private static void WriteHeader(BinaryWriter writer, byte[] magic)
        {
            writer.Write(magic);
            writer.Write(Version);
        }

        private static void ReadHeader(BinaryReader reader, byte[] magic, string what)
        {
            var found = reader.ReadBytes(magic.Length);
            if (found.Length != magic.Length || found[0] != magic[0] || found[1] != magic[1] || found[2] != magic[2] || found[3] != magic[3])
            {
                throw new InvalidDataException($"This is not a {what}.");
            }
            var version = reader.ReadByte();
            if (version != Version) throw new InvalidDataException($"The {what} has format version {version}, which this module does not know; it was written by a newer module.");
        }

        private static void WriteDisk(BinaryWriter writer, DiskManifest disk)
        {
            var hash = new byte[ChunkHash.Length];
            WriteString(writer, disk.DiskKey);
            writer.Write(disk.Capacity);
            writer.Write(disk.ChunkSize);
            WriteCount(writer, disk.Chunks.Count);
            for (var i = 0; i < disk.Chunks.Count;)
            {
                if (disk.Chunks[i].IsZero)
                {
                    var run = 0;
                    while (i < disk.Chunks.Count && disk.Chunks[i].IsZero)
                    {
                        run++;
                        i++;
                    }
                    writer.Write(ZeroRun);
                    WriteCount(writer, run);
                }
                else
                {
                    writer.Write(StoredChunk);
                    disk.Chunks[i].CopyTo(hash, 0);
                    writer.Write(hash);
                    i++;
                }
            }
        }

        private static DiskManifest ReadDisk(BinaryReader reader)
        {
            var diskKey = ReadString(reader);
            var capacity = reader.ReadInt64();
            var chunkSize = reader.ReadInt32();
            var count = ReadCount(reader);
            if (chunkSize <= 0 || count != DiskManifest.CountFor(capacity, chunkSize)) throw new InvalidDataException("The manifest's chunk count does not match its disk size.");
            var chunks = new ChunkHash[count];
            for (var i = 0; i < count;)
            {
                switch (reader.ReadByte())
                {
                    case ZeroRun:
                        var run = ReadCount(reader);
                        if (run == 0 || run > count - i) throw new InvalidDataException("The manifest has a zero run past the end of its disk.");
                        i += run; // default(ChunkHash) is the zero marker
                        break;
                    case StoredChunk:
                        var hash = ChunkHash.FromBytes(reader.ReadBytes(ChunkHash.Length));
                        if (hash.IsZero) throw new InvalidDataException("The manifest names a chunk whose hash is all zeros.");
                        chunks[i++] = hash;
                        break;
                    default:
                        throw new InvalidDataException("The manifest has an unknown chunk entry.");
                }
            }
            return new DiskManifest(diskKey, capacity, chunkSize, chunks);
        }

        private static void WriteString(BinaryWriter writer, string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            WriteCount(writer, bytes.Length);
            writer.Write(bytes);
        }

        private static string ReadString(BinaryReader reader)
        {
            var length = ReadCount(reader);
            if (length > 4096) throw new InvalidDataException("The manifest has an implausibly long name.");
            var bytes = reader.ReadBytes(length);
            if (bytes.Length != length) throw new EndOfStreamException();
            return Encoding.UTF8.GetString(bytes);
        }

        private static void WriteCount(BinaryWriter writer, int value)
        {
            var v = (uint)value;
            while (v >= 0x80)
            {
                writer.Write((byte)(v | 0x80));
                v >>= 7;
            }
            writer.Write((byte)v);
        }

        private static int ReadCount(BinaryReader reader)
        {
            uint value = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                var b = reader.ReadByte();
                value |= (uint)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    if (value > int.MaxValue) break;
                    return (int)value;
                }
            }
            throw new InvalidDataException("The manifest has a malformed count.");
        }
    }
}
