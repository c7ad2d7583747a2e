using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using YamlDotNet.Core;

namespace AzureSiteRecovery.DR.Core.Orchestration.Plans
{
    /// <summary>
    /// Reads a recovery plan's YAML into a <see cref="RecoveryPlan"/> with a strict schema: unknown
    /// keys, wrong types, missing fields, bad durations and duplicate names are all reported, each
    /// with its file:line:column, in one <see cref="RecoveryPlanException"/>.
    /// </summary>
    public static class RecoveryPlanParser
    {
        /// <summary>More than this many mistakes are cut off: the first ones are enough to start fixing.</summary>
        public const int MaxReportedErrors = 25;

        /// <summary>The largest plan text read, in characters; a real plan is a few KB.</summary>
        public const int MaxPlanLength = 1024 * 1024;

        /// <summary>Hard limits on lists, checked before an item is read (Test-RecoveryPlan has the tighter, friendlier ones).</summary>
        public const int MaxGroups = 1000;
        public const int MaxVms = 10_000;
        public const int MaxValidationsPerVm = 100;
        public const int MaxActionsPerGroup = 100;
        public const int MaxNetworkMappings = 1000;
        public const int MaxProtectionGroupsPerGroup = 1000;

        /// <summary>Parses <paramref name="yaml"/>; <paramref name="source"/> names it in messages (a file name, or the plan's name).</summary>
        public static RecoveryPlan Parse(string yaml, string source)
        {
            if (yaml is null) throw new ArgumentNullException(nameof(yaml));
            if (string.IsNullOrEmpty(source)) throw new ArgumentException("A source name is required.", nameof(source));

            var reader = new SchemaReader(source);
            if (yaml.Length > MaxPlanLength)
            {
                var (line, column) = PositionOf(yaml, MaxPlanLength);
                reader.Fail(line, column, $"the plan is {yaml.Length:N0} characters long; at most {MaxPlanLength:N0} are read (a plan is a few KB): split it into several plans");
                throw reader.ToException();
            }

            PlanYamlNode? root;
            try
            {
                root = PlanYamlReader.Read(yaml);
            }
            catch (PlanYamlLimitException ex)
            {
                reader.Fail((int)ex.Start.Line, (int)ex.Start.Column, SyntaxMessage(ex));
                throw reader.ToException();
            }
            catch (YamlException ex)
            {
                reader.Fail((int)ex.Start.Line, (int)ex.Start.Column, "YAML syntax: " + SyntaxMessage(ex));
                throw reader.ToException();
            }

            if (root is null || root is PlanYamlScalar { IsNull: true })
            {
                reader.Fail(1, 1, "the plan is empty; expected a mapping with name, protectedSite, recoverySite and groups");
                throw reader.ToException();
            }

            var plan = reader.ReadPlan(root);
            if (reader.HasErrors)
            {
                throw reader.ToException();
            }

            return plan! with { Yaml = yaml };
        }

        /// <summary>The 1-based line and column of the character at <paramref name="offset"/>.</summary>
        private static (int Line, int Column) PositionOf(string text, int offset)
        {
            int line = 1, lineStart = 0;
            for (var i = 0; i < offset; i++)
            {
                if (text[i] == '\n')
                {
                    line++;
                    lineStart = i + 1;
                }
            }
            return (line, offset - lineStart + 1);
        }

        // YamlDotNet prefixes its own "(Line: 3, Col: 5, Idx: ...) - (...)": the location is already in front.
        private static string SyntaxMessage(YamlException ex)
        {
            var message = ex.Message;
            var dash = message.IndexOf("): ", StringComparison.Ordinal);
            return message.StartsWith("(Line:", StringComparison.Ordinal) && dash >= 0 ? message.Substring(dash + 3) : message;
        }

