using System;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>A byte range of a disk: a changed area from CBT, or what a cycle copies.</summary>
    public readonly struct DiskExtent : IEquatable<DiskExtent>
    {
        public DiskExtent(long offset, long length)
        {
            if (offset < 0 || length < 0) throw new ArgumentOutOfRangeException(nameof(offset), "An extent cannot have a negative offset or length.");
            Offset = offset;
            Length = length;
        }

        public long Offset { get; }
        public long Length { get; }
        public long End => Offset + Length;

        public bool Equals(DiskExtent other) => Offset == other.Offset && Length == other.Length;

        public override bool Equals(object? obj) => obj is DiskExtent other && Equals(other);

        public override int GetHashCode() => Offset.GetHashCode() * 31 + Length.GetHashCode();

        public override string ToString() => $"[{Offset}, {End})";
    }
}
