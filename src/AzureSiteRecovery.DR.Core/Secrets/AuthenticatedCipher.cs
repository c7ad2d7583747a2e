using System;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Core.Secrets
{
    /// <summary>
    /// Seals and opens data with AES-256-CBC then HMAC-SHA256 over the result (encrypt-then-MAC),
    /// because netstandard2.0 has no AES-GCM. The encryption and MAC keys are derived from a master
    /// key and a purpose label, so data sealed for one purpose (site secrets, disk chunks) never
    /// opens under another. Sealed layout: version (1) | IV (16) | ciphertext (16·n) | tag (32).
    /// Holds only immutable keys, so one instance may be shared by many threads.
    /// </summary>
    public sealed class AuthenticatedCipher : IDisposable
    {
        public const int MasterKeyLength = 32;
        private const byte FormatVersion = 1;
        private const int VersionLength = 1;
        private const int IvLength = 16;
        private const int BlockLength = 16;
        private const int TagLength = 32;
        private const int HeaderLength = VersionLength + IvLength;

        private readonly byte[] encryptionKey;
        private readonly byte[] macKey;

        /// <param name="masterKey">32 random bytes; not kept, only the derived keys are.</param>
        /// <param name="purpose">What the data is, e.g. "site-secret" or "chunk"; part of the key derivation.</param>
        public AuthenticatedCipher(byte[] masterKey, string purpose)
        {
            if (masterKey is null) throw new ArgumentNullException(nameof(masterKey));
            if (masterKey.Length != MasterKeyLength) throw new ArgumentException($"The master key must be {MasterKeyLength} bytes.", nameof(masterKey));
            if (string.IsNullOrEmpty(purpose)) throw new ArgumentException("A purpose label is required.", nameof(purpose));

            encryptionKey = DeriveKey(masterKey, purpose, "encryption");
            macKey = DeriveKey(masterKey, purpose, "authentication");
        }

        /// <summary>How many bytes <see cref="Seal"/> returns for a plaintext of this length.</summary>
        public static int SealedLength(int plaintextLength) =>
            HeaderLength + (plaintextLength / BlockLength + 1) * BlockLength + TagLength;

        /// <summary>Encrypts and authenticates <paramref name="plaintext"/>; <paramref name="associatedData"/> is authenticated but not stored, and must be given again to open.</summary>
        public byte[] Seal(ArraySegment<byte> plaintext, ArraySegment<byte> associatedData = default)
        {
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

        /// <summary>Checks the tag, then decrypts. Throws <see cref="TamperedDataException"/> when the data was changed or sealed with another key, purpose or associated data.</summary>
        public byte[] Open(ArraySegment<byte> sealedData, ArraySegment<byte> associatedData = default)
        {
            var bytes = sealedData.Array ?? Array.Empty<byte>();
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

        public void Dispose()
        {
            Array.Clear(encryptionKey, 0, encryptionKey.Length);
            Array.Clear(macKey, 0, macKey.Length);
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
