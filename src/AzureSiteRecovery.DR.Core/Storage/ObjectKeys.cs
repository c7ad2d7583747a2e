using System;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>
    /// The key layout of a chunk store and the rules every key follows: '/'-separated segments of
    /// letters, digits, '.', '_' and '-', none starting with '.' (the local store keeps its own
    /// work files under such names). Chunks fan out over 256 folders by their first two hex digits,
    /// as restic does: a million chunks (4 TiB at 4 MiB) make about 4,000 files per folder.
    /// </summary>
    public static class ObjectKeys
    {
        public const string ChunkPrefix = "chunks/";
        public const string PointPrefix = "points/";
        public const string ResumePrefix = "resume/";
        public const int MaxKeyLength = 512;
        public const int MaxIdLength = 128;

        /// <summary>The key of a chunk object from its (keyed) name in hex.</summary>
        public static string Chunk(string nameHex) => ChunkPrefix + nameHex.Substring(0, 2) + "/" + nameHex;

        /// <summary>The key of a recovery point manifest.</summary>
        public static string Point(string vmId, string pointId)
        {
            ValidateId(vmId, "VM id");
            ValidateId(pointId, "recovery point id");
            return PointPrefix + vmId + "/" + pointId;
        }

        /// <summary>The key of a VM's resume record (what an interrupted cycle stored; see <see cref="ResumeRecord"/>).</summary>
        public static string Resume(string vmId)
        {
            ValidateId(vmId, "VM id");
            return ResumePrefix + vmId;
        }

        /// <summary>The prefix under which the points of one VM (or of every VM, for null) are.</summary>
        public static string PointsOf(string? vmId)
        {
            if (vmId is null) return PointPrefix;
            ValidateId(vmId, "VM id");
            return PointPrefix + vmId + "/";
        }

        public static void Validate(string key)
        {
            if (string.IsNullOrEmpty(key)) throw new ArgumentException("An object key is required.", nameof(key));
            if (key.Length > MaxKeyLength) throw new ArgumentException($"The object key '{key}' is longer than {MaxKeyLength} characters.", nameof(key));
            foreach (var segment in key.Split('/'))
            {
                if (segment.Length == 0 || segment[0] == '.' || !IsSafe(segment))
                {
                    throw new ArgumentException($"The object key '{key}' is not valid: each '/'-separated part must be letters, digits, '.', '_' or '-', and not start with '.'.", nameof(key));
                }
            }
        }

        /// <summary>Ids that become one key segment (VM ids, point ids, disk keys).</summary>
        public static void ValidateId(string id, string what)
        {
            if (string.IsNullOrEmpty(id) || id.Length > MaxIdLength || id[0] == '.' || !IsSafe(id))
            {
                throw new ArgumentException($"The {what} '{id}' is not valid: 1 to {MaxIdLength} letters, digits, '.', '_' or '-', not starting with '.'.");
            }
        }

        private static bool IsSafe(string segment)
        {
            foreach (var c in segment)
            {
                var ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
                if (!ok) return false;
            }
            return true;
        }
    }
}
