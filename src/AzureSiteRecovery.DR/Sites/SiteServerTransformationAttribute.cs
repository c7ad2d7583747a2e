using System;
using System.Management.Automation;

namespace AzureSiteRecovery.DR.Sites
{
    /// <summary>
    /// Lets -Server take a bare host name or host:port, as PowerCLI's Connect-VIServer does:
    /// <c>vc01.contoso.local</c> means <c>https://vc01.contoso.local/sdk</c>. A URL with a scheme
    /// is kept as given (plain http:// still needs -AllowInsecureHttp).
    /// </summary>
    public sealed class SiteServerTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
            if (value is string text && !string.IsNullOrWhiteSpace(text) && text.IndexOf("://", StringComparison.Ordinal) < 0)
            {
                var host = text.Trim().TrimEnd('/');
                if (Uri.TryCreate("https://" + host, UriKind.Absolute, out var bare) && bare.AbsolutePath == "/")
                {
                    return new UriBuilder(bare) { Path = "/sdk" }.Uri;
                }
            }

            return inputData;
        }
    }
}
