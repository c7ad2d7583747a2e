using System;
using Azure.ResourceManager;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Sites.Azure
{
    /// <summary>The Resource Manager environment and Entra ID authority host of an Azure site's cloud (<see cref="AzureClouds"/>; Custom: its ArmEndpoint and AuthorityHost).</summary>
    internal sealed class AzureCloud
    {
        private AzureCloud(ArmEnvironment arm, Uri authorityHost)
        {
            Arm = arm;
            AuthorityHost = authorityHost;
        }

        public ArmEnvironment Arm { get; }
        public Uri ArmEndpoint => Arm.Endpoint;
        /// <summary>Where a service principal signs in.</summary>
        public Uri AuthorityHost { get; }

        /// <summary>The cloud of a validated Azure site.</summary>
        public static AzureCloud Of(Site site)
        {
            var endpoint = site.GetArmEndpoint() ?? throw new InvalidSettingException("Site", site.Name, nameof(Site.ArmEndpoint),
                $"Azure site '{site.Name}' has no Resource Manager endpoint for Environment '{site.Environment}'; set -Environment, or -Environment Custom with -ArmEndpoint.");
            var root = new Uri(endpoint.GetLeftPart(UriPartial.Authority) + "/");
            // The token's audience is the endpoint itself, as for the public clouds (https://management.azure.com/).
            return new AzureCloud(new ArmEnvironment(root, root.ToString()), site.GetAuthorityHost() ?? root);
        }
    }
}
