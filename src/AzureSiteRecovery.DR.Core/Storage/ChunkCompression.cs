using System;
using System.Collections.Concurrent;
using System.IO;
using System.IO.Compression;
using ZstdSharp;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>How a stored chunk's content is compressed; recorded in each chunk, so a store may mix them.</summary>
    public enum ChunkCompression : byte
    {
        /// <summary>Stored as is: chosen per chunk when compression would not make it smaller (random data).</summary>
        None = 0,
        /// <summary>Deflate (System.IO.Compression): readable everywhere, slower and weaker than Zstd.</summary>
        Deflate = 1,
        // 2 is kept for LZ4, measured but not shipped (tests/bench/storage/RESULTS.md).
        /// <summary>Zstandard (ZstdSharp): the default, at level 1 (tests/bench/storage/RESULTS.md).</summary>
        Zstd = 3,
    }

    /// <summary>
    /// The plain payload inside a sealed chunk: compression (1 byte) | plain length (4, little-endian) | data.
    /// Holds a pool of Zstd contexts (one per concurrent worker), so one instance serves a whole store.
    /// </summary>
    internal sealed class ChunkPayloadCodec : IDisposable
    {
        public const int HeaderLength = 5;
        private readonly ChunkCompression compression;
        private readonly int level;
        private readonly ConcurrentBag<Compressor> compressors = new ConcurrentBag<Compressor>();
        private readonly ConcurrentBag<Decompressor> decompressors = new ConcurrentBag<Decompressor>();

        public ChunkPayloadCodec(ChunkCompression compression, int level)
        {
            if (!Enum.IsDefined(typeof(ChunkCompression), compression)) throw new ArgumentOutOfRangeException(nameof(compression));
            this.compression = compression;
            this.level = level;
        }

        /// <summary>The most bytes <see cref="EncodeInto"/> writes for <paramref name="count"/> plain bytes.</summary>
        public static int MaxEncodedLength(int count) => HeaderLength + Math.Max(count, Compressor.GetCompressBound(count));

        /// <summary>
        /// As <see cref="Encode"/>, into <paramref name="destination"/> (at least <see cref="MaxEncodedLength"/>
        /// bytes): no allocation for Zstd and raw payloads. Returns the payload's length.
        /// </summary>
        public int EncodeInto(byte[] plain, int count, Span<byte> destination)
        {
            if (destination.Length < MaxEncodedLength(count)) throw new ArgumentException("The destination is shorter than the largest payload.", nameof(destination));
            if (compression == ChunkCompression.Zstd)
            {
                var compressor = compressors.TryTake(out var c) ? c : new Compressor(level);
                try
                {
                    var length = compressor.Wrap(new ReadOnlySpan<byte>(plain, 0, count), destination.Slice(HeaderLength));
                    if (length < count)
                    {
                        WriteHeader(destination, ChunkCompression.Zstd, count);
                        return HeaderLength + length;
                    }
                }
                finally
                {
                    compressors.Add(compressor);
                }
            }
            else if (compression == ChunkCompression.Deflate)
            {
                var payload = Encode(plain, count);
                new ReadOnlySpan<byte>(payload.Array, payload.Offset, payload.Count).CopyTo(destination);
                return payload.Count;
            }
            new ReadOnlySpan<byte>(plain, 0, count).CopyTo(destination.Slice(HeaderLength));
            WriteHeader(destination, ChunkCompression.None, count);
            return HeaderLength + count;
        }

        /// <summary>The payload for <paramref name="count"/> plain bytes: compressed when that makes it smaller, raw otherwise.</summary>
        public ArraySegment<byte> Encode(byte[] plain, int count)
        {
            switch (compression)
            {
                case ChunkCompression.Zstd:
                {
                    var compressor = compressors.TryTake(out var c) ? c : new Compressor(level);
                    try
                    {
                        var payload = new byte[HeaderLength + Compressor.GetCompressBound(count)];
                        var length = compressor.Wrap(new ReadOnlySpan<byte>(plain, 0, count), new Span<byte>(payload, HeaderLength, payload.Length - HeaderLength));
                        if (length < count) return Finish(payload, ChunkCompression.Zstd, count, length);
                    }
                    finally
                    {
                        compressors.Add(compressor);
                    }
                    break;
                }
                case ChunkCompression.Deflate:
                {
                    using var output = new MemoryStream(HeaderLength + count / 2);
                    output.SetLength(HeaderLength);
                    output.Position = HeaderLength;
                    using (var deflate = new DeflateStream(output, CompressionLevel.Fastest, leaveOpen: true)) deflate.Write(plain, 0, count);
                    var length = (int)output.Length - HeaderLength;
                    if (length < count) return Finish(output.GetBuffer(), ChunkCompression.Deflate, count, length);
                    break;
                }
            }
            var raw = new byte[HeaderLength + count];
            Buffer.BlockCopy(plain, 0, raw, HeaderLength, count);
            return Finish(raw, ChunkCompression.None, count, count);
        }

        /// <summary>The plain bytes of a payload; <see cref="InvalidDataException"/> when it is not a well-formed one.</summary>
        public byte[] Decode(byte[] payload)
        {
            if (payload.Length < HeaderLength) throw new InvalidDataException($"The chunk payload is {payload.Length} bytes, shorter than its header.");
            var kind = (ChunkCompression)payload[0];
            var plainLength = payload[1] | payload[2] << 8 | payload[3] << 16 | payload[4] << 24;
            if (plainLength < 0) throw new InvalidDataException("The chunk payload has a negative length.");
            var data = new ReadOnlySpan<byte>(payload, HeaderLength, payload.Length - HeaderLength);
            var plain = new byte[plainLength];
            switch (kind)
            {
                case ChunkCompression.None:
                    if (data.Length != plainLength) throw new InvalidDataException($"The raw chunk holds {data.Length} bytes, not the {plainLength} its header says.");
                    data.CopyTo(plain);
                    return plain;
                case ChunkCompression.Zstd:
                {
                    var decompressor = decompressors.TryTake(out var d) ? d : new Decompressor();
                    try
                    {
                        int length;
                        try
                        {
                            length = decompressor.Unwrap(data, plain);
                        }
                        catch (ZstdException ex)
                        {
                            throw new InvalidDataException("The chunk's Zstd data is damaged: " + ex.Message, ex);
                        }
                        if (length != plainLength) throw new InvalidDataException($"The chunk decompressed to {length} bytes, not the {plainLength} its header says.");
                        return plain;
                    }
                    finally
                    {
                        decompressors.Add(decompressor);
                    }
                }
                case ChunkCompression.Deflate:
                {
                    using var inflate = new DeflateStream(new MemoryStream(payload, HeaderLength, payload.Length - HeaderLength), CompressionMode.Decompress);
                    var read = 0;
                    int n;
                    while (read < plainLength && (n = inflate.Read(plain, read, plainLength - read)) > 0) read += n;
                    if (read != plainLength || inflate.ReadByte() >= 0) throw new InvalidDataException($"The chunk's Deflate data does not decompress to the {plainLength} bytes its header says.");
                    return plain;
                }
                default:
                    throw new InvalidDataException($"The chunk uses compression {(byte)kind}, which this module does not know; it was written by a newer module.");
            }
        }

        public void Dispose()
        {
            while (compressors.TryTake(out var c)) c.Dispose();
            while (decompressors.TryTake(out var d)) d.Dispose();
        }

        private static ArraySegment<byte> Finish(byte[] payload, ChunkCompression kind, int plainLength, int dataLength)
        {
            WriteHeader(payload, kind, plainLength);
            return new ArraySegment<byte>(payload, 0, HeaderLength + dataLength);
        }

        private static void WriteHeader(Span<byte> payload, ChunkCompression kind, int plainLength)
        {
            payload[0] = (byte)kind;
            payload[1] = (byte)plainLength;
            payload[2] = (byte)(plainLength >> 8);
            payload[3] = (byte)(plainLength >> 16);
            payload[4] = (byte)(plainLength >> 24);
        }
    }
}
