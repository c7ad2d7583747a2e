using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VSphere
{
    /// <summary>The lab's vcsim with its ranged-PUT extension off: every PUT replaces the whole file, as vSphere's /folder interface does.</summary>
    public sealed class NoRangedPutVcsimLab : VcsimLab
    {
        public NoRangedPutVcsimLab()
            : base("-vm", "1", "-cluster", "0", "-disk-mb", "4", "-ranged-put=false")
        {
        }
    }

    /// <summary>Ranged datastore writes are used only where proven: the probe, and a write whose answer does not confirm its range.</summary>
    public sealed class RangedWriteOffTests : IClassFixture<NoRangedPutVcsimLab>
    {
        private const string Disk = "[LocalDS_0] DC0_H0_VM0/disk1-flat.vmdk";
        private readonly NoRangedPutVcsimLab lab;

        public RangedWriteOffTests(NoRangedPutVcsimLab lab) => this.lab = lab;

        [Fact]
        public async Task Probe_SaysNo_LeavesNoScratchFile_AndNeverTouchesTheDisk()
        {
            using var client = await lab.ConnectAsync();
            var flat = Path.Combine(lab.DatastoreFolder, "DC0_H0_VM0", "disk1-flat.vmdk");
            File.WriteAllBytes(flat, Enumerable.Range(0, 4 << 20).Select(i => (byte)(i * 7)).ToArray());
            var before = Hash(flat);

            Assert.False(await client.ProbeRangedWritesAsync(Disk, default));

            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(flat)!, "azsr-dr-probe-*"));
            Assert.Equal(before, Hash(flat));
            Assert.Equal(4L << 20, new FileInfo(flat).Length);
        }

        [Fact]
        public async Task WriteRange_WithoutConfirmation_IsDatastoreRangedWriteUnsupported()
        {
            using var client = await lab.ConnectAsync();
            var scratch = "[LocalDS_0] DC0_H0_VM0/scratch-" + Guid.NewGuid().ToString("N") + ".bin";
            await client.UploadFileAsync(scratch, VcsimLab.Datacenter, new MemoryStream(new byte[8192]), 8192, default);

            var e = await Assert.ThrowsAsync<DiskWriteException>(() => client.WriteFileRangeAsync(scratch, 4096, new byte[] { 1, 2, 3 }, 3, default));

            Assert.Equal("DatastoreRangedWriteUnsupported", e.ErrorId);
            Assert.Contains("bytes 4096-4098", e.Message);
            // What the server did with it: the whole file replaced by the three bytes (why the probe exists).
            Assert.Equal(3, await client.GetFileLengthAsync(scratch, default));
            await client.DeleteDatastoreFileAsync(scratch, default);
        }

        private static string Hash(string path)
        {
            using var sha = SHA256.Create();
            using var stream = File.OpenRead(path);
            return Convert.ToBase64String(sha.ComputeHash(stream));
        }
    }

    /// <summary>The lab's default vcsim takes ranged writes and says so.</summary>
    public sealed class RangedWriteOnTests : IClassFixture<VcsimLab>
    {
        private readonly VcsimLab lab;

        public RangedWriteOnTests(VcsimLab lab) => this.lab = lab;

        [Fact]
        public async Task Probe_SaysYes_AndARangedWriteKeepsTheLength()
        {
            using var client = await lab.ConnectAsync();
            Assert.True(await client.ProbeRangedWritesAsync("[LocalDS_0] DC0_H0_VM1/disk1-flat.vmdk", default));
            Assert.Empty(Directory.GetFiles(Path.Combine(lab.DatastoreFolder, "DC0_H0_VM1"), "azsr-dr-probe-*"));

            var scratch = "[LocalDS_0] DC0_H0_VM1/scratch-" + Guid.NewGuid().ToString("N") + ".bin";
            await client.UploadFileAsync(scratch, VcsimLab.Datacenter, new MemoryStream(new byte[8192]), 8192, default);
            await client.WriteFileRangeAsync(scratch, 4096, new byte[] { 1, 2, 3 }, 3, default);
            Assert.Equal(8192, await client.GetFileLengthAsync(scratch, default));
            var bytes = File.ReadAllBytes(Path.Combine(lab.DatastoreFolder, "DC0_H0_VM1", scratch.Substring(scratch.IndexOf('/') + 1)));
            Assert.Equal(new byte[] { 0, 1, 2, 3, 0 }, bytes.Skip(4095).Take(5).ToArray());
            await client.DeleteDatastoreFileAsync(scratch, default);
            Assert.False(File.Exists(Path.Combine(lab.DatastoreFolder, "DC0_H0_VM1", scratch.Substring(scratch.IndexOf('/') + 1))));
        }
    }
}
