using System.IO;
using System.Management.Automation;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Plans;

namespace AzureSiteRecovery.DR.Plans
{
    /// <summary>Imports a recovery plan from a YAML file into the vault.</summary>
    /// <remarks>
    /// Reads the plan file, checks it against the plan schema and stores its text in the vault under
    /// the plan's name. A plan with a mistake (an unknown key, a wrong type, a missing field, a bad
    /// duration, a duplicate group or VM name) is not stored: the error (RecoveryPlanInvalid) lists
    /// each mistake as file:line:column and what was expected there. A plan of the same name is
    /// replaced only with -Force (RecoveryPlanAlreadyExists otherwise), and not while a job of the
    /// plan has not finished (RecoveryPlanInUse names the job: finish it with Resume-DRJob, or
    /// Stop-DRJob then Resume-DRJob). Importing does not look at
    /// the vault's sites and VMs: run Test-RecoveryPlan for that. The vault also keeps the full
    /// path of the plan file's folder: a script 'path' relative to the plan is found there when a
    /// job runs it, so keep the scripts beside the plan (import it again after moving them). The module's Examples folder
    /// holds a commented example, erp.plan.yaml. Limits keep a mistaken or hostile file harmless, each a RecoveryPlanInvalid
    /// with its place: the plan file must be a regular file of at most 1 MB of text, lists and mappings nest at most 32
    /// levels, at most 250,000 values once aliases (*name) are expanded, at most 1,000 groups, 10,000 VMs, 100 validations
    /// per VM and 100 actions per group; durations and numbers use ASCII digits; names hold no control or invisible
    /// characters; a script file the plan names must be a regular file (not a device, FIFO or folder) of at most 1 MB.
    /// </remarks>
    /// <example>
    /// <code>Import-RecoveryPlan -Path ./erp.plan.yaml</code>
    /// <para>Imports the plan and shows its name, sites and how many groups and VMs it has.</para>
    /// </example>
    /// <example>
    /// <code>Get-ChildItem ./plans -Filter *.yaml | Import-RecoveryPlan -Force</code>
    /// <para>Imports every plan in a folder, replacing plans of the same names; a bad file is reported and the others are imported.</para>
    /// </example>
    /// <example>
    /// <code>Import-RecoveryPlan -Path (Join-Path (Get-Module AzureSiteRecovery.DR).ModuleBase 'Examples/erp.plan.yaml')</code>
    /// <para>Imports the example plan shipped with the module.</para>
    /// </example>
    [Cmdlet(VerbsData.Import, "RecoveryPlan", SupportsShouldProcess = true)]
    [OutputType(typeof(RecoveryPlan))]
    public sealed class ImportRecoveryPlanCommand : DRCmdlet
    {
        /// <summary>The plan file(s) to import; wildcards are allowed.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName")]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[] Path { get; set; } = System.Array.Empty<string>();

        /// <summary>Replaces a plan of the same name already in the vault.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void ProcessItem()
        {
            foreach (var pattern in Path)
            {
                System.Collections.ObjectModel.Collection<string> files;
                try
                {
                    files = GetResolvedProviderPathFromPSPath(pattern, out _);
                }
                catch (ItemNotFoundException ex)
                {
                    WriteError(new ErrorRecord(ex, "RecoveryPlanFileNotFound", ErrorCategory.ObjectNotFound, pattern));
                    continue;
                }

                foreach (var file in files)
                {
                    ForItem(file, () => Import(file));
                }
            }
        }

        private void Import(string file)
        {
            WriteVerbose($"Parsing the recovery plan '{file}'.");
            RecoveryPlan plan;
            try
            {
                // The folder goes with the plan: its scripts' relative paths start there when a job runs them.
                plan = RecoveryPlanFile.Read(file);
            }
            catch (System.Exception ex) when (ex is IOException || ex is System.UnauthorizedAccessException)
            {
                WriteError(new ErrorRecord(ex, "RecoveryPlanFileUnreadable", ErrorCategory.ReadError, file));
                return;
            }

            var action = Force ? "Import, replacing a plan of the same name" : "Import";
            if (ShouldProcess($"recovery plan '{plan.Name}' from '{file}'", action))
            {
                WriteObject(Await(ct => new RecoveryPlanCatalog(OpenVault()).AddAsync(plan, Force, ct)));
            }
        }
    }
}
