using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;

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
        /// Bytes [offset, offset+length) of the file. The stream ends early when the file does; it is
        /// empty when offset is at or past the end (HTTP 416). Dispose it to release the connection.
        /// </summary>
        public async Task<Stream> OpenReadAsync(DatastorePath path, string datacenter, long offset, long length, CancellationToken ct)
        {
            if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset));
            if (length <= 0) throw new ArgumentOutOfRangeException(nameof(length), "A read needs a positive length.");
            var response = await SendWithSessionAsync(() =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, UrlOf(path, datacenter));
                request.Headers.Range = new RangeHeaderValue(offset, offset + length - 1);
                return request;
            }, ct).ConfigureAwait(false);
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

        /// <summary>The file's length in bytes (HEAD); null when the server does not say.</summary>
        public async Task<long?> GetLengthAsync(DatastorePath path, string datacenter, CancellationToken ct)
        {
            using var response = await SendWithSessionAsync(() => new HttpRequestMessage(HttpMethod.Head, UrlOf(path, datacenter)), ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) throw Failure(path, "stat", response);
            return response.Content.Headers.ContentLength;
        }

        /// <summary>Streams <paramref name="length"/> bytes of <paramref name="content"/> into the file, replacing it.</summary>
        public async Task UploadAsync(DatastorePath path, string datacenter, Stream content, long length, CancellationToken ct)
        {
            // A PUT body cannot be sent twice, so make sure the session is alive before starting.
            await vim.CurrentTimeAsync(ct).ConfigureAwait(false);
            using var request = new HttpRequestMessage(HttpMethod.Put, UrlOf(path, datacenter))
            {
                Content = new StreamContent(new LengthLimitedStream(content, length)),
            };
            request.Content.Headers.ContentLength = length;
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var response = await vim.Transport.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) throw Failure(path, "write", response);
        }

        /// <summary>
        /// Creates or replaces a file of <paramref name="length"/> bytes that <paramref name="write"/>
        /// writes straight into the request body (no staging copy), e.g. a disk image from the chunk store.
        /// </summary>
        public async Task UploadAsync(DatastorePath path, string datacenter, Func<Stream, CancellationToken, Task> write, long length, CancellationToken ct)
        {
            await vim.CurrentTimeAsync(ct).ConfigureAwait(false);
            using var request = new HttpRequestMessage(HttpMethod.Put, UrlOf(path, datacenter)) { Content = new PushContent(write, length, ct) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var response = await vim.Transport.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) throw Failure(path, "write", response);
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
            using var response = await SendWithSessionAsync(() =>
            {
                var request = new HttpRequestMessage(HttpMethod.Put, UrlOf(path, datacenter)) { Content = new ByteArrayContent(data, 0, count) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                request.Content.Headers.ContentRange = new ContentRangeHeaderValue(offset, last);
                return request;
            }, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) throw Failure(path, "write a range of", response);
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
                var filled = 0;
                using (var stream = await OpenReadAsync(scratch, datacenter, 0, back.Length, ct).ConfigureAwait(false))
                {
                    int n;
                    while (filled < back.Length && (n = await stream.ReadAsync(back, filled, back.Length - filled, ct).ConfigureAwait(false)) > 0) filled += n;
                }
                Array.Copy(middle, 0, whole, Block, Block);
                return length == whole.Length && filled == whole.Length && back.Take(filled).SequenceEqual(whole);
            }
            finally
            {
                await delete(scratch, CancellationToken.None).ConfigureAwait(false);
            }
        }

        /// <summary>A request body produced by a writer callback as the request is sent.</summary>
        private sealed class PushContent : HttpContent
        {
            private readonly Func<Stream, CancellationToken, Task> write;
            private readonly long length;
            private readonly CancellationToken ct;

            public PushContent(Func<Stream, CancellationToken, Task> write, long length, CancellationToken ct)
            {
                this.write = write;
                this.length = length;
                this.ct = ct;
                Headers.ContentLength = length;
            }

            protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
            {
                var counting = new CountingStream(stream);
                await write(counting, ct).ConfigureAwait(false);
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

            public CountingStream(Stream inner) => this.inner = inner;

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
            }

            public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                await inner.WriteAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
                Written += count;
            }
        }

        private async Task<HttpResponseMessage> SendWithSessionAsync(Func<HttpRequestMessage> request, CancellationToken ct)
        {
            using (var first = request())
            {
                var response = await vim.Transport.SendAsync(first, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.Unauthorized) return response;
                response.Dispose();
            }
            // The session expired: any SOAP call logs in again, then the file request is repeated once.
            await vim.CurrentTimeAsync(ct).ConfigureAwait(false);
            using var second = request();
            return await vim.Transport.SendAsync(second, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
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
