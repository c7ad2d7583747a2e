using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Secrets;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>
    /// An object store in a local folder (the embedded default, beside the vault): one file per
    /// key. A put writes a temporary file in <c>.tmp/</c>, fsyncs it, renames it over the key's
    /// file and fsyncs the folder, so a reader or a crash never leaves a partial object under a
    /// key. Temporary files a crash left behind are never listed and are deleted after an hour.
    /// A root folder that disappears (an unmounted share) makes the store unavailable; it is not
    /// created again behind the user's back.
    /// </summary>
    public sealed class LocalFolderStore : IObjectStore
    {
        private const string TemporaryFolderName = ".tmp";
        private const string TrashFolderName = ".trash";
        private static readonly TimeSpan AbandonedAfter = TimeSpan.FromHours(1);

        private readonly string root;
        private readonly string temporaryFolder;
        private readonly string trashFolder;

        /// <summary>Opens the store at <paramref name="root"/>, creating the folder if needed, and deletes work files older than an hour.</summary>
        public LocalFolderStore(string root)
        {
            if (string.IsNullOrEmpty(root)) throw new ArgumentException("A folder is required.", nameof(root));
            this.root = Path.GetFullPath(root);
            temporaryFolder = Path.Combine(this.root, TemporaryFolderName);
            trashFolder = Path.Combine(this.root, TrashFolderName);
            try
            {
                OwnerOnly.CreateFolder(temporaryFolder);
                OwnerOnly.CreateFolder(trashFolder);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new StoreUnavailableException(this.root, $"The chunk store folder '{this.root}' cannot be created: {ex.Message}", ex);
            }
            DeleteAbandonedWorkFiles(DateTime.UtcNow - AbandonedAfter);
        }

        public string Location => root;

        /// <summary>Deletes temporary files (of puts that crashed) and trash last written before <paramref name="beforeUtc"/>; returns how many.</summary>
        public int DeleteAbandonedWorkFiles(DateTime beforeUtc)
        {
            var deleted = 0;
            foreach (var folder in new[] { temporaryFolder, trashFolder })
            {
                foreach (var file in new DirectoryInfo(folder).EnumerateFiles())
                {
                    if (file.LastWriteTimeUtc >= beforeUtc) continue;
                    try
                    {
                        file.Delete();
                        deleted++;
                    }
                    catch (IOException)
                    {
                        // Another process took it first.
                    }
                }
            }
            return deleted;
        }

        public Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = PathOf(key);
            var temporary = Path.Combine(temporaryFolder, Guid.NewGuid().ToString("N") + ".part");
            Guard(key, () =>
            {
                var folder = Path.GetDirectoryName(path)!;
                EnsureFolder(folder);
                try
                {
                    using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096))
                    {
                        OwnerOnly.Restrict(temporary);
                        Write(file, content);
                        file.Flush(flushToDisk: true);
                    }
                    DurableFile.Replace(temporary, path);
                }
                catch
                {
                    TryDelete(temporary);
                    throw;
                }
                DurableFile.SyncFolder(folder);
            });
            return Task.CompletedTask;
        }

        public Task<byte[]> GetAsync(string key, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = PathOf(key);
            return Task.FromResult(Guard(key, () =>
            {
                try
                {
                    return File.ReadAllBytes(path);
                }
                catch (Exception ex) when (ex is FileNotFoundException || ex is DirectoryNotFoundException)
                {
                    RequireRoot(ex);
                    throw new StoreObjectNotFoundException(root, key);
                }
            }));
        }

        public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = PathOf(key);
            return Task.FromResult(Guard(key, () =>
            {
                if (File.Exists(path)) return true;
                RequireRoot(null);
                return false;
            }));
        }

        public Task<bool> TouchAsync(string key, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = PathOf(key);
            return Task.FromResult(Guard(key, () =>
            {
                try
                {
                    File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
                    return true;
                }
                catch (Exception ex) when (ex is FileNotFoundException || ex is DirectoryNotFoundException)
                {
                    RequireRoot(ex);
                    return false;
                }
            }));
        }

        public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = PathOf(key);
            return Task.FromResult(Guard(key, () =>
            {
                if (!File.Exists(path))
                {
                    RequireRoot(null);
                    return false;
                }
                File.Delete(path);
                return true;
            }));
        }

        /// <remarks>
        /// Moves the file to <c>.trash/</c> first (atomic: a concurrent touch now finds nothing and
        /// the writer puts the object again), then compares its version with the listed one: a
        /// touch that came just before the move shows, and the file is moved back. Meant for
        /// content-addressed objects, where putting back an older copy changes nothing.
        /// </remarks>
        public Task<bool> DeleteIfUnchangedAsync(StoredObject listed, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = PathOf(listed.Key);
            return Task.FromResult(Guard(listed.Key, () =>
            {
                var trash = Path.Combine(trashFolder, Guid.NewGuid().ToString("N"));
                try
                {
                    DurableFile.Replace(path, trash);
                }
                catch (FileNotFoundException ex)
                {
                    RequireRoot(ex);
                    return false;
                }
                var moved = new FileInfo(trash);
                if (VersionOf(moved) == listed.Version)
                {
                    moved.Delete();
                    return true;
                }
                if (File.Exists(path)) moved.Delete(); else DurableFile.Replace(trash, path);
                return false;
            }));
        }

        public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            RequireRoot(null);
            // List from the deepest folder the prefix names completely; filter the rest by name.
            var slash = prefix.LastIndexOf('/');
            var folderKey = slash < 0 ? "" : prefix.Substring(0, slash);
            if (folderKey.Length > 0) ObjectKeys.Validate(folderKey);
            var folder = folderKey.Length == 0 ? root : Path.Combine(root, folderKey.Replace('/', Path.DirectorySeparatorChar));
            if (!Directory.Exists(folder)) yield break;

            var pending = new Stack<DirectoryInfo>();
            pending.Push(new DirectoryInfo(folder));
            var count = 0;
            while (pending.Count > 0)
            {
                var directory = pending.Pop();
                IEnumerable<FileSystemInfo> entries;
                try
                {
                    entries = directory.EnumerateFileSystemInfos();
                }
                catch (DirectoryNotFoundException)
                {
                    continue;
                }
                foreach (var entry in entries)
                {
                    if (entry.Name.StartsWith(".", StringComparison.Ordinal)) continue;
                    if (entry is DirectoryInfo sub)
                    {
                        pending.Push(sub);
                        continue;
                    }
                    var key = entry.FullName.Substring(root.Length + 1).Replace(Path.DirectorySeparatorChar, '/');
                    if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
                    var file = (FileInfo)entry;
                    // Between listing and here a concurrent delete may have taken it.
                    if (!file.Exists) continue;
                    if (++count % 1000 == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        await Task.Yield();
                    }
                    yield return new StoredObject(key, file.Length, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero), VersionOf(file));
                }
            }
        }

        private static string VersionOf(FileInfo file) =>
            file.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture) + "-" + file.Length.ToString(CultureInfo.InvariantCulture);

        private string PathOf(string key)
        {
            ObjectKeys.Validate(key);
            return Path.Combine(root, key.Replace('/', Path.DirectorySeparatorChar));
        }

        private void EnsureFolder(string folder)
        {
            if (Directory.Exists(folder)) return;
            RequireRoot(null);
            OwnerOnly.CreateFolder(folder);
            // The new folder's own entry must survive a crash too.
            for (var parent = Path.GetDirectoryName(folder); parent != null && parent.Length >= root.Length; parent = Path.GetDirectoryName(parent))
            {
                DurableFile.SyncFolder(parent);
            }
        }

        private void RequireRoot(Exception? inner)
        {
            if (!Directory.Exists(root))
            {
                throw new StoreUnavailableException(root, $"The chunk store folder '{root}' does not exist (any more); is its volume mounted?", inner);
            }
        }

        private T Guard<T>(string key, Func<T> action)
        {
            try
            {
                return action();
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new StoreAccessDeniedException(root, $"Access to '{key}' in the chunk store folder '{root}' was denied: {ex.Message}", ex);
            }
            catch (IOException ex) when (!(ex is FileNotFoundException))
            {
                // Disk full, I/O error, a share that went away: the data must go somewhere else for now.
                throw new StoreUnavailableException(root, $"The chunk store folder '{root}' failed on '{key}': {ex.Message}", ex);
            }
        }

        private void Guard(string key, Action action) => Guard(key, () =>
        {
            action();
            return true;
        });

        private static void Write(FileStream file, ReadOnlyMemory<byte> content)
        {
            if (System.Runtime.InteropServices.MemoryMarshal.TryGetArray(content, out var segment))
            {
                file.Write(segment.Array!, segment.Offset, segment.Count);
            }
            else
            {
                var copy = content.ToArray();
                file.Write(copy, 0, copy.Length);
            }
        }

        private static void TryDelete(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
