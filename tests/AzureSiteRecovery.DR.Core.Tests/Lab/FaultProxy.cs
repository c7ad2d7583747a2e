using System;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;

namespace AzureSiteRecovery.DR.Core.Tests.Lab
{
    /// <summary>
    /// The lab's drfaultproxy (tests/lab/faultproxy) in front of one loopback server, started by
    /// `lab.sh start-proxy` into a state folder and stopped with the folder's other processes by `lab.sh stop`.
    /// Faults are set and counted through its control URL.
    /// </summary>
    public sealed class FaultProxy
    {
        private static readonly HttpClient Control = new HttpClient();

        private FaultProxy(string address, Uri control)
        {
            Address = address;
            ControlUrl = control;
        }

        /// <summary>host:port the proxy listens on.</summary>
        public string Address { get; }

        public Uri ControlUrl { get; }

        /// <summary>Starts a proxy to <paramref name="upstream"/> (host:port) with drfaultproxy's flags, its files in <paramref name="stateDir"/>.</summary>
        public static async Task<FaultProxy> StartAsync(string stateDir, string upstream, params string[] flags)
        {
            var output = await LabScript.RunAsync("lab.sh", new[] { "start-proxy", stateDir, "-upstream", upstream }.Concat(flags).ToArray());
            var address = output.Trim().Split('\n').Last().Trim();
            var control = new Uri(File.ReadAllText(Path.Combine(stateDir, "proxy.control")).Trim());
            return new FaultProxy(address, control);
        }

        /// <summary><paramref name="url"/> with its host and port replaced by the proxy's.</summary>
        public Uri Through(Uri url) => new UriBuilder(url) { Host = Address.Split(':')[0], Port = int.Parse(Address.Split(':')[1]) }.Uri;

        /// <summary>PUT /faults: the fields given replace the proxy's (cut, stall, http503, maxBytes, stallForMs, retryAfterSeconds, cutAtTotalBytes).</summary>
        public async Task SetFaultsAsync(object faults)
        {
            using var content = new StringContent(JsonSerializer.Serialize(faults), Encoding.UTF8, "application/json");
            using var response = await Control.PutAsync(new Uri(ControlUrl, "faults"), content);
            response.EnsureSuccessStatusCode();
        }

        /// <summary>GET /stats: connections, cuts, stalls, answered503, requests, bytesUp, bytesDown.</summary>
        public async Task<JsonElement> StatsAsync()
        {
            var text = await Control.GetStringAsync(new Uri(ControlUrl, "stats"));
            return JsonDocument.Parse(text).RootElement.Clone();
        }

        public async Task<long> StatAsync(string name) => (await StatsAsync()).GetProperty(name).GetInt64();
    }
}
