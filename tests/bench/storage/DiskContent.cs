using System;
using System.IO;
using System.Text;

namespace AzureSiteRecovery.DR.Bench.Storage
{
    /// <summary>
    /// A deterministic "realistic" disk image: runs of 256 KiB–24 MiB (4 KiB aligned) that are
    /// zeros (40 %: unallocated space), text-like (35 %: logs, configs, source) or random (25 %:
    /// compressed/encrypted files, media). Text is generated fresh everywhere, so chunks never
    /// repeat by accident and compressors see one chunk's worth of context, as in the store.
    /// </summary>
    internal static class DiskContent
    {
        private static readonly string[] Words =
        {
            "INFO", "WARN", "DEBUG", "ERROR", "request", "response", "user", "order", "status", "bytes", "path",
            "/api/v1/orders", "/var/log/app", "connection", "timeout", "retry", "session", "commit", "select",
            "from", "where", "insert", "into", "values", "config", "enabled", "true", "false", "null", "server",
            "client", "cache", "miss", "hit", "latency", "ms", "the", "a", "of", "and", "to", "in", "is", "for",
            "worker", "thread", "queue", "job", "started", "finished", "failed", "payload", "customer", "invoice",
        };

        public static void Write(string path, long size, int seed = 42)
        {
            var rng = new Random(seed);
            using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 20);
            file.SetLength(size);
            var buffer = new byte[1 << 20];
            long offset = 0;
            while (offset < size)
            {
                var run = Math.Min(size - offset, (long)rng.Next(64, 6 * 1024) * 4096);
                var kind = rng.NextDouble();
                if (kind < 0.40)
                {
                    offset += run; // sparse: zeros
                    continue;
                }
                file.Position = offset;
                var left = run;
                while (left > 0)
                {
                    var n = (int)Math.Min(left, buffer.Length);
                    if (kind < 0.75) FillText(rng, buffer, n); else rng.NextBytes(buffer.AsSpan(0, n));
                    file.Write(buffer, 0, n);
                    left -= n;
                }
                offset += run;
            }
        }

        private static void FillText(Random rng, byte[] buffer, int count)
        {
            var line = new StringBuilder(200);
            var i = 0;
            while (i < count)
            {
                line.Clear();
                line.Append("2024-").Append(rng.Next(1, 13).ToString("00")).Append('-').Append(rng.Next(1, 29).ToString("00"))
                    .Append('T').Append(rng.Next(24).ToString("00")).Append(':').Append(rng.Next(60).ToString("00")).Append(':')
                    .Append(rng.Next(60).ToString("00")).Append('.').Append(rng.Next(1000).ToString("000")).Append("Z ");
                var words = rng.Next(6, 18);
                for (var w = 0; w < words; w++)
                {
                    line.Append(Words[rng.Next(Words.Length)]);
                    switch (rng.Next(4))
                    {
                        case 0: line.Append('=').Append(rng.Next(100000)); break;
                        case 1: line.Append(" id=").Append(rng.Next().ToString("x8")); break;
                    }
                    line.Append(' ');
                }
                line.Append('\n');
                var bytes = Encoding.ASCII.GetBytes(line.ToString());
                var n = Math.Min(bytes.Length, count - i);
                Buffer.BlockCopy(bytes, 0, buffer, i, n);
                i += n;
            }
        }
    }
}
