using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ArmLab
{
    /// <summary>What the spec check found for one request.</summary>
    public sealed record SpecCheck(string Spec, IReadOnlyList<string> Violations);

    /// <summary>
    /// Checks requests against the OpenAPI 2.0 (swagger) files under specs/ (verbatim copies from
    /// Azure/azure-rest-api-specs): the operation by method and path template (a request no kept operation
    /// describes is a violation), api-version (the file's version), path, query and header parameters
    /// (type, pattern, minLength/maxLength, minimum/maximum, enum; required ones present; undeclared query
    /// parameters refused), and the body: required, type, enum (x-ms-enum modelAsString allows any string),
    /// pattern/length/range, readOnly properties sent, unknown properties (strict, as oav's
    /// OBJECT_ADDITIONAL_PROPERTIES). $refs are resolved across files lazily; a parameter $ref into a file the
    /// lab does not keep is a violation (SPEC_INCOMPLETE); a schema $ref into such a file leaves that part of a
    /// body unchecked.
    /// </summary>
    public sealed class SpecValidator
    {
        private readonly string root;
        private readonly ConcurrentDictionary<string, JsonNode?> files = new ConcurrentDictionary<string, JsonNode?>(StringComparer.Ordinal);
        private readonly List<OperationSpec> operations = new List<OperationSpec>();

        private sealed record OperationSpec(string File, string Version, string Template, Regex Path, string Method, JsonObject Operation, JsonArray? PathParameters);

        public SpecValidator(string root)
        {
            this.root = Path.GetFullPath(root);
            if (!Directory.Exists(this.root)) return;
            foreach (var f in Directory.EnumerateFiles(this.root, "*.json", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal))
            {
                var doc = Load(f);
                if (doc?["paths"] is not JsonObject paths) continue;
                var version = (string?)doc["info"]?["version"] ?? "";
                foreach (var (template, item) in paths)
                {
                    if (item is not JsonObject pathItem) continue;
                    var regex = new Regex("^" + string.Join("/", template.Split('/').Select(s => s.StartsWith('{') && s.EndsWith('}') ? "[^/]+" : Regex.Escape(s))) + "/?$",
                        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
                    foreach (var (method, op) in pathItem)
                    {
                        if (method == "parameters" || op is not JsonObject opObject) continue;
                        operations.Add(new OperationSpec(f, version, template, regex, method.ToUpperInvariant(), opObject, pathItem["parameters"] as JsonArray));
                    }
                }
            }
        }

        public int OperationCount => operations.Count;

        private string Relative(string file) => Path.GetRelativePath(root, file).Replace('\\', '/');

        private JsonNode? Load(string file) => files.GetOrAdd(file, f =>
        {
            if (!File.Exists(f)) return null;
            try { return JsonNode.Parse(File.ReadAllText(f), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip }); }
            catch (JsonException) { return null; }
        });

        /// <summary>
        /// Checks one request: the operation by method and path template (none: a violation, the lab answers only what the
        /// kept files describe), api-version (the file's version), path parameters (type, pattern, length, enum), query
        /// parameters (declared ones checked, required ones present, undeclared ones refused; <c>$skiptoken</c> is allowed on
        /// <c>x-ms-pageable</c> operations because a <c>nextLink</c> is the service's opaque URL), header parameters the
        /// operation declares, and the body.
        /// </summary>
        public SpecCheck Check(string method, string path, IReadOnlyDictionary<string, string> query, JsonNode? body, IReadOnlyDictionary<string, string>? headers = null)
        {
            var candidates = operations.Where(o => o.Method == method && o.Path.IsMatch(path)).ToList();
            if (candidates.Count == 0)
            {
                return new SpecCheck("none", new[] { $"{method} {path}: no operation of the kept swagger files (tests/lab/arm/specs) has this method and path [OPERATION_NOT_FOUND]" });
            }
            // The most specific template (fewest parameters) wins, as routers do.
            var op = candidates.OrderBy(o => o.Template.Count(c => c == '{')).First();
            var operationId = (string?)op.Operation["operationId"] ?? op.Method + " " + op.Template;
            var name = $"{Relative(op.File)}#{operationId}";
            var errors = new List<string>();
            query.TryGetValue("api-version", out var apiVersion);
            if (apiVersion != op.Version)
            {
                errors.Add($"query api-version: '{apiVersion}' is not the version of {Relative(op.File)} ({op.Version}) [API_VERSION]");
            }

            var parameters = new List<(JsonObject P, string File)>();
            foreach (var list in new[] { op.PathParameters, op.Operation["parameters"] as JsonArray })
            {
                foreach (var p in list ?? new JsonArray())
                {
                    var (resolved, file) = Resolve(p, op.File);
                    if (resolved is JsonObject po) parameters.Add((po, file));
                    else errors.Add($"parameter {(string?)p?["$ref"]}: not in the kept swagger files, add it to tests/lab/arm/specs [SPEC_INCOMPLETE]");
                }
            }
            var pathValues = PathValues(op.Template, path);
            var declaredQuery = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "api-version" };
            var hasBody = false;
            foreach (var (p, file) in parameters)
            {
                var pname = (string?)p["name"] ?? "";
                var pin = (string?)p["in"];
                var required = (bool?)p["required"] ?? false;
                switch (pin)
                {
                    case "path":
                        if (!pathValues.TryGetValue(pname, out var segment) || segment.Length == 0)
                        {
                            errors.Add($"path {pname}: required parameter is missing [REQUIRED_PARAMETER]");
                            continue;
                        }
                        CheckScalar(JsonValue.Create(segment), p, file, "path " + pname, errors, fromString: true);
                        break;
                    case "query":
                        declaredQuery.Add(pname);
                        if (pname == "api-version") continue;
                        if (!query.TryGetValue(pname, out var value) || value.Length == 0)
                        {
                            if (required) errors.Add($"query {pname}: required parameter is missing [REQUIRED_PARAMETER]");
                            continue;
                        }
                        CheckScalar(JsonValue.Create(value), p, file, "query " + pname, errors, fromString: true);
                        break;
                    case "header":
                        string? header = null;
                        if (headers != null)
                        {
                            foreach (var (k, v) in headers) if (string.Equals(k, pname, StringComparison.OrdinalIgnoreCase)) header = v;
                        }
                        if (string.IsNullOrEmpty(header))
                        {
                            if (required) errors.Add($"header {pname}: required parameter is missing [REQUIRED_PARAMETER]");
                            continue;
                        }
                        CheckScalar(JsonValue.Create(header), p, file, "header " + pname, errors, fromString: true);
                        break;
                    case "body":
                        hasBody = true;
                        if (body == null)
                        {
                            if (required) errors.Add("body: the request body is required [REQUIRED_PARAMETER]");
                            continue;
                        }
                        if (p["schema"] is JsonNode schema) Validate(body, schema, file, "$", errors, 0);
                        break;
                }
            }
            var pageable = op.Operation["x-ms-pageable"] != null;
            foreach (var key in query.Keys)
            {
                if (declaredQuery.Contains(key)) continue;
                if (pageable && key == "$skiptoken") continue; // part of the service's own nextLink
                errors.Add($"query {key}: not a parameter of {operationId} [UNKNOWN_QUERY_PARAMETER]");
            }
            if (!hasBody && body != null && !(body is JsonObject o && o.Count == 0))
            {
                errors.Add("body: the operation takes no request body [BODY_NOT_ALLOWED]");
            }
            return new SpecCheck(name, errors);
        }

        /// <summary>The values of a template's whole-segment parameters ({name}) in a request path, URL-decoded.</summary>
        private static Dictionary<string, string> PathValues(string template, string path)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            var t = template.Trim('/').Split('/');
            var p = path.Trim('/').Split('/');
            for (var i = 0; i < t.Length && i < p.Length; i++)
            {
                if (t[i].StartsWith('{') && t[i].EndsWith('}')) values[t[i].Substring(1, t[i].Length - 2)] = Uri.UnescapeDataString(p[i]);
            }
            return values;
        }

        /// <summary>Follows $ref (relative file path and JSON pointer) until a node without one; (null, file) when the file is not kept.</summary>
        private (JsonNode? Node, string File) Resolve(JsonNode? node, string file)
        {
            for (var hops = 0; hops < 32 && node is JsonObject o && o["$ref"] is JsonNode r; hops++)
            {
                var reference = (string)r!;
                var hash = reference.IndexOf('#');
                var filePart = hash < 0 ? reference : reference.Substring(0, hash);
                var pointer = hash < 0 ? "" : reference.Substring(hash + 1);
                if (filePart.Length > 0) file = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, filePart));
                var doc = Load(file);
                if (doc == null) return (null, file);
                node = doc;
                foreach (var segment in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries))
                {
                    var s = segment.Replace("~1", "/").Replace("~0", "~");
                    node = node is JsonObject obj ? obj[s] : null;
                    if (node == null) return (null, file);
                }
            }
            return (node, file);
        }

        private sealed class Merged
        {
            public Dictionary<string, (JsonNode Schema, string File)> Properties { get; } = new Dictionary<string, (JsonNode, string)>(StringComparer.Ordinal);
            public HashSet<string> Required { get; } = new HashSet<string>(StringComparer.Ordinal);
            public (JsonNode Schema, string File)? Additional { get; set; }
            public bool AnyAdditional { get; set; }
            public bool Incomplete { get; set; }
        }

        private void Merge(JsonNode? schemaNode, string file, Merged into, int depth)
        {
            var (s, f) = Resolve(schemaNode, file);
            if (s is not JsonObject schema || depth > 16)
            {
                into.Incomplete = true;
                return;
            }
            if (schema["properties"] is JsonObject props)
            {
                foreach (var (k, v) in props) if (v != null && !into.Properties.ContainsKey(k)) into.Properties[k] = (v, f);
            }
            foreach (var r in schema["required"] as JsonArray ?? new JsonArray()) into.Required.Add((string)r!);
            if (schema["additionalProperties"] is JsonNode ap)
            {
                if (ap is JsonValue v && v.TryGetValue<bool>(out var b)) into.AnyAdditional |= b;
                else into.Additional = (ap, f);
            }
            foreach (var part in schema["allOf"] as JsonArray ?? new JsonArray()) Merge(part, f, into, depth + 1);
        }

        private void Validate(JsonNode? node, JsonNode schemaNode, string file, string path, List<string> errors, int depth)
        {
            if (depth > 64) return;
            var (s, f) = Resolve(schemaNode, file);
            if (s is not JsonObject schema) return; // not kept: unchecked
            if (node == null)
            {
                if (!((bool?)schema["x-nullable"] ?? false)) errors.Add($"{path}: null is not allowed [INVALID_TYPE]");
                return;
            }
            var type = (string?)schema["type"];
            if (type == null && (schema["properties"] != null || schema["allOf"] != null || schema["additionalProperties"] != null)) type = "object";
            switch (type)
            {
                case "object":
                    if (node is not JsonObject obj)
                    {
                        errors.Add($"{path}: expected an object, got {Kind(node)} [INVALID_TYPE]");
                        return;
                    }
                    var merged = new Merged();
                    Merge(schema, f, merged, 0);
                    foreach (var (key, value) in obj)
                    {
                        var childPath = path + "." + key;
                        if (merged.Properties.TryGetValue(key, out var prop))
                        {
                            var (ps, _) = Resolve(prop.Schema, prop.File);
                            if (((bool?)prop.Schema["readOnly"] ?? false) || ((bool?)ps?["readOnly"] ?? false))
                            {
                                errors.Add($"{childPath}: read-only property sent in a request [READONLY_PROPERTY_NOT_ALLOWED_IN_REQUEST]");
                                continue;
                            }
                            Validate(value, prop.Schema, prop.File, childPath, errors, depth + 1);
                        }
                        else if (merged.Additional is { } additional)
                        {
                            Validate(value, additional.Schema, additional.File, childPath, errors, depth + 1);
                        }
                        else if (!merged.AnyAdditional && !merged.Incomplete)
                        {
                            errors.Add($"{childPath}: unknown property, not in the schema [OBJECT_ADDITIONAL_PROPERTIES]");
                        }
                    }
                    foreach (var req in merged.Required)
                    {
                        if (obj.ContainsKey(req)) continue;
                        if (merged.Properties.TryGetValue(req, out var rp) && ((bool?)rp.Schema["readOnly"] ?? false)) continue;
                        errors.Add($"{path}.{req}: required property is missing [OBJECT_MISSING_REQUIRED_PROPERTY]");
                    }
                    return;
                case "array":
                    if (node is not JsonArray arr)
                    {
                        errors.Add($"{path}: expected an array, got {Kind(node)} [INVALID_TYPE]");
                        return;
                    }
                    if (schema["items"] is JsonNode items)
                    {
                        for (var i = 0; i < arr.Count; i++) Validate(arr[i], items, f, $"{path}[{i}]", errors, depth + 1);
                    }
                    return;
                default:
                    CheckScalar(node, schema, f, path, errors, fromString: false);
                    return;
            }
        }

        private static readonly ConcurrentDictionary<string, Regex> Patterns = new ConcurrentDictionary<string, Regex>(StringComparer.Ordinal);

        /// <summary>A swagger pattern (ECMA-262, as oav runs it: \w is [A-Za-z0-9_]).</summary>
        private static Regex Pattern(string pattern) => Patterns.GetOrAdd(pattern, p =>
        {
            try { return new Regex(p, RegexOptions.ECMAScript); }
            catch (ArgumentException) { return new Regex(p, RegexOptions.CultureInvariant); }
        });

        private static string Kind(JsonNode n) => n switch
        {
            JsonObject => "an object",
            JsonArray => "an array",
            JsonValue v => v.GetValueKind() switch
            {
                JsonValueKind.String => "a string",
                JsonValueKind.Number => "a number",
                JsonValueKind.True or JsonValueKind.False => "a boolean",
                _ => v.GetValueKind().ToString(),
            },
            _ => "?",
        };

        private void CheckScalar(JsonNode node, JsonObject schema, string file, string path, List<string> errors, bool fromString)
        {
            var type = (string?)schema["type"];
            if (node is not JsonValue v)
            {
                if (type != null) errors.Add($"{path}: expected {type}, got {Kind(node)} [INVALID_TYPE]");
                return;
            }
            var kind = v.GetValueKind();
            string? text = kind == JsonValueKind.String ? v.GetValue<string>() : null;
            switch (type)
            {
                case "string":
                    if (kind != JsonValueKind.String) { errors.Add($"{path}: expected a string, got {Kind(node)} [INVALID_TYPE]"); return; }
                    break;
                case "integer":
                    if (fromString ? !long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
                                   : kind != JsonValueKind.Number || !v.TryGetValue<long>(out _))
                    {
                        errors.Add($"{path}: expected an integer, got {Kind(node)} [INVALID_TYPE]");
                        return;
                    }
                    break;
                case "number":
                    if (fromString ? !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _) : kind != JsonValueKind.Number)
                    {
                        errors.Add($"{path}: expected a number, got {Kind(node)} [INVALID_TYPE]");
                        return;
                    }
                    break;
                case "boolean":
                    if (fromString ? !(text == "true" || text == "false") : !(kind == JsonValueKind.True || kind == JsonValueKind.False))
                    {
                        errors.Add($"{path}: expected a boolean, got {Kind(node)} [INVALID_TYPE]");
                        return;
                    }
                    break;
            }
            if (text != null)
            {
                if ((int?)schema["minLength"] is int min && text.Length < min) errors.Add($"{path}: '{text}' is shorter than {min} characters [MIN_LENGTH]");
                if ((int?)schema["maxLength"] is int max && text.Length > max) errors.Add($"{path}: '{text}' is longer than {max} characters [MAX_LENGTH]");
                if ((string?)schema["pattern"] is string pattern && !Pattern(pattern).IsMatch(text)) errors.Add($"{path}: '{text}' does not match the pattern {pattern} [PATTERN]");
            }
            if (kind == JsonValueKind.Number || (fromString && (type == "integer" || type == "number")))
            {
                var number = kind == JsonValueKind.Number ? v.GetValue<double>() : double.Parse(text!, NumberStyles.Float, CultureInfo.InvariantCulture);
                if ((double?)schema["minimum"] is double minimum && number < minimum) errors.Add($"{path}: {number.ToString(CultureInfo.InvariantCulture)} is less than the minimum {minimum.ToString(CultureInfo.InvariantCulture)} [MINIMUM]");
                if ((double?)schema["maximum"] is double maximum && number > maximum) errors.Add($"{path}: {number.ToString(CultureInfo.InvariantCulture)} is greater than the maximum {maximum.ToString(CultureInfo.InvariantCulture)} [MAXIMUM]");
            }
            if (schema["enum"] is JsonArray values && text != null)
            {
                var modelAsString = (bool?)schema["x-ms-enum"]?["modelAsString"] ?? false;
                if (!modelAsString && !values.Any(e => (string?)e == text))
                {
                    var caseOnly = values.Any(e => string.Equals((string?)e, text, StringComparison.OrdinalIgnoreCase));
                    errors.Add($"{path}: '{text}' is not one of [{string.Join(", ", values.Select(e => (string?)e))}] [{(caseOnly ? "ENUM_CASE_MISMATCH" : "ENUM_MISMATCH")}]");
                }
            }
        }
    }
}
