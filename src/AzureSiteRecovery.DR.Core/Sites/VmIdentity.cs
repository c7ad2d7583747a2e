using System;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Sites
{
    /// <summary>
    /// Before a cycle reads a VM's disks or a failback writes them: the vCenter is the one the site
    /// was first connected to, and the VM is the one that was protected (its config.instanceUuid as
    /// recorded, or, for the recovered VM a reprotected VM replicates from, our tag naming the
    /// protected VM). A moref can name another VM after a vCenter is rebuilt or a site's URL changes.
    /// </summary>
    internal static class VmIdentity
    {
        /// <summary>Fails with VmIdentityChanged; the VM found, or null when there is none at <paramref name="moRef"/>.</summary>
        public static async Task<DiscoveredVm?> VerifyAsync(IVault vault, VSphereClient client, ProtectedVm vm, string moRef, CancellationToken cancellationToken)
        {
            await SiteConnector.VerifyServerAsync(vault, client, cancellationToken).ConfigureAwait(false);
            var live = await client.GetVmAsync(moRef, cancellationToken).ConfigureAwait(false);
            if (live is null)
            {
                return null;
            }

            var original = moRef == vm.MoRef && string.Equals(client.SiteName, vm.Site, StringComparison.OrdinalIgnoreCase);
            if (original)
            {
                if (vm.InstanceUuid is null)
                {
                    // Protected before the vault kept instance uuids: this is the VM from now on.
                    await vault.UpdateProtectedVmAsync(vm.VmId, v => v.InstanceUuid is null ? v with { InstanceUuid = live.InstanceUuid } : v, cancellationToken).ConfigureAwait(false);
                }
                else if (!string.Equals(vm.InstanceUuid, live.InstanceUuid, StringComparison.OrdinalIgnoreCase))
                {
                    throw Changed(vm, client.SiteName, moRef, $"its config.instanceUuid is {live.InstanceUuid ?? "<none>"}, not {vm.InstanceUuid} as when it was protected");
                }
            }
            else
            {
                var tags = await client.GetExtraConfigAsync(moRef, cancellationToken).ConfigureAwait(false);
                if (!tags.TryGetValue(RecoveryTags.Vm, out var tagged) || tagged != vm.VmId)
                {
                    throw Changed(vm, client.SiteName, moRef, $"it is not tagged as the recovered copy of this VM ({RecoveryTags.Vm}={vm.VmId})");
                }
            }
            return live;
        }

        private static IdentityChangedException Changed(ProtectedVm vm, string site, string moRef, string why) =>
            new IdentityChangedException("VmIdentityChanged", vm.Name,
                $"VM {moRef} '{vm.Name}' on site '{site}' is not the VM that was protected: {why}. Nothing was read or written. " +
                "If the VM was replaced on purpose, protect the new one: Disable-VmProtection, then Enable-VmProtection.");
    }
}
