using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>
    /// Export-RecoveryPoint's engine: writes the raw image of each disk of a point, exactly its
    /// capacity, zeros where the manifest has zero chunks. Chunks are read ahead in parallel and
    /// written in order; a missing or bad chunk stops the export with
    /// <see cref="ChunkDamagedException"/> (never a silently wrong image).
    /// </summary>
    public sealed class DiskImageWriter
    {
        public const string ImageExtension = ".img";
        private readonly ChunkStore chunks;

        public DiskImageWriter(ChunkStore chunks)
        {
            this.chunks = chunks ?? throw new ArgumentNullException(nameof(chunks));
        }

        /// <summary>Replace images that exist already; otherwise an existing image fails the export (ExportFileExists) before anything is written.</summary>
        public bool Overwrite { get; init; }

        /// <summary>
        /// The folder name for a VM's images: its name with every character that is not a letter,
        /// digit, '-', '_' or '.' replaced by '_' (never "." or ".."), so two VMs never share a folder by accident.
        /// </summary>
        public static string FolderNameOf(string vmName)
        {
            var safe = new string((vmName ?? "").Select(c => char.IsLetterOrDigit(c) || c == '-' || c == '_' || c == '.' ? c : '_').ToArray()).Trim('.');
            return safe.Length == 0 ? "_" : safe;
        }

        /// <summary>
        /// Writes <c>&lt;diskKey&gt;.img</c> for every disk of the point into <paramref name="destinationFolder"/>
        /// (created if needed), each through a temporary name so a failed export leaves no image
        /// that looks whole; an existing image of the same name is replaced only with <see cref="Overwrite"/>. Returns the paths.
        /// </summary>
        public async Task<IReadOnlyList<string>> ExportAsync(RecoveryPointManifest point, string destinationFolder, CancellationToken cancellationToken, IProgress<long>? progress = null)
        {
            var existing = point.Disks.Select(d => Path.Combine(destinationFolder, d.DiskKey + ImageExtension)).Where(File.Exists).ToList();
            if (existing.Count > 0 && !Overwrite)
            {
                throw new ExportFileExistsException(existing);
            }
            Directory.CreateDirectory(destinationFolder);
            var paths = new List<string>();
            long done = 0;
            foreach (var disk in point.Disks)
            {
                var path = Path.Combine(destinationFolder, disk.DiskKey + ImageExtension);
                var partial = path + ".partial";
                var before = done;
                try
                {
                    using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
                    {
                        await WriteAsync(disk, file, cancellationToken, progress is null ? null : new Progress<long>(n => progress.Report(before + n))).ConfigureAwait(false);
                        file.Flush(flushToDisk: true);
                    }
                    DurableFile.Replace(partial, path);
                }
                catch
                {
                    try { File.Delete(partial); } catch (IOException) { }
                    throw;
                }
                done += disk.Capacity;
                paths.Add(path);
            }
            return paths;
        }

        /// <summary>Writes one disk's raw bytes to <paramref name="destination"/> from its current position. A seekable destination gets holes for zero chunks (sparse files).</summary>
        public async Task WriteAsync(DiskManifest disk, Stream destination, CancellationToken cancellationToken, IProgress<long>? progress = null)
        {
            var readAhead = Math.Max(2, chunks.Options.MaxParallelism);
            var start = destination.CanSeek ? destination.Position : 0;
            var pending = new Queue<Task<byte[]?>>();
            var next = 0;
            byte[]? zeros = null;
            using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            try
            {
                for (var i = 0; i < disk.Chunks.Count; i++)
                {
                    while (next < disk.Chunks.Count && pending.Count < readAhead)
                    {
                        var index = next++;
                        var hash = disk.Chunks[index];
                        pending.Enqueue(hash.IsZero
                            ? Task.FromResult<byte[]?>(null)
                            : Task.Run<byte[]?>(async () => await chunks.ReadChunkAsync(hash, disk.LengthOf(index), failed.Token).ConfigureAwait(false)));
                    }
                    var data = await pending.Dequeue().ConfigureAwait(false);
                    var length = disk.LengthOf(i);
                    if (data != null)
                    {
                        await destination.WriteAsync(data, 0, data.Length, cancellationToken).ConfigureAwait(false);
                    }
                    else if (destination.CanSeek)
                    {
                        destination.Position += length;
                    }
                    else
                    {
                        zeros ??= new byte[disk.ChunkSize];
                        await destination.WriteAsync(zeros, 0, length, cancellationToken).ConfigureAwait(false);
                    }
                    progress?.Report(disk.OffsetOf(i) + length);
                }
                // Trailing holes: the length must still be the full capacity.
                if (destination.CanSeek && destination.Length < start + disk.Capacity) destination.SetLength(start + disk.Capacity);
            }
            catch
            {
                failed.Cancel();
                foreach (var task in pending) await task.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary>An export would replace image files that exist already: nothing was written.</summary>
    public sealed class ExportFileExistsException : DRException
    {
        public ExportFileExistsException(IReadOnlyList<string> paths)
            : base("ExportFileExists", FailureKind.AlreadyExists, paths[0],
                $"{string.Join(", ", paths)} exist{(paths.Count == 1 ? "s" : "")} already; nothing was written. Export into another folder, or use -Force to replace {(paths.Count == 1 ? "it" : "them")}.")
        {
            Paths = paths;
        }

        public IReadOnlyList<string> Paths { get; }
    }
}
