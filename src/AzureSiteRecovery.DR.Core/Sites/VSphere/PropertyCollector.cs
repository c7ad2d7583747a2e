using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using System.Xml.Linq;
using AzureSiteRecovery.DR.Core.Errors;
using static AzureSiteRecovery.DR.Core.Sites.VSphere.VimXml;

namespace AzureSiteRecovery.DR.Core.Sites.VSphere
{
    /// <summary>One object of a RetrievePropertiesEx answer: its reference and the properties it has (missing ones are null).</summary>
    internal sealed class ObjectContent
    {
        private readonly Dictionary<string, XElement> properties;

        public ObjectContent(XElement objects)
        {
            Obj = VSphere.MoRef.Parse(objects.Child("obj")!);
            properties = new Dictionary<string, XElement>(StringComparer.Ordinal);
            foreach (var p in objects.Children("propSet"))
            {
                var name = p.ChildValue("name");
                var val = p.Child("val");
                if (name != null && val != null) properties[name] = val;
            }
        }

        /// <summary>An object's properties as a PropertyWaiter has gathered them from updates.</summary>
        public ObjectContent(MoRef obj, IEnumerable<KeyValuePair<string, XElement>> properties)
        {
            Obj = obj;
            this.properties = new Dictionary<string, XElement>(StringComparer.Ordinal);
            foreach (var p in properties) this.properties[p.Key] = p.Value;
        }

        public MoRef Obj { get; }

        /// <summary>The &lt;val&gt; element of a property, or null when the object does not have it.</summary>
        public XElement? Value(string path) => properties.TryGetValue(path, out var v) ? v : null;

        public string? String(string path) => Value(path)?.Value;

        public bool? Bool(string path) => Value(path) is XElement v ? System.Xml.XmlConvert.ToBoolean(v.Value) : null;

        public int? Int(string path) => Value(path) is XElement v ? int.Parse(v.Value, System.Globalization.CultureInfo.InvariantCulture) : null;
        public long? Long(string path) => Value(path) is XElement v ? long.Parse(v.Value, System.Globalization.CultureInfo.InvariantCulture) : null;

        public MoRef? MoRef(string path) => Value(path) is XElement v ? VSphere.MoRef.Parse(v) : null;

        /// <summary>An ArrayOfManagedObjectReference property; empty when missing.</summary>
        public IReadOnlyList<MoRef> MoRefs(string path) =>
            Value(path)?.Children("ManagedObjectReference").Select(VSphere.MoRef.Parse).ToList() ?? (IReadOnlyList<MoRef>)Array.Empty<MoRef>();
    }

    /// <summary>
    /// RetrievePropertiesEx with paging (ContinueRetrievePropertiesEx until no token), ContainerView
    /// scoping, and the spec builders. Each page is parsed and handed out before the next is fetched,
    /// so memory stays bounded by the page size.
    /// </summary>
    internal sealed class PropertyCollector
    {
        private readonly VimClient vim;
        private int roundTrips;

        public PropertyCollector(VimClient vim)
        {
            this.vim = vim;
        }

        /// <summary>Objects per page (RetrieveOptions.maxObjects); a server may send fewer.</summary>
        public int MaxObjects { get; set; } = 1000;

        /// <summary>How many RetrievePropertiesEx + ContinueRetrievePropertiesEx round trips were made (for tests and diagnostics).</summary>
        public int RoundTrips => Volatile.Read(ref roundTrips);

        public async Task RetrieveAsync(IReadOnlyList<XElement> filterSpecs, Action<ObjectContent> onObject, CancellationToken ct)
        {
            Interlocked.Increment(ref roundTrips);
            var page = await vim.RetrievePropertiesExAsync(filterSpecs, MaxObjects, ct).ConfigureAwait(false);
            while (page != null)
            {
                foreach (var o in page.Children("objects"))
                {
                    onObject(new ObjectContent(o));
                }
                var token = page.ChildValue("token");
                if (string.IsNullOrEmpty(token)) break;
                try
                {
                    Interlocked.Increment(ref roundTrips);
                    page = await vim.ContinueRetrievePropertiesExAsync(token!, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    await BestEffortAsync(() => vim.CancelRetrievePropertiesExAsync(token!, CancellationToken.None)).ConfigureAwait(false);
                    throw;
                }
            }
        }

        /// <summary>Some properties of one object; ManagedObjectNotFound when it does not exist.</summary>
        public async Task<ObjectContent> RetrieveOneAsync(MoRef obj, IEnumerable<string> paths, CancellationToken ct)
        {
            ObjectContent? found = null;
            await RetrieveAsync(new[] { FilterSpec(new[] { PropertySpec(obj.Type, paths) }, ObjectSpec(obj, false)) }, o => found = o, ct).ConfigureAwait(false);
            return found ?? throw new VSphereFaultException("ManagedObjectNotFound", $"The object '{obj}' has already been deleted or has not been completely created", obj.Value);
        }

        /// <summary>Creates a ContainerView over <paramref name="container"/>, retrieves through it, and destroys it.</summary>
        public async Task RetrieveFromContainerAsync(MoRef container, IReadOnlyList<string> viewTypes, IEnumerable<XElement> propertySpecs, Action<ObjectContent> onObject, CancellationToken ct)
        {
            var view = await vim.CreateContainerViewAsync(container, viewTypes, recursive: true, ct).ConfigureAwait(false);
            try
            {
                var spec = FilterSpec(propertySpecs, ObjectSpec(view, skip: true, TraversalSpec("ContainerView", "view")));
                await RetrieveAsync(new[] { spec }, onObject, ct).ConfigureAwait(false);
            }
            finally
            {
                // Views live until the session ends; a failed destroy only costs server memory until then.
                await BestEffortAsync(() => vim.DestroyViewAsync(view, CancellationToken.None)).ConfigureAwait(false);
            }
        }

        public static XElement FilterSpec(IEnumerable<XElement> propertySpecs, params XElement[] objectSpecs) =>
            Node("specSet", propertySpecs, objectSpecs);

        public static XElement PropertySpec(string type, IEnumerable<string> paths) =>
            Node("propSet", El("type", type), paths.Select(p => El("pathSet", p)));

        public static XElement ObjectSpec(MoRef obj, bool skip, params XElement[] selectSet) =>
            Node("objectSet", obj.ToElement("obj"), El("skip", skip), selectSet);

        public static XElement TraversalSpec(string type, string path, string? name = null, bool skip = false, params XElement[] selectSet) =>
            Typed("selectSet", "TraversalSpec", El("name", name), El("type", type), El("path", path), El("skip", skip), selectSet);

        private static async Task BestEffortAsync(Func<Task> action)
        {
            try
            {
                await action().ConfigureAwait(false);
            }
            catch (DRException)
            {
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
