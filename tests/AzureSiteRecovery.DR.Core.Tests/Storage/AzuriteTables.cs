using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Azure.Core;
using Azure.Data.Tables;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Storage
{
    /// <summary>
    /// One Azurite table service (tests/lab/azurite/azurite.sh start-table) for the table vault tests: started on 127.0.0.1
    /// with a port the OS picks, stopped by its PID on dispose. Shared by every class of <see cref="Collection"/>.
    /// </summary>
    public sealed class AzuriteTables : IAsyncLifetime
    {
        public const string Collection = "Azurite tables";

        public AzuriteTables()
        {
            StateDir = Path.Combine(Path.GetTempPath(), "azsr-dr-azurite-tables-" + Guid.NewGuid().ToString("N"));
        }

        public string StateDir { get; }

        /// <summary>http://127.0.0.1:port/devstoreaccount1</summary>
        public Uri Url { get; private set; } = null!;

        public TableServiceClient Service { get; private set; } = null!;

        /// <summary>A client with the given credential, for the sign-in failure tests.</summary>
        public TableServiceClient ServiceWith(TableSharedKeyCredential credential) => new TableServiceClient(Url, credential, QuickOptions());

        public async Task InitializeAsync()
        {
            var output = await LabScript.RunAsync("azurite/azurite.sh", "start-table", StateDir);
            Url = new Uri(output.Trim().Split('\n').Last().Trim());
            Service = ServiceWith(new TableSharedKeyCredential(AzuriteLab.AccountName, AzuriteLab.AccountKey));
        }

        public async Task DisposeAsync()
        {
            await LabScript.RunAsync("azurite/azurite.sh", "stop-table", StateDir);
            if (Directory.Exists(StateDir)) Directory.Delete(StateDir, recursive: true);
        }

        private static TableClientOptions QuickOptions()
        {
            var options = new TableClientOptions();
            options.Retry.MaxRetries = 1;
            options.Retry.Delay = TimeSpan.FromMilliseconds(100);
            options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
            return options;
        }
    }

    [CollectionDefinition(AzuriteTables.Collection)]
    public sealed class AzuriteTablesCollection : ICollectionFixture<AzuriteTables>
    {
    }
}
