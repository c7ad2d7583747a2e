using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Plans;
using Azure;
using Azure.Core;
using AzureSiteRecovery.DR.Core.Sites;
using AzureSiteRecovery.DR.Core.Sites.Azure;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery
{
    /// <summary>What a pre-flight checks the plan for: which networks of the mappings must exist (the others are warnings).</summary>
    public enum PreflightPurpose
    {
        /// <summary>Test-RecoveryPlan: recovery and test networks alike.</summary>
        Any,
        /// <summary>A test failover or drill: the test networks.</summary>
        Test,
        /// <summary>A failover: the recovery (production) networks.</summary>
        Failover,
    }

    /// <summary>
    /// The pre-flight of a plan: the vault checks (<see cref="RecoveryPlanValidator"/>), then the
    /// recovery site itself (an Azure site: <see cref="CheckAzureSiteAsync"/>): it answers, the networks of
    /// the mappings exist there, and the datastore the VMs would go to has room for their disks at
    /// the chosen points. Test-RecoveryPlan, drills, test failovers and failovers run the same one.
    /// </summary>
    public sealed class RecoveryPreflight
    {
        private readonly IVault vault;

        public RecoveryPreflight(IVault vault) => this.vault = vault ?? throw new ArgumentNullException(nameof(vault));

        /// <param name="plan">The plan to check.</param>
        /// <param name="purpose">Which networks must exist.</param>
        /// <param name="points">The recovery points the VMs would be recovered from (their sizes count against the datastore).</param>
        /// <param name="datastore">The datastore asked for; null: the accessible one with the most free space, as a recovery picks.</param>
        /// <param name="checkSite">False: the vault checks only (no site is contacted).</param>
        /// <param name="cancellationToken">Cancels the check.</param>
        public async Task<RecoveryPlanTestResult> CheckAsync(RecoveryPlan plan, PreflightPurpose purpose, RecoveryPointChoice points, string? datastore, bool checkSite,
            CancellationToken cancellationToken)
        {
            var result = await new RecoveryPlanValidator(vault).ValidateAsync(plan, cancellationToken).ConfigureAwait(false);
            if (!checkSite)
            {
                return result;
            }

            var findings = new List<RecoveryPlanFinding>();
            void Add(FindingSeverity severity, string check, string message, PlanLocation? location = null) =>
                findings.Add(new RecoveryPlanFinding { RecoveryPlan = plan.Name, Severity = severity, Check = check, Message = message, Location = location });
            await CheckSiteAsync(plan, result.Vms, purpose, points, datastore, Add, cancellationToken).ConfigureAwait(false);
            return findings.Count == 0 ? result : result with
            {
                Findings = result.Findings.Concat(findings).OrderByDescending(f => f.Severity).ThenBy(f => f.Location?.Line ?? 0).ToList(),
            };
        }

        private async Task CheckSiteAsync(RecoveryPlan plan, IReadOnlyList<PlannedVm> vms, PreflightPurpose purpose, RecoveryPointChoice points, string? datastore,
            Action<FindingSeverity, string, string, PlanLocation?> report, CancellationToken cancellationToken)
        {
            var site = await vault.FindSiteAsync(plan.RecoverySite, cancellationToken).ConfigureAwait(false);
            if (site is null)
            {
                return; // the vault check reported SiteNotFound
            }
            if (site.Kind == SiteKind.Azure)
            {
                await CheckAzureSiteAsync(plan, site, vms, purpose, report, cancellationToken).ConfigureAwait(false);
                return;
            }

            Sites.VSphere.VSphereClient client;
            try
            {
                client = await SiteConnector.ConnectVSphereAsync(vault, site.Name, cancellationToken).ConfigureAwait(false);
            }
            catch (DRException ex) when (ex.Kind != FailureKind.Cancelled)
            {
                report(FindingSeverity.Error, "RecoverySiteUnreachable",
                    $"The recovery site '{site.Name}' could not be checked: {ex.Message} Its networks and datastores are where the plan's VMs would run; check it with Test-DRSite {site.Name}.", null);
                return;
            }

            using (client)
            {
                var networks = new HashSet<string>(await client.ListNetworkNamesAsync(cancellationToken).ConfigureAwait(false), StringComparer.Ordinal);
                var known = string.Join(", ", networks.OrderBy(n => n, StringComparer.Ordinal));
                foreach (var mapping in plan.NetworkMappings)
                {
                    void Require(string network, string what, string check, bool needed)
                    {
                        if (string.IsNullOrEmpty(network) || networks.Contains(network)) return;
                        report(needed ? FindingSeverity.Error : FindingSeverity.Warning, check,
                            $"The {what} network '{network}' of source network '{mapping.SourceNetwork}' does not exist on recovery site '{site.Name}' " +
                            $"(its networks: {known}); {(what == "test" ? "a drill or test failover" : "a failover")} would fail. Fix the plan's {what}Network, or create the network there.",
                            mapping.Location);
                    }
                    Require(mapping.TestNetwork, "test", "TestNetworkNotFound", purpose != PreflightPurpose.Failover);
                    Require(mapping.RecoveryNetwork, "recovery", "RecoveryNetworkNotFound", purpose != PreflightPurpose.Test);
                }

                var datastores = await client.ListDatastoresAsync(cancellationToken).ConfigureAwait(false);
                var target = datastore != null
                    ? datastores.FirstOrDefault(d => string.Equals(d.Name, datastore, StringComparison.Ordinal))
                    : datastores.Where(d => d.Accessible).OrderByDescending(d => d.FreeBytes).FirstOrDefault();
                if (target is null)
                {
                    report(FindingSeverity.Error, "DatastoreNotFound", datastore != null
                        ? $"Datastore '{datastore}' is not on recovery site '{site.Name}'; its datastores: {string.Join(", ", datastores.Select(d => d.Name))}."
                        : $"Recovery site '{site.Name}' has no accessible datastore for the recovered VMs.", null);
                    return;
                }

                long needed = 0;
                var counted = 0;
                foreach (var planned in vms.GroupBy(v => v.Vm.VmId).Select(g => g.First()))
                {
                    long size;
                    try
                    {
                        var point = await points.SelectAsync(vault, planned.Vm, cancellationToken).ConfigureAwait(false);
                        size = point.SizeBytes > 0 ? point.SizeBytes : planned.Vm.Disks.Sum(d => d.CapacityBytes);
                    }
                    catch (RecoveryException)
                    {
                        continue; // no point: the vault check reported it
                    }
                    needed += size;
                    counted++;
                }
                if (needed > target.FreeBytes)
                {
                    report(FindingSeverity.Error, "DatastoreTooSmall",
                        $"Datastore '{target.Name}' on recovery site '{site.Name}' has {Size(target.FreeBytes)} free, but the disks of the plan's {counted} VM(s) at {points} " +
                        $"take {Size(needed)}. Free space there, or name a larger datastore with -Datastore.", null);
                }
            }
        }

        /// <summary>
        /// The Azure recovery site's own checks, through Azure Resource Manager. The vault-only ones
        /// (subnet form of the mappings, disks at most 32 TiB, firmware known, no 'azure:' block on a
        /// vSphere plan) ran in <see cref="RecoveryPlanValidator"/>.
        /// </summary>
        private async Task CheckAzureSiteAsync(RecoveryPlan plan, Site site, IReadOnlyList<PlannedVm> vms, PreflightPurpose purpose,
            Action<FindingSeverity, string, string, PlanLocation?> report, CancellationToken cancellationToken)
        {
            AzureSiteConnection connection;
            try
            {
                connection = await SiteConnector.ConnectAzureAsync(vault, site.Name, cancellationToken).ConfigureAwait(false);
            }
            catch (DRException ex) when (ex.Kind != FailureKind.Cancelled)
            {
                report(FindingSeverity.Error, "RecoverySiteUnreachable", $"The recovery site '{site.Name}' could not be checked: {ex.Message}", null);
                return;
            }
            using var recovery = new AzureVmRecovery(connection);
            try
            {
                // Signs in, and shows the subscription and resource group exist.
                await AzureCalls.RunAsync(connection, $"resource group {site.ResourceGroup}", ct => connection.ResourceGroup.GetAsync(ct), cancellationToken).ConfigureAwait(false);
            }
            catch (DRException ex) when (ex.Kind != FailureKind.Cancelled)
            {
                report(FindingSeverity.Error, "RecoverySiteUnreachable",
                    $"The recovery site '{site.Name}' could not be checked: {ex.Message} Check it with Test-DRSite {site.Name}.", null);
                return;
            }

            foreach (var mapping in plan.NetworkMappings)
            {
                async Task RequireAsync(string network, string what, string check, bool needed, PlanLocation? location)
                {
                    if (string.IsNullOrEmpty(network)) return;
                    ResourceIdentifier subnet;
                    try
                    {
                        subnet = recovery.SubnetOf(network, mapping.SourceNetwork);
                    }
                    catch (RecoveryException)
                    {
                        return; // the vault check reported the form
                    }
                    try
                    {
                        await connection.Arm.GetGenericResource(subnet).GetAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (RequestFailedException e) when (e.Status == 404)
                    {
                        report(needed ? FindingSeverity.Error : FindingSeverity.Warning, check,
                            $"The {what} subnet '{network}' of source network '{mapping.SourceNetwork}' does not exist in Azure site '{site.Name}' ({subnet}); " +
                            $"{(what == "test" ? "a drill or test failover" : "a failover")} would fail. Fix the plan's {what}Network, or create the subnet there.", location ?? mapping.Location);
                    }
                    catch (RequestFailedException e)
                    {
                        report(FindingSeverity.Error, "RecoverySiteUnreachable", AzureCalls.Map(connection, $"subnet {subnet}", e).Message, location ?? mapping.Location);
                    }
                }
                await RequireAsync(mapping.TestNetwork, "test", "TestNetworkNotFound", purpose != PreflightPurpose.Failover, mapping.TestNetworkLocation).ConfigureAwait(false);
                await RequireAsync(mapping.RecoveryNetwork, "recovery", "RecoveryNetworkNotFound", purpose != PreflightPurpose.Test, mapping.RecoveryNetworkLocation).ConfigureAwait(false);
            }

            try
            {
                var sizes = await AzureVmRecovery.ListSizesAsync(connection, cancellationToken).ConfigureAwait(false);
                var names = new HashSet<string>(sizes.Select(s => s.Name), StringComparer.OrdinalIgnoreCase);
                foreach (var planned in vms.GroupBy(v => v.Vm.VmId).Select(g => g.First()))
                {
                    var named = planned.Settings.Azure?.VmSize;
                    if (named != null ? !names.Contains(named) : AzureVmRecovery.ChooseSize(sizes, planned.Vm) is null)
                    {
                        report(FindingSeverity.Error, "VmSizeNotAvailable", named != null
                            ? $"VM size '{named}' of VM '{planned.Vm.Name}' is not offered in {site.Location}; name another in its azure: vmSize."
                            : $"No VM size in {site.Location} has {planned.Vm.NumCpu} CPU(s) and {planned.Vm.MemoryMB} MB for VM '{planned.Vm.Name}'; name one in its azure: vmSize.",
                            planned.Location);
                    }
                }
                await connection.GetStorageAccountAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (DRException ex) when (ex.Kind != FailureKind.Cancelled)
            {
                report(FindingSeverity.Error, "RecoverySiteUnreachable", $"The recovery site '{site.Name}' could not be checked: {ex.Message}", null);
            }
        }

        private static string Size(long bytes) =>
            string.Format(CultureInfo.InvariantCulture, "{0:N0} bytes ({1:0.0} GiB)", bytes, bytes / (double)(1L << 30));
    }
}
