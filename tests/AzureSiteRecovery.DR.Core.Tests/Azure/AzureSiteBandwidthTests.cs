using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Azure.Storage.Blobs;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites.Azure;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using AzureSiteRecovery.DR.Core.Tests.Transfers;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Azure
{
    /// <summary>An Azure site's bandwidth cap holds for the Azure SDK clients of its connection: blob uploads and downloads of its storage account.</summary>
    public sealed class AzureSiteBandwidthTests : IClassFixture<AzureSourceLab>
    {
        private const double MiB = 1024 * 1024;
        private readonly AzureSourceLab lab;

        public AzureSiteBandwidthTests(AzureSourceLab lab) => this.lab = lab;

        private Site LabSite(BandwidthLimit? limit) => lab.Arm.PointAt(Samples.AzureSite("capped")) with { HasSecret = true, BandwidthLimit = limit };

        [Fact]
        public async Task Blob_uploads_and_downloads_of_a_capped_site_hold_its_rate_and_run_free_without_it()
        {
            // 3 s at the cap: the 100 ms the bucket may have saved up between two transfers stays within the 5 % tolerance.
            var data = new byte[12 * 1024 * 1024];
            new Random(14).NextBytes(data);

            using (var capped = AzureSiteConnection.Open(LabSite(new BandwidthLimit { MiBps = 4 }), ArmLab.ClientSecret))
            {
                var container = await ContainerAsync(capped);
                var blob = container.GetBlobClient("capped.bin");
                await BandwidthLimiterTests.AssertRateAsync(4, 0.05, async () =>
                {
                    var watch = Stopwatch.StartNew();
                    await blob.UploadAsync(new MemoryStream(data), overwrite: true);
                    return data.Length / MiB / watch.Elapsed.TotalSeconds;
                });
                await BandwidthLimiterTests.AssertRateAsync(4, 0.05, async () =>
                {
                    var watch = Stopwatch.StartNew();
                    var read = (await blob.DownloadContentAsync()).Value.Content.ToArray();
                    var rate = data.Length / MiB / watch.Elapsed.TotalSeconds;
                    Assert.Equal(data, read);
                    return rate;
                });
            }

            // The same site without its cap (Set-DRSite -NoBandwidthLimit): the lab moves the same bytes well above 4 MiB/s.
            using var free = AzureSiteConnection.Open(LabSite(null), ArmLab.ClientSecret);
            var freeBlob = (await ContainerAsync(free)).GetBlobClient("free.bin");
            var freeWatch = Stopwatch.StartNew();
            await freeBlob.UploadAsync(new MemoryStream(data), overwrite: true);
            Assert.True(data.Length / MiB / freeWatch.Elapsed.TotalSeconds > 6, $"the uncapped upload took {freeWatch.Elapsed.TotalSeconds:0.00} s");
        }

        private static async Task<BlobContainerClient> ContainerAsync(AzureSiteConnection connection)
        {
            var storage = await connection.GetStorageAccountAsync(CancellationToken.None);
            var container = storage.Blobs.GetBlobContainerClient("bandwidth-test");
            await container.CreateIfNotExistsAsync();
            return container;
        }
    }
}
