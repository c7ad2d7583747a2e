using System;
using System.Collections.Generic;
using System.Linq;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Orchestration.Plans
{
    /// <summary>One mistake in a plan's YAML: where it is and what was expected there.</summary>
    public sealed record RecoveryPlanError(PlanLocation Location, string Message)
    {
        public override string ToString() => $"{Location}: {Message}";
    }

    /// <summary>A plan's YAML that does not follow the plan schema; the message lists every mistake as file:line:column: what was expected.</summary>
    public sealed class RecoveryPlanException : DRException
    {
        public RecoveryPlanException(string source, IReadOnlyList<RecoveryPlanError> errors)
            : base("RecoveryPlanInvalid", FailureKind.InvalidArgument, source, Describe(errors))
        {
            Errors = errors;
        }

        public IReadOnlyList<RecoveryPlanError> Errors { get; }

        private static string Describe(IReadOnlyList<RecoveryPlanError> errors)
        {
            if (errors.Count == 0) throw new ArgumentException("A plan error needs at least one mistake.", nameof(errors));
            return string.Join(Environment.NewLine, errors.Select(e => e.ToString()));
        }
    }
}
