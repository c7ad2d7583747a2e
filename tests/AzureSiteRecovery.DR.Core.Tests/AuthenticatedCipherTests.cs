using System;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Secrets;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests
{
    public sealed class AuthenticatedCipherTests
    {
        private static readonly byte[] MasterKey = RandomNumberGenerator.GetBytes(32);
        private static readonly byte[] Plaintext = Encoding.UTF8.GetBytes("a disk chunk, or a vCenter password");

        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        [InlineData(15)]
        [InlineData(16)]
        [InlineData(4 * 1024 * 1024)]
        public void Sealed_data_opens_to_the_same_bytes_and_has_the_announced_length(int length)
        {
            using var cipher = new AuthenticatedCipher(MasterKey, "chunk");
            var plaintext = RandomNumberGenerator.GetBytes(length);

            var sealedData = cipher.Seal(new ArraySegment<byte>(plaintext));

            Assert.Equal(AuthenticatedCipher.SealedLength(length), sealedData.Length);
            Assert.Equal(plaintext, cipher.Open(new ArraySegment<byte>(sealedData)));
        }

        [Fact]
        public void Segments_in_the_middle_of_larger_buffers_are_sealed_and_opened()
        {
            using var cipher = new AuthenticatedCipher(MasterKey, "chunk");
            var buffer = new byte[100];
            Plaintext.CopyTo(buffer, 10);
            var sealedData = cipher.Seal(new ArraySegment<byte>(buffer, 10, Plaintext.Length));
            var padded = new byte[sealedData.Length + 7];
            sealedData.CopyTo(padded, 3);

            Assert.Equal(Plaintext, cipher.Open(new ArraySegment<byte>(padded, 3, sealedData.Length)));
        }

        [Fact]
        public void The_same_plaintext_seals_differently_each_time_and_never_in_the_clear()
        {
            using var cipher = new AuthenticatedCipher(MasterKey, "site-secret");

            var first = cipher.Seal(new ArraySegment<byte>(Plaintext));
            var second = cipher.Seal(new ArraySegment<byte>(Plaintext));

            Assert.NotEqual(first, second);
            Assert.True(first.AsSpan().IndexOf(Plaintext.AsSpan(0, 8)) < 0);
        }

        [Fact]
        public void Flipping_any_bit_is_detected()
        {
            using var cipher = new AuthenticatedCipher(MasterKey, "chunk");
            var sealedData = cipher.Seal(new ArraySegment<byte>(Plaintext));

            for (var index = 0; index < sealedData.Length; index++)
            {
                var tampered = (byte[])sealedData.Clone();
                tampered[index] ^= 0x01;
                var error = Assert.Throws<TamperedDataException>(() => cipher.Open(new ArraySegment<byte>(tampered)));
                Assert.Equal("EncryptedDataTampered", error.ErrorId);
            }
        }

        [Fact]
        public void Truncated_or_extended_data_is_detected()
        {
            using var cipher = new AuthenticatedCipher(MasterKey, "chunk");
            var sealedData = cipher.Seal(new ArraySegment<byte>(Plaintext));

            Assert.Throws<TamperedDataException>(() => cipher.Open(new ArraySegment<byte>(sealedData, 0, sealedData.Length - 1)));
            Assert.Throws<TamperedDataException>(() => cipher.Open(new ArraySegment<byte>(sealedData, 0, 10)));
            Assert.Throws<TamperedDataException>(() => cipher.Open(new ArraySegment<byte>(sealedData.Concat(new byte[16]).ToArray())));
        }

        [Fact]
        public void Data_opens_only_with_the_same_key_purpose_and_associated_data()
        {
            using var cipher = new AuthenticatedCipher(MasterKey, "chunk");
            using var otherPurpose = new AuthenticatedCipher(MasterKey, "site-secret");
            using var otherKey = new AuthenticatedCipher(RandomNumberGenerator.GetBytes(32), "chunk");
            var chunkId = new ArraySegment<byte>(Encoding.ASCII.GetBytes("chunk-0001"));
            var sealedData = new ArraySegment<byte>(cipher.Seal(new ArraySegment<byte>(Plaintext), chunkId));

            Assert.Equal(Plaintext, cipher.Open(sealedData, chunkId));
            Assert.Throws<TamperedDataException>(() => otherPurpose.Open(sealedData, chunkId));
            Assert.Throws<TamperedDataException>(() => otherKey.Open(sealedData, chunkId));
            Assert.Throws<TamperedDataException>(() => cipher.Open(sealedData));
            Assert.Throws<TamperedDataException>(() => cipher.Open(sealedData, new ArraySegment<byte>(Encoding.ASCII.GetBytes("chunk-0002"))));
        }

        [Fact]
        public void An_unknown_format_version_is_refused()
        {
            using var cipher = new AuthenticatedCipher(MasterKey, "chunk");
            var sealedData = cipher.Seal(new ArraySegment<byte>(Plaintext));
            sealedData[0] = 3; // 1 is CBC + HMAC, 2 is GCM

            var error = Assert.Throws<TamperedDataException>(() => cipher.Open(new ArraySegment<byte>(sealedData)));
            Assert.Contains("format version 3", error.Message);
        }

        [Fact]
        public void A_master_key_of_the_wrong_length_is_refused()
        {
            Assert.Throws<ArgumentException>(() => new AuthenticatedCipher(new byte[16], "chunk"));
            Assert.Throws<ArgumentException>(() => new AuthenticatedCipher(MasterKey, ""));
        }
    }
}
