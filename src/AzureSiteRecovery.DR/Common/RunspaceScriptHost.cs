using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks;

namespace AzureSiteRecovery.DR.Common
{
    /// <summary>
    /// Runs a plan's scripts for the recovery engine, each in a fresh runspace of its own (the
    /// default session state: no profile, nothing of the caller's session), so a script cannot see
    /// or change another's variables, and many jobs can run side by side. The script gets the
    /// request's variables as variables, and as parameters when its param block declares them.
    /// The session's execution policy applies to script files, as it does for the user.
    /// A script past its timeout, or a cancelled one, is stopped; if it does not stop within the
    /// grace period (a .NET call that ignores Stop), the run is reported and the runspace is left
    /// to close when the script returns, so the caller never waits forever.
    /// </summary>
    internal sealed class RunspaceScriptHost : IScriptHost
    {
        private readonly TimeSpan stopGracePeriod;

        public RunspaceScriptHost()
            : this(TimeSpan.FromSeconds(10))
        {
        }

        public RunspaceScriptHost(TimeSpan stopGracePeriod) => this.stopGracePeriod = stopGracePeriod;

        public async Task<ScriptRunResult> RunAsync(ScriptRequest request, CancellationToken cancellationToken)
        {
            if (request is null) throw new ArgumentNullException(nameof(request));
            cancellationToken.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            if (request.Path != null && !File.Exists(request.Path))
            {
                return new ScriptRunResult { Succeeded = false, Error = $"The script file '{request.Path}' does not exist.", Duration = clock.Elapsed };
            }

            // Checked again here: the file may have been replaced (by a device, a FIFO...) since the plan was checked.
            if (request.Path != null && PlanScriptPath.Problem(request.Path) is string problem)
            {
                return new ScriptRunResult { Succeeded = false, Error = $"The script cannot be run: {problem}.", Duration = clock.Elapsed };
            }

            var run = new Run(request);
            using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                limit.CancelAfter(request.Timeout);
                var stopSignal = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                using (limit.Token.Register(() => stopSignal.TrySetResult(true)))
                {
                    var invocation = Task.Run(run.InvokeAsync);
                    var stopped = false;
                    if (await Task.WhenAny(invocation, stopSignal.Task).ConfigureAwait(false) != invocation)
                    {
                        stopped = true;
                        run.Stop();
                        if (await Task.WhenAny(invocation, Task.Delay(stopGracePeriod)).ConfigureAwait(false) != invocation)
                        {
                            // The script ignores Stop: report now, close the runspace when it ends.
                            _ = invocation.ContinueWith(_ => run.Dispose(), TaskScheduler.Default);
                            cancellationToken.ThrowIfCancellationRequested();
                            return run.Result(clock.Elapsed, timedOut: true, failure: null, stopIgnored: true);
                        }
                    }

                    Exception? failure;
                    try
                    {
                        await invocation.ConfigureAwait(false);
                        failure = null;
                    }
                    catch (Exception ex)
                    {
                        failure = ex;
                    }

                    try
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        return run.Result(clock.Elapsed, timedOut: stopped, failure: stopped ? null : failure, stopIgnored: false);
                    }
                    finally
                    {
                        // After the result: disposing the pipeline empties its error stream.
                        run.Dispose();
                    }
                }
            }
        }

        /// <summary>One script run: its runspace, pipeline and what it wrote.</summary>
        private sealed class Run : IDisposable
        {
            private readonly ScriptRequest request;
            private readonly Runspace runspace;
            private readonly PowerShell shell;
            private readonly PSDataCollection<PSObject> output = new PSDataCollection<PSObject>();
            private readonly Queue<string> lines = new Queue<string>();
            private readonly object gate = new object();
            private bool truncated;
            private bool stopRequested;
            private bool started;

            public Run(ScriptRequest request)
            {
                this.request = request;
                var state = InitialSessionState.CreateDefault2();
                foreach (var variable in request.Variables)
                {
                    state.Variables.Add(new SessionStateVariableEntry(variable.Key, variable.Value, "Set by the recovery plan run."));
                }

                runspace = RunspaceFactory.CreateRunspace(state);
                shell = PowerShell.Create();
                shell.Runspace = runspace;
                output.DataAdded += (_, e) => Add(Format(output[e.Index]));
                shell.Streams.Information.DataAdded += (_, e) => Add(shell.Streams.Information[e.Index].MessageData?.ToString());
                shell.Streams.Warning.DataAdded += (_, e) => Add("WARNING: " + shell.Streams.Warning[e.Index].Message);
            }

            public async Task InvokeAsync()
            {
                runspace.Open();
                var input = new PSDataCollection<PSObject>();
                input.Complete();
                IAsyncResult pending;
                lock (gate)
                {
                    // A stop asked for while the runspace opened: the script never starts.
                    if (stopRequested)
                    {
                        throw new PipelineStoppedException();
                    }

                    AddScript();
                    pending = shell.BeginInvoke(input, output);
                    started = true;
                }

                await Task.Factory.FromAsync(pending, shell.EndInvoke).ConfigureAwait(false);
            }

            public void Stop()
            {
                lock (gate)
                {
                    stopRequested = true;
                    if (started)
                    {
                        shell.BeginStop(null, null);
                    }
                }
            }

            public ScriptRunResult Result(TimeSpan duration, bool timedOut, Exception? failure, bool stopIgnored)
            {
                string? error;
                if (timedOut)
                {
                    error = stopIgnored
                        ? $"It did not finish in {Seconds(request.Timeout)}, and did not stop when told to: it is left to end on its own."
                        : $"It did not finish in {Seconds(request.Timeout)} and was stopped.";
                }
                else if (failure != null)
                {
                    error = failure is RuntimeException runtime && runtime.ErrorRecord != null ? Describe(runtime.ErrorRecord) : failure.Message;
                }
                else if (shell.Streams.Error.Count > 0)
                {
                    error = string.Join(" ", shell.Streams.Error.Select(Describe));
                }
                else if (output.Count > 0 && output[output.Count - 1]?.BaseObject is bool last && !last)
                {
                    error = "Its last output was $false.";
                }
                else
                {
                    error = null;
                }

                lock (lines)
                {
                    return new ScriptRunResult
                    {
                        Succeeded = error is null,
                        TimedOut = timedOut,
                        Output = lines.ToList(),
                        OutputTruncated = truncated,
                        Error = error,
                        Duration = duration,
                    };
                }
            }

            public void Dispose()
            {
                shell.Dispose();
                runspace.Dispose();
                output.Dispose();
            }

            /// <summary>The script, with the request's variables bound to the parameters its param block declares.</summary>
            private void AddScript()
            {
                ScriptBlockAst ast;
                if (request.Path != null)
                {
                    ast = Parser.ParseFile(request.Path, out _, out _);
                    shell.AddCommand(request.Path);
                }
                else
                {
                    ast = Parser.ParseInput(request.Inline ?? "", out _, out _);
                    shell.AddScript(request.Inline ?? "");
                }

                var declared = ast.ParamBlock?.Parameters.Select(p => p.Name.VariablePath.UserPath) ?? Enumerable.Empty<string>();
                foreach (var name in declared)
                {
                    if (request.Variables.TryGetValue(name, out var value))
                    {
                        shell.AddParameter(name, value);
                    }
                }
            }

            private void Add(string? text)
            {
                lock (lines)
                {
                    foreach (var line in (text ?? "").Replace("\r\n", "\n").Split('\n'))
                    {
                        lines.Enqueue(line.Length > ScriptRunResult.MaxLineLength ? line.Substring(0, ScriptRunResult.MaxLineLength) + "…" : line);
                        if (lines.Count > ScriptRunResult.MaxOutputLines)
                        {
                            lines.Dequeue();
                            truncated = true;
                        }
                    }
                }
            }

            private static string Format(PSObject? item) => item?.ToString() ?? "";

            /// <summary>An error's message and where the script raised it: "boom (at check.ps1:3)".</summary>
            private static string Describe(ErrorRecord record)
            {
                var message = record.ErrorDetails?.Message ?? record.Exception?.Message ?? record.ToString();
                var info = record.InvocationInfo;
                if (info is null || info.ScriptLineNumber <= 0)
                {
                    return message;
                }

                var script = string.IsNullOrEmpty(info.ScriptName) ? "line " : Path.GetFileName(info.ScriptName) + ":";
                return $"{message} (at {script}{info.ScriptLineNumber})";
            }

            private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + " s";
        }
    }
}
