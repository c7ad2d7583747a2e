using System;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VSphere
{
    /// <summary>Snapshots, changed block tracking and datastore file transfer on the lab's one VM (DC0_H0_VM0, 4 MiB disk).</summary>
    public sealed class VSphereSnapshotTests : IClassFixture<CbtVcsimLab>
    {
        private const int Block = 64 * 1024;
        private const long DiskBytes = 4L << 20;
        private const string VmName = "DC0_H0_VM0";
        private static readonly string FlatFile = $"[{VcsimLab.Datastore}] {VmName}/disk1-flat.vmdk";

        private readonly CbtVcsimLab lab;

        public VSphereSnapshotTests(CbtVcsimLab lab)
        {
            this.lab = lab;
        }

        [Fact]
        public async Task Snapshots_AreCreatedListedAndRemoved()
        {
            using var client = await lab.ConnectAsync();
            var vm = await TheVmAsync(client);
            var started = DateTimeOffset.UtcNow.AddMinutes(-1);

            var first = await client.CreateSnapshotAsync(vm.MoRef, "before <patch> & reboot", "taken by a test", quiesce: false, memory: false, default);
            var second = await client.CreateSnapshotAsync(vm.MoRef, "second", null, quiesce: false, memory: false, default);
            var listed = await client.ListSnapshotsAsync(vm.MoRef, default);

            Assert.Equal(new[] { first, second }, listed.Select(s => s.MoRef));
            Assert.Equal("before <patch> & reboot", listed[0].Name);
            Assert.Equal("taken by a test", listed[0].Description);
            Assert.Null(listed[0].ParentMoRef);
            Assert.Equal(first, listed[1].ParentMoRef);
            Assert.Null(listed[1].Description);
            Assert.All(listed, s => Assert.InRange(s.Created, started, DateTimeOffset.UtcNow.AddMinutes(1)));
            Assert.All(listed, s => Assert.False(s.Quiesced));

            // Oldest first: vcsim 0.24 deletes the VM's disk files when an older snapshot is removed after a newer one (stale layout keys).
            await client.RemoveSnapshotAsync(first, default);
            Assert.Equal(new[] { second }, (await client.ListSnapshotsAsync(vm.MoRef, default)).Select(s => s.MoRef));
            await client.RemoveSnapshotAsync(second, default);

            Assert.Empty(await client.ListSnapshotsAsync(vm.MoRef, default));
            var gone = await Assert.ThrowsAsync<VSphereFaultException>(() => client.RemoveSnapshotAsync(first, default));
            Assert.Equal("VSphereManagedObjectNotFound", gone.ErrorId);
            Assert.Equal(FailureKind.NotFound, gone.Kind);
        }

        [Fact]
        public async Task ChangedBlockTracking_ReportsExactlyTheBlocksWritten_AndReadsReturnThem()
        {
            using var client = await lab.ConnectAsync();
            var vm = await TheVmAsync(client);
            var flatPath = Path.Combine(lab.DatastoreFolder, VmName, "disk1-flat.vmdk");
            var a = Random(Block, 1);
            var b = Random(Block, 2);
            var c = Random(Block, 3);
            WriteAt(flatPath, 0, a);

            await client.SetChangeTrackingAsync(vm.MoRef, true, default);
            Assert.True((await client.GetVmAsync(vm.MoRef, default))!.ChangeTrackingEnabled);
            var baseSnapshot = await client.CreateSnapshotAsync(vm.MoRef, "cbt-base", null, false, false, default);
            var baseDisk = Assert.Single(await client.GetSnapshotDisksAsync(baseSnapshot, default));
            Assert.NotNull(baseDisk.ChangeId);
            Assert.Equal(DiskBytes, baseDisk.CapacityBytes);

            var all = await client.QueryChangedDiskAreasAsync(vm.MoRef, baseSnapshot, baseDisk.Key, baseDisk.CapacityBytes, "*", default);
            Assert.Equal(new[] { new DiskExtent(0, Block) }, all);

            // Guest writes: one straight into the flat file, one through the lab's ranged PUT.
            WriteAt(flatPath, 1L << 20, b);
            await PutRangeAsync($"{VmName}/disk1-flat.vmdk", 3L << 20, c);
            var nextSnapshot = await client.CreateSnapshotAsync(vm.MoRef, "cbt-next", null, false, false, default);
            var nextDisk = Assert.Single(await client.GetSnapshotDisksAsync(nextSnapshot, default));
            Assert.NotEqual(baseDisk.ChangeId, nextDisk.ChangeId);

            // The lab answers one extent per call, so this only comes out whole if the client pages.
            var changed = await client.QueryChangedDiskAreasAsync(vm.MoRef, nextSnapshot, nextDisk.Key, nextDisk.CapacityBytes, baseDisk.ChangeId!, default);
            Assert.Equal(new[] { new DiskExtent(1L << 20, Block), new DiskExtent(3L << 20, Block) }, changed);

            Assert.Equal(b, await ReadAsync(client, FlatFile, 1L << 20, Block));
            Assert.Equal(c, await ReadAsync(client, FlatFile, 3L << 20, Block));
            Assert.Equal(a.Take(100), await ReadAsync(client, FlatFile, 0, 100));

            await client.RemoveSnapshotAsync(baseSnapshot, default);
            await client.RemoveSnapshotAsync(nextSnapshot, default);
            await client.SetChangeTrackingAsync(vm.MoRef, false, default);
        }

        [Fact]
        public async Task QueryChangedDiskAreas_WithAnUnknownChangeId_IsInvalidArgument()
        {
            using var client = await lab.ConnectAsync();
            var vm = await TheVmAsync(client);
            await client.SetChangeTrackingAsync(vm.MoRef, true, default);
            var snapshot = await client.CreateSnapshotAsync(vm.MoRef, "cbt-bad-id", null, false, false, default);
            try
            {
                var disk = Assert.Single(await client.GetSnapshotDisksAsync(snapshot, default));

                var e = await Assert.ThrowsAsync<VSphereFaultException>(() =>
                    client.QueryChangedDiskAreasAsync(vm.MoRef, snapshot, disk.Key, disk.CapacityBytes, "52 00 00 00 00 00 00 00-00 00 00 00 00 00 00 00/9", default));
                Assert.Equal("VSphereInvalidArgument", e.ErrorId);
                Assert.Equal(FailureKind.InvalidArgument, e.Kind);
            }
            finally
            {
                await client.RemoveSnapshotAsync(snapshot, default);
            }
        }

        [Fact]
        public async Task RangedRead_AtTheEndOfTheFile_ReturnsWhatIsThere()
        {
            using var client = await lab.ConnectAsync();

            Assert.Equal(DiskBytes, await client.GetFileLengthAsync(FlatFile, default));
            Assert.Equal(5, (await ReadAsync(client, FlatFile, DiskBytes - 5, 100)).Length);
            Assert.Empty(await ReadAsync(client, FlatFile, DiskBytes, 100));
        }

        [Fact]
        public async Task UploadedFile_ReadsBackTheSame()
        {
            using var client = await lab.ConnectAsync();
            var content = Random(300_001, 7);
            var path = $"[{VcsimLab.Datastore}] {VmName}/uploaded disk #1.bin";

            using (var source = new MemoryStream(content))
            {
                await client.UploadFileAsync(path, VcsimLab.Datacenter, source, content.Length, default);
            }

            Assert.Equal(content.Length, await client.GetFileLengthAsync(path, default));
            Assert.Equal(content, await ReadAsync(client, path, 0, content.Length));
            Assert.Equal(content, File.ReadAllBytes(Path.Combine(lab.DatastoreFolder, VmName, "uploaded disk #1.bin")));
        }

        [Fact]
        public async Task Read_OfAMissingFile_IsDatastoreFileNotFound()
        {
            using var client = await lab.ConnectAsync();

            var e = await Assert.ThrowsAsync<DatastoreFileException>(() => client.OpenDiskReadAsync($"[{VcsimLab.Datastore}] nowhere/none.vmdk", 0, 10, default));

            Assert.Equal("VSphereDatastoreFileNotFound", e.ErrorId);
            Assert.Equal(FailureKind.NotFound, e.Kind);
        }

        private static async Task<DiscoveredVm> TheVmAsync(VSphereClient client) =>
            Assert.Single(await client.ListVmsAsync(default), v => v.Name == VmName);

        private static async Task<byte[]> ReadAsync(VSphereClient client, string path, long offset, long length)
        {
            using var stream = await client.OpenDiskReadAsync(path, offset, length, default);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }

        private async Task PutRangeAsync(string relativePath, long offset, byte[] data)
        {
            using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true };
            using var http = new HttpClient(handler);
            var url = new Uri(lab.Url, $"/folder/{relativePath}?dcPath={VcsimLab.Datacenter}&dsName={VcsimLab.Datastore}");
            using var content = new ByteArrayContent(data);
            content.Headers.ContentRange = new ContentRangeHeaderValue(offset, offset + data.Length - 1);
            // The lab wants "bytes a-b/*": an unknown total.
            content.Headers.Remove("Content-Range");
            content.Headers.TryAddWithoutValidation("Content-Range", $"bytes {offset}-{offset + data.Length - 1}/*");
            using var response = await http.PutAsync(url, content);
            response.EnsureSuccessStatusCode();
        }

        private static void WriteAt(string path, long offset, byte[] data)
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
            file.Position = offset;
            file.Write(data, 0, data.Length);
        }

        private static byte[] Random(int length, int seed)
        {
            var bytes = new byte[length];
            new Random(seed).NextBytes(bytes);
            return bytes;
        }
    }
}
