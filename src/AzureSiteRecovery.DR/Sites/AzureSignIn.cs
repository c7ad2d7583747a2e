using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Security;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Sites
{
    /// <summary>
    /// A service principal's client id and secret as New-DRSite and Set-DRSite take them: -ClientId
    /// with -ClientSecret, or -Credential (user name: the client id; password: the secret).
    /// </summary>
    internal sealed class AzureSignIn
    {
        private readonly string site;

        public AzureSignIn(string site, string? clientId, SecureString? clientSecret, PSCredential? credential)
        {
            this.site = site;
            if (clientSecret != null && credential != null)
            {
                throw Invalid("ClientSecret", $"Site '{site}': give the client secret once, with -ClientSecret (and -ClientId) or with -Credential (the client id as user name, the secret as password), not both.");
            }
            if (credential != null && clientId != null && !string.Equals(clientId, credential.UserName, StringComparison.OrdinalIgnoreCase))
            {
                throw Invalid(nameof(Site.ClientId), $"Site '{site}': -ClientId '{clientId}' and the -Credential user name '{credential.UserName}' differ; the credential's user name is the client id, so give one of them.");
            }
            ClientId = credential?.UserName ?? clientId;
            Secret = credential != null ? credential.GetNetworkCredential().Password
                : clientSecret != null ? new System.Net.NetworkCredential("", clientSecret).Password
                : null;
            if (Secret != null && Secret.Length == 0)
            {
                throw Invalid("ClientSecret", $"Site '{site}': the client secret is empty; give the service principal's secret (Entra ID > App registrations > Certificates & secrets).");
            }
        }

        /// <summary>The client id given, by -ClientId or as the -Credential user name.</summary>
        public string? ClientId { get; }

        /// <summary>The client secret given; null when none was.</summary>
        public string? Secret { get; }

        /// <summary>Refuses a secret for a site that does not sign in with one: it would be stored and never used.</summary>
        public void RefuseSecretFor(AzureAuthentication authentication)
        {
            if (Secret != null && authentication != AzureAuthentication.ServicePrincipalSecret)
            {
                throw Invalid("ClientSecret",
                    $"Site '{site}' signs in with {authentication}, which takes no client secret; a secret (-ClientSecret, or -Credential) goes with -Authentication ServicePrincipalSecret.");
            }
        }

        private InvalidSettingException Invalid(string setting, string message) => new InvalidSettingException("Site", site, setting, message);
    }

    /// <summary>Certificate thumbprints as the vault stores them.</summary>
    internal static class Thumbprints
    {
        /// <summary>Hex digits without ':' separators, upper case; null and empty stay as they are.</summary>
        public static string? Normalize(string? text) => text?.Replace(":", "").ToUpperInvariant();
    }

    /// <summary>Tab completion of -Environment: the Azure clouds a site can be in.</summary>
    public sealed class AzureEnvironmentCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var prefix = wordToComplete.Trim('\'', '"');
            return AzureClouds.Names
                .Where(n => n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n))
                .ToArray();
        }
    }
}