        /// <summary>Reads "00:05:00" (TimeSpan text) or "30s", "5m", "2h", "1h30m", "500ms"; null when the text is neither.</summary>
        public static TimeSpan? ParseDuration(string text)
        {
            if (string.IsNullOrWhiteSpace(text)) return null;
            text = text.Trim();
            // ASCII digits only: \d and TimeSpan accept other scripts' digits, which the number parsers then refuse.
            if (text.Any(c => char.IsDigit(c) && (c < '0' || c > '9'))) return null;
            if (text.IndexOf(':') >= 0)
            {
                return TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out var span) ? span : (TimeSpan?)null;
            }

            var match = Shorthand.Match(text);
            if (!match.Success || match.Length == 0) return null;
            long Part(string group) => match.Groups[group].Success ? long.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
            try
            {
                return TimeSpan.FromHours(Part("h")) + TimeSpan.FromMinutes(Part("m")) + TimeSpan.FromSeconds(Part("s")) + TimeSpan.FromMilliseconds(Part("ms"));
            }
            catch (OverflowException)
            {
                return null;
            }
        }

        private static readonly Regex Shorthand = new Regex(
            @"^(?:(?<h>[0-9]{1,6})h)?(?:(?<m>[0-9]{1,7})m(?!s))?(?:(?<s>[0-9]{1,9})s)?(?:(?<ms>[0-9]{1,9})ms)?$", RegexOptions.CultureInvariant);

        private const string DurationHint = "a duration such as 30s or 00:00:30";

        // Azure VM size names: Standard_D2s_v3, Basic_A0, Standard_M416-208s_v2.
        private static readonly Regex AzureVmSize = new Regex(@"^[A-Za-z][A-Za-z0-9_-]{0,79}$", RegexOptions.CultureInvariant);

        private static readonly string[] PlanKeys = { "name", "description", "protectedSite", "recoverySite", "networkMappings", "groups", "rtoTarget" };
        private static readonly string[] GroupKeys = { "name", "vms", "protectionGroups", "bootDelay", "startTimeout", "waitFor", "preActions", "postActions", "validations", "rtoTarget", "azure" };
        private static readonly string[] VmKeys = { "name", "bootDelay", "startTimeout", "waitFor", "validations", "azure" };
        /// <summary>The keys of an <c>azure:</c> block (per group and per VM); more will come, so it is a mapping.</summary>
        private static readonly string[] AzureKeys = { "vmSize" };
        private static readonly string[] MappingKeys = { "sourceNetwork", "recoveryNetwork", "testNetwork" };
        private static readonly string[] ActionKinds = { "script", "manual", "wait" };
        private static readonly string[] ScriptKeys = { "path", "inline", "timeout" };
        private static readonly string[] ValidationKinds = { "tcpPort", "httpGet", "script" };
        private static readonly string[] TcpKeys = { "port", "timeout" };
        private static readonly string[] HttpKeys = { "url", "port", "path", "expectedStatus", "timeout" };

        /// <summary>One parse: the source name and the mistakes found so far.</summary>
        private sealed class SchemaReader
        {
            private readonly string source;
            private readonly List<RecoveryPlanError> errors = new List<RecoveryPlanError>();
            private bool truncated;
            private int vmsRead;

            public SchemaReader(string source) => this.source = source;

            public bool HasErrors => errors.Count > 0;

            public RecoveryPlanException ToException()
            {
                // In file order, as an editor shows them (the schema walk finds some later than others).
                var list = errors.OrderBy(e => e.Location.Line).ThenBy(e => e.Location.Column).ToList();
                if (truncated)
                {
                    var last = list[list.Count - 1].Location;
                    list.Add(new RecoveryPlanError(last, $"more mistakes follow; fix these first (only the first {MaxReportedErrors} are listed)"));
                }
                return new RecoveryPlanException(source, list);
            }

            public void Fail(int line, int column, string message)
            {
                if (errors.Count >= MaxReportedErrors)
                {
                    truncated = true;
                    return;
                }
                errors.Add(new RecoveryPlanError(new PlanLocation(source, line, column), message));
            }

