using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>The cmdlets that take protected VMs: by id (from the pipeline) or by name, wildcards allowed.</summary>
    public abstract class ProtectedVmCmdlet : DRCmdlet
    {
        /// <summary>
        /// The protected VMs <paramref name="idOrName"/> names: the VM with that id, else those with
        /// that name (several sites may protect VMs of one name), else those matching the wildcard
        /// pattern. A name without wildcards that matches nothing is ProtectedVmNotFound; a pattern
        /// that matches nothing is no VM.
        /// </summary>
        protected IReadOnlyList<ProtectedVm> ResolveProtectedVms(string idOrName)
        {
            var vault = OpenVault();
            var byId = Await(ct => vault.FindProtectedVmAsync(idOrName, ct));
            if (byId != null)
            {
                return new[] { byId };
            }

            var all = Await(ct => vault.ListProtectedVmsAsync(null, ct));
            if (WildcardPattern.ContainsWildcardCharacters(idOrName))
            {
                var pattern = WildcardPattern.Get(idOrName, WildcardOptions.IgnoreCase);
                return all.Where(vm => pattern.IsMatch(vm.Name)).ToList();
            }

            var named = all.Where(vm => string.Equals(vm.Name, idOrName, StringComparison.OrdinalIgnoreCase)).ToList();
            return named.Count > 0
                ? named
                : throw new ObjectNotFoundException("ProtectedVm", idOrName, "Get-ProtectedVm lists the protected VMs with their names and ids.");
        }

        /// <summary>The protection group of that name; ProtectionGroupNotFound (as every cmdlet reports it) when there is none.</summary>
        protected ProtectionGroup RequireGroup(string name) =>
            Await(ct => OpenVault().FindGroupAsync(name, ct)) ?? throw new ObjectNotFoundException("ProtectionGroup", name);
    }
}
