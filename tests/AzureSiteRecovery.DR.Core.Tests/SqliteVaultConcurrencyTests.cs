using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Vault;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests
{
    public sealed class SqliteVaultConcurrencyTests : IDisposable
    {
        private const int Instances = 6;
        private const int UpdatesPerInstance = 25;
        private readonly TemporaryFolder folder = new TemporaryFolder();

        public void Dispose() => folder.Dispose();

        [Fact]
        public async Task Parallel_updates_from_separate_connections_lose_nothing()
        {
            var vaults = Enumerable.Range(0, Instances).Select(_ => SqliteVault.Open(folder.VaultPath)).ToArray();
            try
            {
                await vaults[0].AddPolicyAsync(Samples.Policy() with { Description = "" }, CancellationToken.None);

                // Each update appends its own token to Description: a lost update would drop one.
                await Concurrently.Run(Instances, async instance =>
                {
                    var vault = vaults[instance];
                    for (var update = 0; update < UpdatesPerInstance; update++)
                    {
                        var token = $"[{instance}.{update}]";
                        await vault.UpdatePolicyAsync("gold", policy =>
                        {
                            // Widens the window between the read and the write, where a lost update would happen.
                            Thread.Sleep(5);
                            return policy with { Description = policy.Description + token };
                        }, CancellationToken.None);
                    }
                    return true;
                });

                var description = (await vaults[1].FindPolicyAsync("gold", CancellationToken.None))!.Description!;
                for (var instance = 0; instance < Instances; instance++)
                {
                    for (var update = 0; update < UpdatesPerInstance; update++)
                    {
                        Assert.Contains($"[{instance}.{update}]", description);
                    }
                }
                Assert.Equal(Instances * UpdatesPerInstance, description.Count(c => c == '['));
            }
            finally
            {
                foreach (var vault in vaults) vault.Dispose();
            }
        }

        [Fact]
        public async Task Parallel_calls_on_one_instance_take_turns()
        {
            using var vault = SqliteVault.Open(folder.VaultPath);
            await vault.AddPolicyAsync(Samples.Policy() with { Description = "" }, CancellationToken.None);

            await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() =>
                vault.UpdatePolicyAsync("gold", policy => policy with { Description = policy.Description + "x" }, CancellationToken.None))));

            Assert.Equal(new string('x', 50), (await vault.FindPolicyAsync("gold", CancellationToken.None))!.Description);
        }

        [Fact]
        public async Task Racing_adds_of_one_name_store_it_once()
        {
            var vaults = Enumerable.Range(0, Instances).Select(_ => SqliteVault.Open(folder.VaultPath)).ToArray();
            try
            {
                var outcomes = await Concurrently.Run(Instances, async instance =>
                {
                    try
                    {
                        await vaults[instance].AddPolicyAsync(Samples.Policy(), CancellationToken.None);
                        return "added";
                    }
                    catch (Errors.ObjectAlreadyExistsException error)
                    {
                        return error.ErrorId;
                    }
                });

                Assert.Single(outcomes, "added");
                Assert.All(outcomes.Where(outcome => outcome != "added"), outcome => Assert.Equal("ReplicationPolicyAlreadyExists", outcome));
            }
            finally
            {
                foreach (var vault in vaults) vault.Dispose();
            }
        }
    }
}
