using System;
using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;

namespace AzureSiteRecovery.DR.Common
{
    /// <summary>
    /// Lets a TimeSpan parameter also take a short duration: a number of seconds (<c>2</c>; PowerShell reads <c>2s</c> as the
    /// number 2, its suffix for a 16-bit integer), or <c>500ms</c>, <c>5m</c>, <c>1h</c>; anything else goes on to PowerShell's
    /// own conversion (<c>00:00:02</c>). Without it a number would be ticks, which no one means.
    /// </summary>
    public sealed class DurationTransformationAttribute : ArgumentTransformationAttribute
    {
        private static readonly Regex Short = new Regex(@"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
            if (value is byte || value is sbyte || value is short || value is ushort || value is int || value is uint || value is long
                || value is ulong || value is float || value is double || value is decimal)
            {
                return TimeSpan.FromSeconds(Convert.ToDouble(value, CultureInfo.InvariantCulture));
            }
            if (!(value is string text) || !(Short.Match(text) is { Success: true } match)) return inputData;
            var amount = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            return match.Groups[2].Value.ToLowerInvariant() switch
            {
                "ms" => TimeSpan.FromMilliseconds(amount),
                "s" => TimeSpan.FromSeconds(amount),
                "m" => TimeSpan.FromMinutes(amount),
                _ => TimeSpan.FromHours(amount),
            };
        }
    }
}
