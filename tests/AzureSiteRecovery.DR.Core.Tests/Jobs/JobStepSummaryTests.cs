using System.Linq;
using AzureSiteRecovery.DR.Core.Model;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Jobs
{
    /// <summary>What Get-DRJob shows in Steps: the steps counted by outcome, never "8/8" for a drill that skipped six.</summary>
    public sealed class JobStepSummaryTests
    {
        private static DRJob JobWith(params JobStepState[] states) =>
            new DRJob { Steps = states.Select((s, i) => new JobStep { Index = i, Name = $"step {i}", State = s }).ToList() };

        [Fact]
        public void A_failed_drill_counts_ok_failed_and_skipped_steps()
        {
            var job = JobWith(JobStepState.Succeeded, JobStepState.Succeeded, JobStepState.Failed,
                JobStepState.Skipped, JobStepState.Skipped, JobStepState.Skipped, JobStepState.Skipped, JobStepState.Skipped);
            Assert.Equal("2 ok, 1 failed, 5 skipped", job.StepSummary);
        }

        [Fact]
        public void A_running_job_counts_running_and_pending_steps_and_leaves_out_zero_counts()
        {
            Assert.Equal("1 ok, 1 running, 2 pending", JobWith(JobStepState.Succeeded, JobStepState.WaitingForUser, JobStepState.Pending, JobStepState.Pending).StepSummary);
            Assert.Equal("3 ok", JobWith(JobStepState.Succeeded, JobStepState.Succeeded, JobStepState.Succeeded).StepSummary);
            Assert.Equal("0 ok", JobWith().StepSummary);
        }
    }
}
