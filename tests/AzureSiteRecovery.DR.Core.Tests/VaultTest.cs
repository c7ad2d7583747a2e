using System;
using System.Threading;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Tests
{
    /// <summary>A fresh vault file in a temporary folder for each test, removed afterwards.</summary>
    public abstract class VaultTest : IDisposable
    {
        protected readonly TemporaryFolder folder = new TemporaryFolder();
        protected readonly SqliteVault vault;
        protected readonly CancellationToken none = CancellationToken.None;

        protected VaultTest()
        {
            vault = SqliteVault.Open(folder.VaultPath);
        }

        public void Dispose()
        {
            vault.Dispose();
            folder.Dispose();
        }
    }
}
