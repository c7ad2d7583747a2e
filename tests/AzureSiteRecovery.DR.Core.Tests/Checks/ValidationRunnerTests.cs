using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Checks
{
    /// <summary>Network checks against listeners on 127.0.0.1 only; script checks through a fake host (the runspace host is tested in Pester).</summary>
    public sealed class ValidationRunnerTests : IDisposable
    {
        private readonly FakeScriptHost scripts = new FakeScriptHost();
        private readonly ValidationRunner runner;
        private readonly TemporaryFolder folder = new TemporaryFolder();
        private readonly CancellationToken none = CancellationToken.None;

        public ValidationRunnerTests() => runner = new ValidationRunner(scripts);

        public void Dispose() => folder.Dispose();

        private ValidationTarget Vm(string? ip = "127.0.0.1") => new ValidationTarget("erp-db01", ip, folder.FolderPath, "erp");

        /// <summary>A port nothing listens on (for now): taken from the system, then released.</summary>
        private static int ClosedPort()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            return port;
        }

        [Fact]
        public async Task A_listening_port_passes()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            try
            {
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                var result = await runner.RunAsync(new TcpPortValidation { Port = port }, Vm(), none);

                Assert.True(result.Passed, result.Message);
                Assert.StartsWith($"tcp 127.0.0.1:{port} connected after ", result.Message);
            }
            finally
            {
                listener.Stop();
            }
        }

        [Fact]
        public async Task A_closed_port_fails_when_the_timeout_has_passed_saying_the_connection_was_refused()
        {
            var port = ClosedPort();
            var result = await runner.RunAsync(new TcpPortValidation { Port = port, Timeout = TimeSpan.FromSeconds(2) }, Vm(), none);

            Assert.False(result.Passed);
            Assert.Matches($@"^tcp 127\.0\.0\.1:{port}: no connection in 2 s \([2-9] attempts\): connection refused$", result.Message);
            Assert.InRange(result.Duration, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10));
        }

        [Fact]
        public async Task A_listener_that_starts_late_passes_on_a_later_attempt()
        {
            var port = ClosedPort();
            var listener = new TcpListener(IPAddress.Loopback, port);
            var late = Task.Delay(1500).ContinueWith(_ => listener.Start());
            try
            {
                var result = await runner.RunAsync(new TcpPortValidation { Port = port, Timeout = TimeSpan.FromSeconds(15) }, Vm(), none);

                Assert.True(result.Passed, result.Message);
                Assert.True(result.Duration >= TimeSpan.FromSeconds(1), $"passed after {result.Duration}, before the listener started");
            }
            finally
            {
                await late;
                listener.Stop();
            }
        }

        [Fact]
        public async Task A_vm_without_an_ip_address_fails_port_checks_at_once_and_says_why()
        {
            var tcp = await runner.RunAsync(new TcpPortValidation { Port = 1433 }, Vm(ip: null), none);
            var http = await runner.RunAsync(new HttpGetValidation { Port = 80, Path = "/health" }, Vm(ip: null), none);
            var bad = await runner.RunAsync(new TcpPortValidation { Port = 1433 }, Vm(ip: "not-an-ip"), none);

            Assert.False(tcp.Passed);
            Assert.Equal("tcp port 1433 of erp-db01 was not checked: the VM has no IP address (VMware Tools reported none). " +
                "Wait for the address in the plan (waitFor: IpAddress), or check a full 'url'.", tcp.Message);
            Assert.False(http.Passed);
            Assert.StartsWith("http port 80/health of erp-db01 was not checked: the VM has no IP address", http.Message);
            Assert.Equal("tcp port 1433 of erp-db01 was not checked: 'not-an-ip' is not an IP address.", bad.Message);
        }

        [Fact]
        public async Task Cancelling_stops_the_retries_at_once()
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            var started = DateTime.UtcNow;

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                runner.RunAsync(new TcpPortValidation { Port = ClosedPort(), Timeout = TimeSpan.FromMinutes(5) }, Vm(), cancel.Token));
            Assert.InRange(DateTime.UtcNow - started, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        }

        [Fact]
        public async Task An_http_check_on_the_vm_address_passes_with_the_expected_status()
        {
            using var server = new LoopbackHttpResponder(200);
            var result = await runner.RunAsync(new HttpGetValidation { Port = server.Port, Path = "/health", ExpectedStatus = 200 }, Vm(), none);

            Assert.True(result.Passed, result.Message);
            Assert.StartsWith($"http GET http://127.0.0.1:{server.Port}/health answered 200 after ", result.Message);
            Assert.Contains("GET /health HTTP/1.1", server.RequestLines);
        }

        [Fact]
        public async Task An_http_check_answered_with_another_status_fails_naming_it()
        {
            using var server = new LoopbackHttpResponder(503);
            var result = await runner.RunAsync(
                new HttpGetValidation { Port = server.Port, Path = "/health", ExpectedStatus = 200, Timeout = TimeSpan.FromSeconds(2) }, Vm(), none);

            Assert.False(result.Passed);
            Assert.Equal($"http GET http://127.0.0.1:{server.Port}/health: no 200 in 2 s (N attempts): answered 503 Service Unavailable",
                Regex.Replace(result.Message, @"\(\d+ attempts\)", "(N attempts)"));
            Assert.True(server.RequestLines.Count >= 2, "the check asked again before giving up");
        }

        [Fact]
        public async Task An_http_check_that_starts_failing_then_answers_passes()
        {
            using var server = new LoopbackHttpResponder(503);
            var recovering = Task.Delay(1500).ContinueWith(_ => server.Status = 200);

            var result = await runner.RunAsync(new HttpGetValidation { Port = server.Port, Timeout = TimeSpan.FromSeconds(15) }, Vm(), none);
            await recovering;

            Assert.True(result.Passed, result.Message);
            Assert.True(server.RequestLines.Count >= 2);
        }

        [Fact]
        public async Task A_full_url_is_checked_without_following_its_redirect()
        {
            // The redirect leads to a closed port: following it would fail the check.
            using var server = new LoopbackHttpResponder(302, location: $"http://127.0.0.1:{ClosedPort()}/login");
            var url = new Uri($"http://127.0.0.1:{server.Port}/app");

            var result = await runner.RunAsync(new HttpGetValidation { Url = url, ExpectedStatus = 302 }, Vm(ip: null), none);

            Assert.True(result.Passed, result.Message);
            Assert.StartsWith($"http GET {url} answered 302 after ", result.Message);
        }

        [Fact]
        public async Task A_script_check_gets_the_vm_name_and_address_and_a_relative_path_starts_at_the_plan_folder()
        {
            Directory.CreateDirectory(Path.Combine(folder.FolderPath, "checks"));
            var file = Path.Combine(folder.FolderPath, "checks", "Test-Db.ps1");
            File.WriteAllText(file, "$true");

            var result = await runner.RunAsync(new ScriptValidation { Path = "checks/Test-Db.ps1", Timeout = TimeSpan.FromMinutes(1) }, Vm(), none);

            Assert.True(result.Passed, result.Message);
            Assert.Equal("script checks/Test-Db.ps1 succeeded in 1.2 s", result.Message);
            Assert.Equal(new[] { "all good" }, result.Output);
            var request = Assert.Single(scripts.Requests);
            Assert.Equal(file, request.Path);
            Assert.Equal(TimeSpan.FromMinutes(1), request.Timeout);
            Assert.Equal("erp-db01", request.Variables["VmName"]);
            Assert.Equal("127.0.0.1", request.Variables["IpAddress"]);
            Assert.Equal("erp", request.Variables["RecoveryPlan"]);
        }

        [Fact]
        public async Task A_failed_script_check_says_why()
        {
            scripts.Answer = _ => new ScriptRunResult { Succeeded = false, Error = "Its last output was $false.", Duration = TimeSpan.FromSeconds(3) };

            var result = await runner.RunAsync(new ScriptValidation { Inline = "$false" }, Vm(ip: null), none);

            Assert.False(result.Passed);
            Assert.Equal("inline script failed after 3 s: Its last output was $false.", result.Message);
            Assert.Null(Assert.Single(scripts.Requests).Variables["IpAddress"]);
        }

        [Fact]
        public async Task A_missing_script_file_fails_naming_the_path_and_the_plan_without_running_anything()
        {
            var validation = new ScriptValidation { Path = "checks/None.ps1", Location = new PlanLocation("erp", 12, 15) };

            var result = await runner.RunAsync(validation, Vm(), none);

            Assert.False(result.Passed);
            Assert.Equal($"The script 'checks/None.ps1' of recovery plan 'erp' (erp:12:15) was not found: '{Path.Combine(folder.FolderPath, "checks", "None.ps1")}' does not exist. " +
                "Put it there, or change the plan and import it again with Import-RecoveryPlan -Force.", result.Message);
            Assert.Empty(scripts.Requests);
        }
    }
}
