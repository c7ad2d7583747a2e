using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Sites;

namespace AzureSiteRecovery.DR.Inventory
{
    /// <summary>Gets the VMs of a vSphere site: the discovered inventory.</summary>
    /// <remarks>
    /// Reads every VM of the site in one inventory query (PropertyCollector with a ContainerView,
    /// paged), never one call per VM, and returns the VMs whose name matches -Name (wildcards
    /// allowed): name, managed object reference, instance UUID, power state, guest OS, CPU,
    /// memory, disks with device keys, sizes and datastore paths, networks, host, and whether
    /// changed block tracking (CBT) is on. The output pipes into Enable-VmProtection.
    /// Templates are left out unless -IncludeTemplate is given.
    /// </remarks>
    /// <example>
    /// <code>Get-DRVm -Site onprem</code>
    /// <para>Lists all VMs of the site 'onprem'.</para>
    /// </example>
    /// <example>
    /// <code>Get-DRVm -Site onprem -Name 'erp-*' | Format-List</code>
    /// <para>Shows the disks, networks and CBT state of the ERP VMs.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "DRVm")]
    [OutputType(typeof(DiscoveredVm))]
    public sealed class GetDRVmCommand : DRCmdlet
    {
        /// <summary>The vSphere site to read the inventory of.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [NameTransformation]
        [ArgumentCompleter(typeof(SiteNameCompleter))]
        public string Site { get; set; } = "";

        /// <summary>Names of the VMs to get; wildcards are allowed. All VMs when omitted.</summary>
        [Parameter(Position = 1)]
        [ValidateNotNullOrEmpty]
        public string[]? Name { get; set; }

        /// <summary>Includes templates, which are left out by default.</summary>
        [Parameter]
        public SwitchParameter IncludeTemplate { get; set; }

        protected override void ProcessItem()
        {
            ForItem(Site, () =>
            {
                using var client = Await(ct => SiteConnector.ConnectVSphereAsync(OpenVault(), Site, ct));
                WriteVerbose($"Connected to {client.About.FullName}; reading the inventory.");
                foreach (var vm in SelectByName(Name, "Vm", v => v.Name, client.ListVmsAsync, where: $"on site '{Site}'"))
                {
                    if (IncludeTemplate || !vm.IsTemplate)
                    {
                        WriteObject(vm);
                    }
                }
            });
        }
    }
}
