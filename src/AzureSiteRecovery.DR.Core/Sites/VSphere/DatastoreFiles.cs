using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Transfers.Retries;

namespace AzureSiteRecovery.DR.Core.Sites.VSphere
{
    /// <summary>
    /// Datastore files over vSphere's HTTP file interface (/folder/&lt;path&gt;?dcPath=&amp;dsName=),
    /// with the SOAP session's cookie. Reads are ranged GETs, uploads streamed PUTs.
    /// </summary>
    internal sealed class DatastoreFiles
    {
        private readonly VimClient vim;

        public DatastoreFiles(VimClient vim)
        {
            this.vim = vim;
        }

        public Uri UrlOf(DatastorePath path, string datacenter)
        {
            var segments = path.Path.Split('/').Select(Uri.EscapeDataString);
            return new Uri(vim.Transport.BaseUrl,
                "folder/" + string.Join("/", segments) + "?dcPath=" + Uri.EscapeDataString(datacenter) + "&dsName=" + Uri.EscapeDataString(path.Datastore));
        }

        /// <summary>
        /// Bytes [offset, offset+length) of the file as a stream (one try; <see cref="ReadAsync"/> retries). The stream ends
        /// early when the file does; it is empty when offset is at or past the end (HTTP 416). Dispose it to release the connection.
        /// </summary>
        public async Task<Stream> OpenReadAsync(DatastorePath path, string datacenter, long offset, long length, CancellationToken ct)
        {
            if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset));
            if (length <= 0) throw new ArgumentOutOfRangeException(nameof(length), "A read needs a positive length.");
            HttpResponseMessage response;
            try
            {
                response = await SendWithSessionAsync(() => RangedGet(path, datacenter, offset, length), ct, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested) && !(e is DRException))
            {
                throw TransferFailure("read", path, offset, new RetryOutcome(e, 1, TransientFault.Of(e)));
            }
            try
            {
                switch (response.StatusCode)
                {
                    case HttpStatusCode.PartialContent:
                        return new ResponseStream(response, await response.Content.ReadAsStreamAsync().ConfigureAwait(false));
                    case HttpStatusCode.RequestedRangeNotSatisfiable:
                        response.Dispose();
                        return new MemoryStream(Array.Empty<byte>(), writable: false);
                    case HttpStatusCode.OK when offset == 0:
                        // A server that ignores Range sends the whole file: the first length bytes are the ones asked for.
                        return new ResponseStream(response, await response.Content.ReadAsStreamAsync().ConfigureAwait(false), length);
                    default:
                        throw Failure(path, "read", response);
                }
            }
            catch
            {
                response.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Reads bytes [offset, offset+count) of the file into <paramref name="buffer"/> and returns how many there were
        /// (fewer when the file ends first). A broken or stalled transfer is retried from the byte it reached, not from
        /// <paramref name="offset"/>; after the retries it fails with VSphereTransferFailed.
        /// </summary>
        public Task<int> ReadAsync(DatastorePath path, string datacenter, long offset, byte[] buffer, int count, CancellationToken ct)
        {
            if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset));
            var filled = 0;
            return Retrier.RunAsync(async attempt =>
            {
                var start = offset + filled;
                using var response = await SendWithSessionAsync(() => RangedGet(path, datacenter, start, count - filled), attempt.Token, ct).ConfigureAwait(false);
                long skip = 0;
                switch (response.StatusCode)
                {
                    case HttpStatusCode.PartialContent:
                        break;
                    case HttpStatusCode.RequestedRangeNotSatisfiable:
                        return filled;
                    case HttpStatusCode.OK when offset == 0:
                        // A server that ignores Range sends the whole file from its start: skip what an earlier try got.
                        skip = filled;
                        break;
                    default:
                        vim.Transport.ThrowIfTransient(response);
                        throw Failure(path, "read", response);
                }
                using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
                if (skip > 0) await SkipAsync(stream, skip, attempt).ConfigureAwait(false);
                while (filled < count)
                {
                    var read = await stream.ReadAsync(buffer, filled, count - filled, attempt.Token).ConfigureAwait(false);
                    if (read == 0) break;
                    filled += read;
                    attempt.Progressed();
                }
                return filled;
            }, changesState: false, outcome => TransferFailure("read", path, offset + filled, outcome), ct);
        }

        private static async Task SkipAsync(Stream stream, long bytes, RetryAttempt attempt)
        {
            var scratch = new byte[Math.Min(bytes, 81920)];
            while (bytes > 0)
            {
                var read = await stream.ReadAsync(scratch, 0, (int)Math.Min(bytes, scratch.Length), attempt.Token).ConfigureAwait(false);
                if (read == 0) throw new EndOfStreamException("The file ended before the bytes read by an earlier try.");
                bytes -= read;
                attempt.Progressed();
            }
        }

        private HttpRequestMessage RangedGet(DatastorePath path, string datacenter, long offset, long length)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, UrlOf(path, datacenter));
            request.Headers.Range = new RangeHeaderValue(offset, offset + length - 1);
            return request;
        }

        /// <summary>The file's length in bytes (HEAD); null when the server does not say.</summary>
        public Task<long?> GetLengthAsync(DatastorePath path, string datacenter, CancellationToken ct) =>
            Retrier.RunAsync(async attempt =>
            {
                using var response = await SendWithSessionAsync(() => new HttpRequestMessage(HttpMethod.Head, UrlOf(path, datacenter)), attempt.Token, ct).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    vim.Transport.ThrowIfTransient(response);
                    throw Failure(path, "stat", response);
                }
                return response.Content.Headers.ContentLength;
            }, changesState: false, outcome => TransferFailure("stat", path, 0, outcome), ct);

        /// <summary>
        /// Streams <paramref name="length"/> bytes of <paramref name="content"/> into the file, replacing it. A broken
        /// upload is sent again from the start when <paramref name="content"/> can seek back, else it fails at once.
        /// </summary>
        public async Task UploadAsync(DatastorePath path, string datacenter, Stream content, long length, CancellationToken ct)
        {
            var start = content.CanSeek ? content.Position : -1;
            var tried = false;
            await UploadCoreAsync(path, datacenter, length, async (body, token) =>
            {
                if (start >= 0) content.Position = start;
                else if (tried) throw new InvalidOperationException("The upload's content cannot be read again: it was answered 'try later' after the first try had read from a stream that cannot seek.");
                tried = true;
                using var limited = new LengthLimitedStream(content, length);
                await limited.CopyToAsync(body, 81920, token).ConfigureAwait(false);
            }, repeatable: start >= 0, ct).ConfigureAwait(false);
        }

        /// <summary>
        /// Creates or replaces a file of <paramref name="length"/> bytes that <paramref name="write"/>
        /// writes straight into the request body (no staging copy), e.g. a disk image from the chunk store.
        /// A broken upload is retried whole: <paramref name="write"/> is called again and must write the same bytes.
        /// </summary>
        public Task UploadAsync(DatastorePath path, string datacenter, Func<Stream, CancellationToken, Task> write, long length, CancellationToken ct) =>
            UploadCoreAsync(path, datacenter, length, (body, token) => write(body, token), repeatable: true, ct);

        // repeatable: whether write can write the same bytes again; if not, the upload is sent again only when the server provably did not take it.
        private async Task UploadCoreAsync(DatastorePath path, string datacenter, long length, Func<CountingStream, CancellationToken, Task> write, bool repeatable, CancellationToken ct)
        {
            // A PUT body is not sent twice within one try, so make sure the session is alive before starting.
            await vim.CurrentTimeAsync(ct).ConfigureAwait(false);
            long reached = 0;
            // Replacing a whole file with the same bytes is safe to repeat (when the bytes can be written again).
            await Retrier.RunAsync(async attempt =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Put, UrlOf(path, datacenter))
                {
                    Content = new PushContent(write, length, attempt, written => reached = written),
                };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                using var response = await vim.Transport.SendOnceAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt.Token).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    vim.Transport.ThrowIfTransient(response);
                    throw Failure(path, "write", response);
                }
            }, changesState: !repeatable, outcome => TransferFailure("write", path, reached, outcome), ct).ConfigureAwait(false);
        }

        /// <summary>
        /// Overwrites bytes [offset, offset+count) of an existing file with a ranged PUT
        /// (<c>Content-Range: bytes a-b/*</c>). vSphere's own datastore interface replaces whole
        /// files only (it answers 200/201 and the file is now just this body); this is for servers
        /// that take ranged writes (the lab's vcsim, an ESXi proxy). Only an answer that confirms the
        /// range (206, or 2xx with the same Content-Range) counts; any other success is
        /// DatastoreRangedWriteUnsupported, as the file may have been replaced. Call it only on a
        /// site <see cref="ProbeRangedWritesAsync"/> has shown to take ranged writes.
        /// </summary>
        public async Task WriteRangeAsync(DatastorePath path, string datacenter, long offset, byte[] data, int count, CancellationToken ct)
        {
            var last = offset + count - 1;
            // The same bytes to the same range: safe to repeat.
            using var response = await Retrier.RunAsync(async attempt =>
            {
                var answer = await SendWithSessionAsync(() =>
                {
                    var request = new HttpRequestMessage(HttpMethod.Put, UrlOf(path, datacenter)) { Content = new ByteArrayContent(data, 0, count) };
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                    request.Content.Headers.ContentRange = new ContentRangeHeaderValue(offset, last);
                    return request;
                }, attempt.Token, ct).ConfigureAwait(false);
                if (!answer.IsSuccessStatusCode)
                {
                    using (answer)
                    {
                        vim.Transport.ThrowIfTransient(answer);
                        throw Failure(path, "write a range of", answer);
                    }
                }
                return answer;
            }, changesState: false, outcome => TransferFailure("write", path, offset, outcome), ct).ConfigureAwait(false);
            var echoed = response.Content?.Headers.ContentRange;
            var confirmed = response.StatusCode == HttpStatusCode.PartialContent
                || (echoed != null && echoed.HasRange && echoed.From == offset && echoed.To == last);
            if (!confirmed)
            {
                throw new DiskWriteException("DatastoreRangedWriteUnsupported", path.ToString(),
                    $"The datastore interface of '{vim.Transport.BaseUrl}' (site '{vim.SiteName}') answered a ranged write of bytes {offset}-{last} of '{path}' " +
                    $"with HTTP {(int)response.StatusCode} and no confirmation of the range: it does not take ranged writes (vSphere replaces the whole file). " +
                    "Disks on this site are written whole.");
            }
        }

        /// <summary>
        /// Whether the server takes ranged writes, shown on a scratch file in <paramref name="folder"/>
        /// (never on a disk): a small file is created, a range in its middle written, and the file read
        /// back; true only when the answer confirmed the range, the bytes are right and the length did
        /// not change. The scratch file is deleted by the caller's <paramref name="delete"/>.
        /// </summary>
        public async Task<bool> ProbeRangedWritesAsync(DatastorePath folder, string datacenter, Func<DatastorePath, CancellationToken, Task> delete, CancellationToken ct)
        {
            const int Block = 4096;
            var scratch = new DatastorePath(folder.Datastore, folder.Path.TrimEnd('/') + "/azsr-dr-probe-" + Guid.NewGuid().ToString("N") + ".tmp");
            var whole = new byte[3 * Block];
            for (var i = 0; i < whole.Length; i++) whole[i] = (byte)'a';
            var middle = new byte[Block];
            for (var i = 0; i < middle.Length; i++) middle[i] = (byte)'b';
            using (var content = new MemoryStream(whole, writable: false))
            {
                await UploadAsync(scratch, datacenter, content, whole.Length, ct).ConfigureAwait(false);
            }
            try
            {
                try
                {
                    await WriteRangeAsync(scratch, datacenter, Block, middle, Block, ct).ConfigureAwait(false);
                }
                catch (DiskWriteException)
                {
                    return false;
                }
                catch (DatastoreFileException e) when (e.StatusCode >= 400 && e.StatusCode < 500 && e.StatusCode != 401 && e.StatusCode != 403)
                {
                    // 400/405/411/416/...: the server refuses ranged PUTs outright.
                    return false;
                }

                var length = await GetLengthAsync(scratch, datacenter, ct).ConfigureAwait(false);
                var back = new byte[whole.Length + 1];
                var filled = await ReadAsync(scratch, datacenter, 0, back, back.Length, ct).ConfigureAwait(false);
                Array.Copy(middle, 0, whole, Block, Block);
                return length == whole.Length && filled == whole.Length && back.Take(filled).SequenceEqual(whole);
            }
            finally
            {
                await delete(scratch, CancellationToken.None).ConfigureAwait(false);
            }
        }

        /// <summary>A request body produced by a writer callback as the request is sent; each byte written is progress for the try.</summary>
        private sealed class PushContent : HttpContent
        {
            private readonly Func<CountingStream, CancellationToken, Task> write;
            private readonly long length;
            private readonly RetryAttempt attempt;
            private readonly Action<long> reached;

            public PushContent(Func<CountingStream, CancellationToken, Task> write, long length, RetryAttempt attempt, Action<long> reached)
            {
                this.write = write;
                this.length = length;
                this.attempt = attempt;
                this.reached = reached;
                Headers.ContentLength = length;
            }

            protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
            {
                var counting = new CountingStream(stream, written =>
                {
                    attempt.Progressed();
                    reached(written);
                });
                await write(counting, attempt.Token).ConfigureAwait(false);
                if (counting.Written != length)
                {
                    throw new InvalidOperationException($"The upload wrote {counting.Written} bytes but announced {length}.");
                }
            }

            protected override bool TryComputeLength(out long computed)
            {
                computed = length;
                return true;
            }
        }

        /// <summary>Passes writes through and counts them (so a short upload is an error, not a truncated disk).</summary>
        private sealed class CountingStream : Stream
        {
            private readonly Stream inner;
            private readonly Action<long> wrote;

            public CountingStream(Stream inner, Action<long> wrote)
            {
                this.inner = inner;
                this.wrote = wrote;
            }

            public long Written { get; private set; }
            public override bool CanRead => false;
            public override bool CanSeek => false;
            public override bool CanWrite => true;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
            public override void Flush() => inner.Flush();
            public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
            public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count)
            {
                inner.Write(buffer, offset, count);
                Written += count;
                wrote(Written);
            }

            public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                await inner.WriteAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
                Written += count;
                wrote(Written);
            }
        }

        /// <summary>Sends a request once (the caller's retry loop repeats it); a session the server forgot is restored and the request sent again once.</summary>
        private async Task<HttpResponseMessage> SendWithSessionAsync(Func<HttpRequestMessage> request, CancellationToken token, CancellationToken ct)
        {
            using (var first = request())
            {
                var response = await vim.Transport.SendOnceAsync(first, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.Unauthorized) return response;
                response.Dispose();
            }
            // The session expired: any SOAP call logs in again, then the file request is repeated once.
            await vim.CurrentTimeAsync(ct).ConfigureAwait(false);
            using var second = request();
            return await vim.Transport.SendOnceAsync(second, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
        }

        private Exception TransferFailure(string direction, DatastorePath path, long offset, RetryOutcome outcome)
        {
            if (outcome.Last is DRException) return outcome.Last;
            return new TransferFailedException("VSphereTransferFailed", direction, path.ToString(), offset, vim.Transport.BaseUrl.ToString(), vim.SiteName,
                outcome.Attempts, outcome.LastError, outcome.Last);
        }

        private DatastoreFileException Failure(DatastorePath path, string what, HttpResponseMessage response) =>
            new DatastoreFileException(path.ToString(), (int)response.StatusCode,
                $"Cannot {what} the datastore file '{path}' on '{vim.Transport.BaseUrl}' (site '{vim.SiteName}'): HTTP {(int)response.StatusCode} {response.ReasonPhrase}.");

        /// <summary>The response body; disposing it releases the response. With a limit, stops after that many bytes.</summary>
        private sealed class ResponseStream : Stream
        {
            private readonly HttpResponseMessage response;
            private readonly Stream inner;
            private long remaining;

            public ResponseStream(HttpResponseMessage response, Stream inner, long limit = long.MaxValue)
            {
                this.response = response;
                this.inner = inner;
                remaining = limit;
            }

            public override bool CanRead => true;
            public override bool CanSeek => false;
            public override bool CanWrite => false;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

            public override int Read(byte[] buffer, int offset, int count)
            {
                if (remaining <= 0) return 0;
                var n = inner.Read(buffer, offset, (int)Math.Min(count, remaining));
                remaining -= n;
                return n;
            }

            public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                if (remaining <= 0) return 0;
                var n = await inner.ReadAsync(buffer, offset, (int)Math.Min(count, remaining), cancellationToken).ConfigureAwait(false);
                remaining -= n;
                return n;
            }

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    inner.Dispose();
                    response.Dispose();
                }
                base.Dispose(disposing);
            }
        }

        /// <summary>Reads at most length bytes of a stream, and fails if it ends sooner (the PUT announced length bytes).</summary>
        private sealed class LengthLimitedStream : Stream
        {
            private readonly Stream inner;
            private long remaining;

            public LengthLimitedStream(Stream inner, long length)
            {
                this.inner = inner ?? throw new ArgumentNullException(nameof(inner));
                remaining = length >= 0 ? length : throw new ArgumentOutOfRangeException(nameof(length));
            }

            public override bool CanRead => true;
            public override bool CanSeek => false;
            public override bool CanWrite => false;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

            public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, Want(count)), count);

            public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                Count(await inner.ReadAsync(buffer, offset, Want(count), cancellationToken).ConfigureAwait(false), count);

            private int Want(int count) => (int)Math.Min(count, remaining);

            private int Count(int n, int asked)
            {
                if (n == 0 && remaining > 0 && asked > 0)
                {
                    throw new EndOfStreamException($"The upload content ended {remaining} bytes before the announced length.");
                }
                remaining -= n;
                return n;
            }

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }
    }
}
