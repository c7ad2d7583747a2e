using System.IO;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>Writes the raw disk images of a recovery point to a folder.</summary>
    /// <remarks>
    /// Rebuilds each disk of the point from the chunk store, byte for byte, as a raw image named
    /// after the disk's device key (2000.img, ...) in a folder named after the VM inside
    /// -Destination (-Destination/erp-db01/2000.img; characters other than letters, digits, '-',
    /// '_' and '.' become '_'), so points of several VMs exported to one folder never overwrite
    /// each other. An image that exists already is an error (ExportFileExists) and nothing is
    /// written, unless -Force replaces it. Every chunk is authenticated and hash-checked on the
    /// way; a damaged point fails instead of producing a wrong image.
    /// </remarks>
    /// <example>
    /// <code>Get-ProtectedVm erp-db01 | Get-RecoveryPoint | Select-Object -Last 1 | Export-RecoveryPoint -Destination /restore/erp-db01</code>
    /// <para>Writes the disks of erp-db01's newest point to /restore/erp-db01/erp-db01.</para>
    /// </example>
    /// <example>
    /// <code>Get-ProtectedVm -ProtectionGroup erp | ForEach-Object { $_ | Get-RecoveryPoint | Select-Object -Last 1 } | Export-RecoveryPoint -Destination /restore -Force</code>
    /// <para>Writes the newest point of every VM of group erp, each into its own folder under /restore, replacing images of an earlier export.</para>
    /// </example>
    [Cmdlet(VerbsData.Export, "RecoveryPoint", SupportsShouldProcess = true)]
    [OutputType(typeof(FileInfo))]
    public sealed class ExportRecoveryPointCommand : DRCmdlet
    {
        /// <summary>The id of the recovery point (from Get-RecoveryPoint through the pipeline).</summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string RecoveryPointId { get; set; } = "";

        /// <summary>The folder to write into (created when missing); each VM's images go into a folder named after the VM inside it.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Destination { get; set; } = "";

        /// <summary>Replaces images that exist already (ExportFileExists otherwise).</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void ProcessItem()
        {
            var destination = GetUnresolvedProviderPathFromPSPath(Destination);
            ForItem(RecoveryPointId, () =>
            {
                var point = Await(ct => OpenVault().FindRecoveryPointAsync(RecoveryPointId, ct)) ?? throw new ObjectNotFoundException("RecoveryPoint", RecoveryPointId);
                var folder = Path.Combine(destination, DiskImageWriter.FolderNameOf(point.VmName));
                if (!ShouldProcess($"recovery point {point} ({point.SizeBytes} bytes of disks)", $"Export to {folder}"))
                {
                    return;
                }

                var manifest = Await(ct => OpenStore().Chunks.ReadPointAsync(point.VmId, point.RecoveryPointId, ct));
                foreach (var path in Await(ct => new DiskImageWriter(OpenStore().Chunks) { Overwrite = Force }.ExportAsync(manifest, folder, ct)))
                {
                    WriteObject(new FileInfo(path));
                }
            });
        }
    }
}
