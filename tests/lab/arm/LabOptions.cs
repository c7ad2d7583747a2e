using System;
using System.Collections.Generic;
using System.Globalization;

namespace ArmLab
{
    /// <summary>A storage account the lab ARM answers for: an Azurite account (name, blob endpoint, key).</summary>
    public sealed record StorageSeed(string ResourceGroup, string Name, string BlobEndpoint, string Key);

    /// <summary>A seeded virtual network with its subnets.</summary>
    public sealed record VnetSeed(string ResourceGroup, string Name, IReadOnlyList<string> Subnets);

    /// <summary>The command line of armlab (see tests/lab/arm/README.md for each flag).</summary>
    public sealed class LabOptions
    {
        public string Mode { get; private set; } = "arm";
        public string StateDir { get; private set; } = "";
        public string Subscription { get; private set; } = "00000000-0000-0000-0000-0000000000aa";
        public string Tenant { get; private set; } = "00000000-0000-0000-0000-0000000000bb";
        public string Location { get; private set; } = "westeurope";
        public List<string> ResourceGroups { get; } = new List<string>();
        public List<StorageSeed> StorageAccounts { get; } = new List<StorageSeed>();
        public List<VnetSeed> Vnets { get; } = new List<VnetSeed>();
        public string? DiskAccount { get; private set; }
        public string DiskContainer { get; private set; } = "lab-disks";
        public string Lro { get; private set; } = "sync";
        public int ThrottleEvery { get; private set; }
        public TimeSpan BootDelay { get; private set; } = TimeSpan.FromSeconds(1);
        public bool VmAgent { get; private set; }
        public int PageSize { get; private set; } = 10;
        public bool ValidateSpecs { get; private set; } = true;
        public bool Persist { get; private set; } = true;
        public Dictionary<string, string> Clients { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        public List<string> UserAssigned { get; } = new List<string>();
        public string SystemAssignedClientId { get; private set; } = "00000000-0000-0000-0000-0000000000cc";
        public string SpecDir { get; private set; } = "";

        public static LabOptions Parse(string[] args)
        {
            var o = new LabOptions();
            var pendingVnets = new List<string>();
            var pendingStorage = new List<string>();
            for (var i = 0; i < args.Length; i++)
            {
                var a = args[i];
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
                switch (a)
                {
                    case "--identity": o.Mode = "identity"; break;
                    case "--state": o.StateDir = Next(); break;
                    case "--subscription": o.Subscription = Guid.Parse(Next()).ToString("D"); break;
                    case "--tenant": o.Tenant = Next(); break;
                    case "--location": o.Location = Next(); break;
                    case "--resource-group": o.ResourceGroups.Add(Next()); break;
                    case "--storage-account": pendingStorage.Add(Next()); break;
                    case "--vnet": pendingVnets.Add(Next()); break;
                    case "--disk-account": o.DiskAccount = Next(); break;
                    case "--disk-container": o.DiskContainer = Next(); break;
                    case "--lro":
                        o.Lro = Next();
                        if (o.Lro != "sync" && o.Lro != "async" && o.Lro != "location") throw new ArgumentException("--lro is sync, async or location");
                        break;
                    case "--throttle-every": o.ThrottleEvery = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--boot-delay": o.BootDelay = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture)); break;
                    case "--vm-agent": o.VmAgent = true; break;
                    case "--page-size": o.PageSize = Math.Max(1, int.Parse(Next(), CultureInfo.InvariantCulture)); break;
                    case "--no-spec-check": o.ValidateSpecs = false; break;
                    case "--no-persist": o.Persist = false; break;
                    case "--client":
                        {
                            var v = Next();
                            var eq = v.IndexOf('=');
                            if (eq <= 0) throw new ArgumentException("--client is CLIENTID=SECRET");
                            o.Clients[v.Substring(0, eq)] = v.Substring(eq + 1);
                            break;
                        }
                    case "--user-assigned": o.UserAssigned.Add(Next()); break;
                    case "--system-client-id": o.SystemAssignedClientId = Next(); break;
                    case "--specs": o.SpecDir = Next(); break;
                    default: throw new ArgumentException($"unknown flag {a}");
                }
            }
            if (o.StateDir.Length == 0) throw new ArgumentException("--state <dir> is required");
            if (o.ResourceGroups.Count == 0) o.ResourceGroups.Add("rg-dr");
            var vnetRgDefault = o.ResourceGroups[0];
            foreach (var s in pendingStorage)
            {
                // [RG/]NAME,ENDPOINT,KEY
                var parts = s.Split(',', 3);
                if (parts.Length != 3) throw new ArgumentException($"--storage-account '{s}' is [RG/]NAME,BLOBENDPOINT,KEY");
                var (rg, name) = SplitRg(parts[0], vnetRgDefault);
                o.StorageAccounts.Add(new StorageSeed(rg, name, parts[1].TrimEnd('/'), parts[2]));
            }
            foreach (var v in pendingVnets)
            {
                // [RG/]NAME:SUBNET[,SUBNET...]
                var colon = v.IndexOf(':');
                var head = colon < 0 ? v : v.Substring(0, colon);
                var subnets = colon < 0 ? new[] { "default" } : v.Substring(colon + 1).Split(',', StringSplitOptions.RemoveEmptyEntries);
                var (rg, name) = SplitRg(head, vnetRgDefault);
                o.Vnets.Add(new VnetSeed(rg, name, subnets));
            }
            foreach (var s in o.StorageAccounts) AddRg(o, s.ResourceGroup);
            foreach (var v in o.Vnets) AddRg(o, v.ResourceGroup);
            if (o.DiskAccount == null && o.StorageAccounts.Count > 0) o.DiskAccount = o.StorageAccounts[0].Name;
            if (o.SpecDir.Length == 0) o.SpecDir = System.IO.Path.Combine(AppContext.BaseDirectory, "specs");
            return o;
        }

        private static void AddRg(LabOptions o, string rg)
        {
            if (!o.ResourceGroups.Exists(r => string.Equals(r, rg, StringComparison.OrdinalIgnoreCase))) o.ResourceGroups.Add(rg);
        }

        private static (string Rg, string Name) SplitRg(string s, string defaultRg)
        {
            var slash = s.IndexOf('/');
            return slash < 0 ? (defaultRg, s) : (s.Substring(0, slash), s.Substring(slash + 1));
        }
    }
}
