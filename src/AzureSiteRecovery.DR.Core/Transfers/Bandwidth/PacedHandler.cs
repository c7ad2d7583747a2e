using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace AzureSiteRecovery.DR.Core.Transfers.Bandwidth
{
    /// <summary>
    /// The HTTP handler that holds every request body and response body of a client to its link's <see cref="BandwidthLimiter"/>:
    /// in the vSphere client's chain (SOAP calls, datastore reads and writes) and under the Azure SDK clients of an Azure site.
    /// </summary>
    public sealed class PacedHandler : DelegatingHandler
    {
        public PacedHandler(BandwidthLimiter limiter, HttpMessageHandler inner) : base(inner)
        {
            Limiter = limiter ?? throw new ArgumentNullException(nameof(limiter));
        }

        public BandwidthLimiter Limiter { get; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content != null && !(request.Content is PacedContent))
            {
                request.Content = new PacedContent(request.Content, Limiter);
            }
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.Content != null)
            {
                response.Content = new PacedContent(response.Content, Limiter);
            }
            return response;
        }
    }

    /// <summary>A body moved at the limiter's pace: sent through a paced stream, read through one; headers as the body's own.</summary>
    internal sealed class PacedContent : HttpContent
    {
        private readonly HttpContent inner;
        private readonly BandwidthLimiter limiter;

        public PacedContent(HttpContent inner, BandwidthLimiter limiter)
        {
            this.inner = inner;
            this.limiter = limiter;
            foreach (var header in inner.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            using var paced = new PacedStream(stream, limiter, leaveOpen: true);
            await inner.CopyToAsync(paced).ConfigureAwait(false);
            await paced.FlushAsync().ConfigureAwait(false);
        }

        protected override async Task<Stream> CreateContentReadStreamAsync() =>
            new PacedStream(await inner.ReadAsStreamAsync().ConfigureAwait(false), limiter, leaveOpen: false);

        protected override bool TryComputeLength(out long length)
        {
            var known = inner.Headers.ContentLength;
            length = known ?? 0;
            return known.HasValue;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>A stream whose reads and writes take their bytes from a <see cref="BandwidthLimiter"/>, in pieces of its burst.</summary>
    public sealed class PacedStream : Stream
    {
        private readonly Stream inner;
        private readonly BandwidthLimiter limiter;
        private readonly bool leaveOpen;

        public PacedStream(Stream inner, BandwidthLimiter limiter, bool leaveOpen)
        {
            this.inner = inner ?? throw new ArgumentNullException(nameof(inner));
            this.limiter = limiter ?? throw new ArgumentNullException(nameof(limiter));
            this.leaveOpen = leaveOpen;
        }

        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => false;
        public override bool CanWrite => inner.CanWrite;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            // Read then pay: the bytes are only known after the read, and an unread socket holds the sender back meanwhile.
            var read = await inner.ReadAsync(buffer, offset, Math.Min(count, limiter.PieceSize), cancellationToken).ConfigureAwait(false);
            await limiter.TakeAsync(read, cancellationToken).ConfigureAwait(false);
            return read;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            while (count > 0)
            {
                var piece = Math.Min(count, limiter.PieceSize);
                await limiter.TakeAsync(piece, cancellationToken).ConfigureAwait(false);
                await inner.WriteAsync(buffer, offset, piece, cancellationToken).ConfigureAwait(false);
                offset += piece;
                count -= piece;
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override void Flush() => inner.Flush();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !leaveOpen) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
