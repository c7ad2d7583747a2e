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

        public override string Describe() => IsNull ? "empty" : $"'{Model.NameRules.Printable(Value)}'";
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

    /// <summary>A plan that passes a limit of <see cref="PlanYamlReader"/>: too deep, too many nodes once aliases are expanded.</summary>
    internal sealed class PlanYamlLimitException : YamlException
    {
        public PlanYamlLimitException(Mark start, Mark end, string message) : base(start, end, message)
        {
        }
    }

    /// <summary>
    /// Reads one YAML document into <see cref="PlanYamlNode"/>s straight from YamlDotNet's event
    /// parser, keeping every node's position and duplicate keys (which YamlDotNet's own node model rejects without a position).
    /// The event parser keeps its own stack, so depth and alias expansion are checked here, while
    /// reading events, before a deep or exploding plan can overflow the stack or fill memory.
    /// </summary>
    internal static class PlanYamlReader
    {
        /// <summary>How deeply lists and mappings may nest; a real plan needs about 8 levels.</summary>
        public const int MaxDepth = 32;

        /// <summary>How many nodes the document may hold with every alias expanded (what the schema walk visits).</summary>
        public const int MaxNodes = 250_000;

        /// <summary>The document's root; null for an empty text. Throws <see cref="YamlException"/> on YAML syntax errors and <see cref="PlanYamlLimitException"/> past a limit.</summary>
        public static PlanYamlNode? Read(string text)
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            if (parser.TryConsume<StreamEnd>(out _))
            {
                return null;
            }

            parser.Consume<DocumentStart>();
            var state = new ReadState();
            var (root, _) = ReadSized(parser, state, 1);
            parser.Consume<DocumentEnd>();
            if (!parser.TryConsume<StreamEnd>(out _))
            {
                var next = parser.Current!;
                throw new YamlException(next.Start, next.End, "a plan file holds one YAML document; remove the second '---' document");
            }

            return root;
        }

        /// <summary>The anchors seen so far, with how many nodes each stands for once expanded, and the running total.</summary>
        private sealed class ReadState
        {
            public readonly Dictionary<string, (PlanYamlNode Node, long Size)> Anchors = new Dictionary<string, (PlanYamlNode, long)>(StringComparer.Ordinal);
            public long Nodes;

            public void Count(ParsingEvent at, long size)
            {
                Nodes += size;
                if (Nodes > MaxNodes)
                {
                    throw new PlanYamlLimitException(at.Start, at.End,
                        $"the plan holds more than {MaxNodes:N0} values once its aliases (*name) are expanded; a plan is a few hundred lines: split it, or write the values out instead of repeating aliases");
                }
            }
        }

        /// <summary>The next node and how many nodes it stands for with its aliases expanded.</summary>
        private static (PlanYamlNode Node, long Size) ReadSized(IParser parser, ReadState state, int depth)
        {
            var current = parser.Current ?? throw new InvalidOperationException("The YAML parser ended inside a document.");
            if (parser.TryConsume<AnchorAlias>(out var alias))
            {
                if (!state.Anchors.TryGetValue(alias.Value.Value, out var anchored))
                {
                    throw new YamlException(alias.Start, alias.End, $"the alias '*{alias.Value.Value}' names no anchor defined before it");
                }
                state.Count(alias, anchored.Size);
                return anchored;
            }

            if (depth > MaxDepth && (current is SequenceStart || current is MappingStart))
            {
                throw new PlanYamlLimitException(current.Start, current.End,
                    $"lists and mappings nest more than {MaxDepth} levels deep here; a plan needs about 8");
            }

            PlanYamlNode node;
            long size = 1;
            state.Count(current, 1);
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
                    var (item, itemSize) = ReadSized(parser, state, depth + 1);
                    items.Add(item);
                    size += itemSize;
                }
                node = new PlanYamlSequence(items, line, column);
            }
            else if (parser.TryConsume<MappingStart>(out _))
            {
                var entries = new List<KeyValuePair<PlanYamlNode, PlanYamlNode>>();
                while (!parser.TryConsume<MappingEnd>(out _))
                {
                    var (key, keySize) = ReadSized(parser, state, depth + 1);
                    var (value, valueSize) = ReadSized(parser, state, depth + 1);
                    entries.Add(new KeyValuePair<PlanYamlNode, PlanYamlNode>(key, value));
                    size += keySize + valueSize;
                }
                node = new PlanYamlMapping(entries, line, column);
            }
            else
            {
                throw new YamlException(current.Start, current.End, $"unexpected YAML event {current.GetType().Name}");
            }

            if (current is NodeEvent { Anchor.IsEmpty: false } anchoredEvent)
            {
                state.Anchors[anchoredEvent.Anchor.Value] = (node, size);
            }

            return (node, size);
        }
    }
}
