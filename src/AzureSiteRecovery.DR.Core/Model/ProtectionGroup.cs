using System;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>A named set of VMs replicated from one site to another under one policy.</summary>
    public sealed record ProtectionGroup
    {
        public string Name { get; init; } = "";
        public string? Description { get; init; }
        public string ProtectedSite { get; init; } = "";
        public string RecoverySite { get; init; } = "";
        public string Policy { get; init; } = "";
        /// <summary>How many protected VMs the group has (read from the vault, not settable).</summary>
        public int ProtectedVmCount { get; init; }
        public DateTimeOffset Created { get; init; }
        public DateTimeOffset Modified { get; init; }

        public override string ToString() => Name;

        /// <summary>Checks what the group says on its own; that its sites and policy exist and fit is the vault's check.</summary>
        public void Validate()
        {
            NameRules.Validate("ProtectionGroup", Name);
            Require(nameof(ProtectedSite), ProtectedSite);
            Require(nameof(RecoverySite), RecoverySite);
            Require(nameof(Policy), Policy);
            if (string.Equals(ProtectedSite, RecoverySite, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidSettingException("ProtectionGroup", Name, nameof(RecoverySite),
                    $"Protection group '{Name}' has '{ProtectedSite}' as both its protected and its recovery site; VMs must be recovered to another site.");
            }
        }

        private void Require(string setting, string value)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new InvalidSettingException("ProtectionGroup", Name, setting, $"Protection group '{Name}' needs {setting}.");
            }
        }
    }
}