            private void Fail(PlanYamlNode node, string message) => Fail(node.Line, node.Column, message);

            private PlanLocation At(PlanYamlNode node) => new PlanLocation(source, node.Line, node.Column);

            public RecoveryPlan? ReadPlan(PlanYamlNode root)
            {
                var keys = ReadMapping(root, "the plan", PlanKeys);
                if (keys is null) return null;

                var name = RequiredName(keys, root, "name", "the plan", "RecoveryPlan");
                var description = OptionalText(keys, "description");
                var protectedSite = RequiredName(keys, root, "protectedSite", "the plan", "Site");
                var recoverySite = RequiredName(keys, root, "recoverySite", "the plan", "Site");
                var mappings = ReadList(keys, "networkMappings", ReadNetworkMapping, MaxNetworkMappings);
                CheckUnique(mappings, m => m.SourceNetwork, m => m.Location, "sourceNetwork", "network mapping");
                if (!keys.ContainsKey("groups"))
                {
                    Fail(root, "the plan needs 'groups': a list of groups, each with a name and vms or protectionGroups");
                }
                var groups = ReadList(keys, "groups", ReadGroup, MaxGroups);
                if (keys.TryGetValue("groups", out var groupsNode) && groupsNode.Value is PlanYamlSequence { Items.Count: 0 })
                {
                    Fail(groupsNode.Value, "'groups' must list at least one group");
                }
                CheckUnique(groups, g => g.Name, g => g.Location, "group name", "group");
                CheckVmsUnique(groups);
                var rtoTarget = OptionalRtoTarget(keys);

                return new RecoveryPlan
                {
                    Name = name,
                    Description = description,
                    ProtectedSite = protectedSite,
                    RecoverySite = recoverySite,
                    Groups = groups,
                    NetworkMappings = mappings,
                    RtoTarget = rtoTarget,
                };
            }

            private RecoveryPlanGroup ReadGroup(PlanYamlNode node)
            {
                var keys = ReadMapping(node, "a group", GroupKeys);
                if (keys is null) return new RecoveryPlanGroup { Location = At(node) };

                var name = RequiredName(keys, node, "name", "a group", "group");
                var defaults = new RecoveryPlanVmDefaults
                {
                    BootDelay = OptionalDuration(keys, "bootDelay") ?? TimeSpan.Zero,
                    StartTimeout = OptionalDuration(keys, "startTimeout") ?? RecoveryPlanVmDefaults.DefaultStartTimeout,
                    WaitFor = OptionalStartCondition(keys) ?? VmStartCondition.Heartbeat,
                    Azure = OptionalAzure(keys),
                };
                var errorsBefore = errors.Count;
                var vms = ReadList(keys, "vms", vm => ReadVm(vm, defaults), MaxVms - vmsRead, $"at most {MaxVms:N0} VMs in the whole plan");
                vmsRead += vms.Count;
                var protectionGroups = ReadList(keys, "protectionGroups", item => ReadNameScalar(item, "a protectionGroups entry", "ProtectionGroup"), MaxProtectionGroupsPerGroup);
                if (!keys.ContainsKey("vms") && !keys.ContainsKey("protectionGroups"))
                {
                    Fail(node, $"group '{NameRules.Printable(name)}' needs 'vms' (VM names) or 'protectionGroups' (whole protection groups), or both");
                }
                else if (vms.Count == 0 && protectionGroups.Count == 0 && errors.Count == errorsBefore)
                {
                    Fail(node, $"group '{NameRules.Printable(name)}' has no VMs: list at least one in 'vms' or 'protectionGroups'");
                }
                var duplicateGroups = protectionGroups.GroupBy(g => g, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key);
                foreach (var duplicate in duplicateGroups)
                {
                    Fail(keys["protectionGroups"].Value, $"protection group '{duplicate}' is listed twice in group '{NameRules.Printable(name)}'");
                }

                return new RecoveryPlanGroup
                {
                    Name = name,
                    Vms = vms,
                    ProtectionGroups = protectionGroups,
                    Defaults = defaults,
                    PreActions = ReadList(keys, "preActions", ReadAction, MaxActionsPerGroup),
                    PostActions = ReadList(keys, "postActions", ReadAction, MaxActionsPerGroup),
                    Validations = ReadList(keys, "validations", ReadValidation, MaxValidationsPerVm),
                    RtoTarget = OptionalRtoTarget(keys),
                    Location = At(node),
                };
            }

