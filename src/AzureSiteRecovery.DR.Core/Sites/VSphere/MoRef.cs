using System;
using System.Xml.Linq;

namespace AzureSiteRecovery.DR.Core.Sites.VSphere
{
    /// <summary>A vim25 ManagedObjectReference: the type (VirtualMachine, Task, ...) and the value (vm-42).</summary>
    internal readonly record struct MoRef(string Type, string Value)
    {
        public static MoRef VirtualMachine(string value) => new MoRef("VirtualMachine", Required(value));
        public static MoRef Snapshot(string value) => new MoRef("VirtualMachineSnapshot", Required(value));

        /// <summary>An element such as &lt;_this type="VirtualMachine"&gt;vm-42&lt;/_this&gt;.</summary>
        public XElement ToElement(string name) => new XElement(VimXml.Vim + name, new XAttribute("type", Type), Value);

        public static MoRef Parse(XElement e) => new MoRef((string?)e.Attribute("type") ?? "", e.Value);

        public override string ToString() => $"{Type}:{Value}";

        private static string Required(string value) =>
            string.IsNullOrEmpty(value) ? throw new ArgumentException("A managed object reference is required.", nameof(value)) : value;
    }
}
