using System;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Core.Secrets
{
    /// <summary>How <see cref="AuthenticatedCipher.Seal"/> writes; the first byte of sealed data says which, and <see cref="AuthenticatedCipher.Open"/> reads both.</summary>
    public enum SealingFormat : byte
    {
        /// <summary>Version 1: AES-256-CBC then HMAC-SHA256 (encrypt-then-MAC). version (1) | IV (16) | ciphertext (16·n) | tag (32).</summary>
        AesCbcHmacSha256 = 1,
        /// <summary>Version 2: AES-256-GCM, one pass (~12× faster with AES-NI). version (1) | nonce (12) | ciphertext (n) | tag (16).</summary>
        AesGcm = 2,
    }

    /// <summary>
    /// Seals and opens data with authenticated encryption under keys derived from a master key and
    /// a purpose label, so data sealed for one purpose (site secrets, disk chunks) never opens
    /// under another. Two formats (<see cref="SealingFormat"/>): AES-256-CBC + HMAC-SHA256, and
    /// AES-256-GCM, which netstandard2.0 does not declare: the platform's AesGcm is used where the
    /// runtime has it (PowerShell 7), a managed GCM elsewhere (Windows PowerShell 5.1), same bytes.
    /// Holds only immutable keys, so one instance may be shared by many threads.
    /// </summary>
    public sealed class AuthenticatedCipher : IDisposable
    {
        public const int MasterKeyLength = 32;
        private const byte FormatVersion = (byte)SealingFormat.AesCbcHmacSha256;
        private const int VersionLength = 1;
        private const int IvLength = 16;
        private const int BlockLength = 16;
        private const int TagLength = 32;
        private const int HeaderLength = VersionLength + IvLength;
        /// <summary>Where the plaintext (and ciphertext) starts in version 2 (GCM) sealed data.</summary>
        public const int GcmHeaderLength = VersionLength + AesGcmCore.NonceLength;

        /// <summary>Bytes a version 2 (GCM) seal adds to the plaintext: version, nonce, tag.</summary>
        public const int GcmOverhead = GcmHeaderLength + AesGcmCore.TagLength;

        private readonly byte[] encryptionKey;
        private readonly byte[] macKey;
        private readonly byte[] gcmKey;
        private readonly Lazy<AesGcmCore> gcm;

        /// <param name="masterKey">32 random bytes; not kept, only the derived keys are.</param>
        /// <param name="purpose">What the data is, e.g. "site-secret" or "chunk"; part of the key derivation.</param>
        /// <param name="format">How <see cref="Seal"/> writes; both formats are always read.</param>
        public AuthenticatedCipher(byte[] masterKey, string purpose, SealingFormat format = SealingFormat.AesCbcHmacSha256)
            : this(masterKey, purpose, format, platformAesGcm: true)
        {
        }

        /// <summary>As the public constructor; <paramref name="platformAesGcm"/> false forces the managed GCM (tests of the Windows PowerShell 5.1 path).</summary>
        internal AuthenticatedCipher(byte[] masterKey, string purpose, SealingFormat format, bool platformAesGcm)
        {
            if (masterKey is null) throw new ArgumentNullException(nameof(masterKey));
            if (masterKey.Length != MasterKeyLength) throw new ArgumentException($"The master key must be {MasterKeyLength} bytes.", nameof(masterKey));
            if (string.IsNullOrEmpty(purpose)) throw new ArgumentException("A purpose label is required.", nameof(purpose));
            if (!Enum.IsDefined(typeof(SealingFormat), format)) throw new ArgumentOutOfRangeException(nameof(format));

            Format = format;
            encryptionKey = DeriveKey(masterKey, purpose, "encryption");
            macKey = DeriveKey(masterKey, purpose, "authentication");
            // Its own key: one AES key is never used in two modes.
            gcmKey = DeriveKey(masterKey, purpose, "aes-gcm");
            gcm = new Lazy<AesGcmCore>(() => platformAesGcm ? AesGcmCore.Create(gcmKey) : new ManagedAesGcm(gcmKey));
        }

        /// <summary>How <see cref="Seal"/> writes.</summary>
        public SealingFormat Format { get; }

        /// <summary>How many bytes a version 1 (CBC) <see cref="Seal"/> returns for a plaintext of this length.</summary>
        public static int SealedLength(int plaintextLength) =>
            HeaderLength + (plaintextLength / BlockLength + 1) * BlockLength + TagLength;

        /// <summary>How many bytes <see cref="Seal"/> returns for a plaintext of this length in this format.</summary>
        public static int SealedLength(int plaintextLength, SealingFormat format) =>
            format == SealingFormat.AesGcm ? plaintextLength + GcmOverhead : SealedLength(plaintextLength);

        /// <summary>Encrypts and authenticates <paramref name="plaintext"/>; <paramref name="associatedData"/> is authenticated but not stored, and must be given again to open.</summary>
        public byte[] Seal(ArraySegment<byte> plaintext, ArraySegment<byte> associatedData = default)
        {
            if (Format == SealingFormat.AesGcm)
            {
                var sealedGcm = new byte[plaintext.Count + GcmOverhead];
                SealGcm(plaintext, associatedData, sealedGcm);
                return sealedGcm;
            }
            var result = new byte[SealedLength(plaintext.Count)];
            result[0] = FormatVersion;
            using (var random = RandomNumberGenerator.Create())
            {
                random.GetBytes(result, VersionLength, IvLength);
            }

            int ciphertextLength;
            using (var aes = CreateAes())
            using (var encryptor = aes.CreateEncryptor(encryptionKey, Slice(result, VersionLength, IvLength)))
            {
                var ciphertext = encryptor.TransformFinalBlock(plaintext.Array ?? Array.Empty<byte>(), plaintext.Offset, plaintext.Count);
                Buffer.BlockCopy(ciphertext, 0, result, HeaderLength, ciphertext.Length);
                ciphertextLength = ciphertext.Length;
            }

            var tag = ComputeTag(new ArraySegment<byte>(result, 0, HeaderLength + ciphertextLength), associatedData);
            Buffer.BlockCopy(tag, 0, result, HeaderLength + ciphertextLength, TagLength);
            return result;
        }

        /// <summary>
        /// Seals in the GCM format into <paramref name="destination"/> (at least <see cref="GcmOverhead"/>
        /// bytes longer than the plaintext) and returns the sealed length. The plaintext may already sit in
        /// <paramref name="destination"/> right after the header (at offset 13): it is then encrypted in place.
        /// </summary>
        public int SealGcm(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
        {
            var length = plaintext.Length + GcmOverhead;
            if (destination.Length < length) throw new ArgumentException($"The destination must hold {length} bytes.", nameof(destination));
            // Random 96-bit nonces: safe for 2^32 seals per key (16 PiB of 4 MiB chunks per vault and purpose).
            var nonce = new byte[AesGcmCore.NonceLength];
            using (var rng = RandomNumberGenerator.Create()) rng.GetBytes(nonce);
            var aad = GcmAssociatedData(associatedData);
            gcm.Value.Encrypt(nonce, plaintext, destination.Slice(GcmHeaderLength, plaintext.Length), destination.Slice(GcmHeaderLength + plaintext.Length, AesGcmCore.TagLength), aad);
            destination[0] = (byte)SealingFormat.AesGcm;
            nonce.CopyTo(destination.Slice(VersionLength));
            return length;
        }

        /// <summary>Checks the tag, then decrypts. Throws <see cref="TamperedDataException"/> when the data was changed or sealed with another key, purpose or associated data.</summary>
        public byte[] Open(ArraySegment<byte> sealedData, ArraySegment<byte> associatedData = default)
        {
            var bytes = sealedData.Array ?? Array.Empty<byte>();
            if (sealedData.Count > 0 && bytes[sealedData.Offset] == (byte)SealingFormat.AesGcm)
            {
                return OpenGcm(new ReadOnlySpan<byte>(bytes, sealedData.Offset, sealedData.Count), associatedData);
            }
            var ciphertextLength = sealedData.Count - HeaderLength - TagLength;
            if (ciphertextLength < BlockLength || ciphertextLength % BlockLength != 0)
            {
                throw new TamperedDataException($"The encrypted data is {sealedData.Count} bytes long, which no sealed data can be; it is truncated or damaged.");
            }
            if (bytes[sealedData.Offset] != FormatVersion)
            {
                throw new TamperedDataException($"The encrypted data has format version {bytes[sealedData.Offset]}, which this module does not know; it is damaged or was written by a newer module.");
            }

            var expectedTag = ComputeTag(new ArraySegment<byte>(bytes, sealedData.Offset, HeaderLength + ciphertextLength), associatedData);
            if (!FixedTimeEquals(expectedTag, bytes, sealedData.Offset + HeaderLength + ciphertextLength))
            {
                throw new TamperedDataException("The encrypted data failed its integrity check: it was changed or damaged, or it was sealed with another key.");
            }

            using (var aes = CreateAes())
            using (var decryptor = aes.CreateDecryptor(encryptionKey, Slice(bytes, sealedData.Offset + VersionLength, IvLength)))
            {
                return decryptor.TransformFinalBlock(bytes, sealedData.Offset + HeaderLength, ciphertextLength);
            }
        }

        private byte[] OpenGcm(ReadOnlySpan<byte> sealedData, ArraySegment<byte> associatedData)
        {
            var plainLength = sealedData.Length - GcmOverhead;
            if (plainLength < 0)
            {
                throw new TamperedDataException($"The encrypted data is {sealedData.Length} bytes long, which no sealed data can be; it is truncated or damaged.");
            }
            var plain = new byte[plainLength];
            var aad = GcmAssociatedData(associatedData);
            if (!gcm.Value.TryDecrypt(sealedData.Slice(VersionLength, AesGcmCore.NonceLength), sealedData.Slice(GcmHeaderLength, plainLength),
                    sealedData.Slice(GcmHeaderLength + plainLength), plain, aad))
            {
                throw new TamperedDataException("The encrypted data failed its integrity check: it was changed or damaged, or it was sealed with another key.");
            }
            return plain;
        }

        // The version byte is authenticated too, so no byte of the sealed data is outside the tag.
        private static byte[] GcmAssociatedData(ReadOnlySpan<byte> associatedData)
        {
            var aad = new byte[VersionLength + associatedData.Length];
            aad[0] = (byte)SealingFormat.AesGcm;
            associatedData.CopyTo(new Span<byte>(aad, VersionLength, associatedData.Length));
            return aad;
        }

        public void Dispose()
        {
            Array.Clear(encryptionKey, 0, encryptionKey.Length);
            Array.Clear(macKey, 0, macKey.Length);
            Array.Clear(gcmKey, 0, gcmKey.Length);
            if (gcm.IsValueCreated) gcm.Value.Dispose();
        }

        // HKDF-Expand (RFC 5869) with one output block; the extract step is skipped because the master key is already uniformly random.
        internal static byte[] DeriveKey(byte[] masterKey, string purpose, string use)
        {
            var info = Encoding.UTF8.GetBytes("AzureSiteRecovery.DR/" + purpose + "/" + use + "\u0001");
            using (var hmac = new HMACSHA256(masterKey))
            {
                return hmac.ComputeHash(info);
            }
        }

        private byte[] ComputeTag(ArraySegment<byte> headerAndCiphertext, ArraySegment<byte> associatedData)
        {
            using (var hmac = new HMACSHA256(macKey))
            {
                hmac.TransformBlock(headerAndCiphertext.Array!, headerAndCiphertext.Offset, headerAndCiphertext.Count, null, 0);
                if (associatedData.Count > 0)
                {
                    hmac.TransformBlock(associatedData.Array!, associatedData.Offset, associatedData.Count, null, 0);
                }
                // The length closes the input so that moving bytes between ciphertext and associated data changes the tag.
                var associatedLength = new byte[8];
                for (var i = 0; i < 4; i++)
                {
                    associatedLength[i] = (byte)(associatedData.Count >> (8 * i));
                }
                hmac.TransformFinalBlock(associatedLength, 0, associatedLength.Length);
                return hmac.Hash!;
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.NoOptimization)]
        private static bool FixedTimeEquals(byte[] expected, byte[] actual, int actualOffset)
        {
            var difference = 0;
            for (var i = 0; i < expected.Length; i++)
            {
                difference |= expected[i] ^ actual[actualOffset + i];
            }
            return difference == 0;
        }

        private static Aes CreateAes()
        {
            var aes = Aes.Create();
            aes.Mode = CipherMode.CBC;
            aes.Padding = PaddingMode.PKCS7;
            return aes;
        }

        private static byte[] Slice(byte[] source, int offset, int length)
        {
            var slice = new byte[length];
            Buffer.BlockCopy(source, offset, slice, 0, length);
            return slice;
        }
    }
}
