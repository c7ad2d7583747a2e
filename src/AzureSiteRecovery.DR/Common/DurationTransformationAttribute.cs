using System;
using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;

namespace AzureSiteRecovery.DR.Common
{
    /// <summary>
    /// Lets a TimeSpan parameter also take a short duration such as <c>2s</c>, <c>500ms</c>, <c>5m</c>, <c>1h</c> or <c>1d</c>
    /// (as the lab's tools and most CLIs write them); anything else goes on to PowerShell's own conversion (<c>00:00:02</c>).
    /// </summary>
    public sealed class DurationTransformationAttribute : ArgumentTransformationAttribute
    {
        private static readonly Regex Short = new Regex(@"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
            if (!(value is string text) || !(Short.Match(text) is { Success: true } match)) return inputData;
            var amount = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            return match.Groups[2].Value.ToLowerInvariant() switch
            {
                "ms" => TimeSpan.FromMilliseconds(amount),
                "s" => TimeSpan.FromSeconds(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "h" => TimeSpan.FromHours(amount),
                _ => TimeSpan.FromDays(amount),
            };
        }
    }
}
