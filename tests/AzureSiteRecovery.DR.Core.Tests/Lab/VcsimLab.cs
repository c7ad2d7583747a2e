using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Lab
{
    /// <summary>
    /// One drvcsim of the lab (tests/lab/lab.sh) for a test class: started once, on 127.0.0.1 with a
    /// free port, stopped by its PID on dispose. Logins need <see cref="UserName"/>/<see cref="Password"/>.
    /// Default model (-vm 3): 1 datacenter DC0, cluster DC0_C0 of 3 hosts + standalone host DC0_H0,
    /// 3 VMs per pool → 6 VMs, datastore LocalDS_0, networks "VM Network" and DC0_DVPG0.
    /// </summary>
    public class VcsimLab : IAsyncLifetime
    {
        public const string UserName = "dr-lab";
        public const string Password = "lab pa$$ <&>";
        public const string SiteName = "lab";
        public const string Datacenter = "DC0";
        public const string Datastore = "LocalDS_0";

        private readonly string[] flags;

        public VcsimLab()
            : this("-vm", "3", "-disk-mb", "4")
        {
        }

        protected VcsimLab(params string[] flags)
        {
            this.flags = flags;
            StateDir = Path.Combine(Path.GetTempPath(), "azsr-dr-vcsim-" + Guid.NewGuid().ToString("N"));
        }

        public string StateDir { get; }

        public Uri Url { get; private set; } = null!;

        /// <summary>The local folder behind datastore LocalDS_0 (write flat files here to simulate guest writes).</summary>
        public string DatastoreFolder { get; private set; } = "";

        public int Pid { get; private set; }

        public VSphereEndpoint Endpoint(string? password = null, string? thumbprint = null, bool skipCertificateCheck = true) =>
            new VSphereEndpoint(Url, UserName, password ?? Password, thumbprint, skipCertificateCheck);

        public Task<VSphereClient> ConnectAsync(CancellationToken ct = default) => VSphereClient.ConnectAsync(Endpoint(), SiteName, ct);

        public async Task InitializeAsync()
        {
            var output = await RunLabAsync(new[] { "start-vcsim", StateDir, "-username", UserName, "-password", Password }.Concat(flags).ToArray());
            Url = new Uri(output.Trim().Split('\n').Last().Trim());
            Pid = int.Parse(File.ReadAllText(Path.Combine(StateDir, "vcsim.pid")).Trim());
            DatastoreFolder = Directory.GetDirectories(Path.Combine(StateDir, "tmp"), $"govcsim-{Datacenter}-{Datastore}-*").Single();
        }

        public async Task DisposeAsync()
        {
            await RunLabAsync("stop", StateDir);
            if (Directory.Exists(StateDir)) Directory.Delete(StateDir, recursive: true);
        }

        /// <summary>The repository root (see <see cref="LabScript.RepositoryRoot"/>).</summary>
        public static string RepositoryRoot() => LabScript.RepositoryRoot();

        private static Task<string> RunLabAsync(params string[] args) => LabScript.RunAsync("lab.sh", args);
    }

    /// <summary>One VM on the standalone host (DC0_H0_VM0), 4 MiB disks, CBT answers one extent per call so clients must page.</summary>
    public sealed class CbtVcsimLab : VcsimLab
    {
        public CbtVcsimLab()
            : base("-vm", "1", "-cluster", "0", "-disk-mb", "4", "-cbt-max-extents", "1")
        {
        }
    }

    /// <summary>
    /// One VM, datastore transfers paced at 100 MiB/s (-datastore-mibps): slower than the client reads, so the socket
    /// buffers stay nearly empty and what a proxy forwarded before a cut is what the client had received.
    /// </summary>
    public sealed class PacedVcsimLab : VcsimLab
    {
        public PacedVcsimLab()
            : base("-vm", "1", "-cluster", "0", "-disk-mb", "4", "-datastore-mibps", "100")
        {
        }
    }
}
