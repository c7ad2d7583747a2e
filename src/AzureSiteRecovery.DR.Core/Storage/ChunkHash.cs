using System;
using System.Globalization;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>
    /// A 32-byte digest (SHA-256 of a chunk's plain content, or a chunk's keyed object name), held
    /// as four words so that sets of millions stay compact. <c>default</c> (<see cref="Zero"/>)
    /// stands for an all-zero chunk, which is never stored.
    /// </summary>
    public readonly struct ChunkHash : IEquatable<ChunkHash>
    {
        public const int Length = 32;
        private readonly ulong a, b, c, d;

        private ChunkHash(ulong a, ulong b, ulong c, ulong d)
        {
            this.a = a;
            this.b = b;
            this.c = c;
            this.d = d;
        }

        /// <summary>The marker of an all-zero chunk.</summary>
        public static ChunkHash Zero => default;

        public bool IsZero => (a | b | c | d) == 0;

        public static ChunkHash FromBytes(byte[] bytes, int offset = 0)
        {
            if (bytes.Length - offset < Length) throw new ArgumentException("A chunk hash is 32 bytes.", nameof(bytes));
            return new ChunkHash(Read(bytes, offset), Read(bytes, offset + 8), Read(bytes, offset + 16), Read(bytes, offset + 24));
        }

        /// <summary>Parses 64 hex digits; false for anything else.</summary>
        public static bool TryParse(string hex, out ChunkHash hash)
        {
            hash = default;
            if (hex is null || hex.Length != Length * 2) return false;
            var bytes = new byte[Length];
            for (var i = 0; i < Length; i++)
            {
                if (!byte.TryParse(hex.Substring(i * 2, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out bytes[i])) return false;
            }
            hash = FromBytes(bytes);
            return true;
        }

        public byte[] ToBytes()
        {
            var bytes = new byte[Length];
            CopyTo(bytes, 0);
            return bytes;
        }

        public void CopyTo(byte[] destination, int offset)
        {
            Write(a, destination, offset);
            Write(b, destination, offset + 8);
            Write(c, destination, offset + 16);
            Write(d, destination, offset + 24);
        }

        /// <summary>Lower-case hex, 64 digits.</summary>
        public override string ToString()
        {
            var chars = new char[Length * 2];
            var bytes = ToBytes();
            for (var i = 0; i < Length; i++)
            {
                chars[i * 2] = Hex(bytes[i] >> 4);
                chars[i * 2 + 1] = Hex(bytes[i] & 15);
            }
            return new string(chars);
        }

        public bool Equals(ChunkHash other) => a == other.a && b == other.b && c == other.c && d == other.d;

        public override bool Equals(object? obj) => obj is ChunkHash other && Equals(other);

        // The bytes are a uniformly random digest: any 4 of them make a good hash code.
        public override int GetHashCode() => (int)a;

        public static bool operator ==(ChunkHash left, ChunkHash right) => left.Equals(right);

        public static bool operator !=(ChunkHash left, ChunkHash right) => !left.Equals(right);

        private static char Hex(int nibble) => (char)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);

        private static ulong Read(byte[] bytes, int offset)
        {
            ulong value = 0;
            for (var i = 0; i < 8; i++) value = (value << 8) | bytes[offset + i];
            return value;
        }

        private static void Write(ulong value, byte[] bytes, int offset)
        {
            for (var i = 7; i >= 0; i--)
            {
                bytes[offset + i] = (byte)value;
                value >>= 8;
            }
        }
    }
}
