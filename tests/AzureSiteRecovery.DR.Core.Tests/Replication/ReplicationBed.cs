using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using AzureSiteRecovery.DR.Core.Storage;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using AzureSiteRecovery.DR.Core.Vault;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Replication
{
    /// <summary>Four VMs on the standalone host (DC0_H0_VM0..3), 64 MiB disks: one VM per test, so the tests of a class never share a disk.</summary>
    public sealed class ReplicationVcsimLab : VcsimLab
    {
        public const long DiskBytes = 64L << 20;

        public ReplicationVcsimLab()
            : base("-vm", "4", "-cluster", "0", "-disk-mb", "64")
        {
        }
    }

    /// <summary>
    /// A vault for one test: the lab as protected site "lab", a recovery site, policy "gold" (no
    /// quiesced snapshots, a day of retention) and group "erp"; plus the guest's view of a lab VM's
    /// disk (its flat file) and the user's view of a point (its exported image).
    /// </summary>
    internal sealed class ReplicationBed : IDisposable
    {
        public const int ChunkSize = ChunkStoreOptions.DefaultChunkSize;
        public static readonly CancellationToken None = CancellationToken.None;
        private readonly TemporaryFolder folder = new TemporaryFolder();

        private ReplicationBed(VcsimLab lab)
        {
            Lab = lab;
            Vault = SqliteVault.Open(folder.VaultPath);
        }

        public VcsimLab Lab { get; }

        public SqliteVault Vault { get; }

        public string VaultPath => folder.VaultPath;

        public static async Task<ReplicationBed> CreateAsync(VcsimLab lab)
        {
            var bed = new ReplicationBed(lab);
            await bed.Vault.AddSiteAsync(new Site
            {
                Name = VcsimLab.SiteName,
                Kind = SiteKind.VSphere,
                Role = SiteRole.Protected,
                Server = lab.Url,
                UserName = VcsimLab.UserName,
                SkipCertificateCheck = true,
            }, VcsimLab.Password, None);
            await bed.Vault.AddSiteAsync(Samples.AzureSite("azure-weu"), null, None);
            await bed.Vault.AddPolicyAsync(new ReplicationPolicy { Name = "gold", AppConsistentFrequency = TimeSpan.Zero }, None);
            await bed.Vault.AddGroupAsync(Samples.Group("erp", VcsimLab.SiteName, "azure-weu", "gold"), None);
            return bed;
        }

        public void Dispose()
        {
            Vault.Dispose();
            folder.Dispose();
        }

        /// <summary>The vault's local chunk store, opened afresh for each cycle as the cmdlets do.</summary>
        public ReplicationStore OpenLocalStore() => ReplicationStore.OpenLocal(VaultPath);

        public VmReplicator Replicator(Func<ReplicationStore>? openStore = null) => new VmReplicator(Vault, openStore ?? OpenLocalStore);

        public async Task<ProtectedVm> ProtectAsync(string vmName, Func<ReplicationStore>? openStore = null)
        {
            using var client = await Lab.ConnectAsync();
            var vm = (await client.ListVmsAsync(None)).Single(v => v.Name == vmName);
            return await Replicator(openStore).EnableAsync(vm, "erp", None);
        }

        public async Task<IReadOnlyList<VmSnapshotInfo>> SnapshotsAsync(ProtectedVm vm)
        {
            using var client = await Lab.ConnectAsync();
            return await client.ListSnapshotsAsync(vm.MoRef, None);
        }

        /// <summary>The path of the flat file behind the VM's first disk.</summary>
        public string FlatFile(string vmName) => Path.Combine(Lab.DatastoreFolder, vmName, "disk1-flat.vmdk");

        /// <summary>Writes <paramref name="length"/> random bytes at <paramref name="offset"/>, as the guest would.</summary>
        public void Write(string vmName, long offset, int length, int seed)
        {
            var bytes = new byte[length];
            new Random(seed).NextBytes(bytes);
            using var file = new FileStream(FlatFile(vmName), FileMode.Open, FileAccess.Write);
            file.Seek(offset, SeekOrigin.Begin);
            file.Write(bytes, 0, length);
        }

        /// <summary>The disk as the VM sees it now: the flat file, zero-filled up to the capacity.</summary>
        public byte[] DiskNow(string vmName)
        {
            var disk = new byte[ReplicationVcsimLab.DiskBytes];
            using var file = File.OpenRead(FlatFile(vmName));
            var filled = 0;
            int read;
            while (filled < disk.Length && (read = file.Read(disk, filled, disk.Length - filled)) > 0) filled += read;
            return disk;
        }

        /// <summary>What Export-RecoveryPoint writes for the point's only disk.</summary>
        public async Task<byte[]> ExportAsync(ReplicationStore store, RecoveryPoint point)
        {
            var manifest = await store.Chunks.ReadPointAsync(point.VmId, point.RecoveryPointId, None);
            var destination = Path.Combine(folder.FolderPath, "export-" + point.RecoveryPointId);
            var image = Assert.Single(await new DiskImageWriter(store.Chunks).ExportAsync(manifest, destination, None));
            var bytes = File.ReadAllBytes(image);
            Directory.Delete(destination, recursive: true);
            return bytes;
        }

        /// <summary>What Test-RecoveryPoint finds.</summary>
        public static async Task<PointVerification> VerifyAsync(ReplicationStore store, RecoveryPoint point) =>
            await new PointVerifier(store.Chunks).VerifyAsync(await store.Chunks.ReadPointAsync(point.VmId, point.RecoveryPointId, None), None);

        /// <summary>Equal images; on a difference, names the first differing byte rather than printing 64 MiB.</summary>
        public static void AssertSameDisk(byte[] expected, byte[] actual, string what)
        {
            Assert.True(expected.Length == actual.Length, $"{what}: the image has {actual.Length} bytes, the disk {expected.Length}.");
            var span = actual.AsSpan();
            var differs = span.SequenceEqual(expected) ? -1 : FirstDifference(expected, actual);
            Assert.True(differs < 0, $"{what}: the image differs from the disk at byte {differs} (chunk {differs / ChunkSize}).");
        }

        private static long FirstDifference(byte[] a, byte[] b)
        {
            for (var i = 0; i < a.Length; i++) if (a[i] != b[i]) return i;
            return -1;
        }
    }
}
