using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Core.Tests.Storage
{
    /// <summary>Disk images for storage tests: zeros, text and random runs, deterministic per seed.</summary>
    internal static class TestDisks
    {
        public const int ChunkSize = 64 << 10;

        /// <summary>Chunks 0-1 zeros, 2-4 text, 5-6 random, 7 zeros, 8 text, then a last partial chunk of random bytes.</summary>
        public static byte[] Mixed(int seed, int lastPartial = 12345)
        {
            var disk = new byte[9 * ChunkSize + lastPartial];
            var rng = new Random(seed);
            Text(rng, disk, 2 * ChunkSize, 3 * ChunkSize);
            Random(rng, disk, 5 * ChunkSize, 2 * ChunkSize);
            Text(rng, disk, 8 * ChunkSize, ChunkSize);
            Random(rng, disk, 9 * ChunkSize, lastPartial);
            return disk;
        }

        public static void Random(Random rng, byte[] disk, int offset, int count)
        {
            var bytes = new byte[count];
            rng.NextBytes(bytes);
            Buffer.BlockCopy(bytes, 0, disk, offset, count);
        }

        public static void Text(Random rng, byte[] disk, int offset, int count)
        {
            var text = new StringBuilder();
            while (text.Length < count) text.Append($"2024-05-{rng.Next(1, 29):00} INFO request id={rng.Next():x8} path=/api/v1/orders/{rng.Next(100000)} status=200\n");
            Buffer.BlockCopy(Encoding.ASCII.GetBytes(text.ToString(0, count)), 0, disk, offset, count);
        }

        public static byte[] Key(int seed = 1)
        {
            var key = new byte[32];
            new Random(seed).NextBytes(key);
            return key;
        }

        public static ChunkStoreOptions Options => new ChunkStoreOptions { ChunkSize = ChunkSize, MaxParallelism = 4 };

        public static DiskReader ReaderOf(byte[] disk) => (offset, buffer, count, ct) =>
        {
            Buffer.BlockCopy(disk, (int)offset, buffer, 0, count);
            return Task.CompletedTask;
        };

        public static async Task<RecoveryPointManifest> WritePointAsync(ChunkStore chunks, string vmId, string pointId, params (string DiskKey, byte[] Content)[] disks)
        {
            var manifests = new System.Collections.Generic.List<DiskManifest>();
            foreach (var (diskKey, content) in disks)
            {
                var result = await chunks.WriteDiskAsync(diskKey, new MemoryStream(content), content.Length, CancellationToken.None);
                manifests.Add(result.Manifest);
            }
            var point = new RecoveryPointManifest(vmId, pointId, DateTimeOffset.UtcNow, PointConsistency.CrashConsistent, manifests);
            await chunks.WritePointAsync(point, CancellationToken.None);
            return point;
        }

        public static async Task<byte[]> ExportAsync(ChunkStore chunks, DiskManifest disk)
        {
            using var output = new MemoryStream();
            await new DiskImageWriter(chunks).WriteAsync(disk, output, CancellationToken.None);
            return output.ToArray();
        }
    }
}
