using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Vault;
using AzureSiteRecovery.DR.Core.Vault.Connection;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests
{
    /// <summary>How -Vault / AZSR_DR_VAULT* name a vault, its sign-in and key; that no secret shows; that a given key seals a SQLite vault.</summary>
    public sealed class VaultConnectionTests : IDisposable
    {
        private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
        private const string Sas = "sv=2022-11-02&ss=t&srt=sco&sp=rwdlacu&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D";
        private static readonly string LiteralKey = Convert.ToBase64String(new byte[] { 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31 });
        private readonly TemporaryFolder folder = new TemporaryFolder();

        public void Dispose() => folder.Dispose();

        private string Resolve(string path) => Path.IsPathRooted(path) ? path : Path.Combine(folder.FolderPath, path);

        private VaultConnection FromEnvironment(string? vault, params (string Name, string Value)[] variables)
        {
            var environment = new Dictionary<string, string>();
            foreach (var (name, value) in variables) environment[name] = value;
            return VaultConnection.FromEnvironment(vault, n => environment.TryGetValue(n, out var v) ? v : n == "HOME" ? "/home/ann" : null, Resolve);
        }

        [Fact]
        public void A_path_is_a_sqlite_vault_resolved_against_the_callers_location_and_keeps_its_key_beside_it()
        {
            var connection = FromEnvironment("state/vault.db");
            Assert.Equal(VaultKind.Sqlite, connection.Kind);
            Assert.Equal(folder.VaultPath, connection.Location);
            Assert.Null(connection.KeySource);
            Assert.Equal(folder.VaultPath, connection.LocalPath);
        }

        [Fact]
        public void Without_vault_the_environment_variable_then_the_default_path_is_used()
        {
            Assert.Equal("/env/vault.db", FromEnvironment(null, ("AZSR_DR_VAULT", "/env/vault.db")).Location);
            Assert.Equal(VaultLocation.DefaultPath(), FromEnvironment("").Location);
            // -Vault wins over the variable.
            Assert.Equal(folder.VaultPath, FromEnvironment(folder.VaultPath, ("AZSR_DR_VAULT", "https://acct.table.core.windows.net/")).Location);
        }

        [Fact]
        public void A_url_is_a_table_vault_with_managed_identity_by_default_and_the_default_prefix()
        {
            var connection = FromEnvironment("https://contosodr.table.core.windows.net/", ("AZSR_DR_VAULT_KEY", "base64:" + LiteralKey));
            Assert.Equal(VaultKind.Table, connection.Kind);
            Assert.Equal("https://contosodr.table.core.windows.net/", connection.Location);
            Assert.Equal("drvault", connection.TablePrefix);
            Assert.Equal(VaultAuthentication.ManagedIdentity, connection.Authentication);
            Assert.Equal("contosodr", connection.AccountName);
            Assert.Equal(VaultKeySourceKind.Literal, connection.KeySource!.Kind);
        }

        [Fact]
        public void Azurite_with_a_shared_key_a_prefix_and_a_key_file_from_the_environment()
        {
            var connection = FromEnvironment(null,
                ("AZSR_DR_VAULT", "http://127.0.0.1:10002/devstoreaccount1"), ("AZSR_DR_VAULT_TABLE_PREFIX", "bench1"),
                ("AZSR_DR_VAULT_AUTHENTICATION", "sharedkey"), ("AZSR_DR_VAULT_SECRET", AccountKey), ("AZSR_DR_VAULT_KEY", "keys/vault.key"));
            Assert.Equal(VaultAuthentication.SharedKey, connection.Authentication);
            Assert.Equal("devstoreaccount1", connection.AccountName);
            Assert.Equal("bench1", connection.TablePrefix);
            Assert.Equal(Path.Combine(folder.FolderPath, "keys/vault.key"), connection.KeySource!.FilePath);
            Assert.True(connection.HasSecret);
            Assert.EndsWith(Path.Combine("tables", "127.0.0.1_10002_devstoreaccount1_bench1.db"), connection.LocalPath, StringComparison.Ordinal);
        }

        [Fact]
        public void The_environment_a_connection_hands_to_a_child_process_names_the_same_vault()
        {
            var parent = FromEnvironment("http://127.0.0.1:10002/devstoreaccount1", ("AZSR_DR_VAULT_AUTHENTICATION", "Sas"),
                ("AZSR_DR_VAULT_SECRET", "?" + Sas), ("AZSR_DR_VAULT_KEY", "base64:" + LiteralKey), ("AZSR_DR_VAULT_TABLE_PREFIX", "p2"));
            var variables = parent.ToEnvironment();
            var child = VaultConnection.FromEnvironment(null, n => variables.TryGetValue(n, out var v) ? v : null, Resolve);
            Assert.Equal(parent.Location, child.Location);
            Assert.Equal("p2", child.TablePrefix);
            Assert.Equal(VaultAuthentication.Sas, child.Authentication);
            Assert.True(child.Names("http://127.0.0.1:10002/devstoreaccount1/", "p2", Resolve));
            Assert.False(child.Names("http://127.0.0.1:10002/devstoreaccount1/", null, Resolve));
        }

        [Fact]
        public void A_table_vault_without_a_key_source_is_refused_naming_how_to_give_one()
        {
            var e = Assert.Throws<VaultException>(() => FromEnvironment("https://contosodr.table.core.windows.net/"));
            Assert.Equal("VaultKeyRequired", e.ErrorId);
            Assert.Contains("-KeyFile", e.Message, StringComparison.Ordinal);
            Assert.Contains("-KeySecretUri", e.Message, StringComparison.Ordinal);
            Assert.Contains("AZSR_DR_VAULT_KEY", e.Message, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData("http://contosodr.table.core.windows.net/", "SharedKey", "plain http")]
        [InlineData("http://127.0.0.1:10002/devstoreaccount1", "ManagedIdentity", "https only")]
        [InlineData("https://contosodr.table.core.windows.net/", "bogus", "ManagedIdentity, SharedKey or Sas")]
        public void Unsafe_or_unknown_sign_ins_are_refused(string url, string authentication, string expected)
        {
            var e = Assert.Throws<VaultException>(() => FromEnvironment(url, ("AZSR_DR_VAULT_AUTHENTICATION", authentication),
                ("AZSR_DR_VAULT_SECRET", authentication == "ManagedIdentity" ? "" : AccountKey), ("AZSR_DR_VAULT_KEY", "base64:" + LiteralKey)));
            Assert.Equal("VaultConnectionInvalid", e.ErrorId);
            Assert.Contains(expected, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(AccountKey, e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void No_secret_shows_in_the_connection_or_its_errors()
        {
            var shared = FromEnvironment("http://127.0.0.1:10002/devstoreaccount1", ("AZSR_DR_VAULT_AUTHENTICATION", "SharedKey"),
                ("AZSR_DR_VAULT_SECRET", AccountKey), ("AZSR_DR_VAULT_KEY", "base64:" + LiteralKey));
            foreach (var shown in new[] { shared.ToString(), shared.KeySource!.ToString(), shared.KeySource.Description, shared.Location })
            {
                Assert.DoesNotContain(AccountKey, shown, StringComparison.Ordinal);
                Assert.DoesNotContain(LiteralKey, shown, StringComparison.Ordinal);
            }
            // A SAS pasted into the URL is never repeated back.
            var inUrl = Assert.Throws<VaultException>(() => FromEnvironment("https://contosodr.table.core.windows.net/?" + Sas, ("AZSR_DR_VAULT_KEY", "base64:" + LiteralKey)));
            Assert.DoesNotContain("sig=", inUrl.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("sig=", inUrl.Target ?? "", StringComparison.Ordinal);
            Assert.Contains("-SasToken", inUrl.Message, StringComparison.Ordinal);
            // A key that is not 32 bytes of base64: refused without echoing it.
            var bad = Assert.Throws<VaultException>(() => VaultKeySource.Literal("bm90IGEga2V5IGJ1dCBhIHNlY3JldA=="));
            Assert.Equal("VaultKeyInvalid", bad.ErrorId);
            Assert.DoesNotContain("bm90IGEga2V5IGJ1dCBhIHNlY3JldA==", bad.Message, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData("https://kv.vault.azure.net/secrets/dr-key", "dr-key", null)]
        [InlineData("https://kv.vault.azure.net/secrets/dr-key/0123abcd", "dr-key", "0123abcd")]
        public void A_key_vault_secret_uri_names_the_vault_secret_and_version(string uri, string name, string? version)
        {
            var source = VaultKeySource.Parse(uri, Resolve);
            Assert.Equal(VaultKeySourceKind.KeyVaultSecret, source.Kind);
            var parsed = VaultKeySource.ParseSecretUri(source.SecretUri!);
            Assert.Equal(new Uri("https://kv.vault.azure.net/"), parsed.Vault);
            Assert.Equal(name, parsed.Name);
            Assert.Equal(version, parsed.Version);
        }

        [Theory]
        [InlineData("http://kv.vault.azure.net/secrets/dr-key")]
        [InlineData("https://kv.vault.azure.net/keys/dr-key")]
        [InlineData("https://kv.vault.azure.net/secrets/dr-key/v1/extra")]
        public void Other_uris_are_not_key_vault_secrets(string uri)
        {
            var e = Assert.Throws<VaultException>(() => VaultKeySource.Parse(uri, Resolve));
            Assert.Equal("VaultKeySourceInvalid", e.ErrorId);
        }

        [Fact]
        public async Task A_key_file_source_is_created_once_and_then_reused()
        {
            var path = Path.Combine(folder.FolderPath, "keys", "table.key");
            var connection = VaultConnection.ForFile(folder.VaultPath, VaultKeySource.File(path));
            using var first = (await connection.OpenKeyAsync(CancellationToken.None))!;
            using var second = (await connection.OpenKeyAsync(CancellationToken.None))!;
            Assert.True(File.Exists(path));
            Assert.Equal(first.Id, second.Id);
            Assert.Equal(path, first.FilePath);
        }

        [Fact]
        public async Task A_sqlite_vault_with_a_given_key_seals_with_it_writes_no_key_file_and_refuses_another_key()
        {
            var connection = VaultConnection.ForFile(folder.VaultPath, VaultKeySource.Literal(LiteralKey));
            using (var vault = await connection.OpenAsync(CancellationToken.None))
            {
                await vault.AddSiteAsync(new Site { Name = "onprem", Kind = SiteKind.VSphere, Server = new Uri("https://vc.example/sdk"), UserName = "admin" }, "p@ss", CancellationToken.None);
                Assert.Equal("p@ss", await vault.ReadSiteSecretAsync("onprem", CancellationToken.None));
            }
            Assert.False(File.Exists(VaultKey.PathFor(folder.VaultPath)));

            var other = new byte[32];
            other[0] = 9;
            var wrong = VaultConnection.ForFile(folder.VaultPath, VaultKeySource.Literal(Convert.ToBase64String(other)));
            using (var vault = await wrong.OpenAsync(CancellationToken.None))
            {
                var e = await Assert.ThrowsAsync<VaultException>(() => vault.ReadSiteSecretAsync("onprem", CancellationToken.None));
                Assert.Equal("VaultKeyMismatch", e.ErrorId);
                Assert.Contains("-Key", e.Message, StringComparison.Ordinal);
            }
        }

        [Fact]
        public async Task The_chunk_store_of_a_vault_with_a_given_key_uses_it()
        {
            var connection = VaultConnection.ForFile(folder.VaultPath, VaultKeySource.Literal(LiteralKey));
            using var vault = await connection.OpenAsync(CancellationToken.None);
            using var store = new ConfiguredChunkStore(vault, connection).Open();
            Assert.NotNull(store.Chunks);
            Assert.False(File.Exists(VaultKey.PathFor(folder.VaultPath)));
        }
    }
}
