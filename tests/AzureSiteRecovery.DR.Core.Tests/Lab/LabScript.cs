using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace AzureSiteRecovery.DR.Core.Tests.Lab
{
    /// <summary>Runs the lab's shell scripts (tests/lab/...), which install, start and stop the real components by PID.</summary>
    public static class LabScript
    {
        /// <summary>The repository root: the first folder above the test binaries that holds DR.sln.</summary>
        public static string RepositoryRoot()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "DR.sln"))) return dir.FullName;
            }
            throw new InvalidOperationException($"No DR.sln above {AppContext.BaseDirectory}.");
        }

        /// <summary>Runs <paramref name="script"/> (relative to tests/lab) and returns its standard output; fails with its standard error.</summary>
        public static Task<string> RunAsync(string script, params string[] args) => RunAsync(script, null, args);

        /// <summary>As <see cref="RunAsync(string, string[])"/>, with extra environment variables for the script.</summary>
        public static async Task<string> RunAsync(string script, System.Collections.Generic.IReadOnlyDictionary<string, string>? environment, params string[] args)
        {
            var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            if (environment != null) foreach (var e in environment) start.Environment[e.Key] = e.Value;
            start.ArgumentList.Add(Path.Combine(RepositoryRoot(), "tests", "lab", script));
            foreach (var a in args) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            // A first start installs and builds (apt + go build, npm install): allow minutes.
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{script} {string.Join(" ", args)} failed ({process.ExitCode}): {await stderr}");
            }
            return await stdout;
        }
    }
}
