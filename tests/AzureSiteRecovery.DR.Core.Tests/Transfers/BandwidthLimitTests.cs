using System;
using System.Linq;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Transfers
{
    /// <summary>-BandwidthLimitMiBps and -BandwidthSchedule as a site keeps them: the windows' form, midnight, overlaps, and errors that name the window.</summary>
    public sealed class BandwidthLimitTests
    {
        [Fact]
        public void A_schedule_is_kept_sorted_and_applies_by_time_of_day_also_past_midnight()
        {
            var limit = BandwidthLimit.From(20, "22:00-06:00=0; 08:00-18:00=5")!;

            Assert.Equal("08:00-18:00=5,22:00-06:00=0", limit.Schedule);
            Assert.Equal("20 MiB/s; 08:00-18:00=5,22:00-06:00=0", limit.ToString());
            Assert.Equal(5, limit.MiBpsAt(new TimeSpan(8, 0, 0)));
            Assert.Equal(5, limit.MiBpsAt(new TimeSpan(17, 59, 59)));
            Assert.Equal(20, limit.MiBpsAt(new TimeSpan(18, 0, 0)));
            Assert.Equal(0, limit.MiBpsAt(new TimeSpan(23, 30, 0)));
            Assert.Equal(0, limit.MiBpsAt(new TimeSpan(5, 59, 0)));
            Assert.Equal(20, limit.MiBpsAt(new TimeSpan(6, 0, 0)));
        }

        [Fact]
        public void A_window_may_end_at_24_00_and_a_rate_of_0_without_windows_is_no_limit()
        {
            Assert.Equal("18:00-00:00=2.5", BandwidthLimit.From(0, "18:00-24:00=2.5")!.Schedule);
            Assert.Null(BandwidthLimit.From(0, null));
            Assert.Null(BandwidthLimit.From(0, " "));
            Assert.Equal(new BandwidthLimit { MiBps = 7 }, BandwidthLimit.From(7, null));
        }

        [Theory]
        [InlineData("8-18=5", "'8-18=5'", "HH:mm")]
        [InlineData("08:00-18:00", "'08:00-18:00'", "HH:mm-HH:mm=MiBps")]
        [InlineData("08:00-25:00=5", "'08:00-25:00=5'", "HH:mm")]
        [InlineData("08:00-18:60=5", "'08:00-18:60=5'", "HH:mm")]
        [InlineData("24:00-06:00=5", "'24:00-06:00=5'", "HH:mm")]
        [InlineData("08:00-18:00=fast", "'08:00-18:00=fast'", "number of MiB/s")]
        [InlineData("08:00-18:00=-1", "'08:00-18:00=-1'", "number of MiB/s")]
        [InlineData("08:00-08:00=5", "'08:00-08:00=5'", "starts when it ends")]
        [InlineData("08:00-18:00=5,17:00-19:00=1", "'17:00-19:00=1' overlaps window '08:00-18:00=5'", "one window")]
        [InlineData("22:00-06:00=1,05:00-07:00=2", "'05:00-07:00=2' overlaps window '22:00-06:00=1'", "one window")]
        [InlineData("08:00-18:00=5,,20:00-21:00=1", "empty window", "HH:mm-HH:mm=MiBps")]
        public void A_bad_schedule_fails_naming_the_window_and_the_form(string schedule, string names, string hint)
        {
            var error = Assert.Throws<FormatException>(() => BandwidthLimit.From(20, schedule));

            Assert.Contains(names, error.Message);
            Assert.Contains(hint, error.Message);
        }

        [Fact]
        public void A_site_with_a_bad_limit_fails_validation_with_the_setting_named()
        {
            var site = Samples.VSphereSite() with { BandwidthLimit = new BandwidthLimit { MiBps = 20, Schedule = "08:00-18:00=x" } };

            var error = Assert.Throws<InvalidSettingException>(() => site.Validate());

            Assert.Equal("InvalidSiteSetting", error.ErrorId);
            Assert.Equal("BandwidthSchedule", error.Setting);
            Assert.StartsWith("Site 'onprem': Bandwidth window '08:00-18:00=x'", error.Message);
            Assert.Equal("BandwidthLimitMiBps", Assert.Throws<InvalidSettingException>(() =>
                (site with { BandwidthLimit = new BandwidthLimit { MiBps = double.NaN } }).Validate()).Setting);
        }
    }
}
