using System;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>What Test-DRSite found: whether the site answered, and what it is.</summary>
    public sealed record SiteTestResult
    {
        public string Site { get; init; } = "";
        public SiteKind Kind { get; init; }
        public bool Succeeded { get; init; }
        /// <summary>The product as the endpoint names itself, such as "VMware vCenter Server 8.0.2 build-22617221".</summary>
        public string? Product { get; init; }
        public string? Version { get; init; }
        public string? ApiVersion { get; init; }
        public string? InstanceUuid { get; init; }
        /// <summary>How long connecting and signing in took.</summary>
        public TimeSpan ResponseTime { get; init; }
        /// <summary>Why the test failed, with how to fix it; null when it succeeded.</summary>
        public string? Error { get; init; }
        /// <summary>The stable id of the failure (such as VSphereInvalidLogin); null when it succeeded.</summary>
        public string? ErrorId { get; init; }
    }
}
