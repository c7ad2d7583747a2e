using System;
using System.Linq;
using AzureSiteRecovery.DR.Core.Sites.Azure;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Azure
{
    /// <summary>The fixed-VHD footer Azure imports: fields, CHS per the specification (as qemu-img computes it), sizes and validation.</summary>
    public sealed class VhdFooterTests
    {
        private const long MiB = 1L << 20;
        private const long GiB = 1L << 30;
        private static readonly Guid Id = new Guid("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
        private static readonly DateTimeOffset Time = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

        [Theory]
        // qemu-img 7.2 (block/vpc.c calculate_geometry) gives the same geometry for these sizes (research report, section 2).
        [InlineData(20 * MiB, 602, 4, 17)]
        [InlineData(64 * MiB, 963, 8, 17)]
        [InlineData(1 * GiB, 2080, 16, 63)]
        [InlineData(10 * GiB, 20805, 16, 63)]
        [InlineData(127 * GiB, 65278, 16, 255)]
        [InlineData(1024 * GiB, 65535, 16, 255)]
        [InlineData(2040 * GiB, 65535, 16, 255)]
        public void Geometry_follows_the_specification(long size, int cylinders, int heads, int sectors)
        {
            Assert.Equal(new VhdGeometry(cylinders, heads, sectors), VhdFooter.GeometryFor(size));
        }

        [Fact]
        public void Ten_GiB_by_chs_is_the_size_qemu_reads_from_an_unknown_creator()
        {
            var g = VhdFooter.GeometryFor(10 * GiB);
            Assert.Equal(10_737_377_280L, (long)g.Cylinders * g.Heads * g.SectorsPerTrack * 512);
        }

        [Theory]
        [InlineData(20 * MiB, 20 * MiB)]
        [InlineData(20 * MiB + 1, 21 * MiB)]
        [InlineData(64 * MiB - 512, 64 * MiB)]
        [InlineData(1, MiB)]
        public void The_virtual_size_is_the_capacity_rounded_up_to_a_whole_MiB_and_the_blob_adds_the_footer(long capacity, long size)
        {
            Assert.Equal(size, VhdFooter.VirtualSizeFor(capacity));
            Assert.Equal(size + 512, VhdFooter.BlobLengthFor(capacity));
        }

        [Fact]
        public void The_footer_bytes_are_big_endian_with_the_fixed_disk_fields()
        {
            var bytes = VhdFooter.ForDisk(20 * MiB, Id, Time).ToBytes();

            Assert.Equal(512, bytes.Length);
            Assert.Equal("conectix", System.Text.Encoding.ASCII.GetString(bytes, 0, 8));
            Assert.Equal(new byte[] { 0, 0, 0, 2 }, bytes.Skip(8).Take(4));              // features
            Assert.Equal(new byte[] { 0, 1, 0, 0 }, bytes.Skip(12).Take(4));             // version 1.0
            Assert.All(bytes.Skip(16).Take(8), b => Assert.Equal(0xFF, b));              // data offset: none
            // 2024-01-01 is 757,382,400 s after 2000-01-01 = 0x2D24BD00
            Assert.Equal(new byte[] { 0x2D, 0x24, 0xBD, 0x00 }, bytes.Skip(24).Take(4));
            Assert.Equal("win ", System.Text.Encoding.ASCII.GetString(bytes, 28, 4));
            Assert.Equal("Wi2k", System.Text.Encoding.ASCII.GetString(bytes, 36, 4));
            Assert.Equal(new byte[] { 0, 0, 0, 0, 0x01, 0x40, 0, 0 }, bytes.Skip(40).Take(8)); // original size 20 MiB
            Assert.Equal(new byte[] { 0, 0, 0, 0, 0x01, 0x40, 0, 0 }, bytes.Skip(48).Take(8)); // current size 20 MiB
            Assert.Equal(new byte[] { 0x02, 0x5A, 4, 17 }, bytes.Skip(56).Take(4));      // 602 cylinders, 4 heads, 17 sectors
            Assert.Equal(new byte[] { 0, 0, 0, 2 }, bytes.Skip(60).Take(4));             // fixed
            Assert.Equal(Id.ToByteArray(), bytes.Skip(68).Take(16));
            Assert.All(bytes.Skip(84), b => Assert.Equal(0, b));
            // Checksum: one's complement of the byte sum with the checksum field zeroed.
            uint sum = 0;
            for (var i = 0; i < 512; i++) if (i < 64 || i >= 68) sum += bytes[i];
            Assert.Equal(~sum, (uint)(bytes[64] << 24 | bytes[65] << 16 | bytes[66] << 8 | bytes[67]));
        }

        [Fact]
        public void A_footer_reads_back_valid_with_its_fields()
        {
            var bytes = VhdFooter.ForDisk(10 * GiB, Id, Time).ToBytes();

            Assert.Empty(VhdFooter.Validate(bytes, 10 * GiB, out var footer));
            Assert.Equal((10 * GiB, 10 * GiB, Time, Id, new VhdGeometry(20805, 16, 63)),
                (footer!.OriginalSize, footer.CurrentSize, footer.Timestamp, footer.UniqueId, footer.Geometry));
        }

        [Fact]
        public void Validation_says_what_is_wrong()
        {
            var good = VhdFooter.ForDisk(64 * MiB, Id, Time).ToBytes();

            var flipped = (byte[])good.Clone();
            flipped[100] = 1;
            Assert.Contains(VhdFooter.Validate(flipped, 64 * MiB, out _), p => p.Contains("checksum"));

            Assert.Contains(VhdFooter.Validate(good, 128 * MiB, out _), p => p.Contains("134217728"));

            var dynamic = VhdFooter.ForDisk(64 * MiB, Id, Time).ToBytes();
            dynamic[63] = 3;
            Assert.Contains(VhdFooter.Validate(dynamic, 64 * MiB, out _), p => p.Contains("disk type is 3"));

            var zeros = new byte[512];
            var problem = Assert.Single(VhdFooter.Validate(zeros, null, out var none));
            Assert.Contains("not a VHD footer", problem);
            Assert.Null(none);

            Assert.Contains("512 bytes", Assert.Single(VhdFooter.Validate(new byte[511], null, out _)));
        }

        [Fact]
        public void A_virtual_size_that_is_not_a_whole_MiB_is_refused()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new VhdFooter(MiB + 512, MiB + 512, Time, Id));
        }
    }
}
