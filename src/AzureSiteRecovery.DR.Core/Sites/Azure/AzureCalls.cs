using System;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Identity;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Core.Sites.Azure
{
    /// <summary>Runs a call to Azure for a site and turns the SDK's failures into <see cref="AzureException"/>s that say what to do.</summary>
    internal static class AzureCalls
    {
        public static async Task<T> RunAsync<T>(AzureSiteConnection site, string what, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
        {
            try
            {
                return await call(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException) && !(e is DRException))
            {
                throw Map(site, what, e);
            }
        }

        public static Task RunAsync(AzureSiteConnection site, string what, Func<CancellationToken, Task> call, CancellationToken cancellationToken) =>
            RunAsync(site, what, async ct => { await call(ct).ConfigureAwait(false); return true; }, cancellationToken);

        /// <summary>True for a 404 (the resource is not there).</summary>
        public static bool IsNotFound(Exception e) => e is RequestFailedException r && r.Status == 404;

        public static DRException Map(AzureSiteConnection site, string what, Exception e)
        {
            var name = site.SiteName;
            if (site.RefusedThumbprint is string refused && (e is AuthenticationFailedException || e is RequestFailedException { Status: 0 }))
            {
                // The TLS handshake failed on a certificate nobody trusts: that, not the sign-in, is what to fix.
                return new AzureException("AzureCertificateUntrusted", FailureKind.Security, name,
                    $"The certificate of Azure site '{name}''s endpoint is not trusted: its SHA-256 thumbprint is {refused}. " +
                    $"If that is the certificate you expect (a custom cloud such as the lab), pin it: Set-DRSite {name} -ArmCertificateThumbprint {refused}.", e);
            }
            switch (e)
            {
                case CredentialUnavailableException _:
                case AuthenticationFailedException _:
                    return new AzureException("AzureSignInFailed", FailureKind.Unauthorized, name,
                        $"Site '{name}' could not sign in to Azure ({site.Site.Authentication}) for {what}: {Inner(e)} " +
                        "Check the site's identity (Test-DRSite), its tenant and client id, and its secret or certificate.", e);
                case RequestFailedException r when r.Status == 0:
                    return new AzureException("AzureUnreachable", FailureKind.Unavailable, name,
                        $"Azure site '{name}' could not be reached for {what}: {Inner(e)} Check the network path to Azure Resource Manager.", e);
                case RequestFailedException r when r.Status == 401 || r.Status == 403:
                    return new AzureException("AzureAccessDenied", FailureKind.Unauthorized, name,
                        $"Azure refused {what} for site '{name}' ({r.Status} {r.ErrorCode}): the site's identity needs Contributor on resource group '{site.Site.ResourceGroup}' " +
                        $"(and read access to the networks it uses). {FirstLine(r.Message)}", e);
                case RequestFailedException r when r.Status == 404:
                    return new AzureException("AzureResourceNotFound", FailureKind.NotFound, name,
                        $"Azure has no {what} for site '{name}' ({r.ErrorCode}). {FirstLine(r.Message)}", e);
                case RequestFailedException r:
                    return new AzureException("AzureRequestFailed", FailureKind.Failed, name,
                        $"Azure failed {what} for site '{name}' ({r.Status} {r.ErrorCode}): {FirstLine(r.Message)}", e);
                default:
                    return new AzureException("AzureRequestFailed", FailureKind.Failed, name, $"Azure failed {what} for site '{name}': {e.Message}", e);
            }
        }

        private static string Inner(Exception e) => FirstLine(ExceptionChain.Innermost(e).Message);

        private static string FirstLine(string message)
        {
            var end = message.IndexOfAny(new[] { '\r', '\n' });
            return end < 0 ? message : message.Substring(0, end);
        }
    }
}
