using System;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Sites
{
    /// <summary>What -BandwidthLimitMiBps, -BandwidthSchedule and -NoBandwidthLimit of New-DRSite and Set-DRSite make of a site's limit.</summary>
    internal static class BandwidthLimitParameters
    {
        /// <summary>
        /// The limit after the parameters given, from <paramref name="current"/> (null for a new site): -NoBandwidthLimit or
        /// -BandwidthLimitMiBps 0 alone removes it; a rate or a schedule alone keeps the other part; -BandwidthSchedule '' removes the windows.
        /// </summary>
        public static BandwidthLimit? Apply(string siteName, BandwidthLimit? current, double? mibps, string? schedule, bool scheduleGiven, bool noLimit)
        {
            if (noLimit)
            {
                if (mibps.HasValue || scheduleGiven)
                {
                    throw new InvalidSettingException("Site", siteName, "NoBandwidthLimit",
                        $"Site '{siteName}': -NoBandwidthLimit removes the bandwidth cap, so it goes alone, without -BandwidthLimitMiBps or -BandwidthSchedule.");
                }
                return null;
            }
            if (!mibps.HasValue && !scheduleGiven) return current;
            if (mibps == 0 && !scheduleGiven) return null;
            try
            {
                return BandwidthLimit.From(mibps ?? current?.MiBps ?? 0, scheduleGiven ? schedule : current?.Schedule);
            }
            catch (FormatException e)
            {
                throw new InvalidSettingException("Site", siteName, "BandwidthSchedule", $"Site '{siteName}': {e.Message}");
            }
        }
    }
}
