using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>Gets the events the replication workers recorded in the vault, such as RPO breaches.</summary>
    /// <remarks>
    /// A replication worker (Sync-VmReplication -Continuous) records an RpoBreached event when a
    /// VM's newest recovery point grows older than its policy's RPO threshold: once per breach
    /// (named by the VM and that point), however many workers saw it, with the time it was seen,
    /// the point's time and the threshold. A runbook polls for new ones with -Since (for example
    /// the time of its last run) and alerts. Oldest first; -Vm and -Kind narrow the list. Events
    /// stay when their VM is no longer protected.
    /// </remarks>
    /// <example>
    /// <code>Get-DREvent -Since (Get-Date).AddHours(-1) -Kind RpoBreached</code>
    /// <para>Shows the RPO breaches of the last hour: which VM, its RPO when seen, its threshold, its newest point.</para>
    /// </example>
    /// <example>
    /// <code>Get-ProtectedVm -ProtectionGroup erp | Get-DREvent</code>
    /// <para>Shows the events of the ERP group's VMs.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "DREvent")]
    [OutputType(typeof(DREvent))]
    public sealed class GetDREventCommand : DRCmdlet
    {
        private IReadOnlyList<DREvent>? events;

        /// <summary>Only events seen at or after this time (local time unless it says otherwise).</summary>
        [Parameter]
        public DateTime? Since { get; set; }

        /// <summary>Only the events of these VMs: a VM id (VmId, from Get-ProtectedVm through the pipeline) or name (wildcards allowed).</summary>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("VmId")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ProtectedVmNameCompleter))]
        public string[]? Vm { get; set; }

        /// <summary>Only events of these kinds (RpoBreached).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public DREventKind[]? Kind { get; set; }

        protected override void ProcessItem()
        {
            // One read for all pipeline input.
            events ??= Await(ct => OpenVault().ListEventsAsync(Since is DateTime since ? new DateTimeOffset(since) : (DateTimeOffset?)null, null,
                Kind?.Length == 1 ? Kind[0] : (DREventKind?)null, ct)).Where(e => Kind is null || Kind.Contains(e.Kind)).ToList();
            var patterns = Vm?.Select(v => WildcardPattern.Get(v, WildcardOptions.IgnoreCase)).ToList();
            foreach (var e in events)
            {
                if (patterns is null || Vm!.Any(v => string.Equals(v, e.VmId, StringComparison.OrdinalIgnoreCase)) || patterns.Any(p => p.IsMatch(e.VmName)))
                {
                    WriteObject(e);
                }
            }
        }
    }
}
