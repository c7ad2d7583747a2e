using System;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Secrets;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests
{
    /// <summary>The version 2 (AES-256-GCM) format, through the platform AesGcm and the managed fallback of Windows PowerShell 5.1.</summary>
    public sealed class AuthenticatedCipherGcmTests
    {
        private static readonly byte[] MasterKey = RandomNumberGenerator.GetBytes(32);
        private static readonly byte[] ChunkHash = RandomNumberGenerator.GetBytes(32);

        private static AuthenticatedCipher Platform(string purpose = "chunk") => new AuthenticatedCipher(MasterKey, purpose, SealingFormat.AesGcm);

        private static AuthenticatedCipher Managed(string purpose = "chunk") => new AuthenticatedCipher(MasterKey, purpose, SealingFormat.AesGcm, platformAesGcm: false);

        private static byte[] Hex(string hex) => Convert.FromHexString(hex);

        public static TheoryData<bool> Implementations => new TheoryData<bool> { true, false };

        private static AesGcmCore Core(byte[] key, bool platform) => platform ? AesGcmCore.Create(key) : new ManagedAesGcm(key);

        [Fact]
        public void The_platform_aes_gcm_is_found_on_this_runtime()
        {
            Assert.True(AesGcmCore.IsPlatformAvailable);
            using var core = AesGcmCore.Create(new byte[32]);
            Assert.IsType<PlatformAesGcm>(core);
        }

        // McGrew and Viega, "The Galois/Counter Mode of Operation", test cases 13, 14 and 16 (AES-256).
        [Theory]
        [MemberData(nameof(Implementations))]
        public void Both_implementations_give_the_published_test_vectors(bool platform)
        {
            using (var zero = Core(new byte[32], platform))
            {
                var tag = new byte[16];
                zero.Encrypt(new byte[12], ReadOnlySpan<byte>.Empty, Span<byte>.Empty, tag, ReadOnlySpan<byte>.Empty);
                Assert.Equal(Hex("530f8afbc74536b9a963b4f1c4cb738b"), tag);

                var ciphertext = new byte[16];
                zero.Encrypt(new byte[12], new byte[16], ciphertext, tag, ReadOnlySpan<byte>.Empty);
                Assert.Equal(Hex("cea7403d4d606b6e074ec5d3baf39d18"), ciphertext);
                Assert.Equal(Hex("d0d1c8a799996bf0265b98b5d48ab919"), tag);
            }

            using var core = Core(Hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"), platform);
            var nonce = Hex("cafebabefacedbaddecaf888");
            var plaintext = Hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
            var aad = Hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
            var c = new byte[plaintext.Length];
            var t = new byte[16];
            core.Encrypt(nonce, plaintext, c, t, aad);
            Assert.Equal(Hex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"), c);
            Assert.Equal(Hex("76fc6ece0f4e1768cddf8853bb2d551b"), t);

            var opened = new byte[c.Length];
            Assert.True(core.TryDecrypt(nonce, c, t, opened, aad));
            Assert.Equal(plaintext, opened);
            t[0] ^= 1;
            Assert.False(core.TryDecrypt(nonce, c, t, opened, aad));
            Assert.All(opened, b => Assert.Equal(0, b));
        }

        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        [InlineData(15)]
        [InlineData(16)]
        [InlineData(17)]
        [InlineData(16 * 1024 + 3)]
        [InlineData(4 * 1024 * 1024 + 5)]
        public void The_managed_fallback_and_the_platform_produce_the_same_bytes(int length)
        {
            var key = RandomNumberGenerator.GetBytes(32);
            var nonce = RandomNumberGenerator.GetBytes(12);
            var plaintext = RandomNumberGenerator.GetBytes(length);
            using var platform = Core(key, true);
            using var managed = Core(key, false);
            var (c1, t1, c2, t2) = (new byte[length], new byte[16], new byte[length], new byte[16]);
            platform.Encrypt(nonce, plaintext, c1, t1, ChunkHash);
            managed.Encrypt(nonce, plaintext, c2, t2, ChunkHash);
            Assert.Equal(c1, c2);
            Assert.Equal(t1, t2);
        }

        [Theory]
        [InlineData(0)]
        [InlineData(33)]
        [InlineData(4 * 1024 * 1024)]
        public void Sealed_data_opens_under_either_implementation_and_has_the_announced_length(int length)
        {
            using var platform = Platform();
            using var managed = Managed();
            var plaintext = RandomNumberGenerator.GetBytes(length);
            var hash = new ArraySegment<byte>(ChunkHash);

            var byPlatform = platform.Seal(new ArraySegment<byte>(plaintext), hash);
            var byManaged = managed.Seal(new ArraySegment<byte>(plaintext), hash);

            Assert.Equal(AuthenticatedCipher.SealedLength(length, SealingFormat.AesGcm), byPlatform.Length);
            Assert.Equal(length + AuthenticatedCipher.GcmOverhead, byManaged.Length);
            Assert.Equal((byte)SealingFormat.AesGcm, byPlatform[0]);
            Assert.Equal(plaintext, managed.Open(new ArraySegment<byte>(byPlatform), hash));
            Assert.Equal(plaintext, platform.Open(new ArraySegment<byte>(byManaged), hash));
        }

        [Fact]
        public void Sealing_in_place_gives_data_that_opens()
        {
            using var cipher = Platform();
            var plaintext = Encoding.UTF8.GetBytes("compressed chunk payload, already where its ciphertext goes");
            var buffer = new byte[plaintext.Length + AuthenticatedCipher.GcmOverhead + 9];
            plaintext.CopyTo(buffer, AuthenticatedCipher.GcmHeaderLength);

            var length = cipher.SealGcm(new ReadOnlySpan<byte>(buffer, AuthenticatedCipher.GcmHeaderLength, plaintext.Length), ChunkHash, buffer);

            Assert.Equal(plaintext.Length + AuthenticatedCipher.GcmOverhead, length);
            Assert.True(buffer.AsSpan(0, length).IndexOf(plaintext.AsSpan(0, 16)) < 0);
            Assert.Equal(plaintext, cipher.Open(new ArraySegment<byte>(buffer, 0, length), new ArraySegment<byte>(ChunkHash)));
        }

        [Theory]
        [MemberData(nameof(Implementations))]
        public void Flipping_any_bit_truncating_or_changing_the_associated_data_is_detected(bool platform)
        {
            using var cipher = platform ? Platform() : Managed();
            var plaintext = RandomNumberGenerator.GetBytes(100);
            var hash = new ArraySegment<byte>(ChunkHash);
            var sealedData = cipher.Seal(new ArraySegment<byte>(plaintext), hash);

            for (var index = 0; index < sealedData.Length; index++)
            {
                var tampered = (byte[])sealedData.Clone();
                tampered[index] ^= 0x01;
                var error = Assert.Throws<TamperedDataException>(() => cipher.Open(new ArraySegment<byte>(tampered), hash));
                Assert.Equal("EncryptedDataTampered", error.ErrorId);
            }
            Assert.Throws<TamperedDataException>(() => cipher.Open(new ArraySegment<byte>(sealedData, 0, sealedData.Length - 1), hash));
            Assert.Throws<TamperedDataException>(() => cipher.Open(new ArraySegment<byte>(sealedData, 0, 20), hash));
            Assert.Throws<TamperedDataException>(() => cipher.Open(new ArraySegment<byte>(sealedData.Concat(new byte[16]).ToArray()), hash));
            Assert.Throws<TamperedDataException>(() => cipher.Open(new ArraySegment<byte>(sealedData)));
            var otherHash = (byte[])ChunkHash.Clone();
            otherHash[31] ^= 0x80;
            Assert.Throws<TamperedDataException>(() => cipher.Open(new ArraySegment<byte>(sealedData), new ArraySegment<byte>(otherHash)));
        }

        [Fact]
        public void Data_opens_only_with_the_same_key_and_purpose()
        {
            using var cipher = Platform();
            using var otherPurpose = Platform("site-secret");
            using var otherKey = new AuthenticatedCipher(RandomNumberGenerator.GetBytes(32), "chunk", SealingFormat.AesGcm);
            var hash = new ArraySegment<byte>(ChunkHash);
            var sealedData = new ArraySegment<byte>(cipher.Seal(new ArraySegment<byte>(ChunkHash), hash));

            Assert.Throws<TamperedDataException>(() => otherPurpose.Open(sealedData, hash));
            Assert.Throws<TamperedDataException>(() => otherKey.Open(sealedData, hash));
        }

        [Fact]
        public void Version_1_data_still_opens_with_a_gcm_cipher_and_version_2_with_a_cbc_one()
        {
            using var cbc = new AuthenticatedCipher(MasterKey, "chunk");
            using var gcm = Platform();
            var plaintext = RandomNumberGenerator.GetBytes(1000);
            var hash = new ArraySegment<byte>(ChunkHash);

            var old = cbc.Seal(new ArraySegment<byte>(plaintext), hash);
            Assert.Equal(1, old[0]);
            Assert.Equal(plaintext, gcm.Open(new ArraySegment<byte>(old), hash));
            Assert.Equal(plaintext, cbc.Open(new ArraySegment<byte>(gcm.Seal(new ArraySegment<byte>(plaintext), hash)), hash));
        }

        [Fact]
        public void Relabelling_gcm_data_as_version_1_or_the_reverse_is_detected()
        {
            using var cipher = Platform();
            using var cbc = new AuthenticatedCipher(MasterKey, "chunk");
            var hash = new ArraySegment<byte>(ChunkHash);
            var gcmData = cipher.Seal(new ArraySegment<byte>(new byte[64]), hash);
            gcmData[0] = 1;
            Assert.Throws<TamperedDataException>(() => cipher.Open(new ArraySegment<byte>(gcmData), hash));
            var cbcData = cbc.Seal(new ArraySegment<byte>(new byte[64]), hash);
            cbcData[0] = 2;
            Assert.Throws<TamperedDataException>(() => cipher.Open(new ArraySegment<byte>(cbcData), hash));
        }
    }
}
