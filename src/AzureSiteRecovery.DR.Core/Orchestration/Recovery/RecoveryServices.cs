using System;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery
{
    /// <summary>What recovery jobs need from the process that runs them: the vault, the chunk store, and a PowerShell host for plan scripts.</summary>
    public sealed class RecoveryServices
    {
        public RecoveryServices(IVault vault, Func<ReplicationStore> openStore, IScriptHost scripts)
        {
            Vault = vault ?? throw new ArgumentNullException(nameof(vault));
            OpenStore = openStore ?? throw new ArgumentNullException(nameof(openStore));
            Scripts = scripts ?? throw new ArgumentNullException(nameof(scripts));
        }

        public IVault Vault { get; }
        public Func<ReplicationStore> OpenStore { get; }
        public IScriptHost Scripts { get; }
        /// <summary>Finds an Azure recovery site's replica container, so the cycles a job runs (final sync) keep the replica too; null: none.</summary>
        public Replication.ReplicaContainerLocator? ReplicaContainers { get; init; }
        /// <summary>How many disks are written to the recovery site at once (the heavy part of a recovery); the VMs themselves all start together.</summary>
        public int MaxParallelDiskWrites { get; init; } = 4;
    }
}
