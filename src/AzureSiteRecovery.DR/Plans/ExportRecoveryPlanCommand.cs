using System.IO;
using System.Management.Automation;
using System.Text;
using AzureSiteRecovery.DR.Common;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Plans
{
    /// <summary>Exports a recovery plan's YAML, as it was imported.</summary>
    /// <remarks>
    /// Writes the plan's YAML text, comments included, exactly as Import-RecoveryPlan read it: to a
    /// file with -Path (a folder gets NAME.plan.yaml; the file written is returned as a FileInfo), or to the
    /// pipeline as one string. Edit the
    /// file and import it again with -Force to change a plan.
    /// </remarks>
    /// <example>
    /// <code>Export-RecoveryPlan erp -Path ./erp.plan.yaml</code>
    /// <para>Writes the plan 'erp' to a file.</para>
    /// </example>
    /// <example>
    /// <code>Get-RecoveryPlan | Export-RecoveryPlan -Path ./backup/</code>
    /// <para>Writes every plan into the folder ./backup, one NAME.plan.yaml file each.</para>
    /// </example>
    /// <example>
    /// <code>Export-RecoveryPlan erp</code>
    /// <para>Shows the plan's YAML.</para>
    /// </example>
    [Cmdlet(VerbsData.Export, "RecoveryPlan", SupportsShouldProcess = true)]
    [OutputType(typeof(FileInfo), typeof(string))]
    public sealed class ExportRecoveryPlanCommand : DRCmdlet
    {
        /// <summary>The name of the plan to export.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("RecoveryPlan")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(RecoveryPlanNameCompleter))]
        public string Name { get; set; } = "";

        /// <summary>The file to write (replaced if it exists), or an existing folder to write NAME.plan.yaml into. Without it, the YAML goes to the pipeline.</summary>
        [Parameter(Position = 1)]
        [ValidateNotNullOrEmpty]
        public string? Path { get; set; }

        protected override void ProcessItem()
        {
            ForItem(Name, () =>
            {
                var plan = Await(ct => OpenVault().FindRecoveryPlanAsync(Name, ct)) ?? throw new ObjectNotFoundException("RecoveryPlan", Name);
                if (Path is null)
                {
                    WriteObject(plan.Yaml);
                    return;
                }

                var target = GetUnresolvedProviderPathFromPSPath(Path);
                if (Directory.Exists(target))
                {
                    target = System.IO.Path.Combine(target, plan.Name + ".plan.yaml");
                }
                if (ShouldProcess(target, $"Write recovery plan '{plan.Name}'"))
                {
                    // No byte order mark: YAML tools and diff read the file as the text it was imported from.
                    try
                    {
                        File.WriteAllText(target, plan.Yaml, new UTF8Encoding(false));
                    }
                    catch (System.Exception ex) when (ex is IOException || ex is System.UnauthorizedAccessException)
                    {
                        WriteError(new ErrorRecord(ex, "RecoveryPlanFileUnwritable", ErrorCategory.WriteError, target));
                        return;
                    }

                    WriteObject(new FileInfo(target));
                }
            });
        }
    }
}