            /// <summary>rtoTarget: a duration longer than zero (how long after the job starts the VMs should be up).</summary>
            private TimeSpan? OptionalRtoTarget(Dictionary<string, KeyValuePair<PlanYamlNode, PlanYamlNode>> keys)
            {
                var target = OptionalDuration(keys, "rtoTarget");
                if (target is TimeSpan value && value <= TimeSpan.Zero)
                {
                    Fail(keys["rtoTarget"].Value, "'rtoTarget' must be longer than zero: how long after the job starts the VMs should be up, such as 15m");
                    return null;
                }
                return target;
            }

            private RecoveryPlanVm ReadVm(PlanYamlNode node, RecoveryPlanVmDefaults defaults)
            {
                // A VM is its name alone, or a mapping with its own settings.
                if (node is PlanYamlScalar { IsNull: false } scalar)
                {
                    return new RecoveryPlanVm
                    {
                        Name = ReadNameScalar(scalar, "a VM", "VM"),
                        BootDelay = defaults.BootDelay,
                        StartTimeout = defaults.StartTimeout,
                        WaitFor = defaults.WaitFor,
                        Azure = defaults.Azure,
                        Location = At(node),
                    };
                }

                var keys = ReadMapping(node, "a VM (its name, or a mapping with name)", VmKeys);
                if (keys is null) return new RecoveryPlanVm { Location = At(node) };
                return new RecoveryPlanVm
                {
                    Name = RequiredName(keys, node, "name", "a VM", "VM"),
                    BootDelay = OptionalDuration(keys, "bootDelay") ?? defaults.BootDelay,
                    StartTimeout = OptionalDuration(keys, "startTimeout") ?? defaults.StartTimeout,
                    WaitFor = OptionalStartCondition(keys) ?? defaults.WaitFor,
                    Validations = ReadList(keys, "validations", ReadValidation, MaxValidationsPerVm),
                    Azure = OptionalAzure(keys)?.Over(defaults.Azure) ?? defaults.Azure,
                    Location = At(node),
                };
            }

            /// <summary>An <c>azure:</c> block: a mapping of Azure settings (vmSize); null when the key is absent.</summary>
            private AzureVmSettings? OptionalAzure(Dictionary<string, KeyValuePair<PlanYamlNode, PlanYamlNode>> keys)
            {
                if (!keys.TryGetValue("azure", out var entry)) return null;
                var location = At(entry.Key);
                var azure = ReadMapping(entry.Value, "'azure' (a mapping of Azure settings, such as vmSize: Standard_D2s_v3)", AzureKeys);
                if (azure is null) return new AzureVmSettings { Location = location };
                string? size = null;
                if (azure.TryGetValue("vmSize", out var sizeEntry))
                {
                    size = ReadText(sizeEntry.Value, "'vmSize'", "an Azure VM size such as Standard_D2s_v3");
                    if (size != null && !HasInvisibleCharacters(sizeEntry.Value, "'vmSize'", size) && !AzureVmSize.IsMatch(size))
                    {
                        Fail(sizeEntry.Value, $"'vmSize' must be an Azure VM size name such as Standard_D2s_v3 (letters, digits, '_' and '-'), not '{NameRules.Printable(size)}'");
                    }
                }
                return new AzureVmSettings { VmSize = size, Location = location };
            }

