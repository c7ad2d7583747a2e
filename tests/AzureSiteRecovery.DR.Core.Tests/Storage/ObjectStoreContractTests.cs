using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Storage;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Storage
{
    /// <summary>What every <see cref="IObjectStore"/> promises, run against each implementation.</summary>
    public abstract class ObjectStoreContractTests
    {
        protected abstract IObjectStore NewStore();

        private static readonly CancellationToken None = CancellationToken.None;

        [Fact]
        public async Task Put_then_get_returns_the_same_bytes_and_a_second_put_replaces_them()
        {
            var store = NewStore();
            var content = Encoding.UTF8.GetBytes("first version");
            await store.PutAsync("chunks/ab/object1", content, None);
            Assert.Equal(content, await store.GetAsync("chunks/ab/object1", None));

            var replacement = new byte[300_000];
            new Random(3).NextBytes(replacement);
            await store.PutAsync("chunks/ab/object1", replacement, None);
            await store.PutAsync("chunks/ab/object1", replacement, None); // idempotent
            Assert.Equal(replacement, await store.GetAsync("chunks/ab/object1", None));
        }

        [Fact]
        public async Task Get_of_a_missing_key_throws_not_found_naming_the_key()
        {
            var store = NewStore();
            var ex = await Assert.ThrowsAsync<StoreObjectNotFoundException>(() => store.GetAsync("points/vm-1/missing", None));
            Assert.Equal("ObjectStoreKeyNotFound", ex.ErrorId);
            Assert.Equal(FailureKind.NotFound, ex.Kind);
            Assert.Equal("points/vm-1/missing", ex.Key);
        }

        [Fact]
        public async Task Exists_and_delete_report_whether_the_object_was_there()
        {
            var store = NewStore();
            Assert.False(await store.ExistsAsync("a/b", None));
            Assert.False(await store.DeleteAsync("a/b", None));
            await store.PutAsync("a/b", new byte[] { 1, 2, 3 }, None);
            Assert.True(await store.ExistsAsync("a/b", None));
            Assert.True(await store.DeleteAsync("a/b", None));
            Assert.False(await store.ExistsAsync("a/b", None));
            await Assert.ThrowsAsync<StoreObjectNotFoundException>(() => store.GetAsync("a/b", None));
        }

        [Fact]
        public async Task List_streams_exactly_the_keys_under_the_prefix_with_their_sizes()
        {
            var store = NewStore();
            var expected = new Dictionary<string, long>();
            for (var i = 0; i < 120; i++)
            {
                var key = $"chunks/{i % 7:x2}/c{i:D4}";
                await store.PutAsync(key, new byte[i], None);
                expected[key] = i;
            }
            await store.PutAsync("points/vm-1/p1", new byte[5], None);
            await store.PutAsync("points/vm-10/p1", new byte[6], None);

            var listed = new Dictionary<string, long>();
            await foreach (var item in store.ListAsync("chunks/", None)) listed.Add(item.Key, item.Size);
            Assert.Equal(expected.OrderBy(p => p.Key), listed.OrderBy(p => p.Key));

            var points = new List<string>();
            await foreach (var item in store.ListAsync("points/vm-1/", None)) points.Add(item.Key);
            Assert.Equal(new[] { "points/vm-1/p1" }, points);

            var none = new List<string>();
            await foreach (var item in store.ListAsync("nothing/", None)) none.Add(item.Key);
            Assert.Empty(none);
        }

        [Fact]
        public async Task Touch_moves_last_modified_forward_and_is_false_for_a_missing_key()
        {
            var store = NewStore();
            await store.PutAsync("chunks/00/t", new byte[] { 9 }, None);
            var before = await InfoAsync(store, "chunks/00/t");
            await Task.Delay(1100); // blob times have one-second resolution
            Assert.True(await store.TouchAsync("chunks/00/t", None));
            var after = await InfoAsync(store, "chunks/00/t");
            Assert.True(after.LastModified > before.LastModified, $"{after.LastModified:o} > {before.LastModified:o}");
            Assert.NotEqual(before.Version, after.Version);
            Assert.Equal(new byte[] { 9 }, await store.GetAsync("chunks/00/t", None));
            Assert.False(await store.TouchAsync("chunks/00/missing", None));
        }

        [Fact]
        public async Task Delete_if_unchanged_deletes_the_listed_version_only()
        {
            var store = NewStore();
            await store.PutAsync("chunks/01/old", new byte[] { 1 }, None);
            await store.PutAsync("chunks/01/touched", new byte[] { 2 }, None);
            var old = await InfoAsync(store, "chunks/01/old");
            var touched = await InfoAsync(store, "chunks/01/touched");
            await Task.Delay(1100);
            Assert.True(await store.TouchAsync("chunks/01/touched", None)); // a cycle reuses it after GC listed it

            Assert.True(await store.DeleteIfUnchangedAsync(old, None));
            Assert.False(await store.DeleteIfUnchangedAsync(touched, None));
            Assert.False(await store.ExistsAsync("chunks/01/old", None));
            Assert.Equal(new byte[] { 2 }, await store.GetAsync("chunks/01/touched", None));
            Assert.False(await store.DeleteIfUnchangedAsync(old, None)); // already gone
        }

        [Theory]
        [InlineData("")]
        [InlineData("../escape")]
        [InlineData("a//b")]
        [InlineData(".tmp/x")]
        [InlineData("a/b c")]
        public async Task Keys_outside_the_layout_are_refused(string key)
        {
            var store = NewStore();
            await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync(key, new byte[1], None));
        }

        internal static async Task<StoredObject> InfoAsync(IObjectStore store, string key)
        {
            await foreach (var item in store.ListAsync(key, None))
            {
                if (item.Key == key) return item;
            }
            throw new InvalidOperationException("not listed: " + key);
        }
    }

    public sealed class LocalFolderStoreContractTests : ObjectStoreContractTests, IDisposable
    {
        private readonly TemporaryFolder folder = new TemporaryFolder();

        protected override IObjectStore NewStore() => new LocalFolderStore(Path.Combine(folder.FolderPath, Guid.NewGuid().ToString("N")));

        public void Dispose() => folder.Dispose();
    }

    public sealed class BlobStoreContractTests : ObjectStoreContractTests, IClassFixture<AzuriteLab>
    {
        private readonly AzuriteLab lab;

        public BlobStoreContractTests(AzuriteLab lab)
        {
            this.lab = lab;
        }

        protected override IObjectStore NewStore() => lab.NewStore();
    }
}
