using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery
{
    /// <summary>One VM to bring up on a recovery site: from which point, under which name, on which networks, and how to tell it is up.</summary>
    internal sealed record VmRecoveryRequest
    {
        public string JobId { get; init; } = "";
        public ProtectedVm Vm { get; init; } = new ProtectedVm();
        public RecoveryPoint Point { get; init; } = new RecoveryPoint();
        public string RecoverySite { get; init; } = "";
        /// <summary>The name the recovered VM gets.</summary>
        public string Name { get; init; } = "";
        /// <summary>The recovery network of each NIC, in the source VM's NIC order (Azure: "vnet/subnet" in the site's resource group, or a subnet's resource id).</summary>
        public IReadOnlyList<string> Networks { get; init; } = Array.Empty<string>();
        /// <summary>The source's firmware ("bios", "efi"; null: unknown, taken as bios): Azure boots efi as generation 2.</summary>
        public string? Firmware { get; init; }
        /// <summary>Azure: the VM size the plan names; null chooses one from the source's CPUs and memory.</summary>
        public string? VmSize { get; init; }
        /// <summary><see cref="RecoveryTags.TestKind"/> or <see cref="RecoveryTags.FailoverKind"/>.</summary>
        public string Kind { get; init; } = RecoveryTags.TestKind;
        /// <summary>When the VM may be powered on at the earliest (its group's start plus its boot delay).</summary>
        public DateTimeOffset PowerOnAt { get; init; }
        public VmStartCondition WaitFor { get; init; }
        public TimeSpan StartTimeout { get; init; }
        /// <summary>An earlier run of the step started (its process died, or it failed): a VM it made may exist.</summary>
        public bool IsRetry { get; init; }
        /// <summary>What earlier runs of the step recorded in its journal (<see cref="RecoveryJournal"/>).</summary>
        public IReadOnlyList<string> EarlierJournal { get; init; } = Array.Empty<string>();
        /// <summary>Records a resource id in the step's journal before the resource is created; null: no journal (sites whose VMs carry everything they are made of).</summary>
        public Func<string, Task>? Journal { get; init; }
    }

    /// <summary>What a step records (JobStep.Details); null values are left out.</summary>
    internal sealed class StepDetails : Dictionary<string, string>
    {
        /// <summary>What a step that brought a VM up records (JobStepDetail keys), for later steps and the drill report.</summary>
        public static StepDetails Recovered(ProtectedVm vm, RecoveryPoint point, string site, string moRef, string name, string? ip, long bytesWritten, int chunksWritten) =>
            new StepDetails
            {
                [JobStepDetail.Kind] = JobStepKind.RecoverVm,
                [JobStepDetail.VmId] = vm.VmId,
                [JobStepDetail.RecoveryPointId] = point.RecoveryPointId,
                [JobStepDetail.RecoveryPointTime] = point.Time.ToString("o", CultureInfo.InvariantCulture),
                [JobStepDetail.Consistency] = point.Consistency.ToString(),
                [JobStepDetail.RecoveredSite] = site,
                [JobStepDetail.RecoveredMoRef] = moRef,
                [JobStepDetail.RecoveredName] = name,
                [JobStepDetail.IpAddress] = ip,
                [JobStepDetail.UpAt] = DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture),
                [JobStepDetail.BytesWritten] = bytesWritten.ToString(CultureInfo.InvariantCulture),
                [JobStepDetail.ChunksWritten] = chunksWritten.ToString(CultureInfo.InvariantCulture),
                [JobStepDetail.RpoThreshold] = vm.RpoThreshold > TimeSpan.Zero ? vm.RpoThreshold.ToString("c", CultureInfo.InvariantCulture) : null,
            };

        /// <summary>Records when the VM's power on was asked for and how its guest was waited for (null: it was not).</summary>
        public void Started(DateTimeOffset poweredOnAt, string? guestWait)
        {
            this[JobStepDetail.PoweredOnAt] = poweredOnAt.ToString("o", CultureInfo.InvariantCulture);
            this[JobStepDetail.GuestWait] = guestWait;
        }

        public new string? this[string key]
        {
            get => TryGetValue(key, out var value) ? value : null;
            set
            {
                if (value is null) Remove(key);
                else base[key] = value;
            }
        }
    }
}
