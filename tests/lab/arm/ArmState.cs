using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ArmLab
{
    /// <summary>
    /// The resources of the lab ARM, as their ARM JSON bodies keyed by lower-cased id. A body's "_lab"
    /// member holds what only the lab needs (disk blob, boot time, ...) and never leaves the server.
    /// Saved to &lt;statedir&gt;/arm-state.json after each change, so a restart keeps them.
    /// </summary>
    public sealed class ArmState
    {
        private readonly Dictionary<string, JsonObject> resources = new Dictionary<string, JsonObject>(StringComparer.OrdinalIgnoreCase);
        private readonly string? file;

        public ArmState(string? file)
        {
            this.file = file;
            if (file != null && File.Exists(file))
            {
                var saved = JsonNode.Parse(File.ReadAllText(file))!.AsArray();
                foreach (var r in saved) Put(r!.AsObject().DeepClone().AsObject(), save: false);
            }
        }

        public object Gate { get; } = new object();

        public JsonObject? Get(string id) => resources.TryGetValue(Canonical(id), out var r) ? r : null;

        public IEnumerable<JsonObject> All => resources.Values.OrderBy(r => (string)r["id"]!, StringComparer.OrdinalIgnoreCase).ToList();

        public void Put(JsonObject resource, bool save = true)
        {
            resources[Canonical((string)resource["id"]!)] = resource;
            if (save) Save();
        }

        public bool Remove(string id)
        {
            var removed = resources.Remove(Canonical(id));
            if (removed) Save();
            return removed;
        }

        public void Save()
        {
            if (file == null) return;
            var array = new JsonArray(resources.Values.Select(r => (JsonNode)r.DeepClone()).ToArray());
            var tmp = file + ".tmp";
            File.WriteAllText(tmp, array.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
            File.Move(tmp, file, overwrite: true);
        }

        public static string Canonical(string id) => id.TrimEnd('/').ToLowerInvariant();

        /// <summary>The body as ARM answers it: without the lab's own "_lab" member.</summary>
        public static JsonObject Public(JsonObject resource)
        {
            var copy = resource.DeepClone().AsObject();
            copy.Remove("_lab");
            return copy;
        }

        public static JsonObject Lab(JsonObject resource)
        {
            if (resource["_lab"] is JsonObject lab) return lab;
            lab = new JsonObject();
            resource["_lab"] = lab;
            return lab;
        }
    }
}
