using System;
using System.Collections.Generic;
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
    /// way; a damaged point fails instead of producing a wrong image. Progress shows the bytes
    /// written; with -AsJob the export runs in a PowerShell background job (Receive-Job gets the
    /// images as FileInfo objects).
    /// </remarks>
    /// <example>
    /// <code>Get-ProtectedVm erp-db01 | Get-RecoveryPoint | Select-Object -Last 1 | Export-RecoveryPoint -Destination /restore/erp-db01</code>
    /// <para>Writes the disks of erp-db01's newest point to /restore/erp-db01/erp-db01.</para>
    /// </example>
    /// <example>
    /// <code>Get-ProtectedVm -ProtectionGroup erp | ForEach-Object { $_ | Get-RecoveryPoint | Select-Object -Last 1 } | Export-RecoveryPoint -Destination /restore -Force</code>
    /// <para>Writes the newest point of every VM of group erp, each into its own folder under /restore, replacing images of an earlier export.</para>
    /// </example>
    /// <example>
    /// <code>$job = Get-RecoveryPoint -VmId $vm.VmId | Select-Object -Last 1 | Export-RecoveryPoint -Destination /restore -AsJob; $job | Receive-Job -Wait</code>
    /// <para>Exports in the background; Receive-Job waits and returns the image files.</para>
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

        /// <summary>Exports in a PowerShell background job and returns that job at once (Receive-Job gets the image files).</summary>
        [Parameter]
        public SwitchParameter AsJob { get; set; }

        private readonly List<object> jobInput = new List<object>();
        private int activityId;

        protected override void ProcessItem()
        {
            if (AsJob)
            {
                // Confirmation is asked by the job's own run: -Confirm:$false there, so ask here first.
                if (ShouldProcess($"recovery point {RecoveryPointId}", $"Export to {Destination}"))
                {
                    var item = new PSObject();
                    item.Properties.Add(new PSNoteProperty(nameof(RecoveryPointId), RecoveryPointId));
                    jobInput.Add(item);
                }

                return;
            }

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
                var id = ++activityId;
                var activity = $"Exporting {point.VmName} ({point.Time.ToLocalTime():yyyy-MM-dd HH:mm:ss})";
                long total = 0;
                foreach (var disk in manifest.Disks) total += disk.Capacity;
                var percent = 0;
                using var dispatcher = new PipelineDispatcher();
                var progress = new DispatchedProgress<long>(dispatcher, done =>
                {
                    // Reports can arrive out of order (from the thread pool): the percent never goes back.
                    percent = Math.Max(percent, total == 0 ? 100 : (int)Math.Min(100, done * 100 / total));
                    WriteProgress(new ProgressRecord(id, activity, $"{percent} % of {total / (1 << 20):N0} MiB to {folder}") { PercentComplete = percent });
                });
                var paths = dispatcher.Run(() => new DiskImageWriter(OpenStore().Chunks) { Overwrite = Force }.ExportAsync(manifest, folder, Cancellation, progress));
                WriteProgress(new ProgressRecord(id, activity, "Done") { PercentComplete = 100, RecordType = ProgressRecordType.Completed });
                foreach (var path in paths)
                {
                    var file = new FileInfo(path);
                    file.Refresh();
                    WriteObject(file);
                }
            });
        }

        protected override void EndProcessing()
        {
            if (AsJob && jobInput.Count > 0)
            {
                CommandBackgroundJob.Start(this, jobInput, nameof(RecoveryPointId));
            }
        }
    }
}
