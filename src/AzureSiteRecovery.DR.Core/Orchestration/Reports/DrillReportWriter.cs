using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Xml;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Core.Orchestration.Reports
{
    /// <summary>The files a drill report is written as.</summary>
    public enum DrillReportFormat
    {
        /// <summary>A self-contained HTML page (.html, .htm).</summary>
        Html,
        /// <summary>The report's data as JSON (.json).</summary>
        Json,
        /// <summary>JUnit XML for CI test result viewers (.xml).</summary>
        JUnit,
    }

    /// <summary>A report path whose extension names no report format.</summary>
    public sealed class DrillReportFormatException : DRException
    {
        public DrillReportFormatException(string path)
            : base("DrillReportFormatUnknown", FailureKind.InvalidArgument, path,
                $"Cannot tell the report format of '{path}' from its extension: use .html or .htm (HTML page), .json (JSON) or .xml (JUnit XML), or name the format with -Format.")
        {
        }
    }

    /// <summary>Writes a <see cref="DrillReport"/> as an HTML page, JSON or JUnit XML.</summary>
    public static class DrillReportWriter
    {
        private const string SuiteOfUngroupedSteps = "prepare";
        private const string SuiteOfCleanup = "cleanup";

        private static readonly UTF8Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

        // Read-only once built; the serializer caches its contracts in it.
        private static readonly JsonSerializerOptions JsonOptions = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            WriteIndented = true,
            Converters = { new JsonStringEnumConverter() },
            // The file is read as JSON, never embedded in a page: keep quotes and markup in errors readable.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };

        /// <summary>The format a path's extension names (.html/.htm, .json, .xml); DrillReportFormatUnknown for any other.</summary>
        public static DrillReportFormat FormatOf(string path)
        {
            switch (Path.GetExtension(path ?? "").ToLowerInvariant())
            {
                case ".html":
                case ".htm":
                    return DrillReportFormat.Html;
                case ".json":
                    return DrillReportFormat.Json;
                case ".xml":
                    return DrillReportFormat.JUnit;
                default:
                    throw new DrillReportFormatException(path ?? "");
            }
        }

        /// <summary>
        /// Writes the report to <paramref name="path"/> (its folder is created if missing) in
        /// <paramref name="format"/>, or the format its extension names. The file is written under a
        /// temporary name and renamed over the path, so a failed write leaves no partial report.
        /// Returns the full path.
        /// </summary>
        public static string Write(DrillReport report, string path, DrillReportFormat? format = null)
        {
            if (report is null) throw new ArgumentNullException(nameof(report));
            var chosen = format ?? FormatOf(path);
            var fullPath = Path.GetFullPath(path);
            var folder = Path.GetDirectoryName(fullPath)!;
            Directory.CreateDirectory(folder);
            var temporary = Path.Combine(folder, "." + Path.GetFileName(fullPath) + "." + Guid.NewGuid().ToString("N") + ".tmp");
            try
            {
                using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    Write(report, file, chosen);
                    file.Flush(flushToDisk: true);
                }

                DurableFile.Replace(temporary, fullPath);
            }
            catch
            {
                try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
                throw;
            }

            return fullPath;
        }

        /// <summary>Writes the report to a stream (UTF-8), which stays open.</summary>
        public static void Write(DrillReport report, Stream stream, DrillReportFormat format)
        {
            switch (format)
            {
                case DrillReportFormat.Json:
                    WriteJson(report, stream);
                    break;
                case DrillReportFormat.JUnit:
                    WriteJUnit(report, stream);
                    break;
                case DrillReportFormat.Html:
                    using (var writer = new StreamWriter(stream, Utf8, 1 << 16, leaveOpen: true))
                    {
                        WriteHtml(report, writer);
                    }
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(format), format, "Not a report format.");
            }
        }

        /// <summary>
        /// The report as JSON: camelCase names, ISO 8601 times, enums as names, every duration twice
        /// (as "c" TimeSpan text, such as "duration", and in seconds, such as "durationSeconds").
        /// </summary>
        public static void WriteJson(DrillReport report, Stream stream)
        {
            JsonSerializer.Serialize(stream, report, JsonOptions);
        }

        /// <summary>A report read back from what <see cref="WriteJson"/> wrote.</summary>
        public static DrillReport ReadJson(string json) =>
            JsonSerializer.Deserialize<DrillReport>(json, JsonOptions) ?? throw new JsonException("The JSON holds no drill report.");

        /// <summary>
        /// The report as JUnit XML: a testsuite per group (and one for ungrouped steps and one for
        /// cleanup), a testcase per step (classname plan.group), failure and skipped elements.
        /// </summary>
        public static void WriteJUnit(DrillReport report, Stream stream)
        {
            var suites = new List<(string Name, IReadOnlyList<DrillReportStep> Steps, TimeSpan? Duration, DateTimeOffset? Started)>();
            var ungrouped = report.Steps.Where(s => !s.IsFinally && s.Group is null).ToList();
            if (ungrouped.Count > 0)
            {
                suites.Add((SuiteOfUngroupedSteps, ungrouped, null, DrillReport.Earliest(ungrouped.Select(s => s.Started))));
            }

            foreach (var group in report.Groups)
            {
                suites.Add((group.Name, report.Steps.Where(s => !s.IsFinally && s.Group == group.Name).ToList(), group.Duration, group.Started));
            }

            var cleanup = report.Steps.Where(s => s.IsFinally).ToList();
            if (cleanup.Count > 0)
            {
                suites.Add((SuiteOfCleanup, cleanup, null, DrillReport.Earliest(cleanup.Select(s => s.Started))));
            }

            var settings = new XmlWriterSettings { Encoding = Utf8, Indent = true, CloseOutput = false };
            using var xml = XmlWriter.Create(stream, settings);
            xml.WriteStartDocument();
            xml.WriteStartElement("testsuites");
            xml.WriteAttributeString("name", XmlText(report.Plan));
            xml.WriteAttributeString("tests", Count(suites.Sum(s => s.Steps.Count)));
            xml.WriteAttributeString("failures", Count(suites.Sum(s => s.Steps.Count(IsFailure))));
            xml.WriteAttributeString("errors", "0");
            xml.WriteAttributeString("skipped", Count(suites.Sum(s => s.Steps.Count(IsSkipped))));
            xml.WriteAttributeString("time", Seconds(report.Duration));
            foreach (var suite in suites)
            {
                xml.WriteStartElement("testsuite");
                xml.WriteAttributeString("name", XmlText(suite.Name));
                xml.WriteAttributeString("tests", Count(suite.Steps.Count));
                xml.WriteAttributeString("failures", Count(suite.Steps.Count(IsFailure)));
                xml.WriteAttributeString("errors", "0");
                xml.WriteAttributeString("skipped", Count(suite.Steps.Count(IsSkipped)));
                xml.WriteAttributeString("time", Seconds(suite.Duration ?? Sum(suite.Steps.Select(s => s.Duration))));
                if (suite.Started is DateTimeOffset started)
                {
                    xml.WriteAttributeString("timestamp", started.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture));
                }

                foreach (var step in suite.Steps)
                {
                    xml.WriteStartElement("testcase");
                    xml.WriteAttributeString("classname", XmlText(report.Plan + "." + suite.Name));
                    xml.WriteAttributeString("name", XmlText(step.Name));
                    xml.WriteAttributeString("time", Seconds(step.Duration));
                    if (IsFailure(step))
                    {
                        var error = step.Error ?? "The step failed.";
                        xml.WriteStartElement("failure");
                        xml.WriteAttributeString("message", XmlText(error));
                        xml.WriteAttributeString("type", step.Kind ?? "step");
                        xml.WriteString(XmlText(error));
                        xml.WriteEndElement();
                    }
                    else if (IsSkipped(step))
                    {
                        xml.WriteStartElement("skipped");
                        xml.WriteAttributeString("message", step.State == JobStepState.Skipped
                            ? "Not run: the job failed or was stopped before this step."
                            : $"Not finished when the report was made ({step.State}).");
                        xml.WriteEndElement();
                    }

                    var output = StepOutput(report, step);
                    if (output != null)
                    {
                        xml.WriteElementString("system-out", XmlText(output));
                    }

                    xml.WriteEndElement();
                }

                xml.WriteEndElement();
            }

            xml.WriteEndElement();
            xml.WriteEndDocument();
        }

        /// <summary>
        /// The report as one self-contained HTML page (inline CSS, no scripts, nothing fetched):
        /// the verdict, a table of the VMs, a timeline of groups and VMs, and every step.
        /// </summary>
        public static void WriteHtml(DrillReport report, TextWriter writer)
        {
            var verdict = report.Passed ? "PASSED" : DRJob.IsEnded(report.State) ? "FAILED" : "NOT FINISHED";
            var verdictClass = report.Passed ? "pass" : DRJob.IsEnded(report.State) ? "fail" : "open";
            var w = new HtmlWriter(writer);

            w.Raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
            w.Raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
            w.Raw("<title>").Text($"{verdict}: {report.Operation} of {report.Plan}").Raw("</title>\n");
            w.Raw("<style>\n").Raw(Css).Raw("</style>\n</head>\n<body>\n");

            w.Raw("<header class=\"").Raw(verdictClass).Raw("\">\n<h1><span class=\"verdict\">").Text(verdict).Raw("</span> ")
                .Text($"{report.Operation} of recovery plan {report.Plan}").Raw("</h1>\n<dl>\n");
            Term(w, "Job", report.JobId);
            Term(w, "State", report.State.ToString());
            Term(w, "Started", Time(report.Started));
            Term(w, "Ended", Time(report.Ended));
            Term(w, "Duration", Duration(report.Duration));
            Term(w, "VMs", $"{report.Vms.Count - report.FailedVmCount} of {report.Vms.Count} passed");
            Term(w, "Cleanup", report.CleanupPassed ? "passed" : "FAILED or not run");
            Term(w, "Targets", TargetSummary(report));
            if (!string.IsNullOrEmpty(report.Error))
            {
                Term(w, "Error", report.Error);
            }
            w.Raw("</dl>\n</header>\n<main>\n");

            w.Raw("<section>\n<h2>Virtual machines</h2>\n");
            if (report.Vms.Count == 0)
            {
                w.Raw("<p class=\"none\">No VM was recovered.</p>\n");
            }
            else
            {
                w.Raw("<table>\n<thead><tr><th>Group</th><th>VM</th><th>Recovered as</th><th class=\"num\">RTO (target)</th><th class=\"num\">RPO (target)</th><th>Recovery point</th><th>IP address</th><th>Validations</th><th>Result</th></tr></thead>\n<tbody>\n");
                foreach (var vm in report.Vms)
                {
                    w.Raw("<tr><td>").Text(vm.Group).Raw("</td><td>").Text(vm.Name).Raw("</td><td>").Text(vm.RecoveredName)
                        .Raw(RecoveredReference(vm.RecoveredMoRef))
                        .Raw("</td><td class=\"num\">").Text(Duration(vm.Rto) ?? "not up").Raw(TargetCell(vm.RtoTarget, vm.RtoMet))
                        .Raw("</td><td class=\"num\">").Text(Duration(vm.Rpo)).Raw(TargetCell(vm.RpoTarget, vm.RpoMet))
                        .Raw("</td><td>").Text(Time(vm.RecoveryPointTime)).Raw(vm.Consistency is null ? "" : " <span class=\"dim\">").Text(vm.Consistency?.ToString())
                        .Raw(vm.Consistency is null ? "" : "</span>").Raw("</td><td>").Text(vm.IpAddress).Raw("</td><td>");
                    foreach (var validation in vm.Validations)
                    {
                        w.Raw("<div class=\"").Raw(StepClass(validation.State)).Raw("\">").Text(validation.Validation ?? validation.Name)
                            .Raw(": ").Text(validation.Passed ? "passed" : validation.State.ToString());
                        if (!string.IsNullOrEmpty(validation.Error))
                        {
                            w.Raw(" <span class=\"error\">").Text(validation.Error).Raw("</span>");
                        }
                        w.Raw("</div>");
                    }
                    w.Raw("</td><td class=\"").Raw(vm.Passed ? "pass" : "fail").Raw("\">").Text(vm.Passed ? "Passed" : "Failed");
                    if (!string.IsNullOrEmpty(vm.Error))
                    {
                        w.Raw("<div class=\"error\">").Text(vm.Error).Raw("</div>");
                    }
                    w.Raw("</td></tr>\n");
                }
                w.Raw("</tbody>\n</table>\n");
            }
            w.Raw("</section>\n");

            WriteTimeline(report, w);

            w.Raw("<section>\n<h2>Steps</h2>\n<table>\n<thead><tr><th class=\"num\">#</th><th>Group</th><th>VM</th><th>Step</th><th>Kind</th><th class=\"nowrap\">Started</th><th class=\"num\">Duration</th><th>Result</th><th>Error or message</th></tr></thead>\n<tbody>\n");
            foreach (var step in report.Steps)
            {
                w.Raw("<tr><td class=\"num\">").Text(step.Index.ToString(CultureInfo.InvariantCulture)).Raw(step.IsFinally ? "*" : "")
                    .Raw("</td><td>").Text(step.Group).Raw("</td><td>").Text(step.Vm).Raw("</td><td>").Text(step.Name)
                    .Raw("</td><td class=\"nowrap\">").Text(step.Kind).Raw("</td><td class=\"nowrap\">").Text(Time(step.Started)).Raw("</td><td class=\"num\">").Text(Duration(step.Duration))
                    .Raw("</td><td class=\"nowrap ").Raw(StepClass(step.State)).Raw("\">").Text(step.State.ToString()).Raw("</td><td>");
                if (!string.IsNullOrEmpty(step.Error))
                {
                    w.Raw("<div class=\"error\">").Text(step.Error).Raw("</div>");
                }
                if (!string.IsNullOrEmpty(step.Message))
                {
                    w.Raw("<div>").Text(step.Message).Raw("</div>");
                }
                w.Raw("</td></tr>\n");
            }
            w.Raw("</tbody>\n</table>\n<p class=\"dim\">* cleanup step: it runs even when the job failed or was stopped.</p>\n</section>\n");

            w.Raw("</main>\n<footer>Generated ").Text(Time(report.Generated)).Raw(" by AzureSiteRecovery.DR.</footer>\n</body>\n</html>\n");
            writer.Flush();
        }

        private static void WriteTimeline(DrillReport report, HtmlWriter w)
        {
            var origin = report.Started ?? DrillReport.Earliest(report.Steps.Select(s => s.Started));
            // A bar still running reaches the report's time; one not started has none.
            DateTimeOffset? Until(DateTimeOffset? from, DateTimeOffset? to) => to ?? (from is null ? null : report.Generated);
            w.Raw("<section>\n<h2>Timeline</h2>\n");
            if (origin is not DateTimeOffset start)
            {
                w.Raw("<p class=\"none\">The job has not started.</p>\n</section>\n");
                return;
            }

            var rows = new List<(string Label, string Css, DateTimeOffset? From, DateTimeOffset? To, string Title)>();
            foreach (var group in report.Groups)
            {
                rows.Add((group.Name, "group " + (group.Passed ? "pass" : "fail"), group.Started, Until(group.Started, group.Ended),
                    $"Group {group.Name}: {Duration(group.Duration)}"));
                foreach (var vm in report.Vms.Where(v => v.Group == group.Name))
                {
                    rows.Add((vm.Name, "vm " + (vm.Passed ? "pass" : "fail"), vm.Started, Until(vm.Started, vm.Ended),
                        $"{vm.Name}: started {Time(vm.Started)}, up after {Duration(vm.Rto)}"));
                }
            }
            foreach (var vm in report.Vms.Where(v => v.Group is null))
            {
                rows.Add((vm.Name, "vm " + (vm.Passed ? "pass" : "fail"), vm.Started, Until(vm.Started, vm.Ended), vm.Name));
            }
            var cleanup = report.Steps.Where(s => s.IsFinally).ToList();
            if (cleanup.Count > 0)
            {
                var (from, to) = DrillReport.Extent(cleanup);
                rows.Add(("cleanup", "group " + (report.CleanupPassed ? "pass" : "fail"), from, Until(from, to), "Cleanup"));
            }

            var end = new[] { report.Ended ?? (DRJob.IsEnded(report.State) ? start : report.Generated) }.Concat(rows.Select(r => r.To ?? start)).Max();
            var total = Math.Max((end - start).TotalSeconds, 1);
            w.Raw("<div class=\"timeline\">\n<div class=\"axis\"><span>").Text(Time(start)).Raw("</span><span>+").Text(Duration(end - start)).Raw("</span></div>\n");
            foreach (var row in rows)
            {
                w.Raw("<div class=\"row ").Raw(row.Css.StartsWith("vm", StringComparison.Ordinal) ? "indent" : "").Raw("\"><div class=\"label\">").Text(row.Label)
                    .Raw("</div><div class=\"track\">");
                if (row.From is DateTimeOffset from)
                {
                    var left = Clamp((from - start).TotalSeconds / total * 100);
                    var width = Math.Max(Clamp(((row.To ?? from) - from).TotalSeconds / total * 100), 0.5);
                    width = Math.Min(width, 100 - left);
                    w.Raw("<div class=\"bar ").Raw(row.Css).Raw("\" style=\"left:").Raw(Percent(left)).Raw("%;width:").Raw(Percent(width))
                        .Raw("%\" title=\"").Text(row.Title).Raw("\"></div>");
                }
                w.Raw("</div></div>\n");
            }
            w.Raw("</div>\n</section>\n");
        }

        private static void Term(HtmlWriter w, string term, string? value) =>
            w.Raw("<dt>").Text(term).Raw("</dt><dd>").Text(value).Raw("</dd>\n");

        /// <summary>
        /// Where the recovered VM is, dimmed beside its name: a vSphere moref as it is (vm-73); an Azure
        /// resource id (a hundred characters) as "in &lt;resource group&gt;", the whole id in its tooltip.
        /// </summary>
        private static string RecoveredReference(string? reference)
        {
            if (string.IsNullOrEmpty(reference)) return "";
            var parts = reference!.Split('/');
            var group = Array.FindIndex(parts, p => string.Equals(p, "resourceGroups", StringComparison.OrdinalIgnoreCase));
            var shown = reference.StartsWith("/subscriptions/", StringComparison.OrdinalIgnoreCase) && group > 0 && group + 1 < parts.Length
                ? "in " + parts[group + 1]
                : reference;
            return $" <span class=\"dim\" title=\"{WebUtility.HtmlEncode(reference)}\">{WebUtility.HtmlEncode(shown)}</span>";
        }

        private static string StepClass(JobStepState state) => state switch
        {
            JobStepState.Succeeded => "pass",
            JobStepState.Failed => "fail",
            JobStepState.Skipped => "skip",
            _ => "open",
        };

        private static bool IsFailure(DrillReportStep step) => step.State == JobStepState.Failed;

        private static bool IsSkipped(DrillReportStep step) => step.State != JobStepState.Failed && step.State != JobStepState.Succeeded;

        /// <summary>What CI shows beside a test case: the step's message and, for a VM's recovery, where it came up.</summary>
        private static string? StepOutput(DrillReport report, DrillReportStep step)
        {
            var lines = new List<string>();
            if (!string.IsNullOrEmpty(step.Message))
            {
                lines.Add(step.Message!);
            }
            if (step.Kind == JobStepKind.RecoverVm && report.Vms.FirstOrDefault(v => v.Name == step.Vm) is DrillReportVm vm)
            {
                lines.Add($"RTO {Duration(vm.Rto) ?? "-"}{TargetText(vm.RtoTarget, vm.RtoMet)}, RPO {Duration(vm.Rpo) ?? "-"}{TargetText(vm.RpoTarget, vm.RpoMet)}, recovery point {vm.RecoveryPointId ?? "-"} ({Time(vm.RecoveryPointTime)}), IP {vm.IpAddress ?? "-"}");
            }
            return lines.Count == 0 ? null : string.Join("\n", lines);
        }

        private static string Count(int count) => count.ToString(CultureInfo.InvariantCulture);

        private static string Seconds(TimeSpan? duration) => (duration?.TotalSeconds ?? 0).ToString("0.###", CultureInfo.InvariantCulture);

        private static TimeSpan? Sum(IEnumerable<TimeSpan?> durations) =>
            durations.Aggregate((TimeSpan?)null, (total, d) => d is TimeSpan value ? (total ?? TimeSpan.Zero) + value : total);

        private static double Clamp(double percent) => Math.Min(Math.Max(percent, 0), 100);

        private static string Percent(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

        private static string? Time(DateTimeOffset? time) =>
            time?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

        /// <summary>
        /// A duration as a person reads it: seconds with one decimal under a minute ("0.4 s", "12.0 s"),
        /// then minutes and seconds ("4m 12s"), hours and minutes ("1h 05m"), days and hours ("2d 03h").
        /// </summary>
        internal static string? Duration(TimeSpan? duration)
        {
            if (duration is not TimeSpan value)
            {
                return null;
            }

            var sign = value < TimeSpan.Zero ? "-" : "";
            value = value.Duration();
            var seconds = Math.Round(value.TotalSeconds, 1, MidpointRounding.AwayFromZero);
            if (seconds < 60)
            {
                return sign + seconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
            }

            var whole = (long)Math.Floor(seconds);
            var text = whole < 3600 ? $"{whole / 60}m {whole % 60:00}s"
                : whole < 86400 ? $"{whole / 3600}h {whole % 3600 / 60:00}m"
                : $"{whole / 86400}d {whole % 86400 / 3600:00}h";
            return sign + text;
        }

        /// <summary>" (target 5m 00s, met)" after a measured time; empty without a target.</summary>
        private static string TargetText(TimeSpan? target, bool? met) =>
            target is null ? "" : $" (target {Duration(target)}, {(met == true ? "met" : "not met")})";

        private static string TargetCell(TimeSpan? target, bool? met) =>
            target is null ? "" : $"<div class=\"target {(met == true ? "pass" : "fail")}\">{WebUtility.HtmlEncode($"target {Duration(target)}: {(met == true ? "met" : "NOT MET")}")}</div>";

        /// <summary>The header's line on targets: the plan's RTO against its target, and how many VMs met their RPO and RTO targets.</summary>
        private static string TargetSummary(DrillReport report)
        {
            var parts = new List<string>();
            var rto = $"RTO {Duration(report.Rto) ?? "-"}";
            var notUp = report.Vms.Count(v => v.Rto is null);
            var planMet = DrillReport.TargetMet(report.Rto, report.RtoTarget, report.Vms.Count > 0 && notUp == 0);
            parts.Add(report.RtoTarget is null ? rto + " (the plan states no rtoTarget)"
                : notUp > 0 ? $"RTO not reached: {notUp} of {report.Vms.Count} VM(s) not up{TargetText(report.RtoTarget, planMet)}"
                : rto + TargetText(report.RtoTarget, planMet));
            var rtoVms = report.Vms.Where(v => v.RtoTarget != null).ToList();
            if (rtoVms.Count > 0)
            {
                parts.Add($"{rtoVms.Count(v => v.RtoMet == true)} of {rtoVms.Count} VM(s) up within their RTO target");
            }
            var rpoVms = report.Vms.Where(v => v.RpoTarget != null).ToList();
            parts.Add(rpoVms.Count == 0 ? "no RPO threshold recorded"
                : $"{rpoVms.Count(v => v.RpoMet == true)} of {rpoVms.Count} VM(s) within their policy's RPO threshold");
            var met = DrillReport.Combine(new[] { report.RtoMet, report.RpoMet });
            return (met is null ? "" : met.Value ? "met: " : "NOT MET: ") + string.Join("; ", parts);
        }

        /// <summary>Text without the characters XML 1.0 cannot hold (control characters, lone surrogates); each becomes U+FFFD.</summary>
        private static string XmlText(string? text)
        {
            if (string.IsNullOrEmpty(text))
            {
                return "";
            }

            StringBuilder? clean = null;
            for (var i = 0; i < text!.Length; i++)
            {
                var c = text[i];
                if (XmlConvert.IsXmlChar(c))
                {
                    clean?.Append(c);
                }
                else if (i + 1 < text.Length && XmlConvert.IsXmlSurrogatePair(text[i + 1], c))
                {
                    clean?.Append(c).Append(text[i + 1]);
                    i++;
                }
                else
                {
                    clean ??= new StringBuilder(text, 0, i, text.Length);
                    clean.Append('\uFFFD');
                }
            }

            return clean?.ToString() ?? text;
        }

        /// <summary>Writes markup as given and text HTML-encoded, so no name or error can become markup.</summary>
        private sealed class HtmlWriter
        {
            private readonly TextWriter writer;

            public HtmlWriter(TextWriter writer) => this.writer = writer;

            public HtmlWriter Raw(string markup)
            {
                writer.Write(markup);
                return this;
            }

            public HtmlWriter Text(string? text)
            {
                if (!string.IsNullOrEmpty(text))
                {
                    writer.Write(WebUtility.HtmlEncode(text));
                }
                return this;
            }
        }

        private const string Css = @"body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 0; color: #1f2328; background: #fff; }
header { padding: 16px 24px; }
/* White text on the verdict's colour: these selectors outrank the text colours .pass/.fail/.open below. */
header.pass, header.fail, header.open { color: #fff; }
header.pass { background: #1a7f37; }
header.fail { background: #cf222e; }
header.open { background: #9a6700; }
h1 { margin: 0 0 8px; font-size: 1.5em; }
h1 .verdict { padding: 2px 8px; border: 2px solid #fff; border-radius: 4px; margin-right: 8px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; white-space: pre-wrap; overflow-wrap: break-word; }
main { padding: 0 24px 24px; }
h2 { margin-top: 24px; font-size: 1.2em; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid #d0d7de; }
th { background: #f6f8fa; }
/* Columns take their content's width: text wraps at spaces, a word breaks only when it alone is wider than the page. */
td { white-space: pre-wrap; overflow-wrap: break-word; }
.nowrap { white-space: nowrap; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.pass { color: #1a7f37; }
.fail, .error { color: #cf222e; }
.skip, .dim, .none { color: #656d76; }
.open { color: #9a6700; }
.timeline { font-size: 0.85em; }
.timeline .axis { display: flex; justify-content: space-between; margin-left: 200px; color: #656d76; border-bottom: 1px solid #d0d7de; }
.timeline .row { display: flex; align-items: center; height: 22px; }
.timeline .label { width: 200px; flex: none; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-weight: 600; }
.timeline .row.indent .label { padding-left: 16px; width: 184px; font-weight: normal; }
.timeline .track { position: relative; flex: 1; height: 14px; background: #f6f8fa; }
.timeline .bar { position: absolute; top: 0; bottom: 0; border-radius: 3px; }
.timeline .bar.group.pass { background: #4ac26b; }
.timeline .bar.vm.pass { background: #8ddb8c; }
.timeline .bar.fail { background: #ff8182; }
footer { padding: 8px 24px; color: #656d76; font-size: 0.8em; }
";
    }
}
