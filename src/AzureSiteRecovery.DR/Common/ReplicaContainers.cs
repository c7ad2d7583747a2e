using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Common
{
    /// <summary>
    /// The cmdlets' one answer to "where is an Azure recovery site's replica container": every
    /// replication cycle, Disable-VmProtection -RemoveData, Remove-ProtectionGroup and
    /// Test-RecoveryPoint get their locator here.
    /// </summary>
    internal static class ReplicaContainers
    {
        /// <summary>
        /// The locator for this vault's Azure sites; null (no replica kept, none checked) until the
        /// Azure site connection (Sites/Azure/AzureSiteConnection: the storage account found through
        /// Azure Resource Manager) is wired here.
        /// </summary>
        public static ReplicaContainerLocator? For(IVault vault) => null;
    }
}
