using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery
{
    /// <summary>
    /// The recovery side of a site, as recovery jobs use it: bring a protected VM up from a recovery
    /// point, find and delete what a job made, and the power operations failover and failback steps
    /// need. One implementation per site kind (<see cref="VSphereVmRecovery"/>, AzureVmRecovery);
    /// <see cref="RecoveryRun.RecoverySiteAsync"/> picks it from the site's kind. A recovered VM is named
    /// by a reference that is the site's own (a vSphere moref, an Azure resource id), recorded as
    /// <see cref="JobStepDetail.RecoveredMoRef"/> and <see cref="ProtectedVm.RecoveredMoRef"/>.
    /// </summary>
    internal interface IRecoverySite : IDisposable
    {
        /// <summary>The site's name in the vault.</summary>
        string Name { get; }

        /// <summary>
        /// Brings the VM up and returns what the step records (<see cref="StepDetails.Recovered"/>). Idempotent:
        /// what an earlier run of the step made (<see cref="VmRecoveryRequest.IsRetry"/>) is deleted first, so a retry never leaves two.
        /// </summary>
        Task<StepDetails> RecoverVmAsync(VmRecoveryRequest request, CancellationToken cancellationToken);

        /// <summary>Deletes everything <paramref name="job"/> made on the site: by its journal (<see cref="RecoveryJournal"/>) first, then by its tag. Returns the names of the VMs deleted.</summary>
        Task<IReadOnlyList<string>> DeleteJobAsync(DRJob job, CancellationToken cancellationToken);

        /// <summary>Deletes the failover copies (kind <see cref="RecoveryTags.FailoverKind"/>) of protected VM <paramref name="vmId"/> (Undo-Failover); returns how many VMs.</summary>
        Task<int> DeleteFailoverCopiesAsync(string vmId, CancellationToken cancellationToken);

        /// <summary>
        /// Deletes the test VMs (and what came with them) whose job <paramref name="isOrphan"/> says nobody will clean up;
        /// returns the names of the VMs deleted.
        /// </summary>
        Task<IReadOnlyList<string>> SweepTestsAsync(Func<string, CancellationToken, Task<bool>> isOrphan, CancellationToken cancellationToken);

        /// <summary>Shuts a recovered VM down (the guest if it can, else power off); false when it was off already. VmGone when it is not there.</summary>
        Task<bool> ShutDownAsync(string vmRef, string name, TimeSpan timeout, CancellationToken cancellationToken);

        /// <summary>Starts a recovered VM when it is there and off; true when it was started.</summary>
        Task<bool> StartIfStoppedAsync(string vmRef, CancellationToken cancellationToken);

        /// <summary>Deletes a recovered VM (with its disks and NICs where the site keeps them apart); one already gone counts as deleted.</summary>
        Task DestroyVmAsync(string vmRef, CancellationToken cancellationToken);
    }
}
