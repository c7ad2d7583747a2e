using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Transfers.Retries;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks
{
    /// <summary>The recovered VM a validation checks, and the plan it belongs to.</summary>
    /// <param name="VmName">The VM's name in the plan; scripts get it as $VmName.</param>
    /// <param name="IpAddress">The address VMware Tools reports (IPv4 or IPv6 text); null when it reports none (TCP and HTTP-by-port checks then fail).</param>
    /// <param name="PlanFolder">The plan's <see cref="RecoveryPlan.SourceFolder"/>: where relative script paths start.</param>
    /// <param name="PlanName">The plan's name, for messages and scripts ($RecoveryPlan).</param>
    public sealed record ValidationTarget(string VmName, string? IpAddress, string? PlanFolder, string PlanName)
    {
        public override string ToString() => IpAddress is null ? VmName : $"{VmName} ({IpAddress})";
    }

    /// <summary>How a validation of a recovered VM went.</summary>
    public sealed record ValidationResult
    {
        public VmValidation Validation { get; init; } = null!;
        public bool Passed { get; init; }

        /// <summary>What was checked and what happened: "tcp 10.0.0.5:1433 connected after 2.1 s".</summary>
        public string Message { get; init; } = "";

        public TimeSpan Duration { get; init; }

        /// <summary>What a script validation wrote (see <see cref="ScriptRunResult.Output"/>); empty for the others.</summary>
        public IReadOnlyList<string> Output { get; init; } = Array.Empty<string>();

        public override string ToString() => (Passed ? "passed: " : "failed: ") + Message;
    }

    /// <summary>
    /// Runs the validations of a recovered VM. TCP and HTTP checks try again (after 1 s, then a
    /// little longer each time, up to 5 s) until they pass or the validation's timeout has passed;
    /// a script runs once, through <see cref="IScriptHost"/>, within the same timeout. Failures are
    /// results, not exceptions; only cancellation throws. HTTP checks share one HttpClient: no
    /// redirects followed, no proxy, certificates validated as usual, a new connection each attempt.
    /// </summary>
    public sealed class ValidationRunner
    {
        private static readonly Backoff Retries = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), 1.25);

        // One attempt never takes the whole timeout: a server that accepts and hangs gets asked again.
        private static readonly TimeSpan MaxAttempt = TimeSpan.FromSeconds(10);

        // Shared by every runner (its settings never change, it is safe across threads): one pool of
        // sockets, not one per check. Certificates are validated as usual.
        private static readonly HttpClient Http = new HttpClient(new HttpClientHandler
        {
            // The VM's own answer is checked: a redirect could lead out of an isolated test network to
            // the production server of the same name. Expect 301/302 to check a redirect.
            AllowAutoRedirect = false,
            // The VM is on the recovery (or isolated test) network, where the machine's proxy has no business.
            UseProxy = false,
        }, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };

        private readonly IScriptHost scriptHost;

        public ValidationRunner(IScriptHost scriptHost) =>
            this.scriptHost = scriptHost ?? throw new ArgumentNullException(nameof(scriptHost));

        public async Task<ValidationResult> RunAsync(VmValidation validation, ValidationTarget target, CancellationToken cancellationToken)
        {
            if (validation is null) throw new ArgumentNullException(nameof(validation));
            if (target is null) throw new ArgumentNullException(nameof(target));
            cancellationToken.ThrowIfCancellationRequested();
            return validation switch
            {
                TcpPortValidation tcp => await CheckTcpAsync(tcp, target, cancellationToken).ConfigureAwait(false),
                HttpGetValidation get => await CheckHttpAsync(get, target, cancellationToken).ConfigureAwait(false),
                ScriptValidation script => await RunScriptAsync(script, target, cancellationToken).ConfigureAwait(false),
                _ => throw new ArgumentException($"No runner for the validation '{validation}'.", nameof(validation)),
            };
        }

        private Task<ValidationResult> CheckTcpAsync(TcpPortValidation tcp, ValidationTarget target, CancellationToken cancellationToken)
        {
            if (!TryAddress(tcp, $"tcp port {tcp.Port}", target, out var address, out var noAddress))
            {
                return Task.FromResult(noAddress);
            }

            var endpoint = FormatHost(address) + ":" + tcp.Port.ToString(CultureInfo.InvariantCulture);
            return ProbeAsync(tcp, "tcp " + endpoint, "connected", "no connection", async attempt =>
            {
                using (var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp))
                // Closing the socket is the only way to abandon a connect on netstandard2.0.
                using (attempt.Register(() => socket.Dispose()))
                {
                    try
                    {
                        await socket.ConnectAsync(address, tcp.Port).ConfigureAwait(false);
                        return null;
                    }
                    catch (Exception ex) when ((ex is ObjectDisposedException || ex is SocketException) && attempt.IsCancellationRequested)
                    {
                        throw new OperationCanceledException(attempt);
                    }
                }
            }, cancellationToken);
        }

        private Task<ValidationResult> CheckHttpAsync(HttpGetValidation get, ValidationTarget target, CancellationToken cancellationToken)
        {
            Uri url;
            if (get.Url != null)
            {
                url = get.Url;
            }
            else if (!TryAddress(get, $"http port {get.Port}{get.Path}", target, out var address, out var noAddress))
            {
                return Task.FromResult(noAddress);
            }
            else
            {
                url = new Uri($"http://{FormatHost(address)}:{get.Port?.ToString(CultureInfo.InvariantCulture)}{get.Path}");
            }

            var expected = get.ExpectedStatus.ToString(CultureInfo.InvariantCulture);
            return ProbeAsync(get, $"http GET {url}", $"answered {expected}", $"no {expected}", async attempt =>
            {
                using (var request = new HttpRequestMessage(HttpMethod.Get, url))
                {
                    // A new connection each attempt: a pooled one could lead to the VM of an earlier drill at the same address.
                    request.Headers.ConnectionClose = true;
                    using (var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt).ConfigureAwait(false))
                    {
                        var status = (int)response.StatusCode;
                        return status == get.ExpectedStatus
                            ? null
                            : $"answered {status.ToString(CultureInfo.InvariantCulture)} {response.ReasonPhrase}".TrimEnd();
                    }
                }
            }, cancellationToken);
        }

        private async Task<ValidationResult> RunScriptAsync(ScriptValidation script, ValidationTarget target, CancellationToken cancellationToken)
        {
            var what = script.Path is null ? "inline script" : $"script {script.Path}";
            var description = $"validation {what} of {target.VmName}";
            var variables = new Dictionary<string, object?>
            {
                [ScriptVariables.VmName] = target.VmName,
                [ScriptVariables.IpAddress] = target.IpAddress,
                [ScriptVariables.RecoveryPlan] = target.PlanName,
            };

            ScriptRequest request;
            if (script.Path is null)
            {
                request = ScriptRequest.ForInline(script.Inline ?? "", description, script.Timeout, variables);
            }
            else
            {
                try
                {
                    request = ScriptRequest.ForFile(PlanScriptPath.Resolve(script.Path, target.PlanFolder, target.PlanName, script.Location),
                        description, script.Timeout, variables);
                }
                catch (PlanScriptException ex)
                {
                    return new ValidationResult { Validation = script, Passed = false, Message = ex.Message };
                }
            }

            var result = await scriptHost.RunAsync(request, cancellationToken).ConfigureAwait(false);
            return new ValidationResult
            {
                Validation = script,
                Passed = result.Succeeded,
                Message = result.Succeeded
                    ? $"{what} succeeded in {Seconds(result.Duration)}"
                    : $"{what} failed after {Seconds(result.Duration)}: {result.Error}",
                Duration = result.Duration,
                Output = result.Output,
            };
        }

        /// <summary>
        /// The retry loop of the network checks: <paramref name="attempt"/> returns null when the
        /// check passed, else what it found; an exception is a failed attempt too.
        /// </summary>
        private static async Task<ValidationResult> ProbeAsync(VmValidation validation, string what, string passed, string notPassed,
            Func<CancellationToken, Task<string?>> attempt, CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            var attempts = 0;
            // What the last attempt that got an answer found: a final attempt cut short by the deadline says less.
            string? lastAnswer = null;
            while (true)
            {
                attempts++;
                var remaining = validation.Timeout - clock.Elapsed;
                string? failure;
                var cutShort = false;
                using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    limit.CancelAfter(Min(Max(remaining, TimeSpan.FromMilliseconds(1)), MaxAttempt));
                    try
                    {
                        failure = await attempt(limit.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        failure = "no answer (attempt timed out)";
                        cutShort = true;
                    }
                    catch (Exception ex) when (!(ex is OperationCanceledException))
                    {
                        failure = Describe(ex);
                    }
                }

                if (failure is null)
                {
                    return new ValidationResult { Validation = validation, Passed = true, Message = $"{what} {passed} after {Seconds(clock.Elapsed)}", Duration = clock.Elapsed };
                }

                if (!cutShort)
                {
                    lastAnswer = failure;
                }

                remaining = validation.Timeout - clock.Elapsed;
                if (remaining <= TimeSpan.Zero)
                {
                    failure = cutShort && lastAnswer != null ? lastAnswer : failure;
                    var tries = attempts == 1 ? "1 attempt" : $"{attempts} attempts";
                    return new ValidationResult
                    {
                        Validation = validation,
                        Passed = false,
                        Message = $"{what}: {notPassed} in {Seconds(validation.Timeout)} ({tries}): {failure}",
                        Duration = clock.Elapsed,
                    };
                }

                await Task.Delay(Min(Retries.After(attempts), remaining), cancellationToken).ConfigureAwait(false);
            }
        }

        private static bool TryAddress(VmValidation validation, string what, ValidationTarget target, out IPAddress address, out ValidationResult failed)
        {
            failed = null!;
            if (string.IsNullOrWhiteSpace(target.IpAddress))
            {
                address = IPAddress.None;
                failed = new ValidationResult
                {
                    Validation = validation,
                    Passed = false,
                    Message = $"{what} of {target.VmName} was not checked: the VM has no IP address (VMware Tools reported none). " +
                        "Wait for the address in the plan (waitFor: IpAddress), or check a full 'url'.",
                };
                return false;
            }

            if (!IPAddress.TryParse(target.IpAddress!.Trim(), out address!))
            {
                address = IPAddress.None;
                failed = new ValidationResult
                {
                    Validation = validation,
                    Passed = false,
                    Message = $"{what} of {target.VmName} was not checked: '{target.IpAddress}' is not an IP address.",
                };
                return false;
            }

            return true;
        }

        /// <summary>The reason of a failed connection in a few words: "connection refused", "host unreachable", a TLS error.</summary>
        private static string Describe(Exception exception)
        {
            for (var ex = exception; ex != null; ex = ex.InnerException)
            {
                if (ex is SocketException socket)
                {
                    return socket.SocketErrorCode switch
                    {
                        SocketError.ConnectionRefused => "connection refused",
                        SocketError.TimedOut => "connection timed out",
                        SocketError.HostUnreachable => "host unreachable",
                        SocketError.NetworkUnreachable => "network unreachable",
                        SocketError.ConnectionReset => "connection reset",
                        SocketError.HostNotFound => "host not found",
                        _ => socket.Message,
                    };
                }

                if (ex is AuthenticationException tls)
                {
                    return "TLS: " + tls.Message;
                }
            }

            return Errors.ExceptionChain.Innermost(exception).Message;
        }

        private static string FormatHost(IPAddress address) =>
            address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

        internal static string Seconds(TimeSpan duration) =>
            duration.TotalSeconds.ToString(duration.TotalSeconds >= 10 ? "0" : "0.#", CultureInfo.InvariantCulture) + " s";

        private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

        private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
    }
}
