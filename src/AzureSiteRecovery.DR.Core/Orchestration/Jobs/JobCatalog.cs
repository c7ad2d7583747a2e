using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Orchestration.Jobs
{
    /// <summary>
    /// Builds a job's definition from its operation and target, so a job can be resumed by a process
    /// other than the one that started it (the steps' actions are code, not data in the vault).
    /// One catalog per runner; nothing here is shared between runspaces.
    /// </summary>
    public sealed class JobCatalog
    {
        private readonly Dictionary<JobOperation, Func<DRJob, CancellationToken, Task<JobDefinition>>> builders =
            new Dictionary<JobOperation, Func<DRJob, CancellationToken, Task<JobDefinition>>>();

        /// <summary>Makes <paramref name="operation"/> runnable: <paramref name="build"/> gets the stored job (target and parameters) and returns the same steps every time.</summary>
        public JobCatalog Register(JobOperation operation, Func<DRJob, CancellationToken, Task<JobDefinition>> build)
        {
            builders[operation] = build ?? throw new ArgumentNullException(nameof(build));
            return this;
        }

        public bool CanBuild(JobOperation operation) => builders.ContainsKey(operation);

        /// <summary>The definition of <paramref name="job"/>'s operation for its target; fails with JobOperationUnavailable when none is registered.</summary>
        public Task<JobDefinition> BuildAsync(DRJob job, CancellationToken cancellationToken)
        {
            if (!builders.TryGetValue(job.Operation, out var build))
            {
                throw new JobException("JobOperationUnavailable", FailureKind.Unavailable, job.JobId,
                    $"Job '{job.JobId}' is a {job.Operation} of '{job.Target}', which this version of AzureSiteRecovery.DR cannot run. " +
                    "Resume it with the module version that started it.");
            }

            return build(job, cancellationToken);
        }
    }
}
