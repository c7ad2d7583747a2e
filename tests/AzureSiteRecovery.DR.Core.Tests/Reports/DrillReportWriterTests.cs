using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Reports;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Reports
{
    public sealed class DrillReportWriterTests : IDisposable
    {
        private const string Script = "<script>alert('x')</script>";
        private readonly TemporaryFolder folder = new TemporaryFolder();

        public void Dispose() => folder.Dispose();

        private static DrillReport Passing() => DrillReport.FromJob(DrillJobs.PassingDrill(), DrillJobs.At(1000));

        private static DrillReport Failing() => DrillReport.FromJob(DrillJobs.FailedValidation(), DrillJobs.At(1000));

        /// <summary>Names and errors a user could type or a guest could answer: markup, quotes, ampersands, control characters, a lone surrogate.</summary>
        private static DrillReport Odd()
        {
            var job = new DrillJobs()
                .Recover("g<1>&\"", Script, 0, 60)
                .Validate("g<1>&\"", Script, "tcp 1433", 60, 61, JobStepState.Failed, "refused: ]]> & <b>bold</b> \u0001\u0007 \uD800 'quoted' \"double\"")
                .Add("Delete the test VMs", JobStepKind.Cleanup, null, null, 61, 62)
                .Job(JobState.Failed, 62, "failed <img src=x onerror=alert(1)>", plan: "plan&<x>");
            return DrillReport.FromJob(job, DrillJobs.At(100));
        }

        private static string Render(DrillReport report, DrillReportFormat format)
        {
            using var stream = new MemoryStream();
            DrillReportWriter.Write(report, stream, format);
            return Encoding.UTF8.GetString(stream.ToArray());
        }

        [Fact]
        public void Json_has_camel_case_names_iso_times_enum_names_and_durations_in_seconds_and_as_text()
        {
            using var json = JsonDocument.Parse(Render(Passing(), DrillReportFormat.Json));
            var root = json.RootElement;

            Assert.Equal("erp", root.GetProperty("plan").GetString());
            Assert.Equal("job-erp", root.GetProperty("jobId").GetString());
            Assert.Equal("Drill", root.GetProperty("operation").GetString());
            Assert.Equal("Succeeded", root.GetProperty("state").GetString());
            Assert.True(root.GetProperty("passed").GetBoolean());
            Assert.Equal("2025-03-01T10:00:00+00:00", root.GetProperty("started").GetString());
            Assert.Equal(330, root.GetProperty("durationSeconds").GetDouble());
            Assert.Equal("00:05:30", root.GetProperty("duration").GetString());

            var db01 = root.GetProperty("vms")[0];
            Assert.Equal("db01", db01.GetProperty("name").GetString());
            Assert.Equal(120, db01.GetProperty("rtoSeconds").GetDouble());
            Assert.Equal("00:02:00", db01.GetProperty("rto").GetString());
            Assert.Equal(300, db01.GetProperty("rpoSeconds").GetDouble());
            Assert.Equal("AppConsistent", db01.GetProperty("consistency").GetString());
            Assert.Equal("2025-03-01T09:55:00+00:00", db01.GetProperty("recoveryPointTime").GetString());
            Assert.Equal("tcp 1433", db01.GetProperty("validations")[0].GetProperty("validation").GetString());
            Assert.Equal("Succeeded", root.GetProperty("steps")[0].GetProperty("state").GetString());
            Assert.Equal(3, root.GetProperty("groups").GetArrayLength());
        }

        [Fact]
        public void Json_reads_back_into_the_same_report()
        {
            var report = Failing();
            var read = DrillReportWriter.ReadJson(Render(report, DrillReportFormat.Json));

            Assert.Equal(report with { Groups = read.Groups, Vms = read.Vms, Steps = read.Steps }, read);
            Assert.Equal(report.Groups, read.Groups);
            Assert.Equal(report.Steps, read.Steps);
            Assert.Equal(report.Vms.Select(v => v with { Validations = Array.Empty<DrillReportValidation>() }), read.Vms.Select(v => v with { Validations = Array.Empty<DrillReportValidation>() }));
            Assert.Equal(report.Vms.SelectMany(v => v.Validations), read.Vms.SelectMany(v => v.Validations));
        }

        [Fact]
        public void Html_shows_the_verdict_every_vm_and_step_and_a_timeline()
        {
            var html = Render(Failing(), DrillReportFormat.Html);

            Assert.StartsWith("<!DOCTYPE html>", html);
            Assert.Contains("<span class=\"verdict\">FAILED</span>", html);
            Assert.Contains("job-erp", html);
            Assert.Contains("2025-03-01 10:00:00 UTC", html);
            foreach (var name in new[] { "db01", "db02", "app01", "Choose recovery points", "Delete the test VMs" })
            {
                Assert.Contains(name, html);
            }
            Assert.Contains("did not answer on TCP 1433 within 60s.", html);
            Assert.Contains("<td class=\"num\">2m 00s</td><td class=\"num\">5m 00s</td>", html);
            Assert.Matches("class=\"bar group fail\" style=\"left:[0-9.]+%;width:[0-9.]+%\"", html);
            Assert.Contains("<span>+3m 20s</span>", html); // the timeline ends with the job, not when the report was made
            Assert.Contains("<span class=\"verdict\">PASSED</span>", Render(Passing(), DrillReportFormat.Html));
        }

        [Fact]
        public void A_plan_whose_vm_never_came_up_says_so_instead_of_a_met_looking_rto()
        {
            var job = new DrillJobs()
                .Add("Choose recovery points", JobStepKind.Prepare, null, null, 0, 5, details: new Dictionary<string, string> { [JobStepDetail.PlanRtoTarget] = "00:10:00" })
                .Recover("db", "db01", 5, 120)
                .Recover("web", "web01", 0, 0, state: JobStepState.Skipped)
                .Job(JobState.Failed, 130);
            var html = Render(DrillReport.FromJob(job, DrillJobs.At(300)), DrillReportFormat.Html);
            Assert.Contains("<dt>Targets</dt><dd>NOT MET: RTO not reached: 1 of 2 VM(s) not up (target 10m 00s, not met)", html);
        }

        [Theory]
        [InlineData(0.4, "0.4 s")]
        [InlineData(0.04, "0.0 s")]
        [InlineData(12, "12.0 s")]
        [InlineData(59.94, "59.9 s")]
        [InlineData(59.96, "1m 00s")]
        [InlineData(252, "4m 12s")]
        [InlineData(3599, "59m 59s")]
        [InlineData(3900, "1h 05m")]
        [InlineData(93600, "1d 02h")]
        [InlineData(-3, "-3.0 s")]
        public void Durations_read_as_seconds_with_one_decimal_then_minutes_and_hours(double seconds, string expected) =>
            Assert.Equal(expected, DrillReportWriter.Duration(TimeSpan.FromSeconds(seconds)));

        [Fact]
        public void Targets_show_met_or_not_per_vm_and_for_the_plan_in_html_junit_and_json()
        {
            // db01 up after 120 s (group target 150 s: met), point 300 s old (threshold 600 s: met);
            // db02 up after 200 s (not met), point 900 s old (not met); the plan's 180 s target: not met.
            var rto = new Dictionary<string, string> { [JobStepDetail.RpoThreshold] = "00:10:00", [JobStepDetail.RtoTarget] = "00:02:30" };
            var job = new DrillJobs()
                .Add("Choose recovery points", JobStepKind.Prepare, null, null, 0, 5, details: new Dictionary<string, string> { [JobStepDetail.PlanRtoTarget] = "00:03:00" })
                .Recover("db", "db01", 5, 120, details: rto)
                .Recover("db", "db02", 5, 200, pointAge: 900, details: rto)
                .Add("Delete the test VMs", JobStepKind.Cleanup, null, null, 200, 210)
                .Job(JobState.Succeeded, 210);
            var report = DrillReport.FromJob(job, DrillJobs.At(300));

            Assert.Equal((true, true, TimeSpan.FromMinutes(10)), (report.Vms[0].RtoMet, report.Vms[0].RpoMet, report.Vms[0].RpoTarget));
            Assert.Equal((false, false), (report.Vms[1].RtoMet, report.Vms[1].RpoMet));
            Assert.Equal((TimeSpan.FromSeconds(200), TimeSpan.FromMinutes(3), false, false), (report.Rto, report.RtoTarget, report.RtoMet, report.RpoMet));

            var html = Render(report, DrillReportFormat.Html);
            Assert.Contains("<td class=\"num\">2m 00s<div class=\"target pass\">target 2m 30s: met</div></td><td class=\"num\">5m 00s<div class=\"target pass\">target 10m 00s: met</div></td>", html);
            Assert.Contains("<td class=\"num\">3m 20s<div class=\"target fail\">target 2m 30s: NOT MET</div></td><td class=\"num\">15m 00s<div class=\"target fail\">target 10m 00s: NOT MET</div></td>", html);
            Assert.Contains("<dt>Targets</dt><dd>NOT MET: RTO 3m 20s (target 3m 00s, not met); 1 of 2 VM(s) up within their RTO target; 1 of 2 VM(s) within their policy&#39;s RPO threshold</dd>", html);

            var junit = Render(report, DrillReportFormat.JUnit);
            Assert.Contains("RTO 3m 20s (target 2m 30s, not met), RPO 15m 00s (target 10m 00s, not met)", junit);

            using var json = JsonDocument.Parse(Render(report, DrillReportFormat.Json));
            var db02 = json.RootElement.GetProperty("vms")[1];
            Assert.Equal((150.0, false, 600.0, false), (db02.GetProperty("rtoTargetSeconds").GetDouble(), db02.GetProperty("rtoMet").GetBoolean(),
                db02.GetProperty("rpoTargetSeconds").GetDouble(), db02.GetProperty("rpoMet").GetBoolean()));
            Assert.Equal((180.0, 200.0, false), (json.RootElement.GetProperty("rtoTargetSeconds").GetDouble(), json.RootElement.GetProperty("rtoSeconds").GetDouble(),
                json.RootElement.GetProperty("rtoMet").GetBoolean()));
        }

        [Fact]
        public void Without_targets_nothing_is_claimed_met()
        {
            var report = DrillReport.FromJob(DrillJobs.PassingDrill(), DrillJobs.At(400));
            Assert.Equal((null, null, null), (report.RtoTarget, report.RtoMet, report.RpoMet));
            Assert.Contains("<dt>Targets</dt><dd>RTO 5m 10s (the plan states no rtoTarget); no RPO threshold recorded</dd>", Render(report, DrillReportFormat.Html));
        }

        [Fact]
        public void Header_text_is_white_on_the_verdict_colour_and_table_cells_never_break_words_in_the_middle()
        {
            var html = Render(Failing(), DrillReportFormat.Html);
            Assert.Contains("header.pass, header.fail, header.open { color: #fff; }", html);
            Assert.DoesNotContain("break-all", html);
            Assert.DoesNotContain("word-break", html);
            Assert.Matches("<td class=\"nowrap fail\">Failed</td>", html);
        }

        [Fact]
        public void An_azure_vm_is_shown_by_its_resource_group_with_the_whole_resource_id_in_the_tooltip()
        {
            const string id = "/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg-dr/providers/Microsoft.Compute/virtualMachines/erp-db01-drtest-9f1c1f";
            var job = new DrillJobs()
                .Recover("db", "erp-db01", 0, 60, details: new Dictionary<string, string> { [JobStepDetail.RecoveredMoRef] = id })
                .Recover("db", "erp-db02", 0, 60)
                .Job(JobState.Succeeded, 62);
            var html = Render(DrillReport.FromJob(job, DrillJobs.At(100)), DrillReportFormat.Html);

            // A hundred-character id in the cell would widen the table past the page.
            Assert.Contains($"erp-db01-drill <span class=\"dim\" title=\"{id}\">in rg-dr</span>", html);
            Assert.DoesNotContain($">{id}<", html);
            Assert.Matches("erp-db02-drill <span class=\"dim\" title=\"vm-\\d+\">vm-\\d+</span>", html);
        }

        [Fact]
        public void Html_encodes_every_name_and_error_and_references_nothing_outside_the_page()
        {
            var html = Render(Odd(), DrillReportFormat.Html);

            Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("<b>", html);
            Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;", html);
            Assert.Contains("plan&amp;&lt;x&gt;", html);
            Assert.Contains("g&lt;1&gt;&amp;&quot;", html);
            Assert.Contains("failed &lt;img src=x onerror=alert(1)&gt;", html);
            Assert.DoesNotMatch(new Regex("(src|href)\\s*=", RegexOptions.IgnoreCase), html.Replace("&lt;img src=x", ""));
            Assert.DoesNotContain("http://", html);
            Assert.DoesNotContain("https://", html);
            Assert.DoesNotContain("url(", html);
            Assert.DoesNotContain("@import", html);
        }

        [Fact]
        public void JUnit_has_a_suite_per_group_and_for_cleanup_with_counts_that_match_its_cases()
        {
            var previous = CultureInfo.CurrentCulture;
            CultureInfo.CurrentCulture = new CultureInfo("de-DE");
            string xml;
            try
            {
                xml = Render(Failing(), DrillReportFormat.JUnit);
            }
            finally
            {
                CultureInfo.CurrentCulture = previous;
            }

            var root = XDocument.Parse(xml).Root!;
            Assert.Equal("testsuites", root.Name.LocalName);
            var suites = root.Elements("testsuite").ToList();
            Assert.Equal(new[] { "prepare", "db", "app", "cleanup" }, suites.Select(s => (string)s.Attribute("name")!));
            foreach (var suite in suites)
            {
                var cases = suite.Elements("testcase").ToList();
                Assert.Equal(cases.Count, (int)suite.Attribute("tests")!);
                Assert.Equal(cases.Count(c => c.Element("failure") != null), (int)suite.Attribute("failures")!);
                Assert.Equal(cases.Count(c => c.Element("skipped") != null), (int)suite.Attribute("skipped")!);
                Assert.All(cases, c => Assert.Equal("erp." + (string)suite.Attribute("name")!, (string)c.Attribute("classname")!));
                double.Parse((string)suite.Attribute("time")!, NumberStyles.Float, CultureInfo.InvariantCulture);
            }

            Assert.Equal(7, (int)root.Attribute("tests")!);
            Assert.Equal(1, (int)root.Attribute("failures")!);
            Assert.Equal(1, (int)root.Attribute("skipped")!);
            var db = suites[1];
            Assert.Equal(new[] { "Recover db01", "Recover db02", "Validate db01: tcp 1433", "Validate db02: tcp 1433" }, db.Elements("testcase").Select(c => (string)c.Attribute("name")!));
            Assert.Equal("60", (string)db.Elements("testcase").ElementAt(2).Attribute("time")!);
            Assert.Equal("115", (string)db.Elements("testcase").First().Attribute("time")!);
            Assert.Equal("db01 (10.0.0.11) did not answer on TCP 1433 within 60s.", (string)db.Descendants("failure").Single().Attribute("message")!);
            Assert.Contains("RTO 2m 00s, RPO 5m 00s", (string)db.Elements("testcase").First().Element("system-out")!);
            Assert.NotNull(suites[2].Element("testcase")!.Element("skipped"));
            Assert.Equal("1", (string)suites[1].Attribute("failures")!);
        }

        [Fact]
        public void JUnit_stays_valid_xml_with_markup_and_control_characters_in_names_and_errors()
        {
            var root = XDocument.Parse(Render(Odd(), DrillReportFormat.JUnit)).Root!;

            Assert.Equal("plan&<x>", (string)root.Attribute("name")!);
            var failure = root.Descendants("failure").Single();
            Assert.StartsWith("refused: ]]> & <b>bold</b> \uFFFD\uFFFD \uFFFD 'quoted' \"double\"", (string)failure.Attribute("message")!);
            Assert.Equal("Recover " + Script, (string)root.Descendants("testcase").First().Attribute("name")!);
        }

        [Theory]
        [InlineData("drill.html", DrillReportFormat.Html)]
        [InlineData("DRILL.HTM", DrillReportFormat.Html)]
        [InlineData("drill.json", DrillReportFormat.Json)]
        [InlineData("results/drill.xml", DrillReportFormat.JUnit)]
        public void The_extension_chooses_the_format(string path, DrillReportFormat expected) =>
            Assert.Equal(expected, DrillReportWriter.FormatOf(path));

        [Fact]
        public void An_unknown_extension_is_refused_naming_the_path_and_the_extensions()
        {
            var path = Path.Combine(folder.FolderPath, "drill.txt");
            var ex = Assert.Throws<DrillReportFormatException>(() => DrillReportWriter.Write(Passing(), path));

            Assert.Equal(("DrillReportFormatUnknown", FailureKind.InvalidArgument, path), (ex.ErrorId, ex.Kind, ex.Target));
            Assert.Contains(path, ex.Message);
            Assert.Contains(".html", ex.Message);
            Assert.Contains(".json", ex.Message);
            Assert.Contains(".xml", ex.Message);
            Assert.False(File.Exists(path));
            Assert.Equal(Path.Combine(folder.FolderPath, "drill.txt"), DrillReportWriter.Write(Passing(), path, DrillReportFormat.Json));
            Assert.Equal("erp", JsonDocument.Parse(File.ReadAllText(path)).RootElement.GetProperty("plan").GetString());
        }

        [Fact]
        public void Writing_creates_the_folder_replaces_an_old_report_and_leaves_no_temporary_file()
        {
            var path = Path.Combine(folder.FolderPath, "reports", "nested", "drill.html");
            Assert.Equal(path, DrillReportWriter.Write(Failing(), path));
            Assert.Contains("FAILED", File.ReadAllText(path));

            DrillReportWriter.Write(Passing(), path);

            Assert.Contains("PASSED", File.ReadAllText(path));
            Assert.Equal(new[] { "drill.html" }, Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
        }

        [Fact]
        public void A_failed_write_leaves_no_partial_report()
        {
            // A folder where the report should go: the final rename fails after the content was written.
            var path = Path.Combine(folder.FolderPath, "drill.json");
            Directory.CreateDirectory(path);
            File.WriteAllText(Path.Combine(path, "keep"), "x");

            Assert.ThrowsAny<IOException>(() => DrillReportWriter.Write(Passing(), path));

            Assert.Equal(new[] { path }, Directory.GetFileSystemEntries(folder.FolderPath));
        }
    }
}
