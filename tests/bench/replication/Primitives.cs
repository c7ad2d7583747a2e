// The Efficiency benchmark's baseline (Measure-Efficiency.ps1, compiled with Add-Type): what a first
// cycle's chunks cost when only the primitives touch them, one chunk after the other on one thread:
// a plain HttpClient ranged GET of the flat file, SHA-256, the module's zstd-1 codec
// (ChunkPayloadCodec.EncodeInto) and its AES-256-GCM seal (AuthenticatedCipher.SealGcm), each into the
// same buffers the chunk store uses. The module's types live in its own load context: its two methods
// come in as delegates of the BCL-only signatures below.
using System;
using System.Diagnostics;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;

namespace AzureSiteRecovery.DR.Bench.Replication
{
    public delegate int EncodeInto(byte[] plain, int count, Span<byte> destination);
    public delegate int SealGcm(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination);

    public sealed class PrimitiveTotals
    {
        public int Chunks { get; set; }
        public long BytesRead { get; set; }
        public long PayloadBytes { get; set; }
        public long SealedBytes { get; set; }
        // Wall time of each stage (the CPU seconds come from the process, around the whole pass).
        public double ReadSeconds { get; set; }
        public double HashSeconds { get; set; }
        public double CompressSeconds { get; set; }
        public double SealSeconds { get; set; }
        // Each sealed chunk's length, for WriteStore.
        public int[] SealedLengths { get; set; } = Array.Empty<int>();
    }

    public static class Primitives
    {
        /// <summary>The chunks of <paramref name="url"/> at <paramref name="offsets"/>, each read, hashed, compressed and sealed.</summary>
        public static PrimitiveTotals Run(HttpClient http, Uri url, long[] offsets, int chunkSize, EncodeInto encode, SealGcm seal,
            int maxEncodedLength, int gcmHeaderLength, int gcmOverhead)
        {
            var totals = new PrimitiveTotals();
            var plain = new byte[chunkSize];
            var sealedChunk = new byte[Math.Max(maxEncodedLength + gcmOverhead, chunkSize + gcmOverhead)];
            var clock = new Stopwatch();
            var sealedLengths = new System.Collections.Generic.List<int>(offsets.Length);
            foreach (var offset in offsets)
            {
                clock.Restart();
                var length = Read(http, url, offset, plain, chunkSize);
                totals.ReadSeconds += Lap(clock);
                var hash = SHA256.HashData(new ReadOnlySpan<byte>(plain, 0, length));
                totals.HashSeconds += Lap(clock);
                var payload = encode(plain, length, new Span<byte>(sealedChunk, gcmHeaderLength, sealedChunk.Length - gcmHeaderLength));
                totals.CompressSeconds += Lap(clock);
                var sealedLength = seal(new ReadOnlySpan<byte>(sealedChunk, gcmHeaderLength, payload), hash, sealedChunk);
                totals.SealSeconds += Lap(clock);
                totals.Chunks++;
                totals.BytesRead += length;
                totals.PayloadBytes += payload;
                totals.SealedBytes += sealedLength;
                sealedLengths.Add(sealedLength);
            }
            totals.SealedLengths = sealedLengths.ToArray();
            return totals;
        }

        /// <summary>The same chunks only read (the plain read a full sync is compared with at a set datastore rate); returns the bytes read.</summary>
        public static long ReadOnly(HttpClient http, Uri url, long[] offsets, int chunkSize)
        {
            var buffer = new byte[chunkSize];
            long bytes = 0;
            foreach (var offset in offsets) bytes += Read(http, url, offset, buffer, chunkSize);
            return bytes;
        }

        /// <summary>
        /// What the chunk store's object store costs for chunks of these sealed lengths, as a cycle calls it per new
        /// chunk: Touch (missing), then Put (a file written, flushed to disk, renamed into place). Random content.
        /// </summary>
        public static void WriteStore(Func<string, string> chunkKey, Func<string, CancellationToken, Task<bool>> touch,
            Func<string, ReadOnlyMemory<byte>, CancellationToken, Task> put, int[] sealedLengths)
        {
            var content = new byte[sealedLengths.Length == 0 ? 0 : sealedLengths.Max()];
            RandomNumberGenerator.Fill(content);
            foreach (var length in sealedLengths)
            {
                var key = chunkKey(Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant());
                if (touch(key, CancellationToken.None).GetAwaiter().GetResult()) throw new InvalidOperationException($"{key} exists already.");
                put(key, new ReadOnlyMemory<byte>(content, 0, length), CancellationToken.None).GetAwaiter().GetResult();
            }
        }

        private static double Lap(Stopwatch clock)
        {
            var seconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            return seconds;
        }

        // One ranged GET into buffer; anything but a 206 of the asked length is an error.
        private static int Read(HttpClient http, Uri url, long offset, byte[] buffer, int chunkSize)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Range = new RangeHeaderValue(offset, offset + chunkSize - 1);
            using var response = http.Send(request, HttpCompletionOption.ResponseHeadersRead);
            var length = response.Content.Headers.ContentLength ?? -1;
            if ((int)response.StatusCode != 206 || length <= 0 || length > chunkSize)
            {
                throw new InvalidOperationException($"GET {url} bytes {offset}+{chunkSize}: HTTP {(int)response.StatusCode}, {length} bytes.");
            }
            using var stream = response.Content.ReadAsStream();
            var filled = 0;
            while (filled < length)
            {
                var n = stream.Read(buffer, filled, (int)length - filled);
                if (n == 0) throw new InvalidOperationException($"GET {url} bytes {offset}+{chunkSize}: ended after {filled} of {length} bytes.");
                filled += n;
            }
            return filled;
        }

        /// <summary>Offsets of the chunks of a local file with any non-zero byte: what CBT "*" makes a first cycle read.</summary>
        public static long[] NonZeroChunks(string path, int chunkSize)
        {
            var offsets = new System.Collections.Generic.List<long>();
            var buffer = new byte[chunkSize];
            using var file = new System.IO.FileStream(path, System.IO.FileMode.Open, System.IO.FileAccess.Read, System.IO.FileShare.ReadWrite, 1 << 20);
            for (long at = 0; ; at += chunkSize)
            {
                var n = file.ReadAtLeast(buffer, chunkSize, throwOnEndOfStream: false);
                if (n == 0) break;
                if (new ReadOnlySpan<byte>(buffer, 0, n).IndexOfAnyExcept((byte)0) >= 0) offsets.Add(at);
                if (n < chunkSize) break;
            }
            return offsets.ToArray();
        }
    }
}
