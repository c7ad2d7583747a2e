using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Jobs;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Jobs;
using AzureSiteRecovery.DR.Core.Orchestration.Reports;

namespace AzureSiteRecovery.DR.Reports
{
    /// <summary>Writes the report of a drill (or any recovery job) as an HTML page, JSON or JUnit XML.</summary>
    /// <remarks>
    /// Reads the job from the vault and reports what its steps recorded: pass or fail, each group's
    /// and VM's timing, every VM's recovery point, RPO (the job's start less the point's time) and
    /// RTO (the time the VM was up less the job's start), its validations, every step with its
    /// result and error, and whether cleanup ran. The format follows the extension of -Path: .html
    /// or .htm (one self-contained page: a summary per VM, a timeline and every step), .json (the
    /// report's data) or .xml (JUnit XML: a test suite per group and one for cleanup, for CI test
    /// viewers); -Format overrides it. The file is written under a temporary name and then renamed,
    /// so a failed write leaves no partial report; an existing file is replaced (a read-only one
    /// only with -Force) and a missing folder is created. Without -JobId, reports the newest drill or
    /// test failover. A job still running or stopped half way is reported as far as it went.
    /// Outputs the file, or the report with -PassThru.
    /// </remarks>
    /// <example>
    /// <code>Export-DrillReport -Path ./drill.html</code>
    /// <para>Writes the report of the newest drill or test failover as an HTML page.</para>
    /// </example>
    /// <example>
    /// <code>$r = Invoke-DRDrill -RecoveryPlan erp; $r | Export-DrillReport -Path ./drill.html</code>
    /// <para>Runs a drill and writes its report.</para>
    /// </example>
    /// <example>
    /// <code>Get-DRJob -First 1 | Export-DrillReport -Path ./results/drill.xml</code>
    /// <para>Writes JUnit XML of the newest job for a CI pipeline's test results.</para>
    /// </example>
    /// <example>
    /// <code>(Export-DrillReport -JobId $job.JobId -Path ./drill.json -PassThru).Vms | Format-Table Name, Rto, Rpo, Passed</code>
    /// <para>Writes the JSON report and shows each VM's RTO and RPO.</para>
    /// </example>
    [Cmdlet(VerbsData.Export, "DrillReport", SupportsShouldProcess = true)]
    [OutputType(typeof(FileInfo), typeof(DrillReport))]
    public sealed class ExportDrillReportCommand : DRCmdlet
    {
        /// <summary>The report file: .html or .htm, .json, or .xml (JUnit), unless -Format names the format. Its folder is created if missing.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        /// <summary>The id of the job to report on (from Get-DRJob or a drill's report through the pipeline). Default: the newest drill or test failover.</summary>
        [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(DRJobIdCompleter))]
        public string? JobId { get; set; }

        /// <summary>The format to write, whatever the extension of -Path: Html, Json or JUnit.</summary>
        [Parameter]
        public DrillReportFormat Format { get; set; }

        /// <summary>Returns the report (DrillReport) instead of the file.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>Replaces the file even when it is read-only.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void ProcessItem()
        {
            var path = GetUnresolvedProviderPathFromPSPath(Path);
            ForItem(JobId ?? path, () =>
            {
                var format = MyInvocation.BoundParameters.ContainsKey(nameof(Format)) ? Format : DrillReportWriter.FormatOf(path);
                var job = JobId is null ? NewestDrill() : Await(ct => new JobRunner(OpenVault(), new JobCatalog()).GetAsync(JobId, ct));
                var report = DrillReport.FromJob(job);
                if (!ShouldProcess(path, $"Write the {format} report of job '{job.JobId}' ({job.Operation} of {job.Target}, {job.State})"))
                {
                    return;
                }

                if (!PrepareTarget(path))
                {
                    return;
                }

                try
                {
                    DrillReportWriter.Write(report, path, format);
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    WriteError(new ErrorRecord(ex, "DrillReportUnwritable", ErrorCategory.WriteError, path));
                    return;
                }

                WriteVerbose($"Wrote the {format} report of job '{job.JobId}' to '{path}'.");
                WriteObject(PassThru ? report : (object)new FileInfo(path));
            });
        }

        private DRJob NewestDrill()
        {
            var jobs = Await(ct => OpenVault().ListJobsAsync(null, ct));
            var newest = jobs.FirstOrDefault(j => j.Operation == JobOperation.Drill || j.Operation == JobOperation.TestFailover)
                ?? throw new JobException("DrillJobNotFound", FailureKind.NotFound, "",
                    "The vault has no drill or test failover job to report on: run one, or name another job with -JobId.");
            return JobRunner.Observe(newest);
        }

        /// <summary>Refuses a folder, and a read-only file unless -Force (which makes it writable).</summary>
        private bool PrepareTarget(string path)
        {
            if (Directory.Exists(path))
            {
                WriteError(new ErrorRecord(new IOException($"'{path}' is a folder: give the report file's path, such as '{System.IO.Path.Combine(path, "drill.html")}'."),
                    "DrillReportPathIsFolder", ErrorCategory.InvalidArgument, path));
                return false;
            }

            var existing = new FileInfo(path);
            if (existing.Exists && existing.IsReadOnly)
            {
                if (!Force)
                {
                    WriteError(new ErrorRecord(new UnauthorizedAccessException($"'{path}' is read-only: use -Force to replace it."),
                        "DrillReportFileReadOnly", ErrorCategory.PermissionDenied, path));
                    return false;
                }

                existing.IsReadOnly = false;
            }

            return true;
        }
    }
}
