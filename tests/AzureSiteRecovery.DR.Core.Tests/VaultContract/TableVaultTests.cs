using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Azure.Data.Tables;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using AzureSiteRecovery.DR.Core.Vault.Tables;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VaultContract
{
    /// <summary>What only the table vault has: its key record, entity size limits, the table service's failures.</summary>
    [Collection(AzuriteTables.Collection)]
    public sealed class TableVaultTests : IDisposable
    {
        private readonly AzuriteTables lab;
        private readonly TemporaryFolder folder = new TemporaryFolder();
        private readonly string prefix = "t" + Guid.NewGuid().ToString("N").Substring(0, 16);
        private readonly CancellationToken none = CancellationToken.None;

        public TableVaultTests(AzuriteTables lab) => this.lab = lab;

        public void Dispose() => folder.Dispose();

        private VaultKey Key(string name) => VaultKey.OpenOrCreate(Path.Combine(folder.FolderPath, name), () => false);

        private Task<TableVault> OpenAsync(VaultKey key) => TableVault.OpenAsync(lab.Service, prefix, key, lab.Url.AbsoluteUri, none);

        [Fact]
        public async Task Another_key_is_taken_while_nothing_is_sealed_and_refused_with_VaultKeyMismatch_after()
        {
            using (var first = await OpenAsync(Key("first.key")))
            {
                await first.AddSiteAsync(Samples.VSphereSite(), null, none);
            }
            // Nothing sealed yet: the vault takes the new key.
            using (var second = await OpenAsync(Key("second.key")))
            {
                await second.AddSiteAsync(Samples.AzureSite(), "client-secret", none);
            }

            var error = await Assert.ThrowsAsync<VaultException>(() => OpenAsync(Key("third.key")));

            Assert.Equal("VaultKeyMismatch", error.ErrorId);
            Assert.Contains(lab.Url.AbsoluteUri, error.Message);
            Assert.Contains("second.key", error.Message);
            Assert.Contains("key source it was created with", error.Message);
            using var again = await OpenAsync(Key("second.key"));
            Assert.Equal("client-secret", await again.ReadSiteSecretAsync("azure-weu", none));
            // The key itself is nowhere in the tables.
            var keyBytes = File.ReadAllBytes(Path.Combine(folder.FolderPath, "second.key"));
            await foreach (var row in lab.Service.GetTableClient(prefix + "config").QueryAsync<TableEntity>(cancellationToken: none))
            {
                foreach (var value in ((System.Collections.Generic.IDictionary<string, object>)row).Values.OfType<byte[]>())
                {
                    Assert.False(value.SequenceEqual(keyBytes));
                }
            }
        }

        [Fact]
        public async Task A_200_KB_plan_and_a_job_of_300_steps_round_trip()
        {
            using var vault = await OpenAsync(Key("vault.key"));
            var yaml = "name: big\n" + string.Concat(Enumerable.Range(0, 5000).Select(i => $"# comment line {i:D5} to make the plan large\n"));
            Assert.True(Encoding.UTF8.GetByteCount(yaml) > 200_000);
            await vault.AddRecoveryPlanAsync(new RecoveryPlanSource { Name = "big", ProtectedSite = "onprem", RecoverySite = "azure-weu", Yaml = yaml }, replace: false, none);
            var job = new DRJob
            {
                JobId = "j300", Operation = JobOperation.Failover, Target = "big", Created = DateTimeOffset.UtcNow, PlanYaml = yaml,
                Steps = Enumerable.Range(0, 300).Select(i => new JobStep { Index = i, Name = $"step {i}", Vm = $"vm{i}", Message = new string('m', 200) }).ToList(),
            };
            await vault.AddJobAsync(job, none);
            await vault.UpdateJobStepAsync("j300", 299, s => s with { State = JobStepState.Succeeded }, none);

            Assert.Equal(yaml, (await vault.FindRecoveryPlanAsync("BIG", none))!.Yaml);
            var read = (await vault.FindJobAsync("j300", none))!;
            Assert.Equal(300, read.Steps.Count);
            Assert.Equal(Enumerable.Range(0, 300), read.Steps.Select(s => s.Index));
            Assert.Equal(JobStepState.Succeeded, read.Steps[299].State);
            Assert.Equal(yaml, read.PlanYaml);
            var inUse = await Assert.ThrowsAsync<ObjectInUseException>(() => vault.RemoveRecoveryPlanAsync("big", none));
            Assert.Equal("RecoveryPlanInUse", inUse.ErrorId);
        }

        [Fact]
        public async Task A_wrong_account_key_is_VaultUnreadable_naming_the_endpoint_and_the_fix_but_not_the_key()
        {
            var wrongKey = Convert.ToBase64String(Enumerable.Repeat((byte)7, 64).ToArray());
            var service = lab.ServiceWith(new TableSharedKeyCredential(AzuriteLab.AccountName, wrongKey));

            var error = await Assert.ThrowsAsync<VaultException>(() => TableVault.OpenAsync(service, prefix, Key("vault.key"), lab.Url.AbsoluteUri, none));

            Assert.Equal("VaultUnreadable", error.ErrorId);
            Assert.Contains(lab.Url.AbsoluteUri, error.Message);
            Assert.Contains("check the account key or SAS", error.Message);
            Assert.DoesNotContain(wrongKey, error.Message);
            Assert.DoesNotContain(AzuriteLab.AccountKey, error.Message);
        }

        [Fact]
        public async Task A_table_prefix_that_tables_refuse_is_an_argument_error()
        {
            var error = await Assert.ThrowsAsync<ArgumentException>(() => TableVault.OpenAsync(lab.Service, "dr-vault", Key("vault.key"), lab.Url.AbsoluteUri, none));
            Assert.Contains("letters and digits", error.Message);
        }
    }
}
