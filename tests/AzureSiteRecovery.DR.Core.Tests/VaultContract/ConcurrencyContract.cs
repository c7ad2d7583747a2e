using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using AzureSiteRecovery.DR.Core.Vault;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.VaultContract
{
    /// <summary>Several vault instances (as several processes) changing the same objects at once: no update is lost, one claim wins.</summary>
    public abstract class ConcurrencyContract : VaultContractTest
    {
        private const int Instances = 4;
        private const int UpdatesPerInstance = 10;

        protected ConcurrencyContract(VaultBackend backend) : base(backend)
        {
        }

        private IVault[] Vaults() => Enumerable.Range(0, Instances).Select(i => i == 0 ? vault : OpenOther()).ToArray();

        [Fact]
        public async Task Parallel_updates_from_separate_instances_lose_nothing()
        {
            var vaults = Vaults();
            await vault.AddPolicyAsync(Samples.Policy() with { Description = "" }, none);

            // Each update appends its own token to Description: a lost update would drop one.
            await Concurrently.Run(Instances, async instance =>
            {
                for (var update = 0; update < UpdatesPerInstance; update++)
                {
                    var token = $"[{instance}.{update}]";
                    await vaults[instance].UpdatePolicyAsync("gold", policy =>
                    {
                        // Widens the window between the read and the write, where a lost update would happen.
                        Thread.Sleep(5);
                        return policy with { Description = policy.Description + token };
                    }, none);
                }
                return true;
            });

            var description = (await vaults[1].FindPolicyAsync("gold", none))!.Description!;
            for (var instance = 0; instance < Instances; instance++)
            {
                for (var update = 0; update < UpdatesPerInstance; update++)
                {
                    Assert.Contains($"[{instance}.{update}]", description);
                }
            }
            Assert.Equal(Instances * UpdatesPerInstance, description.Count(c => c == '['));
        }

        [Fact]
        public async Task Parallel_calls_on_one_instance_lose_nothing()
        {
            await vault.AddPolicyAsync(Samples.Policy() with { Description = "" }, none);

            await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() =>
                vault.UpdatePolicyAsync("gold", policy => policy with { Description = policy.Description + "x" }, none))));

            Assert.Equal(new string('x', 20), (await vault.FindPolicyAsync("gold", none))!.Description);
        }

        [Fact]
        public async Task Racing_adds_of_one_name_store_it_once()
        {
            var vaults = Vaults();
            var outcomes = await Concurrently.Run(Instances, async instance =>
            {
                try
                {
                    await vaults[instance].AddPolicyAsync(Samples.Policy(), none);
                    return "added";
                }
                catch (ObjectAlreadyExistsException error)
                {
                    return error.ErrorId;
                }
            });

            Assert.Single(outcomes, "added");
            Assert.All(outcomes.Where(outcome => outcome != "added"), outcome => Assert.Equal("ReplicationPolicyAlreadyExists", outcome));
        }

        [Fact]
        public async Task Parallel_updates_of_one_vm_and_commits_of_its_points_lose_no_increment()
        {
            await vault.AddSiteAsync(Samples.VSphereSite(), null, none);
            await vault.AddSiteAsync(Samples.AzureSite(), null, none);
            await vault.AddPolicyAsync(Samples.Policy(), none);
            await vault.AddGroupAsync(Samples.Group(), none);
            var vm = await vault.AddProtectedVmAsync(new ProtectedVm { VmId = "vm1", Name = "sql01", ProtectionGroup = "erp", Site = "onprem", MoRef = "vm-1" }, none);
            var vaults = Vaults();

            await Concurrently.Run(Instances, async instance =>
            {
                for (var update = 0; update < UpdatesPerInstance; update++)
                {
                    if (update % 2 == 0)
                    {
                        await vaults[instance].UpdateProtectedVmAsync(vm.VmId, v => v with { BytesSent = v.BytesSent + 1 }, none);
                    }
                    else
                    {
                        var point = new RecoveryPoint { RecoveryPointId = $"p{instance}.{update}", VmId = vm.VmId, VmName = vm.Name, Time = DateTimeOffset.UtcNow, ManifestKey = $"points/{instance}.{update}" };
                        await vaults[instance].CommitRecoveryPointAsync(point, v => v with { BytesSent = v.BytesSent + 1, LastRecoveryPointId = point.RecoveryPointId }, none);
                    }
                }
                return true;
            });

            Assert.Equal(Instances * UpdatesPerInstance, (await vault.FindProtectedVmAsync(vm.VmId, none))!.BytesSent);
            Assert.Equal(Instances * UpdatesPerInstance / 2, (await vault.ListRecoveryPointsAsync(vm.VmId, none)).Count);
        }

        [Fact]
        public async Task Parallel_step_and_job_updates_from_separate_instances_lose_nothing()
        {
            await vault.AddJobAsync(new DRJob
            {
                JobId = "j1", Operation = JobOperation.TestFailover, Target = "erp", Created = DateTimeOffset.UtcNow,
                Steps = Enumerable.Range(0, 3).Select(i => new JobStep { Index = i, Name = $"step {i}" }).ToList(),
            }, none);
            var vaults = Vaults();

            await Concurrently.Run(Instances, async instance =>
            {
                for (var update = 0; update < UpdatesPerInstance; update++)
                {
                    await vaults[instance].UpdateJobStepAsync("j1", update % 3, s => s with { Message = s.Message + "x" }, none);
                    await vaults[instance].UpdateJobAsync("j1", j => j with { Error = j.Error + "x" }, none);
                }
                return true;
            });

            var job = (await vault.FindJobAsync("j1", none))!;
            Assert.Equal(Instances * UpdatesPerInstance, job.Error!.Length);
            Assert.Equal(Instances * UpdatesPerInstance, job.Steps.Sum(s => s.Message?.Length ?? 0));
        }

        [Fact]
        public async Task Of_many_concurrent_lease_claims_exactly_one_wins()
        {
            var vaults = Vaults();
            var won = await Concurrently.Run(Instances * 2, instance =>
                vaults[instance % Instances].TryAcquireLeaseAsync("replication/vm1", $"worker-{instance}", TimeSpan.FromMinutes(5), none));

            Assert.Single(won, true);
            var winner = $"worker-{Array.IndexOf(won, true)}";
            Assert.Equal(winner, await vault.FindLeaseHolderAsync("replication/vm1", none));
        }
    }

    public sealed class SqliteVaultConcurrencyTests : ConcurrencyContract
    {
        public SqliteVaultConcurrencyTests() : base(VaultBackend.Sqlite)
        {
        }
    }

    [Collection(AzuriteTables.Collection)]
    public sealed class TableVaultConcurrencyTests : ConcurrencyContract
    {
        public TableVaultConcurrencyTests(AzuriteTables lab) : base(VaultBackend.Tables(lab))
        {
        }
    }
}
