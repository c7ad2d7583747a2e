using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Replication
{
    /// <summary>The cmdlets that take protected VMs: by id (from the pipeline) or by name, wildcards allowed (DRCmdlet.ResolveProtectedVms).</summary>
    public abstract class ProtectedVmCmdlet : DRCmdlet
    {
        /// <summary>The protection group of that name; ProtectionGroupNotFound (as every cmdlet reports it) when there is none.</summary>
        protected ProtectionGroup RequireGroup(string name) =>
            Await(ct => OpenVault().FindGroupAsync(name, ct)) ?? throw new ObjectNotFoundException("ProtectionGroup", name);
    }
}
