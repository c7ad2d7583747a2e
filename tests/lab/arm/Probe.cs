using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Threading.Tasks;
using Azure.Core;
using Azure.Identity;

namespace ArmLab
{
    /// <summary>
    /// armlab probe-identity ARMURL THUMBPRINT SUBSCRIPTION [CLIENTID]: signs in with Azure.Identity's
    /// ManagedIdentityCredential (IDENTITY_ENDPOINT / IDENTITY_HEADER from the environment, as Azure
    /// Automation sets them) and GETs the subscription from the lab ARM with that token. Prints the
    /// subscription JSON; exit 1 with the error otherwise. Runs in its own process on purpose.
    /// </summary>
    public static class Probe
    {
        public static async Task<int> IdentityAsync(string[] args)
        {
            if (args.Length < 4) { Console.Error.WriteLine("usage: armlab probe-identity ARMURL THUMBPRINT SUBSCRIPTION [CLIENTID]"); return 2; }
            var (url, thumbprint, subscription) = (new Uri(args[1]), args[2], args[3]);
            try
            {
                var credential = args.Length > 4 ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(args[4])) : new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned);
                var token = await credential.GetTokenAsync(new TokenRequestContext(new[] { "https://management.azure.com/.default" }), default);
                using var http = new HttpClient(new HttpClientHandler
                {
                    ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert != null && string.Equals(cert.GetCertHashString(HashAlgorithmName.SHA256), thumbprint, StringComparison.OrdinalIgnoreCase),
                });
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(url, $"subscriptions/{subscription}?api-version=2022-12-01"));
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
                using var response = await http.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                Console.WriteLine(body);
                return response.IsSuccessStatusCode ? 0 : 1;
            }
            catch (Exception e) when (e is AuthenticationFailedException or CredentialUnavailableException or HttpRequestException)
            {
                Console.Error.WriteLine("probe-identity: " + e.Message);
                return 1;
            }
        }
    }
}
