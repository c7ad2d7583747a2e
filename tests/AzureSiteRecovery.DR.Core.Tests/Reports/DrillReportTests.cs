using System;
using System.Collections.Generic;
using System.Linq;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Reports;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Reports
{
    public sealed class DrillReportTests
    {
        private static readonly DateTimeOffset AsOf = DrillJobs.At(1000);

        [Fact]
        public void A_passing_drill_reports_each_group_and_vm_with_its_rto_and_rpo()
        {
            var report = DrillReport.FromJob(DrillJobs.PassingDrill(), AsOf);

            Assert.True(report.Passed);
            Assert.True(report.CleanupPassed);
            Assert.Equal(("erp", "job-erp", JobOperation.Drill, JobState.Succeeded), (report.Plan, report.JobId, report.Operation, report.State));
            Assert.Equal((DrillJobs.T0, DrillJobs.At(330), TimeSpan.FromSeconds(330)), (report.Started!.Value, report.Ended!.Value, report.Duration!.Value));
            Assert.Null(report.Error);

            Assert.Equal(new[] { "db", "app", "web" }, report.Groups.Select(g => g.Name));
            Assert.All(report.Groups, g => Assert.True(g.Passed));
            var db = report.Groups[0];
            Assert.Equal((DrillJobs.At(5), DrillJobs.At(163), TimeSpan.FromSeconds(158)), (db.Started!.Value, db.Ended!.Value, db.Duration!.Value));

            Assert.Equal(new[] { "db01", "db02", "app01", "app02", "web01", "web02" }, report.Vms.Select(v => v.Name));
            Assert.Equal(0, report.FailedVmCount);
            var db01 = report.Vms[0];
            Assert.Equal("db", db01.Group);
            Assert.Equal(TimeSpan.FromMinutes(2), db01.Rto);
            Assert.Equal(120, db01.RtoSeconds);
            Assert.Equal(TimeSpan.FromMinutes(5), db01.Rpo);
            Assert.Equal(300, db01.RpoSeconds);
            Assert.Equal(TimeSpan.FromMinutes(10), report.Vms[1].Rpo);
            Assert.Equal(TimeSpan.FromSeconds(310), report.Vms[5].Rto);
            Assert.Equal(("vm-id-db01", "rp-db01", DrillJobs.At(-300), PointConsistency.AppConsistent),
                (db01.VmId, db01.RecoveryPointId, db01.RecoveryPointTime!.Value, db01.Consistency!.Value));
            Assert.Equal(("dr", "db01-drill", "vm-101", "10.0.0.11"), (db01.RecoveredSite, db01.RecoveredName, db01.RecoveredMoRef, db01.IpAddress));
            Assert.Equal((1073741824L, 256L), (db01.BytesWritten!.Value, db01.ChunksWritten!.Value));
            Assert.Equal((DrillJobs.At(120), DrillJobs.At(5), DrillJobs.At(132)), (db01.UpAt!.Value, db01.Started!.Value, db01.Ended!.Value));
            Assert.True(db01.Passed);
            var validation = Assert.Single(db01.Validations);
            Assert.Equal(("Validate db01: tcp 1433", "tcp 1433", true, TimeSpan.FromSeconds(2)), (validation.Name, validation.Validation, validation.Passed, validation.Duration!.Value));

            Assert.Equal(15, report.Steps.Count);
            Assert.Equal(new[] { "prepare", "recoverVm", "recoverVm", "validate", "validate", "action" }, report.Steps.Take(6).Select(s => s.Kind));
            var cleanup = report.Steps.Last();
            Assert.Equal(("Delete the test VMs", "cleanup", true, TimeSpan.FromSeconds(18)), (cleanup.Name, cleanup.Kind, cleanup.IsFinally, cleanup.Duration!.Value));
            Assert.Equal(0, report.FailedStepCount);
        }

        [Fact]
        public void A_failed_validation_fails_the_vm_its_group_and_the_drill_and_later_groups_show_skipped()
        {
            var report = DrillReport.FromJob(DrillJobs.FailedValidation(), AsOf);

            Assert.False(report.Passed);
            Assert.True(report.CleanupPassed);
            Assert.StartsWith("Step 'Validate db01: tcp 1433' failed", report.Error);
            Assert.Equal(1, report.FailedStepCount);
            Assert.Equal(new[] { ("db", false), ("app", false) }, report.Groups.Select(g => (g.Name, g.Passed)));
            Assert.Null(report.Groups[1].Started);
            Assert.Null(report.Groups[1].Duration);

            var db01 = report.Vms.Single(v => v.Name == "db01");
            Assert.False(db01.Passed);
            Assert.Equal("db01 (10.0.0.11) did not answer on TCP 1433 within 60s.", db01.Error);
            Assert.Equal(TimeSpan.FromMinutes(2), db01.Rto);
            Assert.False(db01.Validations.Single().Passed);
            Assert.Equal(JobStepState.Failed, db01.Validations.Single().State);
            Assert.True(report.Vms.Single(v => v.Name == "db02").Passed);

            var app01 = report.Vms.Single(v => v.Name == "app01");
            Assert.False(app01.Passed);
            Assert.Equal((null, null, null, null), (app01.Rto, app01.Rpo, app01.RecoveryPointId, app01.Started));
            Assert.Equal(2, report.FailedVmCount);
        }

        [Fact]
        public void A_failed_cleanup_fails_a_drill_whose_job_succeeded()
        {
            var job = DrillJobs.PassingDrill();
            job = job with { Steps = job.Steps.Select(s => s.IsFinally ? s with { State = JobStepState.Failed, Error = "test VM db01-drill is still there" } : s).ToList() };

            var report = DrillReport.FromJob(job, AsOf);

            Assert.False(report.Passed);
            Assert.False(report.CleanupPassed);
            Assert.Equal(0, report.FailedVmCount);
            Assert.All(report.Groups, g => Assert.True(g.Passed));
        }

        [Fact]
        public void A_job_still_running_reports_what_it_has_and_measures_open_steps_up_to_the_report_time()
        {
            var job = new DrillJobs()
                .Add("Choose recovery points", JobStepKind.Prepare, null, null, 0, 5)
                .Recover("db", "db01", 5, 120)
                .Recover("db", "db02", 5, 0, state: JobStepState.Running)
                .Validate("db", "db01", "tcp 1433", 120, 121)
                .Add("Delete the test VMs", JobStepKind.Cleanup, null, null, null, null, JobStepState.Pending)
                .Job(JobState.Running, null);

            var report = DrillReport.FromJob(job, DrillJobs.At(200));

            Assert.False(report.Passed);
            Assert.False(report.CleanupPassed);
            Assert.Null(report.Ended);
            Assert.Equal(TimeSpan.FromSeconds(200), report.Duration);
            var db = Assert.Single(report.Groups);
            Assert.Null(db.Ended);
            Assert.Equal(TimeSpan.FromSeconds(195), db.Duration);
            var db02 = report.Vms[1];
            Assert.False(db02.Passed);
            Assert.Null(db02.Rto);
            Assert.Null(db02.IpAddress);
            Assert.Null(db02.Ended);
            Assert.Equal(TimeSpan.FromMinutes(5), db02.Rpo);
            Assert.Equal(TimeSpan.FromSeconds(195), report.Steps[2].Duration);
            Assert.Null(report.Steps[4].Duration);
        }

        [Fact]
        public void Missing_or_malformed_details_and_a_job_not_started_give_nulls_not_exceptions()
        {
            var job = new DRJob
            {
                JobId = "j1",
                Operation = JobOperation.TestFailover,
                Target = "erp",
                State = JobState.NotStarted,
                Steps = new[]
                {
                    new JobStep { Index = 0, Name = "Recover db01", Group = "db", Vm = "db01", Details = new Dictionary<string, string>
                    {
                        [JobStepDetail.Kind] = JobStepKind.RecoverVm,
                        [JobStepDetail.RecoveryPointTime] = "yesterday-ish",
                        [JobStepDetail.UpAt] = "",
                        [JobStepDetail.BytesWritten] = "lots",
                        [JobStepDetail.Consistency] = "Quantum",
                    } },
                    new JobStep { Index = 1, Name = "no kind", Group = "db", Vm = "db01" },
                    new JobStep { Index = 2, Name = "cleanup", IsFinally = true },
                },
            };

            var report = DrillReport.FromJob(job, AsOf);

            Assert.Equal((null, null, false), (report.Started, report.Duration, report.Passed));
            var vm = Assert.Single(report.Vms);
            Assert.Equal((null, null, null, null, null, null), (vm.RecoveryPointTime, vm.UpAt, vm.Rpo, vm.Rto, vm.BytesWritten, vm.Consistency));
            Assert.Equal(new[] { "recoverVm", null, "cleanup" }, report.Steps.Select(s => s.Kind));
            Assert.All(report.Steps, s => Assert.Null(s.Duration));
        }
    }
}
