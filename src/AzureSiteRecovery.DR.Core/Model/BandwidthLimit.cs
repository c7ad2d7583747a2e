using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>A time-of-day window of a site's bandwidth schedule (local time of the replicating process), with its own rate.</summary>
    public readonly struct BandwidthWindow : IEquatable<BandwidthWindow>
    {
        public BandwidthWindow(TimeSpan start, TimeSpan end, double mibps)
        {
            Start = start;
            End = end;
            MiBps = mibps;
        }

        /// <summary>From this time of day (inclusive).</summary>
        public TimeSpan Start { get; }
        /// <summary>Until this time of day (exclusive); before Start: the window runs past midnight.</summary>
        public TimeSpan End { get; }
        /// <summary>MiB/s inside the window; 0: no cap inside it.</summary>
        public double MiBps { get; }

        public bool Contains(TimeSpan timeOfDay) => Start < End
            ? timeOfDay >= Start && timeOfDay < End
            : timeOfDay >= Start || timeOfDay < End;

        /// <summary>The minutes of the day the window covers (0..1439), to find overlaps.</summary>
        internal IEnumerable<int> Minutes()
        {
            var start = (int)Start.TotalMinutes;
            var end = (int)End.TotalMinutes;
            for (var m = start; m != end; m = (m + 1) % BandwidthLimit.MinutesPerDay) yield return m;
        }

        public bool Equals(BandwidthWindow other) => Start == other.Start && End == other.End && MiBps.Equals(other.MiBps);
        public override bool Equals(object? obj) => obj is BandwidthWindow other && Equals(other);
        public override int GetHashCode() => (Start, End, MiBps).GetHashCode();

        /// <summary>"08:00-18:00=5": the form -BandwidthSchedule takes.</summary>
        public override string ToString() =>
            $"{BandwidthLimit.TimeText(Start)}-{BandwidthLimit.TimeText(End)}={MiBps.ToString("0.###", CultureInfo.InvariantCulture)}";
    }

    /// <summary>
    /// How much bandwidth replication may use to and from a site, as ASR's process-server throttling: a rate in MiB/s,
    /// and optionally time-of-day windows with their own rate (local time of the process that replicates), e.g.
    /// 20 MiB/s with "08:00-18:00=5" caps at 5 MiB/s during working hours and 20 MiB/s otherwise. Shared by every
    /// transfer of every VM of a process to and from the site.
    /// </summary>
    public sealed record BandwidthLimit
    {
        internal const int MinutesPerDay = 24 * 60;
        /// <summary>The highest rate accepted (a typo guard: 100 GiB/s is no cap at all).</summary>
        public const double MaxMiBps = 100_000;
        public const string ScheduleForm = "'HH:mm-HH:mm=MiBps', several separated by commas, e.g. '08:00-18:00=5' or '08:00-12:00=5,22:00-06:00=0' (0: no cap in that window)";

        /// <summary>MiB/s outside the schedule's windows; 0: no cap outside them.</summary>
        public double MiBps { get; init; }

        /// <summary>The schedule's windows in their canonical text (sorted by start, "08:00-18:00=5,..."); null: none.</summary>
        public string? Schedule { get; init; }

        /// <summary>The schedule's windows, sorted by start; parsed from <see cref="Schedule"/> (which Site.Validate checks).</summary>
        public IReadOnlyList<BandwidthWindow> Windows =>
            Schedule is null ? Array.Empty<BandwidthWindow>() : TryParseSchedule(Schedule, out var windows, out var error) ? windows : throw new FormatException(error);

        /// <summary>The cap in MiB/s at a time of day (local time); 0: no cap then.</summary>
        public double MiBpsAt(TimeSpan timeOfDay)
        {
            foreach (var window in Windows)
            {
                if (window.Contains(timeOfDay)) return window.MiBps;
            }
            return MiBps;
        }

        /// <summary>
        /// The limit -BandwidthLimitMiBps and -BandwidthSchedule describe, the schedule in canonical form; null when neither caps
        /// anything (a rate of 0 and no window). Throws <see cref="FormatException"/> naming a bad window and the form expected.
        /// </summary>
        public static BandwidthLimit? From(double mibps, string? schedule)
        {
            string? canonical = null;
            if (!string.IsNullOrWhiteSpace(schedule))
            {
                if (!TryParseSchedule(schedule!, out var windows, out var error)) throw new FormatException(error);
                canonical = string.Join(",", windows);
            }
            var limit = new BandwidthLimit { MiBps = mibps, Schedule = canonical };
            return mibps == 0 && canonical is null ? null : limit;
        }

        /// <summary>Null when the limit is usable, else the setting that is wrong (BandwidthLimitMiBps, BandwidthSchedule) and why.</summary>
        public (string Setting, string Message)? Problem()
        {
            if (!IsRate(MiBps))
            {
                return ("BandwidthLimitMiBps", $"BandwidthLimitMiBps must be between 0 (no cap) and {MaxMiBps} MiB/s; {MiBps.ToString(CultureInfo.InvariantCulture)} was given.");
            }
            return Schedule is not null && !TryParseSchedule(Schedule, out _, out var error) ? ("BandwidthSchedule", error!) : null;
        }

        /// <summary>Parses "08:00-18:00=5[,22:00-06:00=0...]"; windows may run past midnight but not overlap.</summary>
        public static bool TryParseSchedule(string text, out IReadOnlyList<BandwidthWindow> windows, out string? error)
        {
            windows = Array.Empty<BandwidthWindow>();
            error = null;
            var parsed = new List<BandwidthWindow>();
            foreach (var part in (text ?? "").Split(new[] { ',', ';' }))
            {
                var item = part.Trim();
                if (item.Length == 0)
                {
                    error = $"BandwidthSchedule '{NameRules.Printable(text ?? "")}' has an empty window; the form is {ScheduleForm}.";
                    return false;
                }
                var equals = item.Split('=');
                var times = equals[0].Split('-');
                if (equals.Length != 2 || times.Length != 2)
                {
                    error = $"Bandwidth window '{NameRules.Printable(item)}' is not of the form {ScheduleForm}.";
                    return false;
                }
                if (!TryParseTime(times[0].Trim(), allowEndOfDay: false, out var start) || !TryParseTime(times[1].Trim(), allowEndOfDay: true, out var end))
                {
                    error = $"Bandwidth window '{NameRules.Printable(item)}' has a time that is not HH:mm between 00:00 and 24:00 (24:00 only as the end); the form is {ScheduleForm}.";
                    return false;
                }
                if (!double.TryParse(equals[1].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) || !IsRate(rate))
                {
                    error = $"Bandwidth window '{NameRules.Printable(item)}' has the rate '{NameRules.Printable(equals[1].Trim())}'; it must be a number of MiB/s between 0 (no cap in the window) and {MaxMiBps}.";
                    return false;
                }
                if (end == TimeSpan.FromDays(1)) end = TimeSpan.Zero;
                if (start == end)
                {
                    error = $"Bandwidth window '{NameRules.Printable(item)}' starts when it ends; give a window shorter than a day (use -BandwidthLimitMiBps for the whole day).";
                    return false;
                }
                var window = new BandwidthWindow(start, end, rate);
                foreach (var other in parsed.Where(p => p.Minutes().Intersect(window.Minutes()).Any()))
                {
                    error = $"Bandwidth window '{NameRules.Printable(item)}' overlaps window '{other}'; each time of day may be in one window only.";
                    return false;
                }
                parsed.Add(window);
            }
            windows = parsed.OrderBy(w => w.Start).ToList();
            return true;
        }

        /// <summary>"20 MiB/s; 08:00-18:00=5": what Get-DRSite shows.</summary>
        public override string ToString()
        {
            var rate = MiBps == 0 ? "no cap" : MiBps.ToString("0.###", CultureInfo.InvariantCulture) + " MiB/s";
            return Schedule is null ? rate : $"{rate}; {Schedule}";
        }

        internal static string TimeText(TimeSpan time) => $"{(int)time.TotalHours:00}:{time.Minutes:00}";

        private static bool IsRate(double rate) => !double.IsNaN(rate) && rate >= 0 && rate <= MaxMiBps;

        private static bool TryParseTime(string text, bool allowEndOfDay, out TimeSpan time)
        {
            time = TimeSpan.Zero;
            var parts = text.Split(':');
            if (parts.Length != 2 || parts[0].Length is < 1 or > 2 || parts[1].Length != 2
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var hours)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minutes)
                || minutes > 59)
            {
                return false;
            }
            if (hours == 24 && minutes == 0 && allowEndOfDay)
            {
                time = TimeSpan.FromDays(1);
                return true;
            }
            if (hours > 23) return false;
            time = new TimeSpan(hours, minutes, 0);
            return true;
        }
    }
}
