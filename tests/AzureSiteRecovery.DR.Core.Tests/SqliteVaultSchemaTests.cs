using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Vault;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests
{
    public sealed class SqliteVaultSchemaTests : IDisposable
    {
        private readonly TemporaryFolder folder = new TemporaryFolder();

        public void Dispose() => folder.Dispose();

        [Fact]
        public async Task Open_creates_the_folder_and_a_WAL_vault_at_the_latest_schema()
        {
            using (var vault = SqliteVault.Open(folder.VaultPath))
            {
                Assert.Equal(folder.VaultPath, vault.Location);
                await vault.AddPolicyAsync(Samples.Policy(), CancellationToken.None);
            }

            Assert.True(File.Exists(folder.VaultPath));
            Assert.Equal(VaultSchema.LatestVersion, UserVersion(folder.VaultPath));
            Assert.Equal("wal", Pragma(folder.VaultPath, "journal_mode"));
        }

        [Fact]
        public async Task An_empty_file_is_migrated_to_the_latest_schema()
        {
            Directory.CreateDirectory(Path.GetDirectoryName(folder.VaultPath)!);
            File.WriteAllBytes(folder.VaultPath, Array.Empty<byte>());

            using (var vault = SqliteVault.Open(folder.VaultPath))
            {
                await vault.AddSiteAsync(Samples.VSphereSite(), null, CancellationToken.None);
            }

            Assert.Equal(VaultSchema.LatestVersion, UserVersion(folder.VaultPath));
            var tables = Tables(folder.VaultPath);
            Assert.Subset(tables.ToHashSet(), new[] { "sites", "site_secrets", "replication_policies", "protection_groups", "protected_vms" }.ToHashSet());
        }

        [Fact]
        public async Task Reopening_a_migrated_vault_keeps_its_data_and_version()
        {
            using (var vault = SqliteVault.Open(folder.VaultPath))
            {
                await vault.AddPolicyAsync(Samples.Policy(), CancellationToken.None);
            }
            using (var vault = SqliteVault.Open(folder.VaultPath))
            {
                Assert.NotNull(await vault.FindPolicyAsync("gold", CancellationToken.None));
            }
            Assert.Equal(VaultSchema.LatestVersion, UserVersion(folder.VaultPath));
        }

        [Fact]
        public void A_vault_from_a_newer_module_is_refused_and_left_untouched()
        {
            Directory.CreateDirectory(Path.GetDirectoryName(folder.VaultPath)!);
            using (var connection = Samples.OpenFile(folder.VaultPath))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "PRAGMA user_version = 999;";
                command.ExecuteNonQuery();
            }

            var error = Assert.Throws<VaultException>(() => SqliteVault.Open(folder.VaultPath));

            Assert.Equal("VaultSchemaTooNew", error.ErrorId);
            Assert.Equal(folder.VaultPath, error.Target);
            Assert.Contains("999", error.Message);
            Assert.Contains("Update the module", error.Message);
            Assert.Equal(999, UserVersion(folder.VaultPath));
            Assert.Empty(Tables(folder.VaultPath));
        }

        [Fact]
        public void A_file_that_is_not_a_SQLite_database_is_refused()
        {
            Directory.CreateDirectory(Path.GetDirectoryName(folder.VaultPath)!);
            var content = string.Concat(Enumerable.Repeat("sites:\n  - name: onprem\n", 200));
            File.WriteAllText(folder.VaultPath, content);

            var error = Assert.Throws<VaultException>(() => SqliteVault.Open(folder.VaultPath));

            Assert.Equal("VaultUnreadable", error.ErrorId);
            Assert.Contains(folder.VaultPath, error.Message);
            Assert.Equal(content, File.ReadAllText(folder.VaultPath));
        }

        [Fact]
        public void A_relative_path_is_refused_because_the_caller_must_resolve_it()
        {
            Assert.Throws<ArgumentException>(() => SqliteVault.Open(Path.Combine("relative", "vault.db")));
        }

        [Fact]
        public async Task Many_instances_opening_a_new_vault_at_once_all_see_one_migrated_schema()
        {
            var vaults = await Concurrently.Run(8, _ => SqliteVault.Open(folder.VaultPath));
            try
            {
                await vaults[0].AddPolicyAsync(Samples.Policy(), CancellationToken.None);
                foreach (var vault in vaults)
                {
                    Assert.NotNull(await vault.FindPolicyAsync("gold", CancellationToken.None));
                }
            }
            finally
            {
                foreach (var vault in vaults) vault.Dispose();
            }
            Assert.Equal(VaultSchema.LatestVersion, UserVersion(folder.VaultPath));
        }

        private static long UserVersion(string path) => Convert.ToInt64(Pragma(path, "user_version"));

        private static object Pragma(string path, string name)
        {
            using var connection = Samples.OpenFile(path);
            using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA {name};";
            return command.ExecuteScalar()!;
        }

        private static string[] Tables(string path)
        {
            using var connection = Samples.OpenFile(path);
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name;";
            using var reader = command.ExecuteReader();
            var names = new System.Collections.Generic.List<string>();
            while (reader.Read()) names.Add(reader.GetString(0));
            return names.ToArray();
        }
    }
}
