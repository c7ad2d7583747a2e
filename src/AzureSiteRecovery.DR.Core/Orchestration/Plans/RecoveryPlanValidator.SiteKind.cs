using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites.Azure;

namespace AzureSiteRecovery.DR.Core.Orchestration.Plans
{
    /// <summary>
    /// The checks that depend on the recovery site's kind and need only the vault: the parser reads a
    /// plan without knowing where it recovers to, so here an Azure plan's network mappings must name
    /// subnets, its VMs' disks must fit a managed disk and their firmware pick a VM generation, and a
    /// vSphere plan must carry no <c>azure:</c> block. (The checks that ask Azure Resource Manager are
    /// in RecoveryPreflight.)
    /// </summary>
    public sealed partial class RecoveryPlanValidator
    {
        /// <summary>The largest managed disk Azure creates: 32 TiB (32,767 GiB for Premium and Standard SSD/HDD).</summary>
        public const long MaxAzureDiskBytes = 32L << 40;

        /// <summary>The firmware values vSphere reports that Azure can boot: bios (generation 1) and efi (generation 2).</summary>
        public static readonly IReadOnlyList<string> AzureBootableFirmware = new[] { "bios", "efi" };

        private static void CheckForSiteKind(RecoveryPlan plan, Site? recoverySite, IReadOnlyCollection<PlannedVm> vms, Report report)
        {
            if (recoverySite is null)
            {
                return; // SiteNotFound is reported
            }
            if (recoverySite.Kind == SiteKind.Azure)
            {
                CheckAzureNetworkMappings(plan, recoverySite, report);
                CheckAzureDisksAndFirmware(vms, report);
            }
            else
            {
                CheckNoAzureSettings(plan, recoverySite, report);
            }
        }

        private static void CheckNoAzureSettings(RecoveryPlan plan, Site site, Report report)
        {
            foreach (var group in plan.Groups)
            {
                var groupBlock = group.Defaults.Azure;
                if (groupBlock != null)
                {
                    report(FindingSeverity.Error, "AzureSettingsOnVSphere",
                        $"Group '{group.Name}' has an 'azure:' block, but the plan's recovery site '{site.Name}' is a {site.Kind} site: remove the block, or recover to an Azure site (recoverySite).",
                        groupBlock.Location, group.Name);
                }
                foreach (var vm in group.Vms.Where(v => v.Azure != null && !ReferenceEquals(v.Azure, groupBlock)))
                {
                    report(FindingSeverity.Error, "AzureSettingsOnVSphere",
                        $"VM '{vm.Name}' has an 'azure:' block, but the plan's recovery site '{site.Name}' is a {site.Kind} site: remove the block, or recover to an Azure site (recoverySite).",
                        vm.Azure!.Location, group.Name, vm.Name);
                }
            }
        }

