using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace AzureSiteRecovery.DR.Core.Vault
{
    /// <summary>The vault's JSON columns: objects of strings (job parameters, step details) and lists of strings (a VM's networks). Empty is stored as NULL.</summary>
    internal static class StringMap
    {
        private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

        public static string? Write(IReadOnlyDictionary<string, string>? map) =>
            map is null || map.Count == 0 ? null : JsonSerializer.Serialize(map.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value));

        public static IReadOnlyDictionary<string, string> Read(string? json) =>
            string.IsNullOrEmpty(json) ? Empty : JsonSerializer.Deserialize<Dictionary<string, string>>(json!) ?? new Dictionary<string, string>();

        public static string? WriteList(IReadOnlyList<string>? list) =>
            list is null || list.Count == 0 ? null : JsonSerializer.Serialize(list);

        public static IReadOnlyList<string> ReadList(string? json) =>
            string.IsNullOrEmpty(json) ? Array.Empty<string>() : (IReadOnlyList<string>?)JsonSerializer.Deserialize<List<string>>(json!) ?? Array.Empty<string>();
    }
}
