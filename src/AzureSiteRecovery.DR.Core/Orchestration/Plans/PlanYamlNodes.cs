using System;
using System.Collections.Generic;
using System.IO;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace AzureSiteRecovery.DR.Core.Orchestration.Plans
{
    /// <summary>A YAML node with where it starts (1-based line and column).</summary>
    internal abstract class PlanYamlNode
    {
        protected PlanYamlNode(int line, int column)
        {
            Line = line;
            Column = column;
        }

        public int Line { get; }
        public int Column { get; }

        /// <summary>How the node reads in a message: "a list", "a mapping", or the scalar text.</summary>
        public abstract string Describe();
    }

    internal sealed class PlanYamlScalar : PlanYamlNode
    {
        public PlanYamlScalar(string value, bool isPlain, int line, int column) : base(line, column)
        {
            Value = value;
            IsPlain = isPlain;
        }

        public string Value { get; }
        public bool IsPlain { get; }

        /// <summary>An empty value, "~" or "null" written without quotes.</summary>
        public bool IsNull => IsPlain && (Value.Length == 0 || Value == "~" || Value == "null" || Value == "Null" || Value == "NULL");

        public override string Describe() => IsNull ? "empty" : $"'{Value}'";
    }

    internal sealed class PlanYamlSequence : PlanYamlNode
    {
        public PlanYamlSequence(IReadOnlyList<PlanYamlNode> items, int line, int column) : base(line, column) => Items = items;

        public IReadOnlyList<PlanYamlNode> Items { get; }

        public override string Describe() => "a list";
    }

    internal sealed class PlanYamlMapping : PlanYamlNode
    {
        public PlanYamlMapping(IReadOnlyList<KeyValuePair<PlanYamlNode, PlanYamlNode>> entries, int line, int column) : base(line, column) =>
            Entries = entries;

        /// <summary>In document order, duplicates kept (the schema reports them with their place).</summary>
        public IReadOnlyList<KeyValuePair<PlanYamlNode, PlanYamlNode>> Entries { get; }

        public override string Describe() => "a mapping";
    }

    /// <summary>
    /// Reads one YAML document into <see cref="PlanYamlNode"/>s straight from YamlDotNet's event
    /// parser, keeping every node's position and duplicate keys (which YamlDotNet's own node model rejects without a position).
    /// </summary>
    internal static class PlanYamlReader
    {
        /// <summary>The document's root; null for an empty text. Throws <see cref="YamlException"/> on YAML syntax errors.</summary>
        public static PlanYamlNode? Read(string text)
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            if (parser.TryConsume<StreamEnd>(out _))
            {
                return null;
            }

            parser.Consume<DocumentStart>();
            var anchors = new Dictionary<string, PlanYamlNode>(StringComparer.Ordinal);
            var root = ReadNode(parser, anchors);
            parser.Consume<DocumentEnd>();
            if (!parser.TryConsume<StreamEnd>(out _))
            {
                var next = parser.Current!;
                throw new YamlException(next.Start, next.End, "a plan file holds one YAML document; remove the second '---' document");
            }

            return root;
        }

        private static PlanYamlNode ReadNode(IParser parser, Dictionary<string, PlanYamlNode> anchors)
        {
            var current = parser.Current ?? throw new InvalidOperationException("The YAML parser ended inside a document.");
            if (parser.TryConsume<AnchorAlias>(out var alias))
            {
                return anchors.TryGetValue(alias.Value.Value, out var anchored)
                    ? anchored
                    : throw new YamlException(alias.Start, alias.End, $"the alias '*{alias.Value.Value}' names no anchor defined before it");
            }

            PlanYamlNode node;
            var line = (int)current.Start.Line;
            var column = (int)current.Start.Column;
            if (parser.TryConsume<Scalar>(out var scalar))
            {
                node = new PlanYamlScalar(scalar.Value, scalar.Style == ScalarStyle.Plain, line, column);
            }
            else if (parser.TryConsume<SequenceStart>(out _))
            {
                var items = new List<PlanYamlNode>();
                while (!parser.TryConsume<SequenceEnd>(out _))
                {
                    items.Add(ReadNode(parser, anchors));
                }
                node = new PlanYamlSequence(items, line, column);
            }
            else if (parser.TryConsume<MappingStart>(out _))
            {
                var entries = new List<KeyValuePair<PlanYamlNode, PlanYamlNode>>();
                while (!parser.TryConsume<MappingEnd>(out _))
                {
                    var key = ReadNode(parser, anchors);
                    entries.Add(new KeyValuePair<PlanYamlNode, PlanYamlNode>(key, ReadNode(parser, anchors)));
                }
                node = new PlanYamlMapping(entries, line, column);
            }
            else
            {
                throw new YamlException(current.Start, current.End, $"unexpected YAML event {current.GetType().Name}");
            }

            if (current is NodeEvent { Anchor.IsEmpty: false } anchoredEvent)
            {
                anchors[anchoredEvent.Anchor.Value] = node;
            }

            return node;
        }
    }
}
