using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;

namespace ArmLab
{
    /// <summary>An ARM error: HTTP status, code and message (answered as {"error":{"code","message"}}).</summary>
    public sealed class ArmException : Exception
    {
        public ArmException(int status, string code, string message) : base(message)
        {
            Status = status;
            Code = code;
        }

        public int Status { get; }
        public string Code { get; }
    }

    /// <summary>The Azurite page blobs behind managed disks, and the VHD footer check Azure makes.</summary>
    public sealed class DiskBlobs
    {
        public const long MiB = 1024 * 1024;
        private const int Chunk = 4 * 1024 * 1024;
        private readonly LabOptions options;

        public DiskBlobs(LabOptions options) => this.options = options;

        public StorageSeed? Account(string name) =>
            options.StorageAccounts.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase));

        private StorageSeed DiskAccount() =>
            (options.DiskAccount == null ? null : Account(options.DiskAccount))
            ?? throw new ArmException(500, "LabNoDiskAccount", "The lab ARM has no storage account for managed disks: start it with --storage-account (and --disk-account).");

        public static BlobServiceClient Service(StorageSeed a) =>
            new BlobServiceClient(new Uri(a.BlobEndpoint), new StorageSharedKeyCredential(a.Name, a.Key),
                new BlobClientOptions { Retry = { MaxRetries = 2, Delay = TimeSpan.FromMilliseconds(200) } });

        public PageBlobClient DiskBlob(string blobName) =>
            Service(DiskAccount()).GetBlobContainerClient(options.DiskContainer).GetPageBlobClient(blobName);

        /// <summary>The storage account (of the lab's) a blob URL is in, and the blob client (snapshot-aware) with its key.</summary>
        public (StorageSeed Account, PageBlobClient Blob) SourceBlob(string sourceUri)
        {
            var uri = new Uri(sourceUri);
            var account = options.StorageAccounts.FirstOrDefault(a => sourceUri.StartsWith(a.BlobEndpoint + "/", StringComparison.OrdinalIgnoreCase));
            if (account == null)
            {
                throw new ArmException(400, "InvalidParameter", $"The source blob '{uri.GetLeftPart(UriPartial.Path)}' is not in a storage account the lab knows (seed it with --storage-account).");
            }
            var b = new BlobUriBuilder(uri);
            var blob = Service(account).GetBlobContainerClient(b.BlobContainerName).GetPageBlobClient(b.BlobName);
            if (!string.IsNullOrEmpty(b.Snapshot)) blob = blob.WithSnapshot(b.Snapshot);
            return (account, blob);
        }

        public async Task CreateAsync(string blobName, long length, byte[]? footer, CancellationToken ct)
        {
            var blob = DiskBlob(blobName);
            await Service(DiskAccount()).GetBlobContainerClient(options.DiskContainer).CreateIfNotExistsAsync(cancellationToken: ct);
            await blob.CreateAsync(length, cancellationToken: ct);
            if (footer != null)
            {
                using var ms = new MemoryStream(footer);
                await blob.UploadPagesAsync(ms, length - 512, cancellationToken: ct);
            }
        }

        public async Task DeleteAsync(string blobName, CancellationToken ct)
        {
            try { await DiskBlob(blobName).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: ct); }
            catch (RequestFailedException) { }
        }

        public Uri Sas(string blobName, bool write, int seconds)
        {
            var a = DiskAccount();
            var builder = new BlobSasBuilder(write ? BlobSasPermissions.Read | BlobSasPermissions.Write : BlobSasPermissions.Read, DateTimeOffset.UtcNow.AddSeconds(Math.Max(60, seconds)))
            {
                BlobContainerName = options.DiskContainer,
                BlobName = blobName,
                Resource = "b",
                StartsOn = DateTimeOffset.UtcNow.AddMinutes(-5),
            };
            var query = builder.ToSasQueryParameters(new StorageSharedKeyCredential(a.Name, a.Key));
            return new UriBuilder(DiskBlob(blobName).Uri) { Query = query.ToString() }.Uri;
        }

        /// <summary>Checks a fixed VHD as Azure does (cookie, checksum, disk type, a whole-MiB current size, file length = size + 512); throws InvalidVhd.</summary>
        public static long CheckFooter(byte[] footer, long fileLength, string diskName, string blobUri)
        {
            string Bad(string why) => $"The specified {why} in VHD footer indicates that disk '{diskName}' with blob {blobUri} is not a supported VHD.";
            if (footer.Length != 512 || fileLength < 512) throw new ArmException(400, "InvalidVhd", $"Disk '{diskName}' with blob {blobUri} is not a supported VHD: the blob is shorter than a VHD footer.");
            if (System.Text.Encoding.ASCII.GetString(footer, 0, 8) != "conectix")
            {
                throw new ArmException(400, "InvalidVhd", Bad("cookie value") + " Disk is expected to have cookie value 'conectix'.");
            }
            uint sum = 0;
            for (var i = 0; i < 512; i++) if (i < 64 || i >= 68) sum += footer[i];
            if (~sum != BinaryPrimitives.ReadUInt32BigEndian(footer.AsSpan(64))) throw new ArmException(400, "InvalidVhd", Bad("checksum") + " The footer checksum does not match its content.");
            var diskType = BinaryPrimitives.ReadUInt32BigEndian(footer.AsSpan(60));
            if (diskType != 2) throw new ArmException(400, "InvalidVhd", Bad($"disk type {diskType}") + " Disk is expected to be a fixed VHD (type 2).");
            var size = (long)BinaryPrimitives.ReadUInt64BigEndian(footer.AsSpan(48));
            if (size <= 0 || size % MiB != 0) throw new ArmException(400, "InvalidVhd", Bad($"current size {size}") + " The VHD's virtual size must be a whole number of MiB.");
            if (fileLength != size + 512) throw new ArmException(400, "InvalidVhd", Bad($"current size {size}") + $" The blob is {fileLength} bytes; a fixed VHD of that size is {size + 512} bytes.");
            return size;
        }

        /// <summary>A fixed-VHD footer for <paramref name="size"/> bytes (creator "win ", CHS per the VHD spec).</summary>
        public static byte[] Footer(long size)
        {
            var f = new byte[512];
            System.Text.Encoding.ASCII.GetBytes("conectix").CopyTo(f, 0);
            BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(8), 2);
            BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(12), 0x00010000);
            BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(16), ulong.MaxValue);
            BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(24), (uint)(DateTimeOffset.UtcNow - new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero)).TotalSeconds);
            System.Text.Encoding.ASCII.GetBytes("win ").CopyTo(f, 28);
            BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(32), 0x000A0000);
            BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(36), 0x5769326B);
            BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(40), (ulong)size);
            BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(48), (ulong)size);
            long total = size / 512, spt, heads, cth;
            if (total > 65535L * 16 * 255) total = 65535L * 16 * 255;
            if (total >= 65535L * 16 * 63) { spt = 255; heads = 16; cth = total / spt; }
            else
            {
                spt = 17; cth = total / spt; heads = (cth + 1023) / 1024; if (heads < 4) heads = 4;
                if (cth >= heads * 1024 || heads > 16) { spt = 31; heads = 16; cth = total / spt; }
                if (cth >= heads * 1024) { spt = 63; heads = 16; cth = total / spt; }
            }
            BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(56), (ushort)(cth / heads));
            f[58] = (byte)heads;
            f[59] = (byte)spt;
            BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(60), 2);
            Guid.NewGuid().ToByteArray().CopyTo(f, 68);
            uint sum = 0;
            foreach (var b in f) sum += b;
            BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(64), ~sum);
            return f;
        }

        /// <summary>Reads and checks the footer of a blob (the last 512 bytes); returns the virtual size.</summary>
        public static async Task<long> CheckBlobAsync(PageBlobClient blob, string diskName, CancellationToken ct)
        {
            long length;
            try { length = (await blob.GetPropertiesAsync(cancellationToken: ct)).Value.ContentLength; }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                throw new ArmException(400, "InvalidParameter", $"The source blob {blob.Uri.GetLeftPart(UriPartial.Path)} does not exist ({e.ErrorCode}).");
            }
            byte[] footer = Array.Empty<byte>();
            if (length >= 512)
            {
                var r = await blob.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(length - 512, 512) }, ct);
                footer = r.Value.Content.ToArray();
            }
            return CheckFooter(footer, length, diskName, blob.Uri.GetLeftPart(UriPartial.Path));
        }

        /// <summary>Import: copies the written pages of <paramref name="source"/> (a blob or a blob snapshot) into a new disk blob.</summary>
        public async Task<long> ImportAsync(PageBlobClient source, string blobName, string diskName, CancellationToken ct)
        {
            var size = await CheckBlobAsync(source, diskName, ct);
            await CopyPagesAsync(source, blobName, size + 512, ct);
            return size;
        }

        /// <summary>The instant a snapshot's Copy is taken: an Azurite blob snapshot of the disk blob (writes after it do not leak into the copy).</summary>
        public async Task<string> InstantAsync(string sourceBlobName, CancellationToken ct) =>
            (await DiskBlob(sourceBlobName).CreateSnapshotAsync(cancellationToken: ct)).Value.Snapshot;

        /// <summary>A snapshot's Copy: the written pages of the disk blob as of <paramref name="instant"/> copied into a new blob; the instant is deleted. Returns the virtual size.</summary>
        public async Task<long> CopyDiskAsync(string sourceBlobName, string instant, string blobName, string name, CancellationToken ct)
        {
            var source = DiskBlob(sourceBlobName).WithSnapshot(instant);
            try
            {
                var size = await CheckBlobAsync(source, name, ct);
                await CopyPagesAsync(source, blobName, size + 512, ct);
                return size;
            }
            finally
            {
                try { await source.DeleteIfExistsAsync(cancellationToken: CancellationToken.None); }
                catch (RequestFailedException) { }
            }
        }

        /// <summary>Creates <paramref name="blobName"/> (<paramref name="length"/> bytes) and copies the non-zero written pages of <paramref name="source"/> into it.</summary>
        private async Task CopyPagesAsync(PageBlobClient source, string blobName, long length, CancellationToken ct)
        {
            await CreateAsync(blobName, length, null, ct);
            var target = DiskBlob(blobName);
            IEnumerable<HttpRange> ranges;
            try
            {
                var pr = await source.GetPageRangesAsync(cancellationToken: ct);
                ranges = pr.Value.PageRanges.ToList();
            }
            catch (RequestFailedException)
            {
                ranges = new[] { new HttpRange(0, length) };
            }
            foreach (var range in ranges)
            {
                var end = range.Offset + (range.Length ?? length - range.Offset);
                for (var off = range.Offset; off < end; off += Chunk)
                {
                    var n = (int)Math.Min(Chunk, end - off);
                    var r = await source.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(off, n) }, ct);
                    var bytes = r.Value.Content.ToMemory();
                    if (IsZero(bytes.Span)) continue;
                    using var ms = new MemoryStream(bytes.ToArray());
                    await target.UploadPagesAsync(ms, off, cancellationToken: ct);
                }
            }
        }

        private static bool IsZero(ReadOnlySpan<byte> s) => s.IndexOfAnyExcept((byte)0) < 0;
    }
}
