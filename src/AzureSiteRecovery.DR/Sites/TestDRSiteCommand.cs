using System.Diagnostics;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Plans;
using AzureSiteRecovery.DR.Core.Sites;
using AzureSiteRecovery.DR.Core.Sites.Azure;

namespace AzureSiteRecovery.DR.Sites
{
    /// <summary>Tests that a registered site can be reached and signed in to.</summary>
    /// <remarks>
    /// Connects to each site with its stored credential and reports whether it worked, what the
    /// endpoint is (product, version, API version) and how long connecting took. An Azure site
    /// signs in with its method and reads its resource group and storage account (the subnets its
    /// plans name are checked by Test-RecoveryPlan). A failure is
    /// reported in the result (Succeeded false, Error and ErrorId saying why and how to fix it)
    /// rather than as an error, so scripts can test many sites and act on the results.
    /// </remarks>
    /// <example>
    /// <code>Test-DRSite onprem</code>
    /// <para>Connects to the site 'onprem' and shows the vCenter version and API version.</para>
    /// </example>
    /// <example>
    /// <code>Get-DRSite | Test-DRSite | Where-Object { -not $_.Succeeded }</code>
    /// <para>Lists the sites that cannot be reached, with the reason.</para>
    /// </example>
    [Cmdlet(VerbsDiagnostic.Test, "DRSite")]
    [OutputType(typeof(SiteTestResult))]
    public sealed class TestDRSiteCommand : DRCmdlet
    {
        /// <summary>The name of the site to test.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(SiteNameCompleter))]
        public string Name { get; set; } = "";

        protected override void ProcessItem()
        {
            ForItem(Name, () =>
            {
                var site = Await(ct => OpenVault().FindSiteAsync(Name, ct)) ?? throw new ObjectNotFoundException("Site", Name);
                var watch = Stopwatch.StartNew();
                try
                {
                    if (site.Kind == SiteKind.Azure)
                    {
                        // Sign-in, subscription, resource group, storage account, and the subnets the site's plans map networks to
                        // (Test-RecoveryPlan reports those too, at their plan lines, with the plan's other checks).
                        WriteVerbose($"Signing in to {site.GetArmEndpoint()} ({site.Authentication}) for resource group {site.ResourceGroup}.");
                        var plans = Await(ct => new RecoveryPlanCatalog(OpenVault()).ListAsync(ct));
                        using var connection = Await(ct => SiteConnector.ConnectAzureAsync(OpenVault(), site.Name, ct));
                        var found = Await(ct => AzureSiteCheck.RunAsync(connection, plans, ct));
                        var product = $"Azure Resource Manager {found.ArmEndpoint} ({AzureClouds.NameOf(site.Environment)}): subscription '{found.SubscriptionName}', {found.ResourceGroupId}" +
                            (found.BlobEndpoint is null ? "" : $", storage {found.BlobEndpoint}") + $", {found.SubnetsChecked} plan subnet(s) checked";
                        WriteObject(new SiteTestResult
                        {
                            Site = site.Name,
                            Kind = site.Kind,
                            Succeeded = found.MissingSubnets.Count == 0,
                            Product = product,
                            ResponseTime = watch.Elapsed,
                            ErrorId = found.MissingSubnets.Count == 0 ? null : "SubnetNotFound",
                            Error = found.MissingSubnets.Count == 0 ? null :
                                $"Azure site '{site.Name}' answers, but {found.MissingSubnets.Count} subnet(s) its recovery plans map networks to do not exist: " +
                                $"{string.Join("; ", found.MissingSubnets)}. Create them, or fix the plans' networkMappings (Import-RecoveryPlan -Force).",
                        });
                        return;
                    }

                    WriteVerbose($"Connecting to {site.Server} as {site.UserName}.");
                    using var client = Await(ct => SiteConnector.ConnectVSphereAsync(OpenVault(), site.Name, ct));
                    var about = client.About;
                    WriteObject(new SiteTestResult
                    {
                        Site = site.Name,
                        Kind = site.Kind,
                        Succeeded = true,
                        Product = about.FullName,
                        Version = about.Version,
                        ApiVersion = about.ApiVersion,
                        InstanceUuid = about.InstanceUuid,
                        ResponseTime = watch.Elapsed,
                    });
                }
                catch (DRException ex) when (ex is not VaultException && ex.Kind != FailureKind.Cancelled)
                {
                    WriteObject(new SiteTestResult
                    {
                        Site = site.Name,
                        Kind = site.Kind,
                        Succeeded = false,
                        ResponseTime = watch.Elapsed,
                        Error = ex.Message,
                        ErrorId = ex.ErrorId,
                    });
                }
            });
        }
    }
}
