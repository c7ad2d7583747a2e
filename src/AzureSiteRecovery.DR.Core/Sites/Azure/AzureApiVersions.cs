using Azure.Core;
using Azure.ResourceManager;

namespace AzureSiteRecovery.DR.Core.Sites.Azure
{
    /// <summary>
    /// The API versions the module sends (research 1.1). Set on every ArmClient, so a generic resource call
    /// never asks the provider for its versions first (that lookup would take apiVersions[0], maybe a preview).
    /// </summary>
    internal static class AzureApiVersions
    {
        /// <summary>What Azure.ResourceManager.Compute 1.2.0 sends for disks.</summary>
        public const string Disks = "2023-04-02";
        /// <summary>Disk snapshots: the same DiskRP version as disks.</summary>
        public const string Snapshots = Disks;
        /// <summary>What Azure.ResourceManager.Compute 1.2.0 sends for VMs.</summary>
        public const string VirtualMachines = "2023-07-01";
        public const string Network = "2023-09-01";
        public const string Storage = "2023-01-01";

        public static void Apply(ArmClientOptions options)
        {
            options.SetApiVersion(new ResourceType("Microsoft.Network/networkInterfaces"), Network);
            options.SetApiVersion(new ResourceType("Microsoft.Network/virtualNetworks"), Network);
            options.SetApiVersion(new ResourceType("Microsoft.Network/virtualNetworks/subnets"), Network);
            options.SetApiVersion(new ResourceType("Microsoft.Storage/storageAccounts"), Storage);
            options.SetApiVersion(new ResourceType("Microsoft.Compute/disks"), Disks);
            options.SetApiVersion(new ResourceType("Microsoft.Compute/virtualMachines"), VirtualMachines);
            options.SetApiVersion(new ResourceType("Microsoft.Compute/snapshots"), Snapshots);
        }
    }
}
