using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Jobs;
using JobState = AzureSiteRecovery.DR.Core.Model.JobState;

namespace AzureSiteRecovery.DR.Jobs
{
    /// <summary>Gets the jobs (test failovers, failovers, failbacks, drills) recorded in the vault.</summary>
    /// <remarks>
    /// Lists the jobs newest first, each with its steps (Steps: start, end, result and error of
    /// every step) and the step running or waiting for the user (CurrentStep). A job whose
    /// process died while running it (on this machine) shows as Interrupted: Resume-DRJob
    /// continues it. Filter by -JobId (wildcards allowed), -State and -First. An id without
    /// wildcards that matches nothing is reported (DRJobNotFound).
    /// </remarks>
    /// <example>
    /// <code>Get-DRJob -First 5</code>
    /// <para>Shows the five newest jobs.</para>
    /// </example>
    /// <example>
    /// <code>(Get-DRJob -JobId 3f2a9c1e0b7d4e5f8a6b2c3d4e5f6a7b).Steps | Format-Table</code>
    /// <para>Shows every step of one job with its timing and result.</para>
    /// </example>
    /// <example>
    /// <code>Get-DRJob -State WaitingForUser, Interrupted | Resume-DRJob</code>
    /// <para>Continues every job paused at a manual step or left by a process that died.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "DRJob")]
    [OutputType(typeof(DRJob))]
    public sealed class GetDRJobCommand : DRCmdlet
    {
        /// <summary>Ids of the jobs to get; wildcards are allowed. All jobs when omitted.</summary>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(DRJobIdCompleter))]
        public string[]? JobId { get; set; }

        /// <summary>Only jobs in one of these states (Interrupted: a Running job whose process is gone).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public JobState[]? State { get; set; }

        /// <summary>At most this many jobs, the newest.</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int? First { get; set; }

        protected override void ProcessItem()
        {
            var vault = OpenVault();
            var jobs = SelectByName(JobId, "DRJob", j => j.JobId,
                    async ct => (await vault.ListJobsAsync(null, ct).ConfigureAwait(false)).Select(JobRunner.Observe).ToList(),
                    async (id, ct) => await vault.FindJobAsync(id, ct).ConfigureAwait(false) is DRJob found ? JobRunner.Observe(found) : null)
                .Where(j => State is null || State.Contains(j.State));
            if (First is int first)
            {
                jobs = jobs.Take(first);
            }

            foreach (var job in jobs)
            {
                WriteObject(job);
            }
        }
    }
}
