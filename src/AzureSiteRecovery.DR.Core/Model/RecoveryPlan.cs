using System;
using System.Collections.Generic;
using System.Linq;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>
    /// How a recovery plan brings an application stack up on the recovery site: ordered groups of
    /// VMs with their start conditions, actions around each group, network mappings and the checks
    /// that prove each VM works. Written in YAML (<see cref="Yaml"/> keeps the text as imported).
    /// </summary>
    public sealed record RecoveryPlan
    {
        public string Name { get; init; } = "";
        public string? Description { get; init; }
        public string ProtectedSite { get; init; } = "";
        public string RecoverySite { get; init; } = "";
        /// <summary>Started one after another, in this order.</summary>
        public IReadOnlyList<RecoveryPlanGroup> Groups { get; init; } = Array.Empty<RecoveryPlanGroup>();
        public IReadOnlyList<NetworkMapping> NetworkMappings { get; init; } = Array.Empty<NetworkMapping>();
        /// <summary>How long after the job starts every VM of the plan should be up (rtoTarget); null when the plan states none.</summary>
        public TimeSpan? RtoTarget { get; init; }
        /// <summary>The plan's source text; Export-RecoveryPlan returns it unchanged.</summary>
        public string Yaml { get; init; } = "";
        /// <summary>The full path of the folder the plan file was imported from: relative script paths start there. Null for plans not read from a file, or imported before the vault kept it.</summary>
        public string? SourceFolder { get; init; }
        public DateTimeOffset Created { get; init; }
        public DateTimeOffset Modified { get; init; }

        public int GroupCount => Groups.Count;

        /// <summary>VMs named in the plan (whole protection groups count when the plan is resolved against the vault).</summary>
        public int VmCount => Groups.Sum(g => g.Vms.Count);

        public override string ToString() => Name;
    }

    /// <summary>A step of a plan: its VMs start together, after the previous group is up.</summary>
    public sealed record RecoveryPlanGroup
    {
        public string Name { get; init; } = "";
        /// <summary>VMs named one by one, with their own settings.</summary>
        public IReadOnlyList<RecoveryPlanVm> Vms { get; init; } = Array.Empty<RecoveryPlanVm>();
        /// <summary>Protection groups whose every VM belongs to this group, with the group's default settings.</summary>
        public IReadOnlyList<string> ProtectionGroups { get; init; } = Array.Empty<string>();
        /// <summary>Settings for the VMs of <see cref="ProtectionGroups"/> (and the defaults of <see cref="Vms"/>).</summary>
        public RecoveryPlanVmDefaults Defaults { get; init; } = new RecoveryPlanVmDefaults();
        public IReadOnlyList<PlanAction> PreActions { get; init; } = Array.Empty<PlanAction>();
        public IReadOnlyList<PlanAction> PostActions { get; init; } = Array.Empty<PlanAction>();
        /// <summary>Checks run on every VM of the group (named or through a protection group), after the VM's own.</summary>
        public IReadOnlyList<VmValidation> Validations { get; init; } = Array.Empty<VmValidation>();
        /// <summary>How long after the job starts each VM of this group should be up; null: the plan's target.</summary>
        public TimeSpan? RtoTarget { get; init; }
        public PlanLocation? Location { get; init; }

        public override string ToString() => Name;
    }

    /// <summary>What "up" means for a recovered VM before the next group starts.</summary>
    public enum VmStartCondition
    {
        /// <summary>Powered on.</summary>
        PowerOn,
        /// <summary>VMware Tools reports a heartbeat.</summary>
        Heartbeat,
        /// <summary>VMware Tools reports an IP address.</summary>
        IpAddress,
    }

    /// <summary>A group's start settings for VMs that do not set their own.</summary>
    public sealed record RecoveryPlanVmDefaults
    {
        public static readonly TimeSpan DefaultStartTimeout = TimeSpan.FromMinutes(10);

        public TimeSpan BootDelay { get; init; }
        public TimeSpan StartTimeout { get; init; } = DefaultStartTimeout;
        public VmStartCondition WaitFor { get; init; } = VmStartCondition.Heartbeat;
        /// <summary>The group's <c>azure:</c> block: settings for its VMs when the recovery site is Azure; null when the group has none.</summary>
        public AzureVmSettings? Azure { get; init; }
    }

    /// <summary>
    /// How a VM is created when the plan's recovery site is Azure (an <c>azure:</c> block of a group
    /// or a VM; a VM's own keys win over its group's). A plan whose recovery site is vSphere has none.
    /// </summary>
    public sealed record AzureVmSettings
    {
        /// <summary>The Azure VM size, such as Standard_D2s_v3; null: chosen from the source VM's CPU and memory.</summary>
        public string? VmSize { get; init; }
        /// <summary>Where the block is in the YAML (the VM's own, or its group's when the VM has none).</summary>
        public PlanLocation? Location { get; init; }

        /// <summary>These settings, with what they leave unset taken from <paramref name="group"/>'s.</summary>
        public AzureVmSettings Over(AzureVmSettings? group) => group is null ? this : this with { VmSize = VmSize ?? group.VmSize };

        public override string ToString() => VmSize is null ? "azure: (size from CPU and memory)" : $"azure: {VmSize}";
    }

    /// <summary>A VM of a group, by its protected VM name.</summary>
    public sealed record RecoveryPlanVm
    {
        public string Name { get; init; } = "";
        /// <summary>How long after the group starts this VM is powered on.</summary>
        public TimeSpan BootDelay { get; init; }
        /// <summary>How long the VM may take to meet <see cref="WaitFor"/> before the group fails.</summary>
        public TimeSpan StartTimeout { get; init; } = RecoveryPlanVmDefaults.DefaultStartTimeout;
        public VmStartCondition WaitFor { get; init; } = VmStartCondition.Heartbeat;
        public IReadOnlyList<VmValidation> Validations { get; init; } = Array.Empty<VmValidation>();
        /// <summary>The VM's Azure settings: its own <c>azure:</c> block over its group's; null when neither has one.</summary>
        public AzureVmSettings? Azure { get; init; }
        public PlanLocation? Location { get; init; }

        public override string ToString() => Name;
    }

    /// <summary>
    /// Where recovered VMs of a source network are connected: for a failover, and for a test failover (isolated).
    /// On a vSphere recovery site the networks are port group names; on an Azure one, subnets:
    /// <c>vnet/subnet</c> (in the site's resource group) or a subnet's full resource id.
    /// </summary>
    public sealed record NetworkMapping
    {
        public string SourceNetwork { get; init; } = "";
        public string RecoveryNetwork { get; init; } = "";
        public string TestNetwork { get; init; } = "";
        public PlanLocation? Location { get; init; }
        /// <summary>Where the recoveryNetwork value is in the YAML.</summary>
        public PlanLocation? RecoveryNetworkLocation { get; init; }
        /// <summary>Where the testNetwork value is in the YAML.</summary>
        public PlanLocation? TestNetworkLocation { get; init; }
    }

    /// <summary>Something done before or after a group's VMs start.</summary>
    public abstract record PlanAction
    {
        public PlanLocation? Location { get; init; }
    }

    /// <summary>A PowerShell script, from a file (relative paths: to the plan file) or inline.</summary>
    public sealed record ScriptAction : PlanAction
    {
        public string? Path { get; init; }
        public string? Inline { get; init; }
        public TimeSpan Timeout { get; init; } = DefaultTimeout;

        public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

        public override string ToString() => Path is null ? "script (inline)" : $"script {Path}";
    }

    /// <summary>A step a person does; the job pauses until Resume-DRJob.</summary>
    public sealed record ManualAction : PlanAction
    {
        public string Message { get; init; } = "";

        public override string ToString() => $"manual: {Message}";
    }

    /// <summary>A pause of a fixed length.</summary>
    public sealed record WaitAction : PlanAction
    {
        public TimeSpan Duration { get; init; }

        public override string ToString() => $"wait {Duration}";
    }

    /// <summary>A check that a recovered VM works.</summary>
    public abstract record VmValidation
    {
        public TimeSpan Timeout { get; init; } = DefaultTimeout;
        public PlanLocation? Location { get; init; }

        public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    }

    /// <summary>A TCP connection to the VM's IP address succeeds.</summary>
    public sealed record TcpPortValidation : VmValidation
    {
        public int Port { get; init; }

        public override string ToString() => $"tcp {Port}";
    }

    /// <summary>An HTTP GET answers with the expected status: a full URL, or a port and path on the VM's IP address.</summary>
    public sealed record HttpGetValidation : VmValidation
    {
        public Uri? Url { get; init; }
        public int? Port { get; init; }
        public string Path { get; init; } = "/";
        public int ExpectedStatus { get; init; } = 200;

        public override string ToString() => Url is null ? $"http :{Port}{Path} → {ExpectedStatus}" : $"http {Url} → {ExpectedStatus}";
    }

    /// <summary>A PowerShell script that gets the VM's name and IP address and succeeds without an error.</summary>
    public sealed record ScriptValidation : VmValidation
    {
        public string? Path { get; init; }
        public string? Inline { get; init; }

        public override string ToString() => Path is null ? "script (inline)" : $"script {Path}";
    }

    /// <summary>
    /// A plan as the vault keeps it: the YAML it was imported from, with its name and sites copied
    /// out. The vault does not read YAML; Orchestration parses it into a <see cref="RecoveryPlan"/>.
    /// </summary>
    public sealed record RecoveryPlanSource
    {
        public string Name { get; init; } = "";
        public string ProtectedSite { get; init; } = "";
        public string RecoverySite { get; init; } = "";
        public string Yaml { get; init; } = "";
        /// <summary>The full path of the folder the plan file was imported from (see <see cref="RecoveryPlan.SourceFolder"/>).</summary>
        public string? SourceFolder { get; init; }
        public DateTimeOffset Created { get; init; }
        public DateTimeOffset Modified { get; init; }

        public override string ToString() => Name;

        /// <summary>SHA-256 of a plan's YAML as UTF-8, lower-case hex: the PlanHash a job records with its copy of the plan.</summary>
        public static string HashOf(string yaml)
        {
            using var sha = System.Security.Cryptography.SHA256.Create();
            return string.Concat(sha.ComputeHash(System.Text.Encoding.UTF8.GetBytes(yaml)).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    /// <summary>A place in a plan's YAML, 1-based.</summary>
    public sealed record PlanLocation(string File, int Line, int Column)
    {
        public override string ToString() => $"{File}:{Line}:{Column}";
    }
}