            private NetworkMapping ReadNetworkMapping(PlanYamlNode node)
            {
                var keys = ReadMapping(node, "a network mapping", MappingKeys);
                if (keys is null) return new NetworkMapping { Location = At(node) };
                return new NetworkMapping
                {
                    SourceNetwork = RequiredText(keys, node, "sourceNetwork", "a network mapping"),
                    RecoveryNetwork = RequiredText(keys, node, "recoveryNetwork", "a network mapping"),
                    TestNetwork = RequiredText(keys, node, "testNetwork", "a network mapping"),
                    Location = At(node),
                    RecoveryNetworkLocation = keys.TryGetValue("recoveryNetwork", out var recovery) ? At(recovery.Value) : null,
                    TestNetworkLocation = keys.TryGetValue("testNetwork", out var test) ? At(test.Value) : null,
                };
            }

            private PlanAction ReadAction(PlanYamlNode node)
            {
                var (kind, value) = ReadKind(node, "an action", ActionKinds);
                switch (kind)
                {
                    case "script":
                        var script = ReadScript(value!, "a script action");
                        return new ScriptAction { Path = script.Path, Inline = script.Inline, Timeout = script.Timeout ?? ScriptAction.DefaultTimeout, Location = At(node) };
                    case "manual":
                        return new ManualAction { Message = ReadText(value!, "'manual'", "the message to show, such as 'Check the DNS records, then Resume-DRJob'") ?? "", Location = At(node) };
                    case "wait":
                        return new WaitAction { Duration = ReadDuration(value!, "wait") ?? TimeSpan.Zero, Location = At(node) };
                    default:
                        return new WaitAction { Location = At(node) };
                }
            }

            private VmValidation ReadValidation(PlanYamlNode node)
            {
                var (kind, value) = ReadKind(node, "a validation", ValidationKinds);
                switch (kind)
                {
                    case "tcpPort":
                        return ReadTcp(value!, At(node));
                    case "httpGet":
                        return ReadHttp(value!, At(node));
                    case "script":
                        var script = ReadScript(value!, "a script validation");
                        return new ScriptValidation { Path = script.Path, Inline = script.Inline, Timeout = script.Timeout ?? VmValidation.DefaultTimeout, Location = At(node) };
                    default:
                        return new TcpPortValidation { Location = At(node) };
                }
            }

            private TcpPortValidation ReadTcp(PlanYamlNode value, PlanLocation location)
            {
                if (value is PlanYamlScalar)
                {
                    return new TcpPortValidation { Port = ReadPort(value, "tcpPort") ?? 0, Location = location };
                }

                var keys = ReadMapping(value, "'tcpPort' (a port number, or a mapping with port and timeout)", TcpKeys);
                if (keys is null) return new TcpPortValidation { Location = location };
                if (!keys.TryGetValue("port", out var port))
                {
                    Fail(value, "'tcpPort' needs 'port'");
                }
                return new TcpPortValidation
                {
                    Port = port.Value is null ? 0 : ReadPort(port.Value, "port") ?? 0,
                    Timeout = OptionalDuration(keys, "timeout") ?? VmValidation.DefaultTimeout,
                    Location = location,
                };
            }

            private HttpGetValidation ReadHttp(PlanYamlNode value, PlanLocation location)
            {
                if (value is PlanYamlScalar)
                {
                    return new HttpGetValidation { Url = ReadUrl(value), Location = location };
                }

                var keys = ReadMapping(value, "'httpGet' (a URL, or a mapping with url or port)", HttpKeys);
                if (keys is null) return new HttpGetValidation { Location = location };
                var hasUrl = keys.TryGetValue("url", out var url);
                var hasPort = keys.TryGetValue("port", out var port);
                if (hasUrl == hasPort)
                {
                    Fail(value, "'httpGet' needs either 'url' (a full http or https URL) or 'port' (and 'path') on the VM's address, not both");
                }
                if (hasUrl && keys.ContainsKey("path"))
                {
                    Fail(keys["path"].Key, "'path' goes with 'port'; with 'url', put the path in the URL");
                }

                var path = OptionalText(keys, "path") ?? "/";
                if (!path.StartsWith("/", StringComparison.Ordinal))
                {
                    Fail(keys["path"].Value, $"'path' must start with '/', not '{path}'");
                }

                int? status = null;
                if (keys.TryGetValue("expectedStatus", out var statusEntry))
                {
                    status = ReadInt(statusEntry.Value, "expectedStatus", 100, 599, "an HTTP status code from 100 to 599");
                }

                return new HttpGetValidation
                {
                    Url = hasUrl ? ReadUrl(url.Value) : null,
                    Port = hasPort ? ReadPort(port.Value, "port") : null,
                    Path = path,
                    ExpectedStatus = status ?? 200,
                    Timeout = OptionalDuration(keys, "timeout") ?? VmValidation.DefaultTimeout,
                    Location = location,
                };
            }

