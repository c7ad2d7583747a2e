namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>What kind of network a site offers.</summary>
    public enum SiteNetworkKind
    {
        /// <summary>A port group of a standard vSwitch (or another non-distributed network).</summary>
        StandardPortgroup,

        /// <summary>A port group of a distributed switch.</summary>
        DistributedPortgroup,
    }

    /// <summary>A network of a site, by the name a recovery plan's network mapping uses.</summary>
    public sealed record SiteNetwork
    {
        public string Name { get; init; } = "";
        public string Site { get; init; } = "";
        public SiteNetworkKind Kind { get; init; }

        /// <summary>The distributed switch's UUID, for a distributed port group.</summary>
        public string? SwitchUuid { get; init; }
    }

    /// <summary>A datastore of a site, by the name a recovery plan's datastore mapping uses.</summary>
    public sealed record SiteDatastore
    {
        public string Name { get; init; } = "";
        public string Site { get; init; } = "";
        public string Datacenter { get; init; } = "";

        /// <summary>Bytes.</summary>
        public long Capacity { get; init; }

        /// <summary>Bytes.</summary>
        public long FreeSpace { get; init; }

        public bool Accessible { get; init; }
    }
}