        private static void CheckAzureNetworkMappings(RecoveryPlan plan, Site site, Report report)
        {
            var subscription = site.SubscriptionId ?? "";
            var group = site.ResourceGroup ?? "";
            var recoverySubnets = new Dictionary<string, NetworkMapping>(StringComparer.OrdinalIgnoreCase);
            var recoveryVnets = new Dictionary<string, NetworkMapping>(StringComparer.OrdinalIgnoreCase);
            var tests = new List<(NetworkMapping Mapping, AzureSubnetReference Subnet)>();
            foreach (var mapping in plan.NetworkMappings)
            {
                AzureSubnetReference? Read(string text, string key, PlanLocation? location)
                {
                    if (string.IsNullOrEmpty(text)) return null; // the parser reported the missing key
                    var subnet = AzureSubnetReference.Parse(text, out var problem);
                    if (subnet is null)
                    {
                        report(FindingSeverity.Error, "AzureNetworkMappingInvalid",
                            $"The {key} '{text}' of source network '{mapping.SourceNetwork}' does not name an Azure subnet ({problem}); on Azure recovery site '{site.Name}' it is " +
                            AzureSubnetReference.ShortFormHint + ".",
                            location ?? mapping.Location);
                    }
                    return subnet;
                }

                if (Read(mapping.RecoveryNetwork, "recoveryNetwork", mapping.RecoveryNetworkLocation) is AzureSubnetReference recovery)
                {
                    recoverySubnets[recovery.ResourceIdIn(subscription, group)] = mapping;
                    recoveryVnets[recovery.VirtualNetworkIdIn(subscription, group)] = mapping;
                }
                if (Read(mapping.TestNetwork, "testNetwork", mapping.TestNetworkLocation) is AzureSubnetReference test)
                {
                    tests.Add((mapping, test));
                }
            }

            foreach (var (mapping, test) in tests)
            {
                // The same text is already TestNetworkNotIsolated; here, the same subnet written in the other form, or a subnet of a production network.
                if (recoverySubnets.TryGetValue(test.ResourceIdIn(subscription, group), out var same))
                {
                    if (!plan.NetworkMappings.Any(m => string.Equals(m.RecoveryNetwork, mapping.TestNetwork, StringComparison.OrdinalIgnoreCase)))
                    {
                        report(FindingSeverity.Error, "TestNetworkNotIsolated",
                            $"Test network '{mapping.TestNetwork}' of source network '{mapping.SourceNetwork}' is the subnet that source network '{same.SourceNetwork}' recovers to " +
                            $"('{same.RecoveryNetwork}'): a test failover would put copies of production VMs on it.",
                            mapping.TestNetworkLocation ?? mapping.Location);
                    }
                }
                else if (recoveryVnets.TryGetValue(test.VirtualNetworkIdIn(subscription, group), out var sameVnet))
                {
                    report(FindingSeverity.Warning, "TestNetworkNotIsolated",
                        $"Test subnet '{mapping.TestNetwork}' of source network '{mapping.SourceNetwork}' is in virtual network '{test.VirtualNetwork}', which also holds the recovery subnet " +
                        $"'{sameVnet.RecoveryNetwork}': subnets of one virtual network reach each other, so test copies could talk to production. Use a test virtual network of its own.",
                        mapping.TestNetworkLocation ?? mapping.Location);
                }
            }
        }

        private static void CheckAzureDisksAndFirmware(IReadOnlyCollection<PlannedVm> vms, Report report)
        {
            foreach (var planned in vms.GroupBy(v => v.Vm.VmId).Select(g => g.First()))
            {
                var vm = planned.Vm;
                foreach (var disk in vm.Disks.Where(d => d.CapacityBytes > MaxAzureDiskBytes))
                {
                    report(FindingSeverity.Error, "DiskTooLargeForAzure",
                        string.Format(CultureInfo.InvariantCulture,
                            "VM '{0}''s disk '{1}' is {2:N0} bytes ({3:0.0} TiB); an Azure managed disk holds at most 32 TiB. Shrink or split the disk, or recover this VM to a vSphere site.",
                            vm.Name, disk.Label, disk.CapacityBytes, disk.CapacityBytes / (double)(1L << 40)),
                        planned.Location, planned.Group.Name, vm.Name);
                }

                if (vm.Firmware is null)
                {
                    report(FindingSeverity.Error, "FirmwareUnknown",
                        $"VM '{vm.Name}''s firmware (bios or efi) is not known yet, so the generation of its Azure VM (1 or 2) cannot be chosen: run Sync-VmReplication, whose next cycle reads it.",
                        planned.Location, planned.Group.Name, vm.Name);
                }
                else if (!AzureBootableFirmware.Contains(vm.Firmware, StringComparer.OrdinalIgnoreCase))
                {
                    report(FindingSeverity.Error, "FirmwareNotSupported",
                        $"VM '{vm.Name}' has firmware '{vm.Firmware}'; Azure boots bios (generation 1) and efi (generation 2) VMs only.",
                        planned.Location, planned.Group.Name, vm.Name);
                }
            }
        }
    }
}
