using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Secrets;
using AzureSiteRecovery.DR.Core.Tests.Storage;
using AzureSiteRecovery.DR.Core.Vault;
using AzureSiteRecovery.DR.Core.Vault.Tables;

namespace AzureSiteRecovery.DR.Core.Tests.VaultContract
{
    /// <summary>Which vault a contract test runs against: each test gets its own (a temp file, or a fresh table prefix).</summary>
    public abstract class VaultBackend
    {
        public static VaultBackend Sqlite => new SqliteBackend();

        public static VaultBackend Tables(AzuriteTables lab) => new TableBackend(lab);

        /// <summary>Opens the test's vault (every call: another instance on the same state, as another process would).</summary>
        public abstract IVault Open(TemporaryFolder folder);

        /// <summary>How many stored rows of a kind (named as the SQLite tables: recovery_points, protected_vms, protected_disks, site_secrets).</summary>
        public abstract Task<long> CountRowsAsync(TemporaryFolder folder, IVault vault, string what);

        private sealed class SqliteBackend : VaultBackend
        {
            public override IVault Open(TemporaryFolder folder) => SqliteVault.Open(folder.VaultPath);

            public override Task<long> CountRowsAsync(TemporaryFolder folder, IVault vault, string what) => Task.FromResult(Samples.CountRows(folder.VaultPath, what));

            public override string ToString() => "SQLite";
        }

        private sealed class TableBackend : VaultBackend
        {
            private readonly AzuriteTables lab;
            private readonly string prefix = "t" + Guid.NewGuid().ToString("N").Substring(0, 16);

            public TableBackend(AzuriteTables lab) => this.lab = lab;

            public override IVault Open(TemporaryFolder folder)
            {
                var key = VaultKey.OpenOrCreate(Path.Combine(folder.FolderPath, "vault.key"), () => false);
                return TableVault.OpenAsync(lab.Service, prefix, key, lab.Url.AbsoluteUri, CancellationToken.None).GetAwaiter().GetResult();
            }

            public override Task<long> CountRowsAsync(TemporaryFolder folder, IVault vault, string what) => ((TableVault)vault).CountRowsAsync(what, CancellationToken.None);

            public override string ToString() => "Tables";
        }
    }
}
