using System;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Jobs;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Vault;
using AzureSiteRecovery.DR.Core.Vault.Connection;
using AzureSiteRecovery.DR.Jobs;

namespace AzureSiteRecovery.DR.Recovery
{
    /// <summary>
    /// The cmdlets that start a recovery job (test failover, drill, failover, failback...): the job
    /// is defined (the plan checked) and recorded first, then run here with its steps as progress,
    /// or with -AsJob in a PowerShell background job that has its own vault connection.
    /// </summary>
    public abstract class RecoveryJobCmdlet : DRCmdlet
    {
        /// <summary>Runs the operation in a PowerShell background job and returns that job at once (Receive-Job gets the result); the DR job is recorded before it returns.</summary>
        [Parameter]
        public SwitchParameter AsJob { get; set; }

        /// <summary>The services recovery jobs of this invocation use; the chunk store handle is the job's own.</summary>
        internal static RecoveryServices ServicesFor(IVault vault, VaultConnection connection) =>
            new RecoveryServices(vault, new ConfiguredChunkStore(vault, connection).Open, new RunspaceScriptHost()) { ReplicaContainers = ReplicaContainers.For(vault) };

        /// <summary>
        /// Records a job for <paramref name="request"/> and runs it (here, or in the background with
        /// -AsJob); <paramref name="output"/> turns the ended job into what the cmdlet writes.
        /// </summary>
        protected void StartRecoveryJob(JobOperation operation, RecoveryRequest request, string description, Func<DRJob, IVault, object> output)
        {
            var vault = OpenVault();
            var jobs = new RecoveryJobs(ServicesFor(vault, Connection));
            var definition = Await(ct => jobs.DefineAsync(operation, request, ct));
            if (!ShouldProcess(description, operation.ToString()))
            {
                definition.Resources?.Dispose();
                return;
            }

            var runner = new JobRunner(vault, jobs.Catalog());
            var job = Await(ct => runner.CreateAsync(definition, ct));
            WriteVerbose($"Job {job.JobId}: {operation} of {job.Target}, {job.Steps.Count} steps.");
            if (AsJob)
            {
                definition.Resources?.Dispose();
                new RecoveryBackgroundJob(MyInvocation.Line, $"{operation} {job.Target}", Connection, job.JobId, output).StartFor(this);
                return;
            }

            var ended = JobRunner.Observe(JobProgress.Run(this, 1, (progress, ct) => runner.RunAsync(job.JobId, definition, ct, progress)));
            WriteObject(output(ended, vault));
            OnJobEnded(ended);
        }

        /// <summary>After the output of a job run here: a cmdlet whose failed job must also be an error ($? false) writes it.</summary>
        protected virtual void OnJobEnded(DRJob job)
        {
        }
    }

    /// <summary>A recovery job run by -AsJob: a PowerShell job whose output is the cmdlet's output; StopJob stops the DR job (its cleanup still runs).</summary>
    internal sealed class RecoveryBackgroundJob : DRBackgroundJob
    {
        private readonly VaultConnection connection;
        private readonly string jobId;
        private readonly Func<DRJob, IVault, object> output;

        public RecoveryBackgroundJob(string command, string name, VaultConnection connection, string jobId, Func<DRJob, IVault, object> output)
            : base(command, name)
        {
            this.connection = connection;
            this.jobId = jobId;
            this.output = output;
        }

        /// <summary>The DR job this PowerShell job runs (Get-DRJob / Wait-DRJob follow it from anywhere).</summary>
        public string DRJobId => jobId;

        public override string StatusMessage => $"DR job {jobId}";

        protected override async Task<System.Management.Automation.JobState> RunAsync(CancellationToken cancellationToken)
        {
            try
            {
                using var vault = await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                var runner = new JobRunner(vault, new RecoveryJobs(RecoveryJobCmdlet.ServicesFor(vault, connection)).Catalog());
                var ended = JobRunner.Observe(await runner.ResumeAsync(jobId, cancellationToken).ConfigureAwait(false));
                Output.Add(PSObject.AsPSObject(output(ended, vault)));
                return ended.State == Core.Model.JobState.Failed ? System.Management.Automation.JobState.Failed
                    : ended.State == Core.Model.JobState.Cancelled ? System.Management.Automation.JobState.Stopped
                    : System.Management.Automation.JobState.Completed;
            }
            catch (Exception ex)
            {
                Error.Add(ex is Core.Errors.DRException dr ? DRCmdlet.ToErrorRecord(dr, jobId)
                    : new ErrorRecord(ex, "RecoveryJobFailed", ErrorCategory.NotSpecified, jobId));
                return System.Management.Automation.JobState.Failed;
            }
        }
    }
}
