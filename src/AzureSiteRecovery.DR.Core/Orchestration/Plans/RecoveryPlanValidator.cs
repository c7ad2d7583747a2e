using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Orchestration.Plans
{
    public enum FindingSeverity
    {
        /// <summary>Worth knowing; the plan can run.</summary>
        Information,
        /// <summary>The plan can run, but something could not be checked or looks risky.</summary>
        Warning,
        /// <summary>The plan would fail; fix it before a drill or failover.</summary>
        Error,
    }

    /// <summary>One result of a pre-flight check: what is wrong, where in the plan, and about which VM.</summary>
    public sealed record RecoveryPlanFinding
    {
        public string RecoveryPlan { get; init; } = "";
        public FindingSeverity Severity { get; init; }
        /// <summary>A stable name of the check, such as VmNotProtected; scripts match on it.</summary>
        public string Check { get; init; } = "";
        public string Message { get; init; } = "";
        public PlanLocation? Location { get; init; }
        public string? Group { get; init; }
        public string? Vm { get; init; }

        public override string ToString() => $"{Severity} {Check}: {Message}";
    }

    /// <summary>The outcome of Test-RecoveryPlan: passed when no finding is an error.</summary>
    public sealed record RecoveryPlanTestResult
    {
        public string Name { get; init; } = "";
        public bool Passed => ErrorCount == 0;
        public int ErrorCount => Findings.Count(f => f.Severity == FindingSeverity.Error);
        public int WarningCount => Findings.Count(f => f.Severity == FindingSeverity.Warning);
        /// <summary>How many VMs the plan recovers, protection groups expanded.</summary>
        public int VmCount { get; init; }
        public IReadOnlyList<RecoveryPlanFinding> Findings { get; init; } = Array.Empty<RecoveryPlanFinding>();
        /// <summary>The VMs the plan recovers, in group order, protection groups expanded: what a recovery job runs on.</summary>
        public IReadOnlyList<PlannedVm> Vms { get; init; } = Array.Empty<PlannedVm>();

        public override string ToString() => $"{Name}: {(Passed ? "passed" : "failed")}";
    }

    /// <summary>A protected VM a plan recovers: its plan group, its start settings and validations, and the place in the YAML that brought it in.</summary>
    public sealed record PlannedVm(ProtectedVm Vm, RecoveryPlanGroup Group, PlanLocation? Location)
    {
        /// <summary>The VM's settings: its own entry in the plan, or its plan group's defaults when a protection group brought it in.</summary>
        public RecoveryPlanVm Settings { get; init; } = new RecoveryPlanVm();

        public override string ToString() => Vm.Name;
    }

    /// <summary>
    /// The pre-flight check of a plan against the vault: sites and their roles, every VM protected
    /// with a recovery point, one group per VM, network mappings usable for a test, and limits.
    /// It reports findings and never throws for what it finds.
    /// </summary>
    public sealed partial class RecoveryPlanValidator
    {
        public const int MaxGroups = 100;
        public const int MaxVms = 1000;
        public static readonly TimeSpan MaxBootDelay = TimeSpan.FromHours(1);
        public static readonly TimeSpan MinStartTimeout = TimeSpan.FromSeconds(10);
        public static readonly TimeSpan MaxStartTimeout = TimeSpan.FromHours(4);
        public static readonly TimeSpan MaxActionTime = TimeSpan.FromHours(24);
        public static readonly TimeSpan MaxValidationTimeout = TimeSpan.FromHours(1);
        /// <summary>How many VM names a finding about many VMs lists before "and N more".</summary>
        private const int NamesListed = 10;

        private readonly IVault vault;

        public RecoveryPlanValidator(IVault vault) => this.vault = vault ?? throw new ArgumentNullException(nameof(vault));

        public async Task<RecoveryPlanTestResult> ValidateAsync(RecoveryPlan plan, CancellationToken cancellationToken)
        {
            if (plan is null) throw new ArgumentNullException(nameof(plan));
            var findings = new List<RecoveryPlanFinding>();
            void Add(FindingSeverity severity, string check, string message, PlanLocation? location = null, string? group = null, string? vm = null) =>
                findings.Add(new RecoveryPlanFinding
                {
                    RecoveryPlan = plan.Name, Severity = severity, Check = check, Message = message, Location = location, Group = group, Vm = vm,
                });

            var recoverySite = await CheckSitesAsync(plan, Add, cancellationToken).ConfigureAwait(false);
            var vms = await ResolveVmsAsync(plan, Add, cancellationToken).ConfigureAwait(false);
            CheckOneGroupPerVm(vms, Add);
            CheckRecoveryPoints(vms, Add);
            CheckNetworks(plan, vms, Add);
            CheckLimits(plan, vms.Count, Add);
            CheckForSiteKind(plan, recoverySite, vms, Add);

            return new RecoveryPlanTestResult
            {
                Name = plan.Name,
                VmCount = vms.Select(v => v.Vm.VmId).Distinct().Count(),
                Findings = findings.OrderByDescending(f => f.Severity).ThenBy(f => f.Location?.Line ?? 0).ToList(),
                Vms = vms,
            };
        }

        private delegate void Report(FindingSeverity severity, string check, string message, PlanLocation? location = null, string? group = null, string? vm = null);


        /// <returns>The recovery site; null when it is not in the vault.</returns>
        private async Task<Site?> CheckSitesAsync(RecoveryPlan plan, Report report, CancellationToken cancellationToken)
        {
            var protectedSite = await vault.FindSiteAsync(plan.ProtectedSite, cancellationToken).ConfigureAwait(false);
            var recoverySite = await vault.FindSiteAsync(plan.RecoverySite, cancellationToken).ConfigureAwait(false);
            if (protectedSite is null)
            {
                report(FindingSeverity.Error, "SiteNotFound", $"The protected site '{plan.ProtectedSite}' is not in the vault; add it with New-DRSite.");
            }
            else if (protectedSite.Role == SiteRole.Recovery)
            {
                report(FindingSeverity.Error, "SiteRoleMismatch",
                    $"The protected site '{protectedSite.Name}' has the role Recovery; a plan's protected site needs the role Protected or Both (Set-DRSite -Role).");
            }

            if (recoverySite is null)
            {
                report(FindingSeverity.Error, "SiteNotFound", $"The recovery site '{plan.RecoverySite}' is not in the vault; add it with New-DRSite.");
            }
            else if (recoverySite.Role == SiteRole.Protected)
            {
                report(FindingSeverity.Error, "SiteRoleMismatch",
                    $"The recovery site '{recoverySite.Name}' has the role Protected; a plan's recovery site needs the role Recovery or Both (Set-DRSite -Role).");
            }

            if (string.Equals(plan.ProtectedSite, plan.RecoverySite, StringComparison.OrdinalIgnoreCase))
            {
                report(FindingSeverity.Error, "SiteRoleMismatch", $"The plan recovers site '{plan.ProtectedSite}' to itself; name another recovery site.");
            }
            return recoverySite;
        }

        private async Task<List<PlannedVm>> ResolveVmsAsync(RecoveryPlan plan, Report report, CancellationToken cancellationToken)
        {
            var all = await vault.ListProtectedVmsAsync(null, cancellationToken).ConfigureAwait(false);
            var groupsByName = (await vault.ListGroupsAsync(cancellationToken).ConfigureAwait(false))
                .ToDictionary(g => g.Name, StringComparer.OrdinalIgnoreCase);
            var onSite = all.Where(v => string.Equals(v.Site, plan.ProtectedSite, StringComparison.OrdinalIgnoreCase))
                .ToLookup(v => v.Name, StringComparer.OrdinalIgnoreCase);
            var planned = new List<PlannedVm>();

            foreach (var group in plan.Groups)
            {
                // A VM named in vms: takes its settings from that entry even when one of the group's
                // protection groups brings it in too (so it can add validations); the group's own
                // validations run on every VM of the group, after the VM's.
                var named = new HashSet<string>(StringComparer.Ordinal);
                foreach (var vm in group.Vms)
                {
                    var matches = onSite[vm.Name].ToList();
                    if (matches.Count == 0)
                    {
                        var elsewhere = all.FirstOrDefault(v => string.Equals(v.Name, vm.Name, StringComparison.OrdinalIgnoreCase));
                        report(FindingSeverity.Error, "VmNotProtected", elsewhere is null
                                ? $"VM '{vm.Name}' is not protected; protect it with Enable-VmProtection."
                                : $"VM '{vm.Name}' is protected from site '{elsewhere.Site}', not from the plan's protected site '{plan.ProtectedSite}'.",
                            vm.Location, group.Name, vm.Name);
                    }
                    else if (matches.Count > 1)
                    {
                        report(FindingSeverity.Error, "VmNameAmbiguous",
                            $"{matches.Count} protected VMs on site '{plan.ProtectedSite}' are named '{vm.Name}' (groups {string.Join(", ", matches.Select(m => m.ProtectionGroup))}); rename one in vSphere.",
                            vm.Location, group.Name, vm.Name);
                    }
                    else
                    {
                        CheckRecoverySite(plan, matches[0], groupsByName, group, vm.Location, report);
                        planned.Add(new PlannedVm(matches[0], group, vm.Location) { Settings = vm with { Validations = vm.Validations.Concat(group.Validations).ToList() } });
                        named.Add(matches[0].VmId);
                    }
                }

                foreach (var name in group.ProtectionGroups)
                {
                    if (!groupsByName.TryGetValue(name, out var protectionGroup))
                    {
                        report(FindingSeverity.Error, "ProtectionGroupNotFound", $"Protection group '{name}' is not in the vault.", group.Location, group.Name);
                        continue;
                    }

                    if (!string.Equals(protectionGroup.ProtectedSite, plan.ProtectedSite, StringComparison.OrdinalIgnoreCase) ||
                        !string.Equals(protectionGroup.RecoverySite, plan.RecoverySite, StringComparison.OrdinalIgnoreCase))
                    {
                        report(FindingSeverity.Error, "SiteMismatch",
                            $"Protection group '{protectionGroup.Name}' replicates '{protectionGroup.ProtectedSite}' to '{protectionGroup.RecoverySite}', but the plan recovers '{plan.ProtectedSite}' to '{plan.RecoverySite}'.",
                            group.Location, group.Name);
                        continue;
                    }

                    var members = all.Where(v => string.Equals(v.ProtectionGroup, protectionGroup.Name, StringComparison.OrdinalIgnoreCase)).ToList();
                    if (members.Count == 0)
                    {
                        report(FindingSeverity.Warning, "ProtectionGroupEmpty",
                            $"Protection group '{protectionGroup.Name}' has no protected VMs: group '{group.Name}' recovers nothing from it.", group.Location, group.Name);
                    }
                    planned.AddRange(members.Where(m => !named.Contains(m.VmId)).Select(m => new PlannedVm(m, group, group.Location)
                    {
                        Settings = new RecoveryPlanVm
                        {
                            Name = m.Name,
                            BootDelay = group.Defaults.BootDelay,
                            StartTimeout = group.Defaults.StartTimeout,
                            WaitFor = group.Defaults.WaitFor,
                            Validations = group.Validations,
                            Azure = group.Defaults.Azure,
                            Location = group.Location,
                        },
                    }));
                }
            }

            return planned;
        }

        private static void CheckRecoverySite(RecoveryPlan plan, ProtectedVm vm, IReadOnlyDictionary<string, ProtectionGroup> groups,
            RecoveryPlanGroup planGroup, PlanLocation? location, Report report)
        {
            if (groups.TryGetValue(vm.ProtectionGroup, out var protectionGroup) &&
                !string.Equals(protectionGroup.RecoverySite, plan.RecoverySite, StringComparison.OrdinalIgnoreCase))
            {
                report(FindingSeverity.Error, "SiteMismatch",
                    $"VM '{vm.Name}' is replicated to site '{protectionGroup.RecoverySite}' (protection group '{protectionGroup.Name}'), but the plan recovers to '{plan.RecoverySite}'.",
                    location, planGroup.Name, vm.Name);
            }
        }

        private static void CheckOneGroupPerVm(IEnumerable<PlannedVm> vms, Report report)
        {
            foreach (var twice in vms.GroupBy(v => v.Vm.VmId).Where(g => g.Count() > 1))
            {
                var first = twice.First();
                foreach (var again in twice.Skip(1))
                {
                    report(FindingSeverity.Error, "VmInTwoGroups", again.Group.Name == first.Group.Name
                            ? $"VM '{again.Vm.Name}' is in group '{again.Group.Name}' twice (through two protection groups)."
                            : $"VM '{again.Vm.Name}' is in group '{first.Group.Name}' and in group '{again.Group.Name}'; a VM is recovered once, in one group.",
                        again.Location, again.Group.Name, again.Vm.Name);
                }
            }
        }

        private static void CheckRecoveryPoints(IEnumerable<PlannedVm> vms, Report report)
        {
            foreach (var planned in vms.GroupBy(v => v.Vm.VmId).Select(g => g.First()))
            {
                var vm = planned.Vm;
                if (vm.LastRecoveryPointId is null)
                {
                    report(FindingSeverity.Error, "NoRecoveryPoint",
                        $"VM '{vm.Name}' has no recovery point yet; run Sync-VmReplication and wait for the initial sync.", planned.Location, planned.Group.Name, vm.Name);
                }
                else if (vm.Health == ReplicationHealth.Critical || vm.State == ProtectionState.Error)
                {
                    report(FindingSeverity.Warning, "RpoExceeded",
                        $"VM '{vm.Name}''s newest recovery point is {vm.CurrentRpo:d\\.hh\\:mm\\:ss} old (threshold {vm.RpoThreshold}){(vm.LastError is null ? "" : "; last error: " + vm.LastError)}.",
                        planned.Location, planned.Group.Name, vm.Name);
                }
            }
        }

        private static void CheckNetworks(RecoveryPlan plan, IReadOnlyCollection<PlannedVm> vms, Report report)
        {
            if (plan.NetworkMappings.Count == 0)
            {
                report(FindingSeverity.Error, "NoNetworkMapping",
                    "The plan has no networkMappings: recovered VMs would have no network. Map each source network to a recovery and an isolated test network.");
            }

            var recoveryNetworks = new HashSet<string>(plan.NetworkMappings.Select(m => m.RecoveryNetwork), StringComparer.OrdinalIgnoreCase);
            foreach (var mapping in plan.NetworkMappings)
            {
                if (recoveryNetworks.Contains(mapping.TestNetwork))
                {
                    report(FindingSeverity.Error, "TestNetworkNotIsolated",
                        $"Test network '{mapping.TestNetwork}' of source network '{mapping.SourceNetwork}' is also a recovery (production) network: a test failover would put copies of production VMs on it.",
                        mapping.Location);
                }
            }

            // Every network a VM's NICs use must be a source network of the plan. VMs protected before
            // the vault recorded networks (or before their first cycle) cannot be checked yet.
            var sources = new HashSet<string>(plan.NetworkMappings.Select(m => m.SourceNetwork), StringComparer.Ordinal);
            var unknown = new List<string>();
            foreach (var planned in vms.GroupBy(v => v.Vm.VmId).Select(g => g.First()))
            {
                if (planned.Vm.Networks.Count == 0)
                {
                    unknown.Add(planned.Vm.Name);
                    continue;
                }

                foreach (var network in planned.Vm.Networks.Where(n => !sources.Contains(n)))
                {
                    report(FindingSeverity.Error, "NetworkNotMapped",
                        $"VM '{planned.Vm.Name}' uses network '{network}', which no networkMappings entry has as sourceNetwork: its copy would have no network there.",
                        planned.Location, planned.Group.Name, planned.Vm.Name);
                }
            }

            if (unknown.Count > 0 && plan.NetworkMappings.Count > 0)
            {
                var names = unknown.OrderBy(n => n, StringComparer.OrdinalIgnoreCase).ToList();
                var listed = string.Join(", ", names.Take(NamesListed)) + (names.Count > NamesListed ? $" and {names.Count - NamesListed} more" : "");
                report(FindingSeverity.Warning, "NetworksNotChecked",
                    $"The networks of {names.Count} VM(s) are not known yet (no replication cycle since they were protected): {listed}. " +
                    "Run Sync-VmReplication, or make sure every network they use is a sourceNetwork of the plan.");
            }
        }

        private static void CheckLimits(RecoveryPlan plan, int vmCount, Report report)
        {
            if (plan.Groups.Count > MaxGroups)
            {
                report(FindingSeverity.Error, "LimitExceeded", $"The plan has {plan.Groups.Count} groups; at most {MaxGroups} are allowed.");
            }
            if (vmCount > MaxVms)
            {
                report(FindingSeverity.Error, "LimitExceeded", $"The plan recovers {vmCount} VMs; at most {MaxVms} are allowed.");
            }

            void Range(string what, TimeSpan value, TimeSpan min, TimeSpan max, PlanLocation? location, string? group, string? vm = null)
            {
                if (value < min || value > max)
                {
                    report(FindingSeverity.Error, "LimitExceeded", $"{what} is {value}; it must be from {min} to {max}.", location, group, vm);
                }
            }

            foreach (var group in plan.Groups)
            {
                Range($"Group '{group.Name}''s bootDelay", group.Defaults.BootDelay, TimeSpan.Zero, MaxBootDelay, group.Location, group.Name);
                Range($"Group '{group.Name}''s startTimeout", group.Defaults.StartTimeout, MinStartTimeout, MaxStartTimeout, group.Location, group.Name);
                foreach (var vm in group.Vms)
                {
                    Range($"VM '{vm.Name}''s bootDelay", vm.BootDelay, TimeSpan.Zero, MaxBootDelay, vm.Location, group.Name, vm.Name);
                    Range($"VM '{vm.Name}''s startTimeout", vm.StartTimeout, MinStartTimeout, MaxStartTimeout, vm.Location, group.Name, vm.Name);
                    foreach (var validation in vm.Validations)
                    {
                        Range($"A validation of VM '{vm.Name}' ({validation}) has a timeout that", validation.Timeout, TimeSpan.FromSeconds(1), MaxValidationTimeout,
                            validation.Location, group.Name, vm.Name);
                    }
                }

                foreach (var validation in group.Validations)
                {
                    Range($"A validation of group '{group.Name}' ({validation}) has a timeout that", validation.Timeout, TimeSpan.FromSeconds(1), MaxValidationTimeout,
                        validation.Location, group.Name);
                }

                foreach (var action in group.PreActions.Concat(group.PostActions))
                {
                    switch (action)
                    {
                        case ScriptAction script:
                            Range($"Group '{group.Name}''s {script} timeout", script.Timeout, TimeSpan.FromSeconds(1), MaxActionTime, action.Location, group.Name);
                            break;
                        case WaitAction wait:
                            Range($"Group '{group.Name}''s wait", wait.Duration, TimeSpan.FromSeconds(1), MaxActionTime, action.Location, group.Name);
                            break;
                    }
                }
            }
        }
    }
}
