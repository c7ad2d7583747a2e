namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery
{
    /// <summary>
    /// The extraConfig keys every VM a recovery job creates carries, so that what a job made can
    /// always be found again on the recovery site: by a retried step, by cleanup, by
    /// Stop-TestFailover after the job's process died, and by an independent listing.
    /// </summary>
    public static class RecoveryTags
    {
        /// <summary>The id of the job that created the VM.</summary>
        public const string Job = "azsr-dr.job";
        /// <summary>The protected VM's id in the vault.</summary>
        public const string Vm = "azsr-dr.vm";
        /// <summary>The recovery point the disks were written from.</summary>
        public const string Point = "azsr-dr.point";
        /// <summary><see cref="TestKind"/> or <see cref="FailoverKind"/>.</summary>
        public const string Kind = "azsr-dr.kind";

        public const string TestKind = "test";
        public const string FailoverKind = "failover";
    }
}
