using System.Linq;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Plans;
using AzureSiteRecovery.DR.Core.Vault;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using AzureSiteRecovery.DR.Core.Tests.Plans;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VaultContract
{
    public abstract class PlanContract : VaultContractTest
    {
        protected PlanContract(VaultBackend backend) : base(backend)
        {
        }

        private static RecoveryPlanSource Plan(string name, string yaml = "# comment\nname: x\n") =>
            new RecoveryPlanSource { Name = name, ProtectedSite = "onprem", RecoverySite = "dr", Yaml = yaml };

        [Fact]
        public async Task A_plan_reads_back_with_its_yaml_unchanged()
        {
            var added = await vault.AddRecoveryPlanAsync(Plan("erp", "# keep me\r\nname: erp  \n"), replace: false, none);

            using var other = OpenOther();
            Assert.Equal(added, await other.FindRecoveryPlanAsync("ERP", none));
            Assert.Equal("# keep me\r\nname: erp  \n", added.Yaml);
        }

        [Fact]
        public async Task A_name_taken_is_refused_unless_replacing_which_keeps_the_creation_time()
        {
            var first = await vault.AddRecoveryPlanAsync(Plan("erp"), replace: false, none);

            var ex = await Assert.ThrowsAsync<ObjectAlreadyExistsException>(() => vault.AddRecoveryPlanAsync(Plan("ERP"), replace: false, none));
            Assert.Equal("RecoveryPlanAlreadyExists", ex.ErrorId);

            await Task.Delay(5);
            var replaced = await vault.AddRecoveryPlanAsync(Plan("ERP", "name: new\n"), replace: true, none);
            Assert.Equal(("erp", first.Created, "name: new\n"), (replaced.Name, replaced.Created, replaced.Yaml));
            Assert.True(replaced.Modified > first.Modified);
            Assert.Single(await vault.ListRecoveryPlansAsync(none));
        }

        [Fact]
        public async Task Plans_list_by_name_and_remove()
        {
            await vault.AddRecoveryPlanAsync(Plan("web"), false, none);
            await vault.AddRecoveryPlanAsync(Plan("erp"), false, none);

            Assert.Equal(new[] { "erp", "web" }, (await vault.ListRecoveryPlansAsync(none)).Select(p => p.Name));
            await vault.RemoveRecoveryPlanAsync("WEB", none);
            Assert.Null(await vault.FindRecoveryPlanAsync("web", none));
            var ex = await Assert.ThrowsAsync<ObjectNotFoundException>(() => vault.RemoveRecoveryPlanAsync("web", none));
            Assert.Equal("RecoveryPlanNotFound", ex.ErrorId);
        }

        [Fact]
        public async Task A_plan_keeps_the_folder_it_came_from_and_a_replacement_brings_its_own()
        {
            var catalog = new RecoveryPlanCatalog(vault);
            var parsed = RecoveryPlanParser.Parse(RecoveryPlanParserTests.ExamplePlan(), "erp.plan.yaml") with { SourceFolder = "/srv/plans/erp" };

            var added = await catalog.AddAsync(parsed, replace: false, none);
            using (var other = OpenOther())
            {
                Assert.Equal("/srv/plans/erp", (await other.FindRecoveryPlanAsync("erp", none))!.SourceFolder);
                Assert.Equal("/srv/plans/erp", (await new RecoveryPlanCatalog(other).FindAsync("erp", none))!.SourceFolder);
            }
            Assert.Equal("/srv/plans/erp", added.SourceFolder);

            await catalog.AddAsync(parsed with { SourceFolder = @"C:\plans\erp" }, replace: true, none);
            Assert.Equal(@"C:\plans\erp", (await catalog.ListAsync(none)).Single().SourceFolder);

            await vault.AddRecoveryPlanAsync(Plan("web"), replace: false, none);
            Assert.Null((await vault.FindRecoveryPlanAsync("web", none))!.SourceFolder);
        }

        [Fact]
        public async Task The_catalog_parses_what_the_vault_stores()
        {
            var catalog = new RecoveryPlanCatalog(vault);
            var yaml = RecoveryPlanParserTests.ExamplePlan();

            var added = await catalog.AddAsync(RecoveryPlanParser.Parse(yaml, "erp.plan.yaml"), replace: false, none);
            var found = await catalog.FindAsync("erp", none);

            Assert.Equal(yaml, found!.Yaml);
            Assert.Equal(added.Created, found.Created);
            Assert.Equal(new[] { "db", "app", "web" }, found.Groups.Select(g => g.Name));
            Assert.Equal("erp", found.Groups[0].Location!.File);
        }
    }
    public sealed class SqliteVaultPlanTests : PlanContract
    {
        public SqliteVaultPlanTests() : base(VaultBackend.Sqlite)
        {
        }
    }

    [Collection(AzuriteTables.Collection)]
    public sealed class TableVaultPlanTests : PlanContract
    {
        public TableVaultPlanTests(AzuriteTables lab) : base(VaultBackend.Tables(lab))
        {
        }
    }
}
