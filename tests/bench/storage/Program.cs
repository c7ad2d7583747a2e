using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace AzureSiteRecovery.DR.Bench.Storage
{
    /// <summary>dotnet run -c Release -- codecs [MiB] | sync [MiB] | clones [MiB] | azurite [MiB]; results append to out/bench/storage/.</summary>
    internal static class Program
    {
        public static int Main(string[] args)
        {
            var what = args.Length > 0 ? args[0] : "codecs";
            var mib = args.Length > 1 ? long.Parse(args[1]) : 512;
            var work = Path.Combine(RepositoryRoot(), "out", "bench", "storage");
            Directory.CreateDirectory(work);
            var image = Path.Combine(work, $"disk-{mib}.img");
            if (!File.Exists(image) || new FileInfo(image).Length != mib << 20) DiskContent.Write(image, mib << 20);
            List<string> rows = what switch
            {
                "codecs" => CodecBench.Run(image, mib << 20),
                "sync" => StoreBench.Sync(image, mib << 20, work),
                "clones" => StoreBench.Clones(image, mib << 20, work),
                "azurite" => StoreBench.Azurite(image, mib << 20, work),
                _ => throw new ArgumentException("codecs | sync | clones | azurite"),
            };
            File.WriteAllLines(Path.Combine(work, $"{what}-{mib}.md"), rows);
            return 0;
        }

        public static string RepositoryRoot()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "DR.sln"))) return dir.FullName;
            }
            throw new InvalidOperationException("No DR.sln above " + AppContext.BaseDirectory);
        }
    }
}
