using System.Linq;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>Re-reads every chunk of recovery points and checks that they are whole and authentic.</summary>
    /// <remarks>
    /// For each point piped in (from Get-RecoveryPoint), every chunk it names is read back from the
    /// chunk store, its authentication tag checked and its content hashed again. A missing or
    /// tampered chunk is reported, one error (RecoveryPointChunkDamaged) per bad chunk with the
    /// disk, chunk index and offset, and the point's result says Intact = False. Nothing is repaired
    /// silently. A point of a group recovered to Azure is also read back from its replica: each
    /// disk's blob snapshot is compared with the manifest chunk by chunk, and its VHD footer checked;
    /// a chunk that differs is one error ReplicaChunkDamaged (disk, chunk index, offset), a missing
    /// snapshot ReplicaSnapshotMissing, a bad footer ReplicaFooterInvalid, and ReplicaChecked says
    /// whether the replica was read.
    /// </remarks>
    /// <example>
    /// <code>Get-ProtectedVm erp-db01 | Get-RecoveryPoint | Test-RecoveryPoint</code>
    /// <para>Checks every recovery point of erp-db01.</para>
    /// </example>
    [Cmdlet(VerbsDiagnostic.Test, "RecoveryPoint")]
    [OutputType(typeof(RecoveryPointCheck))]
    public sealed class TestRecoveryPointCommand : DRCmdlet
    {
        /// <summary>The id of the recovery point (from Get-RecoveryPoint through the pipeline).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string RecoveryPointId { get; set; } = "";

        protected override void ProcessItem()
        {
            ForItem(RecoveryPointId, () =>
            {
                var point = Await(ct => OpenVault().FindRecoveryPointAsync(RecoveryPointId, ct)) ?? throw new ObjectNotFoundException("RecoveryPoint", RecoveryPointId);
                var manifest = Await(ct => OpenStore().Chunks.ReadPointAsync(point.VmId, point.RecoveryPointId, ct));
                WriteVerbose($"Checking every chunk of {point}.");
                var verification = Await(ct => new PointVerifier(OpenStore().Chunks).VerifyAsync(manifest, ct));
                foreach (var problem in verification.Problems)
                {
                    WriteError(new ErrorRecord(new System.IO.InvalidDataException(
                            $"Recovery point {point.RecoveryPointId} of '{point.VmName}', disk {problem.DiskKey}, chunk {problem.ChunkIndex} at offset {problem.Offset}: {problem.Kind}. {problem.Message}"),
                        "RecoveryPointChunkDamaged", ErrorCategory.InvalidData, point));
                }

                var replica = point.ReplicaSnapshots.Count == 0 ? null : CheckReplica(point, manifest);
                WriteObject(new RecoveryPointCheck
                {
                    RecoveryPointId = point.RecoveryPointId,
                    VmName = point.VmName,
                    Time = point.Time,
                    Intact = verification.IsIntact && (replica?.IsIntact ?? true),
                    ChunksChecked = verification.ChunksRead,
                    BytesChecked = verification.BytesChecked,
                    ReplicaChecked = replica != null,
                    Problems = verification.Problems.Select(p => p.ToString()).Concat(replica?.Problems.Select(p => p.ToString()) ?? Enumerable.Empty<string>()).ToArray(),
                });
            });
        }

        /// <summary>Compares the point's replica snapshots in Azure with its manifest; null (with a warning) when the replica cannot be reached from here.</summary>
        private ReplicaVerification? CheckReplica(RecoveryPoint point, RecoveryPointManifest manifest)
        {
            var vm = Await(ct => OpenVault().FindProtectedVmAsync(point.VmId, ct));
            var replica = vm is null ? null : Await(ct => AzureReplica.OpenForGroupAsync(OpenVault(), ReplicaContainers.For(OpenVault()), vm.ProtectionGroup, ct));
            if (replica is null)
            {
                WriteWarning($"Recovery point {point.RecoveryPointId} of '{point.VmName}' has {point.ReplicaSnapshots.Count} replica snapshot(s) in Azure that were not checked: " +
                    "the storage account of the group's recovery site cannot be found from this session.");
                return null;
            }

            WriteVerbose($"Comparing the replica snapshots of {point} in '{replica.Location}' with its manifest.");
            var verification = Await(ct => replica.VerifyPointAsync(manifest, point.ReplicaSnapshots, ct));
            foreach (var problem in verification.Problems)
            {
                var errorId = problem.Kind == ReplicaProblemKind.ChunkMismatch ? "ReplicaChunkDamaged" : "Replica" + problem.Kind;
                WriteError(new ErrorRecord(new System.IO.InvalidDataException(
                        $"Recovery point {point.RecoveryPointId} of '{point.VmName}': {problem.Message}"),
                    errorId, problem.Kind == ReplicaProblemKind.SnapshotMissing ? ErrorCategory.ObjectNotFound : ErrorCategory.InvalidData, point));
            }
            return verification;
        }
    }
}
