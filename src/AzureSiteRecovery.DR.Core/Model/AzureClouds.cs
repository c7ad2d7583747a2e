using System;
using System.Collections.Generic;
using System.Linq;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>
    /// The Azure clouds an Azure site can be in (its Environment), with their Resource Manager and
    /// Entra ID authority endpoints. Custom is any other: its site names ArmEndpoint (and AuthorityHost).
    /// </summary>
    public static class AzureClouds
    {
        public const string AzureCloud = "AzureCloud";
        public const string AzureChinaCloud = "AzureChinaCloud";
        public const string AzureUSGovernment = "AzureUSGovernment";
        public const string Custom = "Custom";

        /// <summary>The Environment names, as Site.Environment stores them (what tab completion offers).</summary>
        public static readonly IReadOnlyList<string> Names = new[] { AzureCloud, AzureChinaCloud, AzureUSGovernment, Custom };

        private static readonly IReadOnlyDictionary<string, (Uri Arm, Uri Authority)> Known = new Dictionary<string, (Uri, Uri)>(StringComparer.Ordinal)
        {
            [AzureCloud] = (new Uri("https://management.azure.com/"), new Uri("https://login.microsoftonline.com/")),
            [AzureChinaCloud] = (new Uri("https://management.chinacloudapi.cn/"), new Uri("https://login.chinacloudapi.cn/")),
            [AzureUSGovernment] = (new Uri("https://management.usgovcloudapi.net/"), new Uri("https://login.microsoftonline.us/")),
        };

        /// <summary>The stored name for <paramref name="name"/> in any case; null for null; the text unchanged when it names no cloud (Site.Validate then says so).</summary>
        public static string? Canonical(string? name) =>
            name is null ? null : Names.FirstOrDefault(n => string.Equals(n, name.Trim(), StringComparison.OrdinalIgnoreCase)) ?? name;

        /// <summary>The cloud's name; a site without one (created before Environment existed) is in AzureCloud.</summary>
        public static string NameOf(string? environment) => environment ?? AzureCloud;

        public static bool IsCustom(string? environment) => string.Equals(environment, Custom, StringComparison.Ordinal);

        /// <summary>The Resource Manager endpoint of a known cloud; null for Custom or an unknown name.</summary>
        public static Uri? ArmEndpointOf(string? environment) => Known.TryGetValue(NameOf(environment), out var cloud) ? cloud.Arm : null;

        /// <summary>The Entra ID authority host of a known cloud; null for Custom or an unknown name.</summary>
        public static Uri? AuthorityHostOf(string? environment) => Known.TryGetValue(NameOf(environment), out var cloud) ? cloud.Authority : null;
    }
}