            private (string? Path, string? Inline, TimeSpan? Timeout) ReadScript(PlanYamlNode value, string what)
            {
                var keys = ReadMapping(value, $"'script' (a mapping with path or inline, and timeout)", ScriptKeys);
                if (keys is null) return (null, null, null);
                var path = OptionalText(keys, "path");
                var inline = OptionalText(keys, "inline");
                if (keys.ContainsKey("path") == keys.ContainsKey("inline"))
                {
                    Fail(value, $"{what} needs either 'path' (a .ps1 file, relative to the plan) or 'inline' (the script text), not both");
                }
                return (path, inline, OptionalDuration(keys, "timeout"));
            }

            private Uri? ReadUrl(PlanYamlNode node)
            {
                var text = ReadText(node, "'url'", "an http or https URL");
                if (text is null) return null;
                if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
                {
                    return uri;
                }
                Fail(node, $"'url' must be an absolute http or https URL such as http://erp-web01/health, not '{NameRules.Printable(text)}'");
                return null;
            }

            private int? ReadPort(PlanYamlNode node, string key) => ReadInt(node, key, 1, 65535, "a port number from 1 to 65535");

            private int? ReadInt(PlanYamlNode node, string key, int min, int max, string expected)
            {
                if (node is PlanYamlScalar { IsNull: false } scalar &&
                    int.TryParse(scalar.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
                {
                    return value;
                }
                Fail(node, $"'{key}' must be {expected}, not {node.Describe()}");
                return null;
            }

            /// <summary>A mapping with exactly one key naming its kind, such as <c>{ wait: 30s }</c>.</summary>
            private (string? Kind, PlanYamlNode? Value) ReadKind(PlanYamlNode node, string what, string[] kinds)
            {
                var expected = string.Join(", ", kinds);
                var keys = ReadMapping(node, $"{what} (a mapping with one of: {expected})", kinds);
                if (keys is null) return (null, null);
                if (keys.Count != 1)
                {
                    if (keys.Count > 1 || node is PlanYamlMapping { Entries.Count: 0 })
                    {
                        Fail(node, $"{what} has exactly one of: {expected}; found {(keys.Count == 0 ? "none" : string.Join(", ", keys.Keys))}");
                    }
                    return (null, null);
                }
                var only = keys.First();
                return (only.Key, only.Value.Value);
            }

            /// <summary>
            /// The mapping's entries by key, reporting a node that is not a mapping, keys that are
            /// not text, unknown keys and duplicates; null when the node is not a mapping.
            /// </summary>
            private Dictionary<string, KeyValuePair<PlanYamlNode, PlanYamlNode>>? ReadMapping(PlanYamlNode node, string what, string[] allowed)
            {
                if (node is not PlanYamlMapping mapping)
                {
                    Fail(node, $"{what} must be a mapping of keys to values, not {node.Describe()}");
                    return null;
                }

                var keys = new Dictionary<string, KeyValuePair<PlanYamlNode, PlanYamlNode>>(StringComparer.Ordinal);
                foreach (var entry in mapping.Entries)
                {
                    if (entry.Key is not PlanYamlScalar key)
                    {
                        Fail(entry.Key, $"keys must be text, not {entry.Key.Describe()}");
                        continue;
                    }

                    if (!allowed.Contains(key.Value, StringComparer.Ordinal))
                    {
                        var nearest = allowed.FirstOrDefault(a => string.Equals(a, key.Value, StringComparison.OrdinalIgnoreCase));
                        Fail(key, nearest is null
                            ? $"unknown key '{NameRules.Printable(key.Value)}' in {Short(what)}; expected one of: {string.Join(", ", allowed)}"
                            : $"unknown key '{NameRules.Printable(key.Value)}' in {Short(what)}; keys are case-sensitive: did you mean '{nearest}'?");
                        continue;
                    }

                    if (keys.TryGetValue(key.Value, out var first))
                    {
                        Fail(key, $"duplicate key '{NameRules.Printable(key.Value)}' (first at line {first.Key.Line})");
                        continue;
                    }
                    keys.Add(key.Value, entry);
                }
                return keys;
            }

            private static string Short(string what)
            {
                var paren = what.IndexOf(" (", StringComparison.Ordinal);
                return paren < 0 ? what : what.Substring(0, paren);
            }

            private List<T> ReadList<T>(Dictionary<string, KeyValuePair<PlanYamlNode, PlanYamlNode>> keys, string key, Func<PlanYamlNode, T> readItem, int max, string? limit = null)
            {
                var items = new List<T>();
                if (!keys.TryGetValue(key, out var entry) || entry.Value is PlanYamlScalar { IsNull: true })
                {
                    return items;
                }
                if (entry.Value is not PlanYamlSequence sequence)
                {
                    Fail(entry.Value, $"'{key}' must be a list (items starting with '- '), not {entry.Value.Describe()}");
                    return items;
                }
                if (sequence.Items.Count > max)
                {
                    // Not read at all: a list this long is a mistake or an attack, and reading it is the cost.
                    Fail(sequence, $"'{key}' lists {sequence.Items.Count:N0} items; {limit ?? $"at most {max:N0} are allowed"}");
                    return items;
                }
                items.AddRange(sequence.Items.Select(readItem));
                return items;
            }

            private string RequiredName(Dictionary<string, KeyValuePair<PlanYamlNode, PlanYamlNode>> keys, PlanYamlNode owner, string key, string what, string kind)
            {
                if (!keys.TryGetValue(key, out var entry))
                {
                    Fail(owner, $"{what} needs '{key}'");
                    return "";
                }
                return ReadNameScalar(entry.Value, $"'{key}'", kind);
            }

            private string ReadNameScalar(PlanYamlNode node, string what, string kind)
            {
                var text = ReadText(node, what, $"a {kind} name");
                if (text is null) return "";
                if (HasInvisibleCharacters(node, what, text)) return text;
                try
                {
                    NameRules.Validate(kind, text);
                }
                catch (InvalidSettingException)
                {
                    // VM names are vSphere display names: anything but empty or overlong.
                    if (kind != "VM" || text.Length > 80)
                    {
                        Fail(node, $"{what} must be 1 to {NameRules.MaxLength} letters, digits, '.', '_' or '-', starting with a letter or digit, not '{NameRules.Printable(text)}'");
                    }
                }
                return text;
            }

            private string RequiredText(Dictionary<string, KeyValuePair<PlanYamlNode, PlanYamlNode>> keys, PlanYamlNode owner, string key, string what)
            {
                if (!keys.TryGetValue(key, out var entry))
                {
                    Fail(owner, $"{what} needs '{key}'");
                    return "";
                }
                var text = ReadText(entry.Value, $"'{key}'", "a name") ?? "";
                HasInvisibleCharacters(entry.Value, $"'{key}'", text);
                return text;
            }

            /// <summary>Reports a name with control characters (NUL, newline, escape...) or invisible formatting: it would be shown, logged and tagged as something else.</summary>
            private bool HasInvisibleCharacters(PlanYamlNode node, string what, string text)
            {
                var index = NameRules.IndexOfInvisible(text);
                if (index < 0) return false;
                Fail(node, $"{what} holds the invisible character U+{(int)text[index]:X4} at position {index + 1}; names are printable text on one line");
                return true;
            }

            private string? OptionalText(Dictionary<string, KeyValuePair<PlanYamlNode, PlanYamlNode>> keys, string key) =>
                keys.TryGetValue(key, out var entry) ? ReadText(entry.Value, $"'{key}'", "text") : null;

            private string? ReadText(PlanYamlNode node, string what, string expected)
            {
                if (node is PlanYamlScalar scalar && !scalar.IsNull && scalar.Value.Trim().Length > 0)
                {
                    return scalar.Value;
                }
                Fail(node, $"{what} must be {expected}, not {node.Describe()}");
                return null;
            }

            private TimeSpan? OptionalDuration(Dictionary<string, KeyValuePair<PlanYamlNode, PlanYamlNode>> keys, string key) =>
                keys.TryGetValue(key, out var entry) ? ReadDuration(entry.Value, key) : null;

            private TimeSpan? ReadDuration(PlanYamlNode node, string key)
            {
                if (node is PlanYamlScalar { IsNull: false } scalar)
                {
                    var duration = ParseDuration(scalar.Value);
                    if (duration is TimeSpan value && value >= TimeSpan.Zero)
                    {
                        return value;
                    }
                }
                Fail(node, $"'{key}' must be {DurationHint}, not {node.Describe()}");
                return null;
            }

            private VmStartCondition? OptionalStartCondition(Dictionary<string, KeyValuePair<PlanYamlNode, PlanYamlNode>> keys)
            {
                if (!keys.TryGetValue("waitFor", out var entry)) return null;
                if (entry.Value is PlanYamlScalar { IsNull: false } scalar &&
                    Enum.GetNames(typeof(VmStartCondition)).FirstOrDefault(n => string.Equals(n, scalar.Value, StringComparison.OrdinalIgnoreCase)) is string name)
                {
                    return (VmStartCondition)Enum.Parse(typeof(VmStartCondition), name);
                }
                Fail(entry.Value, $"'waitFor' must be one of {string.Join(", ", Enum.GetNames(typeof(VmStartCondition)))}, not {entry.Value.Describe()}");
                return null;
            }

            private void CheckUnique<T>(IEnumerable<T> items, Func<T, string> keyOf, Func<T, PlanLocation?> locationOf, string what, string kind)
            {
                var seen = new Dictionary<string, PlanLocation?>(StringComparer.OrdinalIgnoreCase);
                foreach (var item in items)
                {
                    var key = keyOf(item);
                    if (key.Length == 0) continue;
                    if (seen.TryGetValue(key, out var first))
                    {
                        var at = locationOf(item);
                        Fail(at?.Line ?? 1, at?.Column ?? 1, $"duplicate {what} '{key}': another {kind} has it (line {first?.Line})");
                    }
                    else
                    {
                        seen.Add(key, locationOf(item));
                    }
                }
            }

            private void CheckVmsUnique(IEnumerable<RecoveryPlanGroup> groups)
            {
                var seen = new Dictionary<string, (string Group, PlanLocation? Location)>(StringComparer.OrdinalIgnoreCase);
                foreach (var group in groups)
                {
                    foreach (var vm in group.Vms.Where(v => v.Name.Length > 0))
                    {
                        if (seen.TryGetValue(vm.Name, out var first))
                        {
                            Fail(vm.Location?.Line ?? 1, vm.Location?.Column ?? 1,
                                $"VM '{vm.Name}' is already in group '{first.Group}' (line {first.Location?.Line}); a VM belongs to one group");
                        }
                        else
                        {
                            seen.Add(vm.Name, (group.Name, vm.Location));
                        }
                    }
                }
            }
        }
    }
}
