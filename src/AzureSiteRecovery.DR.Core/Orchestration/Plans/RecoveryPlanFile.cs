using System.Collections.Generic;
using System.IO;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks;
using AzureSiteRecovery.DR.Core.Storage;

namespace AzureSiteRecovery.DR.Core.Orchestration.Plans
{
    /// <summary>
    /// A plan read from a file for import: the file must be a regular file of a plan's size, and
    /// each script file it names that exists must be a regular file a script's size (the rest is
    /// <see cref="RecoveryPlanParser"/>'s). Mistakes are a <see cref="RecoveryPlanException"/>.
    /// </summary>
    public static class RecoveryPlanFile
    {
        /// <summary>The largest plan file read: <see cref="RecoveryPlanParser.MaxPlanLength"/> characters of up to 4 bytes each.</summary>
        public const long MaxBytes = 4L * RecoveryPlanParser.MaxPlanLength;

        /// <summary>The plan in <paramref name="path"/> (a full path) with its <see cref="RecoveryPlan.SourceFolder"/>; throws <see cref="FileNotFoundException"/> when it does not exist.</summary>
        public static RecoveryPlan Read(string path)
        {
            var source = Path.GetFileName(path);
            var why = RegularFile.WhyNotRegular(path);
            if (why == "missing") throw new FileNotFoundException($"The plan file '{path}' does not exist.", path);
            if (why != null) throw Invalid(source, new PlanLocation(source, 1, 1), $"'{path}' is {why}, not a plan file; name a .yaml file");

            string yaml;
            try
            {
                yaml = RegularFile.ReadAllText(path, MaxBytes);
            }
            catch (InvalidDataException)
            {
                throw Invalid(source, new PlanLocation(source, 1, 1), $"the plan file is larger than {MaxBytes:N0} bytes (a plan is a few KB); split it into several plans");
            }

            var folder = Path.GetDirectoryName(Path.GetFullPath(path));
            var plan = RecoveryPlanParser.Parse(yaml, source) with { SourceFolder = folder };
            CheckScripts(plan, source);
            return plan;
        }

        private static void CheckScripts(RecoveryPlan plan, string source)
        {
            var errors = new List<RecoveryPlanError>();
            void Check(string? scriptPath, PlanLocation? location)
            {
                if (scriptPath is null || PlanScriptPath.FullPath(scriptPath, plan.SourceFolder) is not string full) return;
                if (PlanScriptPath.Problem(full) is string problem)
                {
                    errors.Add(new RecoveryPlanError(location ?? new PlanLocation(source, 1, 1), $"the script '{scriptPath}' cannot be run: {problem}"));
                }
            }

            foreach (var group in plan.Groups)
            {
                foreach (var action in group.PreActions) Check((action as ScriptAction)?.Path, action.Location);
                foreach (var action in group.PostActions) Check((action as ScriptAction)?.Path, action.Location);
                foreach (var validation in group.Validations) Check((validation as ScriptValidation)?.Path, validation.Location);
                foreach (var vm in group.Vms)
                {
                    foreach (var validation in vm.Validations) Check((validation as ScriptValidation)?.Path, validation.Location);
                }
            }

            if (errors.Count > 0)
            {
                throw new RecoveryPlanException(source, errors);
            }
        }

        private static RecoveryPlanException Invalid(string source, PlanLocation location, string message) =>
            new RecoveryPlanException(source, new[] { new RecoveryPlanError(location, message) });
    }
}
