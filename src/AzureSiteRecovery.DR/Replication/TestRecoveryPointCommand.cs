using System.Linq;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>Re-reads every chunk of recovery points and checks that they are whole and authentic.</summary>
    /// <remarks>
    /// For each point piped in (from Get-RecoveryPoint), every chunk it names is read back from the
    /// chunk store, its authentication tag checked and its content hashed again. A missing or
    /// tampered chunk is reported, one error (RecoveryPointChunkDamaged) per bad chunk with the
    /// disk, chunk index and offset, and the point's result says Intact = False. Nothing is repaired
    /// silently.
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

                WriteObject(new RecoveryPointCheck
                {
                    RecoveryPointId = point.RecoveryPointId,
                    VmName = point.VmName,
                    Time = point.Time,
                    Intact = verification.IsIntact,
                    ChunksChecked = verification.ChunksRead,
                    BytesChecked = verification.BytesChecked,
                    Problems = verification.Problems.Select(p => p.ToString()).ToArray(),
                });
            });
        }
    }
}
