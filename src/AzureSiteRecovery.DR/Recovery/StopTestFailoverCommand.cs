using System.Management.Automation;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;
using AzureSiteRecovery.DR.Jobs;

namespace AzureSiteRecovery.DR.Recovery
{
    /// <summary>Deletes everything a test failover created on the recovery site, and what crashed test failovers left behind.</summary>
    /// <remarks>
    /// Runs a StopTestFailover job for the test failover (or drill) job given: finds the VMs it
    /// created by their job tag (extraConfig azsr-dr.job) on the recovery site and destroys them
    /// with their disk files, then sweeps test VMs whose job is gone from the vault, whose process
    /// died, or that belong to a drill that ended. Running it again finds nothing more to delete.
    /// -Notes records what the tester found (pass/fail notes) with the job. Returns the
    /// StopTestFailover job.
    /// </remarks>
    /// <example>
    /// <code>Get-DRJob | Select-Object -First 1 | Stop-TestFailover -Notes 'ERP login and order entry checked: passed'</code>
    /// <para>Cleans up the newest job's test VMs and records the tester's notes.</para>
    /// </example>
    [Cmdlet(VerbsLifecycle.Stop, "TestFailover", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(DRJob))]
    public sealed class StopTestFailoverCommand : RecoveryJobCmdlet
    {
        /// <summary>The id of the test failover job to clean up (Start-TestFailover or Get-DRJob output binds by its JobId).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(DRJobIdCompleter))]
        public string JobId { get; set; } = "";

        /// <summary>What the test showed (pass/fail notes); kept with the clean-up job and shown in its first step's message.</summary>
        [Parameter]
        public string? Notes { get; set; }

        protected override void ProcessItem()
        {
            ForItem(JobId, () => StartRecoveryJob(JobOperation.StopTestFailover, new RecoveryRequest { TestJobId = JobId, Notes = Notes },
                $"The test VMs of job '{JobId}'", (job, vault) => job));
        }
    }
}
