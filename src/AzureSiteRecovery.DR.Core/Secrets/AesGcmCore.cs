using System;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace AzureSiteRecovery.DR.Core.Secrets
{
    /// <summary>
    /// AES-256-GCM with a 96-bit nonce and a 128-bit tag (NIST SP 800-38D). The platform's
    /// System.Security.Cryptography.AesGcm (.NET Core 3+, AES-NI and carry-less multiply) is reached
    /// by reflection because netstandard2.0 does not declare it; where it does not exist (Windows
    /// PowerShell 5.1 on .NET Framework) a managed implementation over AES-ECB produces the same bytes.
    /// Thread-safe: platform instances are pooled, one per concurrent caller.
    /// </summary>
    internal abstract class AesGcmCore : IDisposable
    {
        public const int NonceLength = 12;
        public const int TagLength = 16;

        /// <summary>The platform implementation when there is one, else the managed one.</summary>
        public static AesGcmCore Create(byte[] key) => (AesGcmCore?)PlatformAesGcm.TryCreate(key) ?? new ManagedAesGcm(key);

        /// <summary>Which implementation <see cref="Create"/> picks in this process (for diagnostics and tests).</summary>
        public static bool IsPlatformAvailable => PlatformAesGcm.Available;

        /// <summary>Encrypts <paramref name="plaintext"/> into <paramref name="ciphertext"/> (same length; they may be the same memory).</summary>
        public abstract void Encrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associatedData);

        /// <summary>False, with <paramref name="plaintext"/> cleared, when the tag does not match.</summary>
        public abstract bool TryDecrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associatedData);

        public abstract void Dispose();
    }

    /// <summary>System.Security.Cryptography.AesGcm through delegates bound once per pooled instance.</summary>
    internal sealed class PlatformAesGcm : AesGcmCore
    {
        private delegate void EncryptSpans(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associatedData);
        private delegate void DecryptSpans(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associatedData);

        private sealed class Instance
        {
            public IDisposable Native = null!;
            public EncryptSpans Encrypt = null!;
            public DecryptSpans Decrypt = null!;
        }

        private static readonly Type? AesGcmType = FindType();
        private static readonly ConstructorInfo? KeyAndTagConstructor = AesGcmType?.GetConstructor(new[] { typeof(byte[]), typeof(int) });
        private static readonly ConstructorInfo? KeyConstructor = AesGcmType?.GetConstructor(new[] { typeof(byte[]) });
        private static readonly MethodInfo? EncryptMethod = AesGcmType?.GetMethod("Encrypt", new[] { typeof(ReadOnlySpan<byte>), typeof(ReadOnlySpan<byte>), typeof(Span<byte>), typeof(Span<byte>), typeof(ReadOnlySpan<byte>) });
        private static readonly MethodInfo? DecryptMethod = AesGcmType?.GetMethod("Decrypt", new[] { typeof(ReadOnlySpan<byte>), typeof(ReadOnlySpan<byte>), typeof(ReadOnlySpan<byte>), typeof(Span<byte>), typeof(ReadOnlySpan<byte>) });

        private readonly byte[] key;
        private readonly ConcurrentBag<Instance> pool = new ConcurrentBag<Instance>();

        private PlatformAesGcm(byte[] key, Instance first)
        {
            this.key = (byte[])key.Clone();
            pool.Add(first);
        }

        public static bool Available { get; } = Probe();

        public static PlatformAesGcm? TryCreate(byte[] key)
        {
            if (!Available) return null;
            return new PlatformAesGcm(key, NewInstance(key));
        }

        private static Type? FindType()
        {
            // Where Aes lives, AesGcm lives too (System.Security.Cryptography[.Algorithms]); not in .NET Framework's System.Core.
            try
            {
                return typeof(Aes).Assembly.GetType("System.Security.Cryptography.AesGcm", throwOnError: false)
                    ?? Type.GetType("System.Security.Cryptography.AesGcm, System.Security.Cryptography", throwOnError: false);
            }
            catch (Exception)
            {
                return null;
            }
        }

        private static bool Probe()
        {
            if (AesGcmType is null || EncryptMethod is null || DecryptMethod is null || (KeyAndTagConstructor is null && KeyConstructor is null)) return false;
            try
            {
                var supported = AesGcmType.GetProperty("IsSupported", BindingFlags.Public | BindingFlags.Static);
                if (supported != null && !(bool)supported.GetValue(null)!) return false;
                NewInstance(new byte[32]).Native.Dispose();
                return true;
            }
            catch (Exception)
            {
                return false;
            }
        }

        private static Instance NewInstance(byte[] key)
        {
            var native = KeyAndTagConstructor != null
                ? KeyAndTagConstructor.Invoke(new object[] { key, TagLength })
                : KeyConstructor!.Invoke(new object[] { key });
            return new Instance
            {
                Native = (IDisposable)native,
                Encrypt = (EncryptSpans)Delegate.CreateDelegate(typeof(EncryptSpans), native, EncryptMethod!),
                Decrypt = (DecryptSpans)Delegate.CreateDelegate(typeof(DecryptSpans), native, DecryptMethod!),
            };
        }

        public override void Encrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associatedData)
        {
            var instance = pool.TryTake(out var i) ? i : NewInstance(key);
            try
            {
                instance.Encrypt(nonce, plaintext, ciphertext, tag, associatedData);
            }
            finally
            {
                pool.Add(instance);
            }
        }

        public override bool TryDecrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associatedData)
        {
            var instance = pool.TryTake(out var i) ? i : NewInstance(key);
            try
            {
                instance.Decrypt(nonce, ciphertext, tag, plaintext, associatedData);
                return true;
            }
            catch (CryptographicException)
            {
                // AuthenticationTagMismatchException (.NET 8+) and its predecessors; the platform has cleared the plaintext.
                return false;
            }
            finally
            {
                pool.Add(instance);
            }
        }

        public override void Dispose()
        {
            while (pool.TryTake(out var instance)) instance.Native.Dispose();
            Array.Clear(key, 0, key.Length);
        }
    }

    /// <summary>
    /// GCM in managed code for runtimes without AesGcm: CTR from AES-ECB over a batch of counter
    /// blocks (the platform AES, hardware-accelerated where it is), GHASH with a 64 KiB table per key:
    /// X·H is the XOR of 16 lookups, one per byte of X (the product is linear in X).
    /// </summary>
    internal sealed class ManagedAesGcm : AesGcmCore
    {
        private const int BlockLength = 16;
        private const int BatchBlocks = 1024;

        private readonly Aes aes;
        private readonly byte[] key;
        // Entry 256·i + b: the byte b at position i of a block, times H (high and low 64 bits).
        private readonly ulong[] th = new ulong[16 * 256];
        private readonly ulong[] tl = new ulong[16 * 256];

        public ManagedAesGcm(byte[] key)
        {
            if (key.Length != 32) throw new ArgumentException("An AES-256 key is 32 bytes.", nameof(key));
            this.key = (byte[])key.Clone();
            aes = Aes.Create();
            aes.Mode = CipherMode.ECB;
            aes.Padding = PaddingMode.None;
            aes.Key = this.key;
            var h = new byte[BlockLength];
            using (var ecb = aes.CreateEncryptor()) ecb.TransformBlock(h, 0, BlockLength, h, 0);
            BuildTable(ReadUInt64(h, 0), ReadUInt64(h, 8));
        }

        public override void Encrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associatedData)
        {
            CheckSizes(nonce, plaintext.Length, ciphertext.Length, tag.Length);
            using var ecb = aes.CreateEncryptor();
            Ctr(ecb, nonce, plaintext, ciphertext);
            ComputeTag(ecb, nonce, ciphertext, associatedData, tag);
        }

        public override bool TryDecrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associatedData)
        {
            CheckSizes(nonce, ciphertext.Length, plaintext.Length, tag.Length);
            using var ecb = aes.CreateEncryptor();
            Span<byte> expected = stackalloc byte[TagLength];
            ComputeTag(ecb, nonce, ciphertext, associatedData, expected);
            var difference = 0;
            for (var i = 0; i < TagLength; i++) difference |= expected[i] ^ tag[i];
            if (difference != 0)
            {
                plaintext.Clear();
                return false;
            }
            Ctr(ecb, nonce, ciphertext, plaintext);
            return true;
        }

        public override void Dispose()
        {
            aes.Dispose();
            Array.Clear(key, 0, key.Length);
            Array.Clear(th, 0, th.Length);
            Array.Clear(tl, 0, tl.Length);
        }

        private static void CheckSizes(ReadOnlySpan<byte> nonce, int inputLength, int outputLength, int tagLength)
        {
            if (nonce.Length != NonceLength) throw new ArgumentException($"The nonce must be {NonceLength} bytes.", nameof(nonce));
            if (inputLength != outputLength) throw new ArgumentException("The output must be as long as the input.");
            if (tagLength != TagLength) throw new ArgumentException($"The tag must be {TagLength} bytes.");
        }

        // Counter blocks nonce || 2, 3, … (J0 = nonce || 1 masks the tag), encrypted a batch at a time, XORed into the output.
        private static void Ctr(ICryptoTransform ecb, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> input, Span<byte> output)
        {
            var counters = new byte[BatchBlocks * BlockLength];
            var stream = new byte[counters.Length];
            uint counter = 2;
            for (var done = 0; done < input.Length;)
            {
                var blocks = Math.Min(BatchBlocks, (input.Length - done + BlockLength - 1) / BlockLength);
                for (var b = 0; b < blocks; b++)
                {
                    var at = b * BlockLength;
                    nonce.CopyTo(new Span<byte>(counters, at, NonceLength));
                    WriteUInt32(counters, at + NonceLength, counter++);
                }
                ecb.TransformBlock(counters, 0, blocks * BlockLength, stream, 0);
                var n = Math.Min(blocks * BlockLength, input.Length - done);
                Xor(input.Slice(done, n), stream, output.Slice(done, n));
                done += n;
            }
        }

        private static void Xor(ReadOnlySpan<byte> input, byte[] keyStream, Span<byte> output)
        {
            var words = input.Length / 8;
            var inputWords = MemoryMarshal.Cast<byte, ulong>(input);
            var keyWords = MemoryMarshal.Cast<byte, ulong>(new ReadOnlySpan<byte>(keyStream));
            var outputWords = MemoryMarshal.Cast<byte, ulong>(output);
            for (var i = 0; i < words; i++) outputWords[i] = inputWords[i] ^ keyWords[i];
            for (var i = words * 8; i < input.Length; i++) output[i] = (byte)(input[i] ^ keyStream[i]);
        }

        private void ComputeTag(ICryptoTransform ecb, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> tag)
        {
            ulong yh = 0, yl = 0;
            Absorb(ref yh, ref yl, associatedData);
            Absorb(ref yh, ref yl, ciphertext);
            Multiply(ref yh, ref yl, (ulong)associatedData.Length * 8, (ulong)ciphertext.Length * 8);
            var j0 = new byte[BlockLength];
            nonce.CopyTo(j0);
            j0[BlockLength - 1] = 1;
            var mask = new byte[BlockLength];
            ecb.TransformBlock(j0, 0, BlockLength, mask, 0);
            for (var i = 0; i < 8; i++)
            {
                tag[i] = (byte)(mask[i] ^ (byte)(yh >> (56 - 8 * i)));
                tag[8 + i] = (byte)(mask[8 + i] ^ (byte)(yl >> (56 - 8 * i)));
            }
        }

        // Y = (Y xor block) · H for each 16-byte block, the last one zero-padded.
        private void Absorb(ref ulong yh, ref ulong yl, ReadOnlySpan<byte> data)
        {
            var i = 0;
            for (; i + BlockLength <= data.Length; i += BlockLength)
            {
                Multiply(ref yh, ref yl, ReadUInt64(data, i), ReadUInt64(data, i + 8));
            }
            if (i < data.Length)
            {
                Span<byte> last = stackalloc byte[BlockLength];
                data.Slice(i).CopyTo(last);
                Multiply(ref yh, ref yl, ReadUInt64(last, 0), ReadUInt64(last, 8));
            }
        }

        private void Multiply(ref ulong yh, ref ulong yl, ulong xh, ulong xl)
        {
            xh ^= yh;
            xl ^= yl;
            ulong zh = 0, zl = 0;
            for (var i = 0; i < 8; i++)
            {
                var at = (i << 8) | (int)((xh >> (56 - 8 * i)) & 0xff);
                zh ^= th[at];
                zl ^= tl[at];
                at = ((i + 8) << 8) | (int)((xl >> (56 - 8 * i)) & 0xff);
                zh ^= th[at];
                zl ^= tl[at];
            }
            yh = zh;
            yl = zl;
        }

        // Bit k of a block (most significant first) stands for x^k; x^k·H is H shifted right k times with reduction by x^128 + x^7 + x^2 + x + 1.
        private void BuildTable(ulong vh, ulong vl)
        {
            for (var k = 0; k < 128; k++)
            {
                var at = ((k >> 3) << 8) | (0x80 >> (k & 7));
                th[at] = vh;
                tl[at] = vl;
                var carry = vl & 1;
                vl = (vl >> 1) | (vh << 63);
                vh = (vh >> 1) ^ (carry * 0xe100000000000000UL);
            }
            for (var i = 0; i < 16; i++)
            {
                for (var b = 3; b < 256; b++)
                {
                    var low = b & -b;
                    if (low == b) continue;
                    th[(i << 8) | b] = th[(i << 8) | (b ^ low)] ^ th[(i << 8) | low];
                    tl[(i << 8) | b] = tl[(i << 8) | (b ^ low)] ^ tl[(i << 8) | low];
                }
            }
        }

        private static ulong ReadUInt64(ReadOnlySpan<byte> bytes, int offset) => BinaryPrimitives.ReadUInt64BigEndian(bytes.Slice(offset, 8));

        private static void WriteUInt32(byte[] bytes, int offset, uint value)
        {
            bytes[offset] = (byte)(value >> 24);
            bytes[offset + 1] = (byte)(value >> 16);
            bytes[offset + 2] = (byte)(value >> 8);
            bytes[offset + 3] = (byte)value;
        }
    }
}
