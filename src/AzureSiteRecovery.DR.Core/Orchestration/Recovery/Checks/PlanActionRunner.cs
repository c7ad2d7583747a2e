using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Jobs;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks
{
    /// <summary>Where a group's action runs: the plan, the group and the job.</summary>
    /// <param name="PlanName">The plan's name; scripts get it as $RecoveryPlan.</param>
    /// <param name="PlanFolder">The plan's <see cref="RecoveryPlan.SourceFolder"/>: where relative script paths start.</param>
    /// <param name="Group">The group whose pre- or post-action this is; scripts get it as $Group.</param>
    /// <param name="JobId">The job running the plan; scripts get it as $JobId (to tag what they create).</param>
    /// <param name="Site">The site the VMs come up on; scripts get it as $Site (null when not given).</param>
    public sealed record PlanActionContext(string PlanName, string? PlanFolder, string Group, string JobId, string? Site = null)
    {
        /// <summary>More variables for scripts (such as whether this is a test failover); the ones above win over these.</summary>
        public IReadOnlyDictionary<string, object?> Variables { get; init; } = new Dictionary<string, object?>();
    }

    /// <summary>
    /// Runs a group's pre- and post-actions: a script through <see cref="IScriptHost"/>, or a wait.
    /// Returns what happened in a line for the job step's message. A script that fails, or whose
    /// file is missing, throws <see cref="PlanScriptException"/> (PlanScriptFailed,
    /// PlanScriptNotFound), which fails the step. A <see cref="ManualAction"/> is the job engine's
    /// to handle (<see cref="StepOutcome.WaitForUser"/> with its message): this runner refuses it.
    /// </summary>
    public sealed class PlanActionRunner
    {
        private readonly IScriptHost scriptHost;

        public PlanActionRunner(IScriptHost scriptHost) =>
            this.scriptHost = scriptHost ?? throw new ArgumentNullException(nameof(scriptHost));

        public async Task<string> RunAsync(PlanAction action, PlanActionContext context, CancellationToken cancellationToken)
        {
            if (action is null) throw new ArgumentNullException(nameof(action));
            if (context is null) throw new ArgumentNullException(nameof(context));
            cancellationToken.ThrowIfCancellationRequested();
            switch (action)
            {
                case ScriptAction script:
                    return await RunScriptAsync(script, context, cancellationToken).ConfigureAwait(false);
                case WaitAction wait:
                    // A resumed job waits the whole time again: the wait is there for something else to settle.
                    var duration = wait.Duration > TimeSpan.Zero ? wait.Duration : TimeSpan.Zero;
                    await Task.Delay(duration, cancellationToken).ConfigureAwait(false);
                    return $"Waited {ValidationRunner.Seconds(duration)}.";
                case ManualAction:
                    throw new ArgumentException("A manual action pauses the job: the job engine returns StepOutcome.WaitForUser for it.", nameof(action));
                default:
                    throw new ArgumentException($"No runner for the plan action '{action}'.", nameof(action));
            }
        }

        private async Task<string> RunScriptAsync(ScriptAction script, PlanActionContext context, CancellationToken cancellationToken)
        {
            var what = script.Path is null ? "inline script" : $"script {script.Path}";
            var description = $"{what} of group '{context.Group}' in recovery plan '{context.PlanName}'";
            var variables = context.Variables.ToDictionary(p => p.Key, p => p.Value, StringComparer.OrdinalIgnoreCase);
            variables[ScriptVariables.RecoveryPlan] = context.PlanName;
            variables[ScriptVariables.Group] = context.Group;
            variables[ScriptVariables.JobId] = context.JobId;
            variables[ScriptVariables.Site] = context.Site;

            var request = script.Path is null
                ? ScriptRequest.ForInline(script.Inline ?? "", description, script.Timeout, variables)
                : ScriptRequest.ForFile(PlanScriptPath.Resolve(script.Path, context.PlanFolder, context.PlanName, script.Location), description, script.Timeout, variables);

            var result = await scriptHost.RunAsync(request, cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                throw new PlanScriptException("PlanScriptFailed", FailureKind.Failed, script.Path ?? context.PlanName,
                    $"The {description} failed after {ValidationRunner.Seconds(result.Duration)}: {result.Error}");
            }

            var last = result.Output.LastOrDefault(line => !string.IsNullOrWhiteSpace(line));
            return $"The {what} succeeded in {ValidationRunner.Seconds(result.Duration)}" + (last is null ? "." : $": {last}");
        }
    }
}
