using System;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Vault;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Plans
{
    public sealed class VaultSchemaPlansTests
    {
        [Fact]
        public async Task A_schema_2_vault_opens_at_the_latest_schema_with_its_data_and_an_empty_plan_table()
        {
            using var folder = new TemporaryFolder();
            System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(folder.VaultPath)!);
            using (var connection = Samples.OpenFile(folder.VaultPath))
            using (var command = connection.CreateCommand())
            {
                // The file as the module before recovery plans wrote it: migrations 1 and 2, and a site.
                command.CommandText = VaultSchema.Migrations[0] + VaultSchema.Migrations[1] + @"
PRAGMA user_version = 2;
INSERT INTO sites (name, kind, role, server, created_unix_ms, modified_unix_ms) VALUES ('onprem', 'VSphere', 'Protected', 'https://vc/sdk', 1000, 1000);";
                command.ExecuteNonQuery();
            }

            using var vault = SqliteVault.Open(folder.VaultPath);

            using (var connection = Samples.OpenFile(folder.VaultPath))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "PRAGMA user_version;";
                Assert.Equal((long)VaultSchema.LatestVersion, (long)command.ExecuteScalar()!);
            }

            Assert.Equal("onprem", (await vault.FindSiteAsync("ONPREM", default))!.Name);
            Assert.Empty(await vault.ListRecoveryPlansAsync(default));
            var plan = await vault.AddRecoveryPlanAsync(new RecoveryPlanSource { Name = "erp", ProtectedSite = "onprem", RecoverySite = "dr", Yaml = "name: erp\n" }, false, default);
            Assert.Equal(plan, await vault.FindRecoveryPlanAsync("erp", default));
        }
    }
}
