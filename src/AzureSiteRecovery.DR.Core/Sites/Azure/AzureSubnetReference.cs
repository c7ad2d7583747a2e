using System;
using System.Text.RegularExpressions;

namespace AzureSiteRecovery.DR.Core.Sites.Azure
{
    /// <summary>
    /// A subnet a recovery plan maps a network to on an Azure site: <c>vnet/subnet</c> (in the site's
    /// subscription and resource group) or the subnet's full resource id
    /// (<c>/subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}</c>).
    /// </summary>
    public sealed record AzureSubnetReference
    {
        /// <summary>The subscription id of a full resource id; null for the short form (the site's).</summary>
        public string? SubscriptionId { get; init; }
        /// <summary>The resource group of a full resource id; null for the short form (the site's).</summary>
        public string? ResourceGroup { get; init; }
        public string VirtualNetwork { get; init; } = "";
        public string Subnet { get; init; } = "";

        public const string ShortFormHint = "'<vnet>/<subnet>' (a virtual network of the site's resource group and its subnet, e.g. vnet-dr/snet-app) " +
            "or a subnet's resource id (/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>)";

        // Azure's naming rules: a virtual network 2-64 characters, a subnet 1-80, letters, digits, '_', '.', '-', starting with a letter or digit.
        private static readonly Regex VnetName = new Regex(@"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$", RegexOptions.CultureInvariant);
        private static readonly Regex SubnetName = new Regex(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$", RegexOptions.CultureInvariant);
        private static readonly Regex ResourceGroupName = new Regex(@"^[-\w._()]{1,90}$", RegexOptions.CultureInvariant);
        private static readonly Regex ResourceId = new Regex(
            @"^/subscriptions/(?<sub>[^/]+)/resourceGroups/(?<rg>[^/]+)/providers/Microsoft\.Network/virtualNetworks/(?<vnet>[^/]+)/subnets/(?<subnet>[^/]+)/?$",
            RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

        /// <summary>Reads <paramref name="text"/>; null, with <paramref name="problem"/> saying what is wrong, when it is neither form.</summary>
        public static AzureSubnetReference? Parse(string text, out string? problem)
        {
            problem = null;
            var trimmed = (text ?? "").Trim();
            if (trimmed.StartsWith("/", StringComparison.Ordinal))
            {
                var match = ResourceId.Match(trimmed);
                if (!match.Success)
                {
                    problem = "it starts with '/' but is not a subnet's resource id";
                    return null;
                }
                if (!Guid.TryParse(match.Groups["sub"].Value, out _))
                {
                    problem = $"'{match.Groups["sub"].Value}' is not a subscription id (a GUID)";
                    return null;
                }
                if (!ResourceGroupName.IsMatch(match.Groups["rg"].Value))
                {
                    problem = $"'{match.Groups["rg"].Value}' is not a resource group name";
                    return null;
                }
                return Names(match.Groups["vnet"].Value, match.Groups["subnet"].Value, match.Groups["sub"].Value, match.Groups["rg"].Value, out problem);
            }

            var parts = trimmed.Split('/');
            if (parts.Length != 2)
            {
                problem = parts.Length == 1 ? "it names no subnet" : "it has more than one '/'";
                return null;
            }
            return Names(parts[0], parts[1], null, null, out problem);
        }

        private static AzureSubnetReference? Names(string vnet, string subnet, string? subscription, string? group, out string? problem)
        {
            problem = !VnetName.IsMatch(vnet) ? $"'{vnet}' is not a virtual network name (2 to 64 letters, digits, '_', '.' or '-')"
                : !SubnetName.IsMatch(subnet) ? $"'{subnet}' is not a subnet name (1 to 80 letters, digits, '_', '.' or '-')"
                : null;
            return problem is null ? new AzureSubnetReference { SubscriptionId = subscription, ResourceGroup = group, VirtualNetwork = vnet, Subnet = subnet } : null;
        }

        /// <summary>The subnet's full resource id; the short form is in <paramref name="subscriptionId"/> and <paramref name="resourceGroup"/> (the site's).</summary>
        public string ResourceIdIn(string subscriptionId, string resourceGroup) =>
            $"/subscriptions/{SubscriptionId ?? subscriptionId}/resourceGroups/{ResourceGroup ?? resourceGroup}/providers/Microsoft.Network/virtualNetworks/{VirtualNetwork}/subnets/{Subnet}";

        /// <summary>The virtual network's full resource id (see <see cref="ResourceIdIn"/>).</summary>
        public string VirtualNetworkIdIn(string subscriptionId, string resourceGroup) =>
            $"/subscriptions/{SubscriptionId ?? subscriptionId}/resourceGroups/{ResourceGroup ?? resourceGroup}/providers/Microsoft.Network/virtualNetworks/{VirtualNetwork}";

        public override string ToString() => SubscriptionId is null ? $"{VirtualNetwork}/{Subnet}" : ResourceIdIn(SubscriptionId, ResourceGroup!);
    }
}
