using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Storage;
using Xunit;

using AzureSiteRecovery.DR.Core.Tests.Lab;

namespace AzureSiteRecovery.DR.Core.Tests.Storage
{
    /// <summary>
    /// One Azurite blob service (tests/lab/azurite/azurite.sh) for a test class: started on
    /// 127.0.0.1 with a port the OS picks, stopped by its PID on dispose. Can be stopped and
    /// started again on the same data (a store outage).
    /// </summary>
    public sealed class AzuriteLab : IAsyncLifetime
    {
        public const string AccountName = "devstoreaccount1";
        // Azurite's published development account key (not a secret).
        public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

        private readonly System.Collections.Generic.Dictionary<string, string>? environment;

        public AzuriteLab()
        {
            StateDir = Path.Combine(Path.GetTempPath(), "azsr-dr-azurite-" + Guid.NewGuid().ToString("N"));
        }

        /// <summary>With more accounts besides devstoreaccount1 (name → base64 key; AZURITE_ACCOUNTS of azurite.sh).</summary>
        internal AzuriteLab(System.Collections.Generic.IReadOnlyDictionary<string, string> accounts)
            : this()
        {
            environment = new System.Collections.Generic.Dictionary<string, string>
            {
                ["AZURITE_ACCOUNTS"] = string.Join(";", accounts.Select(a => a.Key + ":" + a.Value)),
            };
        }

        /// <summary>The blob endpoint of another account of this Azurite (http://127.0.0.1:port/name).</summary>
        public Uri AccountUrl(string account) => new Uri($"{Url.Scheme}://{Url.Authority}/{account}");

        public string StateDir { get; }

        public Uri Url { get; private set; } = null!;

        public int Pid { get; private set; }

        /// <summary>A store on a fresh container, with few retries so that an outage shows quickly.</summary>
        public BlobStore NewStore(string? container = null) =>
            BlobStore.Create(Url, AccountName, AccountKey, container ?? "t" + Guid.NewGuid().ToString("N"), QuickOptions);

        public static BlobStoreOptions QuickOptions => new BlobStoreOptions { MaxRetries = 1, RetryDelay = TimeSpan.FromMilliseconds(100), NetworkTimeout = TimeSpan.FromSeconds(20) };

        public async Task InitializeAsync() => await StartAsync();

        public async Task StartAsync()
        {
            var output = await LabScript.RunAsync("azurite/azurite.sh", environment, "start", StateDir);
            Url = new Uri(output.Trim().Split('\n').Last().Trim());
            Pid = int.Parse(File.ReadAllText(Path.Combine(StateDir, "azurite.pid")).Trim());
        }

        public Task StopAsync() => RunAsync("stop", StateDir);

        public async Task DisposeAsync()
        {
            await StopAsync();
            if (Directory.Exists(StateDir)) Directory.Delete(StateDir, recursive: true);
        }

        private static Task<string> RunAsync(params string[] args) => LabScript.RunAsync("azurite/azurite.sh", args);
    }
}
