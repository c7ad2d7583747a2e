using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Tests.VaultContract
{
    /// <summary>
    /// The base of the vault contract: every test runs once per vault (a SQLite subclass and a Table subclass on Azurite),
    /// on a fresh vault, and must pass the same way on both.
    /// </summary>
    public abstract class VaultContractTest : IDisposable
    {
        protected readonly TemporaryFolder folder = new TemporaryFolder();
        protected readonly CancellationToken none = CancellationToken.None;
        protected readonly IVault vault;
        private readonly VaultBackend backend;
        private readonly List<IVault> opened = new List<IVault>();

        protected VaultContractTest(VaultBackend backend)
        {
            this.backend = backend;
            vault = OpenOther();
        }

        /// <summary>Another instance on the same vault (as another process opens it); disposed with the test.</summary>
        protected IVault OpenOther()
        {
            var other = backend.Open(folder);
            opened.Add(other);
            return other;
        }

        protected Task<long> CountRowsAsync(string what) => backend.CountRowsAsync(folder, vault, what);

        /// <summary>Protects <paramref name="count"/> VMs in the group (named group-vmN, morefs group-vm-N).</summary>
        protected async Task AddProtectedVmsAsync(string group, string site, int count)
        {
            for (var i = 0; i < count; i++)
            {
                await vault.AddProtectedVmAsync(new ProtectedVm
                {
                    VmId = Guid.NewGuid().ToString(), Name = $"{group}-vm{i}", ProtectionGroup = group, Site = site, MoRef = $"{group}-vm-{i}",
                }, none);
            }
        }

        public void Dispose()
        {
            foreach (var other in opened) other.Dispose();
            folder.Dispose();
        }
    }
}
