using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Xml;
using System.Xml.Linq;

namespace AzureSiteRecovery.DR.Core.Sites.VSphere
{
    /// <summary>The vim25 XML vocabulary: namespaces, typed elements, and reading values back.</summary>
    internal static class VimXml
    {
        public static readonly XNamespace Vim = "urn:vim25";
        public static readonly XNamespace Xsi = "http://www.w3.org/2001/XMLSchema-instance";
        public static readonly XNamespace Xsd = "http://www.w3.org/2001/XMLSchema";
        public static readonly XNamespace Soap = "http://schemas.xmlsoap.org/soap/envelope/";

        /// <summary>&lt;name&gt;value&lt;/name&gt; in urn:vim25; a null value gives null, which XElement skips.</summary>
        public static XElement? El(string name, object? value) => value is null ? null : new XElement(Vim + name, Format(value));

        /// <summary>An element with children, skipping nulls.</summary>
        public static XElement Node(string name, params object?[] content) => new XElement(Vim + name, content.Where(c => c != null));

        /// <summary>An element of a derived type: &lt;name xsi:type="type"&gt;.</summary>
        public static XElement Typed(string name, string type, params object?[] content) =>
            new XElement(Vim + name, new XAttribute(Xsi + "type", type), content.Where(c => c != null));

        private static string Format(object value) => value switch
        {
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };

        /// <summary>The local name of an xsi:type ("xsd:string" → "string"); null when absent.</summary>
        public static string? TypeOf(XElement e)
        {
            var t = (string?)e.Attribute(Xsi + "type");
            if (t is null) return null;
            var colon = t.IndexOf(':');
            return colon < 0 ? t : t.Substring(colon + 1);
        }

        public static XElement? Child(this XElement e, string name) => e.Element(Vim + name);

        public static IEnumerable<XElement> Children(this XElement e, string name) => e.Elements(Vim + name);

        public static string? ChildValue(this XElement e, string name) => e.Element(Vim + name)?.Value;

        public static long? ChildLong(this XElement e, string name)
        {
            var v = e.ChildValue(name);
            return v is null ? null : long.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture);
        }

        public static int? ChildInt(this XElement e, string name)
        {
            var v = e.ChildValue(name);
            return v is null ? null : int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture);
        }

        public static bool? ChildBool(this XElement e, string name)
        {
            var v = e.ChildValue(name);
            return v is null ? null : XmlConvert.ToBoolean(v);
        }

        public static DateTimeOffset? ChildDate(this XElement e, string name)
        {
            var v = e.ChildValue(name);
            return v is null ? null : DateTimeOffset.Parse(v, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        }

        public static MoRef? ChildMoRef(this XElement e, string name)
        {
            var c = e.Element(Vim + name);
            return c is null ? null : MoRef.Parse(c);
        }
    }
}
