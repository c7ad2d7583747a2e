using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Common
{
    /// <summary>
    /// What -AsJob returns: a PowerShell job (Receive-Job, Wait-Job, Stop-Job) that runs some work
    /// on the thread pool. The work adds to Output, Error and Progress; the job ends Completed, or
    /// Failed when the work throws, or Stopped after Stop-Job.
    /// </summary>
    internal abstract class DRBackgroundJob : Job
    {
        private readonly CancellationTokenSource stop = new CancellationTokenSource();

        protected DRBackgroundJob(string command, string name)
            : base(command, name)
        {
            PSJobTypeName = "AzureSiteRecovery.DR";
        }

        public override string StatusMessage => "";
        public override bool HasMoreData => Output.Count > 0 || Error.Count > 0;
        public override string Location => Environment.MachineName;

        /// <summary>Registers the job (Get-Job lists it), starts it and writes it: the -AsJob half of a cmdlet.</summary>
        public void StartFor(PSCmdlet cmdlet)
        {
            cmdlet.JobRepository.Add(this);
            SetJobState(JobState.Running);
            Task.Run(async () =>
            {
                JobState final;
                try
                {
                    final = await RunAsync(stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    final = JobState.Stopped;
                }
                catch (Exception ex)
                {
                    Error.Add(ex is DRException dr ? DRCmdlet.ToErrorRecord(dr, Name)
                        : new ErrorRecord(ex, "BackgroundJobFailed", ErrorCategory.NotSpecified, Name));
                    final = JobState.Failed;
                }

                SetJobState(final);
            });
            cmdlet.WriteObject(this);
        }

        /// <summary>The work; returns the state the job ends in.</summary>
        protected abstract Task<JobState> RunAsync(CancellationToken cancellationToken);

        public override void StopJob() => stop.Cancel();

        protected override void Dispose(bool disposing)
        {
            if (disposing) stop.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// -AsJob of a cmdlet whose work is the cmdlet itself: the same cmdlet, with the same parameters
    /// (without -AsJob) and pipeline input, run in a runspace of its own that imports this module;
    /// its output, errors, warnings, verbose lines and progress become the job's.
    /// </summary>
    internal sealed class CommandBackgroundJob : DRBackgroundJob
    {
        private readonly string commandName;
        private readonly string modulePath;
        private readonly IDictionary<string, object?> parameters;
        private readonly IList<object> input;
        private readonly string location;

        private CommandBackgroundJob(string command, string name, string commandName, string modulePath, IDictionary<string, object?> parameters, IList<object> input, string location)
            : base(command, name)
        {
            this.location = location;
            this.commandName = commandName;
            this.modulePath = modulePath;
            this.parameters = parameters;
            this.input = input;
        }

        /// <summary>
        /// Starts <paramref name="cmdlet"/>'s command again as a job with its bound parameters except
        /// AsJob and the pipeline-bound ones, <paramref name="input"/> as its pipeline input, and
        /// -Confirm:$false (the caller has asked ShouldProcess already); writes the job.
        /// </summary>
        public static void Start(PSCmdlet cmdlet, IList<object> input, params string[] inputParameters)
        {
            var parameters = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
            foreach (var pair in cmdlet.MyInvocation.BoundParameters)
            {
                if (!string.Equals(pair.Key, "AsJob", StringComparison.OrdinalIgnoreCase) && Array.IndexOf(inputParameters, pair.Key) < 0)
                {
                    parameters[pair.Key] = pair.Value is SwitchParameter sw ? sw.IsPresent : pair.Value;
                }
            }

            parameters["Confirm"] = false;
            parameters.Remove("WhatIf");
            var command = cmdlet.MyInvocation.MyCommand;
            // Relative paths (-Vault, -Destination) mean the same in the job: it starts in the caller's folder.
            var location = cmdlet.SessionState.Path.CurrentFileSystemLocation.ProviderPath;
            var job = new CommandBackgroundJob(cmdlet.MyInvocation.Line, command.Name, command.Name, command.Module.Path, parameters, input, location);
            job.StartFor(cmdlet);
        }

        protected override async Task<JobState> RunAsync(CancellationToken cancellationToken)
        {
            var state = InitialSessionState.CreateDefault2();
            state.ImportPSModule(new[] { modulePath });
            using var runspace = RunspaceFactory.CreateRunspace(state);
            runspace.Open();
            runspace.SessionStateProxy.Path.SetLocation(WildcardPattern.Escape(location));
            using var shell = PowerShell.Create();
            shell.Runspace = runspace;
            shell.AddCommand(commandName).AddParameters((IDictionary)parameters);
            shell.Streams.Error = Error;
            shell.Streams.Progress = Progress;
            shell.Streams.Verbose = Verbose;
            shell.Streams.Warning = Warning;
            shell.Streams.Debug = Debug;

            var pipelineInput = new PSDataCollection<object>();
            foreach (var item in input)
            {
                pipelineInput.Add(item);
            }

            pipelineInput.Complete();
            using (cancellationToken.Register(() => shell.BeginStop(null, null)))
            {
                var invocation = shell.BeginInvoke(pipelineInput, Output);
                try
                {
                    await Task.Factory.FromAsync(invocation, shell.EndInvoke).ConfigureAwait(false);
                }
                catch (PipelineStoppedException) when (cancellationToken.IsCancellationRequested)
                {
                    return JobState.Stopped;
                }
            }

            if (cancellationToken.IsCancellationRequested || shell.InvocationStateInfo.State == PSInvocationState.Stopped)
            {
                return JobState.Stopped;
            }

            return shell.HadErrors ? JobState.Failed : JobState.Completed;
        }
    }
}
