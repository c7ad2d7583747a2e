using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Bench.Storage
{
    /// <summary>End-to-end runs of the chunk store: full sync vs a plain ranged GET, ten clones, Azurite vs one raw blob.</summary>
    internal static class StoreBench
    {
        private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

        /// <summary>Full sync of the image, read by ranged GETs from a local HTTP server (as from a datastore), into a local store.</summary>
        public static List<string> Sync(string image, long size, string work)
        {
            using var server = new RangeServer(image);
            using var http = new HttpClient();
            var rows = new List<string>
            {
                $"Disk: {size >> 20} MiB; source: ranged GETs of 4 MiB from a local HTTP server (HttpListener) on 127.0.0.1; {Environment.ProcessorCount} cores.",
                "",
                "| run | seconds | MiB/s (disk) | ratio to plain GET | chunks stored | stored MiB |",
                "| --- | ---: | ---: | ---: | ---: | ---: |",
            };
            DiskReader reader = async (offset, buffer, count, ct) =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, server.Url);
                request.Headers.Range = new RangeHeaderValue(offset, offset + count - 1);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
                response.EnsureSuccessStatusCode();
                using var body = await response.Content.ReadAsStreamAsync(ct);
                await body.ReadExactlyAsync(buffer.AsMemory(0, count), ct);
            };

            double Plain()
            {
                var buffer = new byte[4 << 20];
                var sw = Stopwatch.StartNew();
                for (long o = 0; o < size; o += buffer.Length) reader(o, buffer, (int)Math.Min(buffer.Length, size - o), CancellationToken.None).GetAwaiter().GetResult();
                return sw.Elapsed.TotalSeconds;
            }

            Plain(); // warm the page cache and the connection
            var plain = Enumerable.Range(0, 3).Min(_ => Plain());
            rows.Add($"| plain ranged GET (best of 3) | {plain:F2} | {size / 1048576.0 / plain:F0} | 1.00 | - | - |");
            Console.WriteLine(rows[^1]);

            foreach (var (label, options) in new[]
            {
                ("chunk store 4 MiB zstd-1 (default)", new ChunkStoreOptions()),
                ("chunk store 1 MiB zstd-1", new ChunkStoreOptions { ChunkSize = 1 << 20 }),
                ("chunk store 4 MiB deflate", new ChunkStoreOptions { Compression = ChunkCompression.Deflate }),
                ("chunk store 4 MiB none", new ChunkStoreOptions { Compression = ChunkCompression.None }),
            })
            {
                var folder = Path.Combine(work, "sync-store");
                if (Directory.Exists(folder)) Directory.Delete(folder, true);
                var store = new LocalFolderStore(folder);
                using var chunks = new ChunkStore(store, Key, options);
                var sw = Stopwatch.StartNew();
                var result = chunks.WriteDiskAsync("disk", size, reader, null, null, CancellationToken.None).GetAwaiter().GetResult();
                var seconds = sw.Elapsed.TotalSeconds;
                rows.Add($"| {label} | {seconds:F2} | {size / 1048576.0 / seconds:F0} | {plain / seconds:F2} | {result.ChunksStored} | {result.BytesStored / 1048576.0:F0} |");
                Console.WriteLine(rows[^1]);
                if (label.Contains("default"))
                {
                    using var again = new ChunkStore(store, Key, options);
                    sw.Restart();
                    var second = again.WriteDiskAsync("disk", size, reader, null, null, CancellationToken.None).GetAwaiter().GetResult();
                    seconds = sw.Elapsed.TotalSeconds;
                    rows.Add($"| same disk again, all chunks already stored (touch only) | {seconds:F2} | {size / 1048576.0 / seconds:F0} | {plain / seconds:F2} | {second.ChunksStored} | 0 |");
                    Console.WriteLine(rows[^1]);
                }
                Directory.Delete(folder, true);
            }
            return rows;
        }

        /// <summary>Ten clones of one VM: each the same image with 16 scattered 512 KiB writes of its own.</summary>
        public static List<string> Clones(string image, long size, string work)
        {
            var rows = new List<string>
            {
                $"One VM disk: {size >> 20} MiB; each clone differs by 16 writes of 64 KiB of random bytes (1 MiB, as hostname, logs, machine ids would) at random 4 KiB-aligned places.",
                "",
                "| chunk | one VM: stored MiB | ten clones: stored MiB | ten clones / one VM | raw disks (10×) MiB |",
                "| ---: | ---: | ---: | ---: | ---: |",
            };
            var baseImage = File.ReadAllBytes(image);
            foreach (var chunkSize in new[] { 1 << 20, 4 << 20 })
            {
                var folder = Path.Combine(work, "clones-store");
                if (Directory.Exists(folder)) Directory.Delete(folder, true);
                var store = new LocalFolderStore(folder);
                long one = 0;
                for (var clone = 0; clone < 10; clone++)
                {
                    var disk = (byte[])baseImage.Clone();
                    var rng = new Random(1000 + clone);
                    for (var w = 0; w < 16; w++)
                    {
                        var offset = (long)rng.Next((int)((size - (64 << 10)) / 4096)) * 4096;
                        rng.NextBytes(disk.AsSpan((int)offset, 64 << 10));
                    }
                    using var chunks = new ChunkStore(store, Key, new ChunkStoreOptions { ChunkSize = chunkSize });
                    chunks.WriteDiskAsync("disk", new MemoryStream(disk), size, CancellationToken.None).GetAwaiter().GetResult();
                    if (clone == 0) one = StoreBytes(folder);
                }
                var ten = StoreBytes(folder);
                rows.Add($"| {chunkSize >> 20} MiB | {one / 1048576.0:F1} | {ten / 1048576.0:F1} | {(double)ten / one:F2} | {10 * size / 1048576.0:F0} |");
                Console.WriteLine(rows[^1]);
                Directory.Delete(folder, true);
            }
            return rows;
        }

        /// <summary>The chunk store on Azurite against uploading the raw disk as one block blob.</summary>
        public static List<string> Azurite(string image, long size, string work)
        {
            var state = Path.Combine(work, "azurite-state");
            if (Directory.Exists(state)) Directory.Delete(state, true);
            var script = Path.Combine(Program.RepositoryRoot(), "tests", "lab", "azurite", "azurite.sh");
            var url = new Uri(Run("bash", script, "start", state).Trim().Split('\n').Last());
            try
            {
                const string account = "devstoreaccount1";
                const string key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
                var rows = new List<string>
                {
                    $"Disk: {size >> 20} MiB, Azurite {url} (blob, on this machine's disk).",
                    "",
                    "| upload | seconds | MiB/s (disk) | bytes sent to the store (MiB) | objects |",
                    "| --- | ---: | ---: | ---: | ---: |",
                };
                var service = new BlobServiceClient(url, new StorageSharedKeyCredential(account, key));
                var raw = service.GetBlobContainerClient("raw");
                raw.CreateIfNotExists();
                var sw = Stopwatch.StartNew();
                using (var file = File.OpenRead(image)) raw.GetBlockBlobClient("disk.img").Upload(file);
                var rawSeconds = sw.Elapsed.TotalSeconds;
                rows.Add($"| raw disk as one block blob (SDK default: parallel 4 MiB blocks) | {rawSeconds:F1} | {size / 1048576.0 / rawSeconds:F0} | {size / 1048576.0:F0} | 1 |");
                Console.WriteLine(rows[^1]);

                var store = BlobStore.Create(url, account, key, "chunks");
                using var chunks = new ChunkStore(store, Key);
                sw.Restart();
                using var source = File.OpenRead(image);
                var result = chunks.WriteDiskAsync("disk", source, size, CancellationToken.None).GetAwaiter().GetResult();
                var seconds = sw.Elapsed.TotalSeconds;
                rows.Add($"| chunk store, 4 MiB zstd-1, sealed | {seconds:F1} | {size / 1048576.0 / seconds:F0} | {result.BytesStored / 1048576.0:F0} | {result.ChunksStored} |");
                Console.WriteLine(rows[^1]);
                return rows;
            }
            finally
            {
                Run("bash", script, "stop", state);
                Directory.Delete(state, true);
            }
        }

        private static long StoreBytes(string folder) =>
            Directory.GetFiles(Path.Combine(folder, "chunks"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

        private static string Run(string file, params string[] args)
        {
            var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in args) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(" ", args)} failed");
            return output;
        }

        /// <summary>A minimal HTTP server for one file with Range support, like a datastore's /folder.</summary>
        private sealed class RangeServer : IDisposable
        {
            private readonly HttpListener listener = new HttpListener();
            private readonly string path;
            private readonly Thread[] threads;

            public RangeServer(string path)
            {
                this.path = path;
                var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
                probe.Start();
                var port = ((IPEndPoint)probe.LocalEndpoint).Port;
                probe.Stop();
                Url = $"http://127.0.0.1:{port}/disk";
                listener.Prefixes.Add($"http://127.0.0.1:{port}/");
                listener.Start();
                threads = Enumerable.Range(0, 4).Select(_ => new Thread(Serve) { IsBackground = true }).ToArray();
                foreach (var t in threads) t.Start();
            }

            public string Url { get; }

            private void Serve()
            {
                var buffer = new byte[1 << 20];
                using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess);
                while (listener.IsListening)
                {
                    HttpListenerContext context;
                    try { context = listener.GetContext(); } catch (HttpListenerException) { return; } catch (ObjectDisposedException) { return; }
                    var range = context.Request.Headers["Range"]!.Substring("bytes=".Length).Split('-');
                    long start = long.Parse(range[0]), end = long.Parse(range[1]);
                    context.Response.StatusCode = 206;
                    context.Response.ContentLength64 = end - start + 1;
                    var left = end - start + 1;
                    var offset = start;
                    while (left > 0)
                    {
                        var n = RandomAccess.Read(file.SafeFileHandle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, left)), offset);
                        context.Response.OutputStream.Write(buffer, 0, n);
                        left -= n;
                        offset += n;
                    }
                    context.Response.Close();
                }
            }

            public void Dispose()
            {
                listener.Stop();
                listener.Close();
            }
        }
    }
}
