using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Sites.Azure;
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
        /// The locator for this vault's Azure sites: container azsr-dr-replica of the site's storage
        /// account, found through Azure Resource Manager (<see cref="AzureReplicaContainers"/>) and
        /// created when missing. Nothing is sent until a group with an Azure recovery site asks.
        /// The connections live as long as the locator (a cmdlet call, or a process-server loop).
        /// </summary>
        public static ReplicaContainerLocator For(IVault vault) => new AzureReplicaContainers(vault).Locator;
    }
}
