using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.ResourceManager;
using AzureSiteRecovery.DR.Core.Tests.Storage;

namespace AzureSiteRecovery.DR.Core.Tests.Lab
{
    /// <summary>
    /// One lab ARM (tests/lab/arm/arm.sh) on its own state dir, seeded with subscription
    /// <see cref="Subscription"/>, resource group <see cref="ResourceGroup"/>, region westeurope,
    /// virtual network dr-vnet (subnets default, test), storage account <see cref="StorageAccount"/>
    /// (an Azurite account of <paramref name="azurite"/>) and a service principal
    /// (<see cref="ClientId"/>/<see cref="ClientSecret"/>). Stopped by its PID on dispose.
    /// </summary>
    public sealed class ArmLab : IAsyncDisposable
    {
        public const string Subscription = "3f2b6a0e-5c1d-4e8f-9a7b-1c2d3e4f5a6b";
        public const string Tenant = "7d1e2f3a-4b5c-4d6e-8f9a-0b1c2d3e4f5a";
        public const string ResourceGroup = "rg-dr";
        public const string Location = "westeurope";
        public const string StorageAccount = "drreplica";
        public const string ClientId = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
        // A lab-only secret of the lab's own token endpoint (not a real credential).
        public const string ClientSecret = "lab-sp-secret~1";
        public const string VnetId = "/subscriptions/" + Subscription + "/resourceGroups/" + ResourceGroup + "/providers/Microsoft.Network/virtualNetworks/dr-vnet";

        /// <summary>The Azurite accounts a lab ARM needs besides devstoreaccount1: drreplica with a fresh key.</summary>
        public static IReadOnlyDictionary<string, string> AzuriteAccounts { get; } = new Dictionary<string, string>
        {
            [StorageAccount] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64)),
        };

        private ArmLab(string stateDir) => StateDir = stateDir;

        public string StateDir { get; }

        public Uri Url { get; private set; } = null!;

        public string Thumbprint { get; private set; } = "";

        public int Pid { get; private set; }

        public static string StorageAccountId => $"/subscriptions/{Subscription}/resourceGroups/{ResourceGroup}/providers/Microsoft.Storage/storageAccounts/{StorageAccount}";

        /// <summary>Starts a lab ARM with the seeds above and <paramref name="flags"/> (e.g. --lro async).</summary>
        public static async Task<ArmLab> StartAsync(AzuriteLab azurite, params string[] flags)
        {
            var lab = new ArmLab(Path.Combine(Path.GetTempPath(), "azsr-dr-arm-" + Guid.NewGuid().ToString("N")));
            var args = new List<string>
            {
                "start", lab.StateDir, "--subscription", Subscription, "--tenant", Tenant, "--resource-group", ResourceGroup,
                "--location", Location, "--vnet", "dr-vnet:default,test",
                "--storage-account", $"{StorageAccount},{azurite.AccountUrl(StorageAccount)},{AzuriteAccounts[StorageAccount]}",
                "--client", $"{ClientId}={ClientSecret}", "--boot-delay", "0.3",
            };
            args.AddRange(flags);
            var output = await LabScript.RunAsync("arm/arm.sh", args.ToArray());
            lab.Url = new Uri(output.Trim().Split('\n').Last().Trim());
            lab.Thumbprint = File.ReadAllText(Path.Combine(lab.StateDir, "arm.thumbprint")).Trim();
            lab.Pid = int.Parse(File.ReadAllText(Path.Combine(lab.StateDir, "arm.pid")).Trim());
            return lab;
        }

        /// <summary>An HTTP handler that trusts exactly the lab's certificate (pinned by SHA-256).</summary>
        public HttpClientHandler PinnedHandler() => new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
                cert != null && string.Equals(cert.GetCertHashString(HashAlgorithmName.SHA256), Thumbprint, StringComparison.OrdinalIgnoreCase),
        };

        /// <summary>Options for an ArmClient against this lab (pinned certificate, NIC api-version set, quick retries).</summary>
        public ArmClientOptions ClientOptions()
        {
            var options = new ArmClientOptions
            {
                Environment = new ArmEnvironment(Url, "https://management.azure.com/"),
                Transport = new HttpClientTransport(PinnedHandler()),
            };
            options.SetApiVersion(new ResourceType("Microsoft.Network/networkInterfaces"), "2023-09-01");
            options.Retry.Delay = TimeSpan.FromMilliseconds(50);
            options.Retry.MaxRetries = 4;
            return options;
        }

        /// <summary>The lab's service principal, signing in at the lab's own Entra-like token endpoint.</summary>
        public TokenCredential ServicePrincipal(string? secret = null) =>
            new ClientSecretCredential(Tenant, ClientId, secret ?? ClientSecret, new ClientSecretCredentialOptions
            {
                AuthorityHost = Url,
                DisableInstanceDiscovery = true,
                Transport = new HttpClientTransport(PinnedHandler()),
                Retry = { MaxRetries = 0 },
            });

        public ArmClient Client(TokenCredential? credential = null) => new ArmClient(credential ?? ServicePrincipal(), Subscription, ClientOptions());

        /// <summary><paramref name="site"/> pointed at this lab: a custom cloud with the pinned certificate, the lab's subscription, group, storage account and service principal (its secret: <see cref="ClientSecret"/>).</summary>
        public AzureSiteRecovery.DR.Core.Model.Site PointAt(AzureSiteRecovery.DR.Core.Model.Site site) => site with
        {
            Environment = AzureSiteRecovery.DR.Core.Model.AzureClouds.Custom,
            ArmEndpoint = Url,
            ArmCertificateThumbprint = Thumbprint,
            TenantId = Tenant,
            SubscriptionId = Subscription,
            ResourceGroup = ResourceGroup,
            Location = Location,
            StorageAccount = StorageAccount,
            Authentication = AzureSiteRecovery.DR.Core.Model.AzureAuthentication.ServicePrincipalSecret,
            ClientId = ClientId,
        };

        /// <summary>GET /lab/{what} (resources, requests, violations) as JSON.</summary>
        public async Task<JsonArray> LabAsync(string what)
        {
            using var http = new HttpClient(PinnedHandler());
            return JsonNode.Parse(await http.GetStringAsync(new Uri(Url, "lab/" + what)))!.AsArray();
        }

        /// <summary>
        /// The lab's back door standing in for a guest writing to its disk (POST /lab/disks/{name}/sas?access=write):
        /// a read+write SAS of the managed disk's Azurite page blob. Not an Azure API.
        /// </summary>
        public async Task<Uri> GuestWriteSasAsync(string diskName)
        {
            using var http = new HttpClient(PinnedHandler());
            using var response = await http.PostAsync(new Uri(Url, $"lab/disks/{Uri.EscapeDataString(diskName)}/sas?access=write"), null);
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST /lab/disks/{diskName}/sas: {(int)response.StatusCode} {text}");
            return new Uri(JsonNode.Parse(text)!["accessSAS"]!.GetValue<string>());
        }

        public async ValueTask DisposeAsync()
        {
            await LabScript.RunAsync("arm/arm.sh", "stop", StateDir);
            if (Directory.Exists(StateDir)) Directory.Delete(StateDir, recursive: true);
        }
    }
}
