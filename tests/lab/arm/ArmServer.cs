using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace ArmLab
{
    /// <summary>One ARM request as the handlers see it.</summary>
    public sealed class Req
    {
        public Req(HttpContext ctx, string baseUrl, JsonNode? body)
        {
            Ctx = ctx;
            Method = ctx.Request.Method.ToUpperInvariant();
            Path = ctx.Request.Path.Value ?? "/";
            ApiVersion = ctx.Request.Query["api-version"].ToString();
            BaseUrl = baseUrl;
            Body = body;
        }

        public HttpContext Ctx { get; }
        public string Method { get; }
        public string Path { get; }
        public string ApiVersion { get; }
        public string BaseUrl { get; }
        public JsonNode? Body { get; }
        /// <summary>The swagger operation the request was checked against (file#operationId), or null.</summary>
        public string? Spec { get; set; }
        public Match M { get; set; } = Match.Empty;
        public string G(string name) => M.Groups[name].Value;
        public string Query(string name) => Ctx.Request.Query[name].ToString();
    }

    /// <summary>An answer: status, JSON body (or none), extra headers.</summary>
    public sealed record Answer(int Status, JsonNode? Body, IReadOnlyDictionary<string, string>? Headers = null);

    /// <summary>A long-running operation of the async/location LRO modes.</summary>
    public sealed class Operation
    {
        public Operation(string id, Func<Task<Answer>> finish, string? issuedBy = null, string apiVersion = "")
        {
            Id = id;
            Finish = finish;
            IssuedBy = issuedBy;
            ApiVersion = apiVersion;
        }

        public string Id { get; }
        /// <summary>The swagger operation of the request that started it (file#operationId).</summary>
        public string? IssuedBy { get; }
        /// <summary>The api-version in the status URLs the lab issued.</summary>
        public string ApiVersion { get; }
        public Func<Task<Answer>> Finish { get; }
        public int Polls { get; set; }
        public Answer? Result { get; set; }
        public ArmException? Error { get; set; }
        public DateTimeOffset Start { get; } = DateTimeOffset.UtcNow;
        public DateTimeOffset? End { get; set; }
        public SemaphoreSlim Gate { get; } = new SemaphoreSlim(1, 1);
    }

    /// <summary>The lab ARM: routing, authentication, throttling, LRO modes, request log, spec checks.</summary>
    public sealed partial class ArmServer
    {
        private const string Rg = @"/subscriptions/(?<sub>[^/]+)/resourcegroups/(?<rg>[^/]+)";
        private readonly LabOptions options;
        private readonly Tokens tokens;
        private readonly ArmState state;
        private readonly DiskBlobs blobs;
        private readonly SpecValidator? specs;
        private readonly ConcurrentDictionary<string, Operation> operations = new ConcurrentDictionary<string, Operation>();
        private readonly List<(string Method, Regex Path, Func<Req, Task<Answer>> Handler)> routes = new List<(string, Regex, Func<Req, Task<Answer>>)>();
        private readonly object logGate = new object();
        private readonly List<JsonObject> requestLog = new List<JsonObject>();
        private readonly string requestsFile;
        private int armRequests;

        public ArmServer(LabOptions options, Tokens tokens, SpecValidator? specs)
        {
            this.options = options;
            this.tokens = tokens;
            this.specs = specs;
            state = new ArmState(options.Persist ? Path.Combine(options.StateDir, "arm-state.json") : null);
            blobs = new DiskBlobs(options);
            requestsFile = Path.Combine(options.StateDir, "requests.jsonl");
            Seed();
            Routes();
        }

        public string BaseUrl { get; set; } = "";

        // ARM does not escape apostrophes and the like in its JSON.
        public static JsonSerializerOptions Compact { get; } = new JsonSerializerOptions { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        private void Route(string method, string pattern, Func<Req, Task<Answer>> handler) =>
            routes.Add((method, new Regex("^" + pattern + "/?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant), handler));

        public async Task HandleAsync(HttpContext ctx)
        {
            var path = ctx.Request.Path.Value ?? "/";
            if (path.StartsWith("/lab/", StringComparison.OrdinalIgnoreCase))
            {
                await LabEndpointAsync(ctx, path);
                return;
            }
            if (IsKeyVaultPath(path))
            {
                await KeyVaultAsync(ctx, path);
                return;
            }
            var entra = await EntraAsync(ctx, path);
            if (entra) return;

            JsonNode? body = null;
            string? bodyError = null;
            if (ctx.Request.ContentLength > 0 || ctx.Request.Headers.TransferEncoding.Count > 0)
            {
                using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
                var text = await reader.ReadToEndAsync();
                if (text.Length > 0)
                {
                    try { body = JsonNode.Parse(text); }
                    catch (JsonException e) { bodyError = e.Message; }
                }
            }
            var req = new Req(ctx, BaseUrl, body);
            var record = new JsonObject
            {
                ["time"] = DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture),
                ["method"] = req.Method,
                ["path"] = path,
                ["query"] = ctx.Request.QueryString.Value ?? "",
                ["apiVersion"] = req.ApiVersion,
            };
            Answer answer;
            try
            {
                answer = await DispatchAsync(req, record, bodyError);
            }
            catch (ArmException e)
            {
                answer = Error(e);
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"armlab: {req.Method} {path}: {e}");
                answer = Error(500, "InternalServerError", "The lab ARM failed: " + e.Message);
            }
            record["status"] = answer.Status;
            if (answer.Body?["error"]?["code"] is JsonNode code) record["error"] = code.GetValue<string>();
            Log(record);
            await WriteAsync(ctx, answer);
        }

        private async Task<Answer> DispatchAsync(Req req, JsonObject record, string? bodyError)
        {
            // ARM authenticates first, then throttles, then validates.
            var auth = req.Ctx.Request.Headers.Authorization.ToString();
            if (string.IsNullOrEmpty(auth))
            {
                return new Answer(401, ErrorBody("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."),
                    new Dictionary<string, string> { ["WWW-Authenticate"] = $"Bearer authorization_uri=\"{BaseUrl}{options.Tenant}\", error=\"invalid_token\", error_description=\"The authentication failed because of missing 'Authorization' header.\"" });
            }
            if (!auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                return new Answer(401, ErrorBody("AuthenticationFailed", "Authentication failed. The 'Authorization' header is provided in an invalid format."));
            }
            var claims = tokens.Verify(auth.Substring(7).Trim(), BaseUrl, out var why);
            if (claims == null)
            {
                return new Answer(401, ErrorBody("InvalidAuthenticationToken", why),
                    new Dictionary<string, string> { ["WWW-Authenticate"] = $"Bearer authorization_uri=\"{BaseUrl}{options.Tenant}\", error=\"invalid_token\", error_description=\"{why}\"" });
            }
            record["caller"] = (string?)claims["idtyp"] + ":" + (string?)claims["sub"];

            var n = Interlocked.Increment(ref armRequests);
            if (options.ThrottleEvery > 0 && n % options.ThrottleEvery == 0)
            {
                record["throttled"] = true;
                return new Answer(429, ErrorBody("TooManyRequests", "The request is being throttled as the limit has been reached for operation type - Read_ObjectId. (lab ARM: --throttle-every " + options.ThrottleEvery + ")"),
                    new Dictionary<string, string> { ["Retry-After"] = "1" });
            }

            if (bodyError != null) return Error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: " + bodyError);

            var query = req.Ctx.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString());
            if (IsOperationPath(req.Path))
            {
                // An LRO status URL is the service's own (Azure-AsyncOperation/Location), not a swagger operation: checked
                // to be one the lab issued, followed as given (same api-version, no other query parameters).
                var poll = CheckPoll(req, query);
                record["spec"] = poll.Spec;
                if (poll.Violations.Count > 0)
                {
                    record["violations"] = new JsonArray(poll.Violations.Select(v => (JsonNode)v).ToArray());
                    return Error(400, "LabSpecViolation", $"The request does not conform to {poll.Spec}: " + string.Join("; ", poll.Violations));
                }
                return await PollAsync(req);
            }

            if (specs != null && options.ValidateSpecs)
            {
                var check = specs.Check(req.Method, req.Path, query, req.Body, req.Ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString()));
                record["spec"] = check.Spec;
                req.Spec = check.Spec;
                if (check.Violations.Count > 0)
                {
                    record["violations"] = new JsonArray(check.Violations.Select(v => (JsonNode)v).ToArray());
                    return Error(400, "LabSpecViolation", $"The request does not conform to {check.Spec}: " + string.Join("; ", check.Violations));
                }
            }

            foreach (var (method, regex, handler) in routes)
            {
                if (method != req.Method) continue;
                var m = regex.Match(req.Path);
                if (!m.Success) continue;
                req.M = m;
                if (m.Groups["sub"].Success && !string.Equals(m.Groups["sub"].Value, options.Subscription, StringComparison.OrdinalIgnoreCase))
                {
                    return Error(404, "SubscriptionNotFound", $"The subscription '{m.Groups["sub"].Value}' could not be found.");
                }
                if (m.Groups["rg"].Success && state.Get(RgId(m.Groups["rg"].Value)) == null)
                {
                    return Error(404, "ResourceGroupNotFound", $"Resource group '{m.Groups["rg"].Value}' could not be found.");
                }
                if (string.IsNullOrEmpty(req.ApiVersion))
                {
                    return Error(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
                }
                return await handler(req);
            }
            if (routes.Any(r => r.Path.IsMatch(req.Path)))
            {
                return Error(405, "MethodNotAllowed", $"The lab ARM does not support {req.Method} on {req.Path}.");
            }
            return Error(404, "LabNotImplemented", $"The lab ARM has no handler for {req.Method} {req.Path} (tests/lab/arm/README.md lists what it answers).");
        }

        // ---- answers -------------------------------------------------------------------------

        public static JsonObject ErrorBody(string code, string message) =>
            new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message } };

        public static Answer Error(int status, string code, string message) => new Answer(status, ErrorBody(code, message));

        public static Answer Error(ArmException e) => Error(e.Status, e.Code, e.Message);

        private static async Task WriteAsync(HttpContext ctx, Answer a)
        {
            ctx.Response.StatusCode = a.Status;
            ctx.Response.Headers["x-ms-request-id"] = Guid.NewGuid().ToString();
            ctx.Response.Headers["x-ms-correlation-request-id"] = ctx.Request.Headers["x-ms-client-request-id"].ToString() is { Length: > 0 } c ? c : Guid.NewGuid().ToString();
            if (a.Headers != null) foreach (var h in a.Headers) ctx.Response.Headers[h.Key] = h.Value;
            if (a.Body != null)
            {
                ctx.Response.ContentType = "application/json; charset=utf-8";
                await ctx.Response.WriteAsync(a.Body.ToJsonString(Compact));
            }
            else if (a.Status != 204)
            {
                ctx.Response.ContentLength = 0;
            }
        }

        private void Log(JsonObject record)
        {
            lock (logGate)
            {
                requestLog.Add(record);
                File.AppendAllText(requestsFile, record.ToJsonString(Compact) + "\n");
            }
        }

        // ---- lab endpoints -------------------------------------------------------------------

        private async Task LabEndpointAsync(HttpContext ctx, string path)
        {
            JsonNode body;
            var disk = Regex.Match(path.TrimEnd('/'), @"^/lab/disks/(?<name>[^/]+)/sas$", RegexOptions.IgnoreCase);
            if (disk.Success)
            {
                await WriteAsync(ctx, GuestWriteSas(ctx, Uri.UnescapeDataString(disk.Groups["name"].Value)));
                return;
            }
            var secret = Regex.Match(path.TrimEnd('/'), @"^/lab/secrets/(?<name>[0-9a-zA-Z-]+)$", RegexOptions.IgnoreCase);
            if (secret.Success)
            {
                await WriteAsync(ctx, await PutLabSecretAsync(ctx, secret.Groups["name"].Value));
                return;
            }
            switch (path.TrimEnd('/').ToLowerInvariant())
            {
                case "/lab/health":
                    body = new JsonObject { ["status"] = "ok", ["lro"] = options.Lro, ["subscription"] = options.Subscription, ["tenant"] = options.Tenant };
                    break;
                case "/lab/violations":
                    lock (logGate) body = new JsonArray(requestLog.Where(r => r["violations"] != null).Select(r => (JsonNode)r.DeepClone()).ToArray());
                    break;
                case "/lab/requests":
                    lock (logGate) body = new JsonArray(requestLog.Select(r => (JsonNode)r.DeepClone()).ToArray());
                    break;
                case "/lab/resources":
                    lock (state.Gate) body = new JsonArray(state.All.Select(r => (JsonNode)ArmState.Public(r)).ToArray());
                    break;
                default:
                    await WriteAsync(ctx, Error(404, "LabNotFound", "GET /lab/health, /lab/violations, /lab/requests, /lab/resources; POST /lab/disks/{name}/sas?access=write[&resourceGroup=RG]; PUT /lab/secrets/{name}"));
                    return;
            }
            await WriteAsync(ctx, new Answer(200, body));
        }

        /// <summary>
        /// POST /lab/disks/{name}/sas?access=write[&amp;resourceGroup=RG]: a lab-only back door, standing in for the guest
        /// writing to its disk (Azure has no such thing: beginGetAccess Write is for Upload disks only). Answers
        /// {"accessSAS": read+write SAS of the disk's Azurite page blob, "diskId": ...}, whatever the disk's state.
        /// </summary>
        private Answer GuestWriteSas(HttpContext ctx, string name)
        {
            if (!HttpMethods.IsPost(ctx.Request.Method)) return Error(405, "MethodNotAllowed", "POST /lab/disks/{name}/sas?access=write");
            var access = ctx.Request.Query["access"].ToString();
            if (!string.Equals(access, "write", StringComparison.OrdinalIgnoreCase))
            {
                return Error(400, "InvalidParameter", $"access={access}: the lab's disk back door gives write SASs only (access=write); read a disk through beginGetAccess Read or a snapshot.");
            }
            var rg = ctx.Request.Query["resourceGroup"].ToString();
            List<JsonObject> disks;
            lock (state.Gate)
            {
                disks = state.All.Where(r => string.Equals((string?)r["type"], "Microsoft.Compute/disks", StringComparison.OrdinalIgnoreCase)
                                             && string.Equals((string?)r["name"], name, StringComparison.OrdinalIgnoreCase)
                                             && (rg.Length == 0 || ((string)r["id"]!).Split('/')[4].Equals(rg, StringComparison.OrdinalIgnoreCase))).ToList();
            }
            if (disks.Count == 0) return Error(404, "ResourceNotFound", $"The lab ARM has no managed disk '{name}'{(rg.Length > 0 ? " in resource group " + rg : "")}.");
            if (disks.Count > 1) return Error(409, "Ambiguous", $"Managed disks named '{name}' are in several resource groups: add ?resourceGroup=.");
            var blob = (string)ArmState.Lab(disks[0])["blob"]!;
            var sas = blobs.Sas(blob, write: true, 3600);
            return new Answer(200, new JsonObject { ["accessSAS"] = sas.ToString(), ["diskId"] = disks[0]["id"]!.DeepClone() });
        }

        // ---- long-running operations ---------------------------------------------------------

        private static bool IsOperationPath(string path) =>
            Regex.IsMatch(path, @"^/subscriptions/[^/]+/providers/[^/]+/locations/[^/]+/(operations|operationResults)/[^/]+/?$", RegexOptions.IgnoreCase);

        /// <summary>
        /// Answers a mutation per the LRO mode. sync: runs <paramref name="finish"/> and answers its result.
        /// async: <paramref name="asyncStatus"/> with Azure-AsyncOperation and Location; location: the same status with Location only.
        /// </summary>
        private async Task<Answer> LroAsync(Req req, string provider, int asyncStatus, JsonNode? initialBody, Func<Task<Answer>> finish)
        {
            if (options.Lro == "sync") return await finish();
            var op = new Operation(Guid.NewGuid().ToString(), finish, req.Spec, req.ApiVersion);
            operations[op.Id] = op;
            var baseOp = $"{BaseUrl}subscriptions/{options.Subscription}/providers/{provider}/locations/{options.Location}/operations/{op.Id}?api-version={req.ApiVersion}";
            var headers = new Dictionary<string, string> { ["Location"] = baseOp + "&monitor=true" };
            if (options.Lro == "async") headers["Azure-AsyncOperation"] = baseOp;
            return new Answer(asyncStatus, initialBody, headers);
        }

        /// <summary>An LRO status request: the operation must be one the lab issued, its URL followed as given.</summary>
        private SpecCheck CheckPoll(Req req, IReadOnlyDictionary<string, string> query)
        {
            var id = req.Path.TrimEnd('/').Split('/').Last();
            if (!operations.TryGetValue(id, out var op)) return new SpecCheck("lro-status (unknown operation)", Array.Empty<string>()); // PollAsync answers 404
            var name = $"lro-status of {op.IssuedBy ?? "?"}";
            var errors = new List<string>();
            if (req.Method != "GET") errors.Add($"{req.Method}: an operation status URL is read with GET [LRO_URL_ALTERED]");
            if (!string.Equals(req.ApiVersion, op.ApiVersion, StringComparison.Ordinal))
            {
                errors.Add($"query api-version: '{req.ApiVersion}' is not the '{op.ApiVersion}' of the status URL the lab issued [LRO_URL_ALTERED]");
            }
            foreach (var key in query.Keys.Where(k => k != "api-version" && k != "monitor"))
            {
                errors.Add($"query {key}: not in the status URL the lab issued [LRO_URL_ALTERED]");
            }
            return new SpecCheck(name, errors);
        }

        private async Task<Answer> PollAsync(Req req)
        {
            var id = req.Path.TrimEnd('/').Split('/').Last();
            if (!operations.TryGetValue(id, out var op)) return Error(404, "OperationNotFound", $"The operation '{id}' was not found.");
            await op.Gate.WaitAsync();
            try
            {
                if (op.Result == null && op.Error == null)
                {
                    if (op.Polls++ == 0)
                    {
                        // First poll: still running.
                    }
                    else
                    {
                        try
                        {
                            var r = await op.Finish();
                            if (r.Status >= 400) op.Error = new ArmException(r.Status, (string?)r.Body?["error"]?["code"] ?? "Failed", (string?)r.Body?["error"]?["message"] ?? "failed");
                            else op.Result = r;
                        }
                        catch (ArmException e) { op.Error = e; }
                        op.End = DateTimeOffset.UtcNow;
                    }
                }
            }
            finally { op.Gate.Release(); }

            var monitor = string.Equals(req.Query("monitor"), "true", StringComparison.OrdinalIgnoreCase);
            if (monitor)
            {
                if (op.Error != null) return Error(op.Error);
                if (op.Result == null)
                {
                    return new Answer(202, null, new Dictionary<string, string> { ["Location"] = $"{BaseUrl}{req.Path.TrimStart('/')}?{req.Ctx.Request.QueryString.Value?.TrimStart('?')}" });
                }
                return op.Result.Body == null ? new Answer(200, null) : new Answer(200, op.Result.Body.DeepClone());
            }
            var status = new JsonObject
            {
                ["startTime"] = op.Start.ToString("o", CultureInfo.InvariantCulture),
                ["status"] = op.Error != null ? "Failed" : op.Result != null ? "Succeeded" : "InProgress",
                ["name"] = op.Id,
            };
            if (op.End != null) status["endTime"] = op.End.Value.ToString("o", CultureInfo.InvariantCulture);
            if (op.Error != null) status["error"] = new JsonObject { ["code"] = op.Error.Code, ["message"] = op.Error.Message };
            if (op.Result?.Body is JsonObject result && result["accessSAS"] != null)
            {
                status["properties"] = new JsonObject { ["output"] = result.DeepClone() };
            }
            return new Answer(200, status);
        }

        // ---- helpers -------------------------------------------------------------------------

        private string RgId(string rg) => $"/subscriptions/{options.Subscription}/resourceGroups/{rg}";

        private static string Now() => DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture);

        private JsonObject Require(string id, string typeForMessage)
        {
            var r = state.Get(id);
            if (r == null)
            {
                var parts = id.Split('/');
                var rg = parts.Length > 4 ? parts[4] : "";
                throw new ArmException(404, "ResourceNotFound", $"The Resource '{typeForMessage}/{parts.Last()}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix");
            }
            return r;
        }

        /// <summary>The canonical resource id of a request path: the rg part as seeded, the rest as sent.</summary>
        private string ResourceId(Req req, string provider, string type, string name)
        {
            var rg = (string)state.Get(RgId(req.G("rg")))!["name"]!;
            return $"/subscriptions/{options.Subscription}/resourceGroups/{rg}/providers/{provider}/{type}/{name}";
        }

        private static JsonObject Tags(JsonNode? body) => body?["tags"] is JsonObject t ? t.DeepClone().AsObject() : new JsonObject();

        private string LocationOf(JsonNode? body)
        {
            var loc = (string?)body?["location"];
            if (string.IsNullOrEmpty(loc)) throw new ArmException(400, "LocationRequired", "The location property is required for this definition.");
            var norm = loc.Replace(" ", "").ToLowerInvariant();
            if (norm != options.Location.ToLowerInvariant())
            {
                throw new ArmException(400, "LocationNotAvailableForResourceType", $"The provided location '{loc}' is not available for resource type in the lab. List of available regions for the resource type is '{options.Location}'.");
            }
            return norm;
        }
    }
}
