using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Jobs;
using AzureSiteRecovery.DR.Core.Orchestration.Plans;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks;

namespace AzureSiteRecovery.DR.Core.Orchestration.Recovery
{
    /// <summary>
    /// Builds the jobs of recovery operations from a plan: a test failover (groups in order: pre
    /// actions, the group's VMs recovered together, their validations, post actions), a drill
    /// (the same, with the test VMs always deleted at the end) and the clean-up of a test failover.
    /// The same plan and parameters always give the same steps, so any process can resume a job.
    /// </summary>
    public sealed partial class RecoveryJobs
    {
        private const string PrepareStep = "Check the plan and choose recovery points";
        private const string PointDetailPrefix = "point.";
        private readonly RecoveryServices services;

        public RecoveryJobs(RecoveryServices services) => this.services = services ?? throw new ArgumentNullException(nameof(services));

        /// <summary>The job catalog of this module version: every recovery operation it can run and resume.</summary>
        public JobCatalog Catalog()
        {
            var catalog = new JobCatalog();
            foreach (var operation in new[]
            {
                JobOperation.TestFailover, JobOperation.Drill, JobOperation.StopTestFailover, JobOperation.Failover,
                JobOperation.CompleteFailover, JobOperation.UndoFailover, JobOperation.Reprotect, JobOperation.Failback,
            })
            {
                catalog.Register(operation, (DRJob job, CancellationToken ct) => BuildAsync(job.Operation, job, RecoveryRequest.FromJob(job), ct));
            }
            return catalog;
        }

        /// <summary>The definition of a new job; fails before anything is recorded when the plan is not ready (its pre-flight errors are listed).</summary>
        public Task<JobDefinition> DefineAsync(JobOperation operation, RecoveryRequest request, CancellationToken cancellationToken) =>
            BuildAsync(operation, null, request, cancellationToken);

        // job: the job being resumed (built from its own copy of the plan); null for a new job, whose plan is read from the vault and checked before anything is recorded.
        private async Task<JobDefinition> BuildAsync(JobOperation operation, DRJob? job, RecoveryRequest request, CancellationToken cancellationToken)
        {
            var jobId = job?.JobId;
            switch (operation)
            {
                case JobOperation.TestFailover:
                case JobOperation.Drill:
                    var plan = await LoadPlanAsync(request, job, cancellationToken).ConfigureAwait(false);
                    // A new job runs the whole pre-flight (the recovery site too); a resumed one only needs the plan's VMs.
                    var checkResult = await new RecoveryPreflight(services.Vault).CheckAsync(plan, PreflightPurpose.Test, request.Points, request.Datastore,
                        checkSite: jobId is null, cancellationToken).ConfigureAwait(false);
                    if (jobId is null)
                    {
                        if (!checkResult.Passed) throw NotReady(plan, checkResult);
                        await request.Points.RequireKnownAsync(services.Vault, checkResult.Vms.Select(v => v.Vm).ToList(), cancellationToken).ConfigureAwait(false);
                    }
                    return WithPlan(TestFailover(operation, plan, checkResult.Vms, request), plan, request);
                case JobOperation.StopTestFailover:
                    if (jobId is null && request.TestJobId != null)
                    {
                        // An unknown id is the user's mistake, reported before a job is recorded for it.
                        RecoverySiteOf(await services.Vault.FindJobAsync(request.TestJobId, cancellationToken).ConfigureAwait(false)
                            ?? throw new ObjectNotFoundException("DRJob", request.TestJobId, "List the test failovers with Get-DRJob."));
                    }
                    return StopTestFailover(request);
                case JobOperation.Failover:
                case JobOperation.CompleteFailover:
                case JobOperation.UndoFailover:
                case JobOperation.Reprotect:
                case JobOperation.Failback:
                    var recoveryPlan = await LoadPlanAsync(request, job, cancellationToken).ConfigureAwait(false);
                    var resolved = await new RecoveryPreflight(services.Vault).CheckAsync(recoveryPlan, PreflightPurpose.Failover,
                        request.Planned ? RecoveryPointChoice.Latest : request.Points, request.Datastore,
                        checkSite: jobId is null && operation == JobOperation.Failover, cancellationToken).ConfigureAwait(false);
                    if (jobId is null)
                    {
                        RefuseUnlessReady(operation, recoveryPlan, resolved);
                        if (operation == JobOperation.Failover && !request.Planned)
                        {
                            await request.Points.RequireKnownAsync(services.Vault, resolved.Vms.Select(v => v.Vm).ToList(), cancellationToken).ConfigureAwait(false);
                        }
                    }
                    return WithPlan(Failover(operation, recoveryPlan, resolved.Vms, request), recoveryPlan, request);
                default:
                    throw new JobException("JobOperationUnavailable", FailureKind.Unavailable, jobId ?? operation.ToString(),
                        $"{operation} is not a recovery operation this version of AzureSiteRecovery.DR can run.");
            }
        }

        private const string PlanFolderKey = "planFolder";

        /// <summary>The definition with the plan it was built from, so the job keeps its own copy (a plan made of piped-in VMs has no YAML to keep).</summary>
        private static JobDefinition WithPlan(JobDefinition definition, RecoveryPlan plan, RecoveryRequest request)
        {
            if (request.Plan is null || string.IsNullOrEmpty(plan.Yaml))
            {
                return definition;
            }
            var parameters = definition.Parameters.ToDictionary(p => p.Key, p => p.Value);
            if (plan.SourceFolder != null) parameters[PlanFolderKey] = plan.SourceFolder;
            return new JobDefinition(definition.Operation, definition.Target, definition.Steps, definition.Finally, parameters)
            {
                Resources = definition.Resources,
                PlanYaml = plan.Yaml,
                PlanHash = RecoveryPlanSource.HashOf(plan.Yaml),
            };
        }

        private async Task<RecoveryPlan> LoadPlanAsync(RecoveryRequest request, DRJob? job, CancellationToken cancellationToken)
        {
            if (job?.PlanYaml != null)
            {
                // A job runs to its end with the plan it started with, whatever the vault holds now.
                if (job.PlanHash != null && !string.Equals(RecoveryPlanSource.HashOf(job.PlanYaml), job.PlanHash, StringComparison.OrdinalIgnoreCase))
                {
                    throw new JobException("JobPlanDamaged", FailureKind.InvalidData, job.JobId,
                        $"The copy of recovery plan '{job.Target}' that job {job.JobId} keeps no longer matches its hash {job.PlanHash}: the job will not run again " +
                        $"(and no longer holds plan '{job.Target}' for Import-RecoveryPlan -Force or Remove-RecoveryPlan). " +
                        $"Delete what a test failover or drill created with Stop-TestFailover -JobId {job.JobId}, and start the operation again.");
                }
                return RecoveryPlanParser.Parse(job.PlanYaml, job.Target) with
                {
                    Name = job.Target,
                    SourceFolder = job.Parameters.TryGetValue(PlanFolderKey, out var folder) ? folder : null,
                };
            }

            if (request.Plan != null)
            {
                return await new RecoveryPlanCatalog(services.Vault).FindAsync(request.Plan, cancellationToken).ConfigureAwait(false)
                    ?? throw new ObjectNotFoundException("RecoveryPlan", request.Plan, "Import it with Import-RecoveryPlan.");
            }

            // VMs without a plan: one group, every NIC on the one network asked for.
            var vms = new List<ProtectedVm>();
            foreach (var id in request.VmIds)
            {
                vms.Add(await services.Vault.FindProtectedVmAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("ProtectedVm", id));
            }
            if (vms.Count == 0)
            {
                throw new RecoveryException("NothingToRecover", FailureKind.InvalidArgument, null, "Name a recovery plan (-RecoveryPlan) or pipe protected VMs in.");
            }
            var sites = vms.Select(v => v.Site).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            var groups = vms.Select(v => v.ProtectionGroup).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            var recoverySites = new List<string>();
            foreach (var name in groups)
            {
                var group = await services.Vault.FindGroupAsync(name, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException("ProtectionGroup", name);
                recoverySites.Add(group.RecoverySite);
            }
            if (sites.Count > 1 || recoverySites.Distinct(StringComparer.OrdinalIgnoreCase).Count() > 1)
            {
                throw new RecoveryException("VmsOnSeveralSites", FailureKind.InvalidArgument, null,
                    $"The VMs come from sites {string.Join(", ", sites)} and recover to {string.Join(", ", recoverySites.Distinct(StringComparer.OrdinalIgnoreCase))}; recover one site pair at a time.");
            }
            var network = request.Network ?? throw new RecoveryException("NetworkRequired", FailureKind.InvalidArgument, null,
                "Name the recovery site network the VMs are connected to (-Network), or use a recovery plan with network mappings.");
            return new RecoveryPlan
            {
                Name = string.Join(", ", vms.Select(v => v.Name)),
                ProtectedSite = sites[0],
                RecoverySite = recoverySites[0],
                Groups = new[] { new RecoveryPlanGroup { Name = "VMs", Vms = vms.Select(v => new RecoveryPlanVm { Name = v.Name }).ToList() } },
                NetworkMappings = vms.SelectMany(v => v.Networks).Distinct(StringComparer.Ordinal)
                    .Select(n => new NetworkMapping { SourceNetwork = n, RecoveryNetwork = "", TestNetwork = network }).ToList(),
            };
        }

        private static RecoveryException NotReady(RecoveryPlan plan, RecoveryPlanTestResult result) =>
            new RecoveryException("RecoveryPlanNotReady", FailureKind.InvalidArgument, plan.Name,
                $"Recovery plan '{plan.Name}' failed its pre-flight check (Test-RecoveryPlan {plan.Name}): " +
                string.Join(" ", result.Findings.Where(f => f.Severity == FindingSeverity.Error).Select(f => f.Message)));

        // ---- test failover and drill ----

        private JobDefinition TestFailover(JobOperation operation, RecoveryPlan plan, IReadOnlyList<PlannedVm> vms, RecoveryRequest request)
        {
            var run = new RecoveryRun(services, request.Datastore);
            var steps = new List<JobStepDefinition>
            {
                new JobStepDefinition(PrepareStep, (context, ct) => ChoosePointsAsync(plan, vms, request, ct)),
            };
            steps.AddRange(GroupSteps(run, plan, vms, RecoveryTags.TestKind));

            var cleanup = operation == JobOperation.Drill
                ? new[] { new JobStepDefinition("Delete the test VMs", (context, ct) => DeleteTestVmsAsync(run, plan.RecoverySite, context.Job, ct)) }
                : Array.Empty<JobStepDefinition>();

            var parameters = request.ToParameters().ToDictionary(p => p.Key, p => p.Value);
            parameters["recoverySite"] = plan.RecoverySite;
            parameters["protectedSite"] = plan.ProtectedSite;
            return new JobDefinition(operation, plan.Name, steps, cleanup, parameters) { Resources = run };
        }

        /// <summary>The groups of a plan in order: pre-actions, the VMs recovered together (<paramref name="kind"/> picks test or production networks), their validations, post-actions.</summary>
        private IEnumerable<JobStepDefinition> GroupSteps(RecoveryRun run, RecoveryPlan plan, IReadOnlyList<PlannedVm> vms, string kind)
        {
            var steps = new List<JobStepDefinition>();
            foreach (var group in plan.Groups)
            {
                var members = vms.Where(v => v.Group.Name == group.Name).ToList();
                steps.AddRange(group.PreActions.Select((action, i) => ActionStep(plan, group, $"{group.Name}: pre-action {i + 1}: {action}", action)));
                steps.AddRange(members.Select(member => new JobStepDefinition($"Recover {member.Vm.Name}",
                    (context, ct) => RecoverAsync(run, plan, member, context, kind, ct), group.Name, member.Vm.Name)
                {
                    Batch = "recover " + group.Name,
                }));
                steps.AddRange(members.SelectMany(member => member.Settings.Validations.Select(validation => new JobStepDefinition(
                    $"Validate {member.Vm.Name}: {validation}", (context, ct) => ValidateAsync(plan, member, validation, context, ct), group.Name, member.Vm.Name)
                {
                    Batch = "validate " + group.Name,
                })));
                steps.AddRange(group.PostActions.Select((action, i) => ActionStep(plan, group, $"{group.Name}: post-action {i + 1}: {action}", action)));
            }
            return steps;
        }

        private async Task<StepOutcome> ChoosePointsAsync(RecoveryPlan plan, IReadOnlyList<PlannedVm> vms, RecoveryRequest request, CancellationToken cancellationToken,
            bool failover = false)
        {
            var check = await new RecoveryPlanValidator(services.Vault).ValidateAsync(plan, cancellationToken).ConfigureAwait(false);
            if (!check.Passed)
            {
                throw NotReady(plan, check);
            }

            // Checked again here: a resumed job, or a point expired since the job was recorded.
            await request.Points.RequireKnownAsync(services.Vault, vms.Select(v => v.Vm).ToList(), cancellationToken).ConfigureAwait(false);
            var details = new StepDetails { [JobStepDetail.Kind] = JobStepKind.Prepare, [JobStepDetail.PlanRtoTarget] = TargetText(plan.RtoTarget) };
            foreach (var planned in vms)
            {
                var vm = await services.Vault.FindProtectedVmAsync(planned.Vm.VmId, cancellationToken).ConfigureAwait(false) ?? planned.Vm;
                var point = await request.Points.SelectAsync(services.Vault, vm, cancellationToken).ConfigureAwait(false);
                details[PointDetailPrefix + vm.VmId] = point.RecoveryPointId;
            }

            if (failover)
            {
                // From here on the VMs belong to the recovery site: replication of the sources pauses.
                foreach (var planned in vms)
                {
                    await services.Vault.UpdateProtectedVmAsync(planned.Vm.VmId, v => v with
                    {
                        State = ProtectionState.FailedOver,
                        RecoveredSite = plan.RecoverySite,
                        // Retention keeps it until failback ends: the original disks' state before the failover.
                        PreFailoverPointId = v.PreFailoverPointId ?? v.LastRecoveryPointId,
                    },
                        CancellationToken.None).ConfigureAwait(false);
                }
            }
            return StepOutcome.Done($"{vms.Count} VM(s) in {plan.Groups.Count} group(s), {request.Points}.", details);
        }

        private static string? TargetText(TimeSpan? target) => target?.ToString("c", CultureInfo.InvariantCulture);

        private async Task<StepOutcome> RecoverAsync(RecoveryRun run, RecoveryPlan plan, PlannedVm member, JobStepContext context, string kind, CancellationToken cancellationToken)
        {
            var prepared = context.Job.Steps.First(s => s.Name == PrepareStep).Details;
            var pointId = prepared.TryGetValue(PointDetailPrefix + member.Vm.VmId, out var id) ? id
                : throw new RecoveryException("NoRecoveryPoint", FailureKind.InvalidData, member.Vm.Name, $"Job {context.JobId} chose no recovery point for VM '{member.Vm.Name}'.");
            var point = await services.Vault.FindRecoveryPointAsync(pointId, cancellationToken).ConfigureAwait(false)
                ?? throw new RecoveryException("RecoveryPointGone", FailureKind.NotFound, member.Vm.Name,
                    $"Recovery point {pointId} of VM '{member.Vm.Name}', chosen when job {context.JobId} started, has been deleted since (retention); start a new job.");
            var vm = await services.Vault.FindProtectedVmAsync(member.Vm.VmId, cancellationToken).ConfigureAwait(false) ?? member.Vm;

            var networks = vm.Networks.Select(n =>
            {
                var mapping = plan.NetworkMappings.FirstOrDefault(m => string.Equals(m.SourceNetwork, n, StringComparison.Ordinal))
                    ?? throw new RecoveryException("NetworkNotMapped", FailureKind.InvalidArgument, n,
                        $"VM '{vm.Name}' uses network '{n}', which recovery plan '{plan.Name}' does not map; add it to networkMappings.");
                return kind == RecoveryTags.TestKind ? mapping.TestNetwork : mapping.RecoveryNetwork;
            }).ToList();

            var started = context.Step.Started ?? DateTimeOffset.UtcNow;
            var site = await run.RecoverySiteAsync(plan.RecoverySite, cancellationToken).ConfigureAwait(false);
            var details = await site.RecoverVmAsync(new VmRecoveryRequest
            {
                JobId = context.JobId,
                Vm = vm,
                Point = point,
                RecoverySite = plan.RecoverySite,
                Name = kind == RecoveryTags.TestKind ? $"{vm.Name}-drtest-{context.JobId.Substring(0, Math.Min(6, context.JobId.Length))}" : vm.Name,
                Networks = networks,
                Firmware = vm.Firmware,
                VmSize = member.Settings.Azure?.VmSize,
                Kind = kind,
                PowerOnAt = started + member.Settings.BootDelay,
                WaitFor = member.Settings.WaitFor,
                StartTimeout = member.Settings.StartTimeout,
                IsRetry = context.IsRetry,
                EarlierJournal = RecoveryJournal.Read(context.Step.Details),
                Journal = id => RecoveryJournal.AppendAsync(services.Vault, context.JobId, context.Step.Index, id),
            }, cancellationToken).ConfigureAwait(false);
            if (kind == RecoveryTags.FailoverKind)
            {
                var moRef = details[JobStepDetail.RecoveredMoRef];
                await services.Vault.UpdateProtectedVmAsync(vm.VmId, v => v with { RecoveredSite = plan.RecoverySite, RecoveredMoRef = moRef }, CancellationToken.None).ConfigureAwait(false);
            }
            details[JobStepDetail.RtoTarget] = TargetText(member.Group.RtoTarget ?? plan.RtoTarget);
            var what = kind == RecoveryTags.TestKind ? "test VM" : "VM";
            var ip = details[JobStepDetail.IpAddress];
            return StepOutcome.Done($"Up as {what} {details[JobStepDetail.RecoveredName]} from the point of {point.Time:u}" + (ip is null ? "." : $", IP {ip}."), details);
        }

        private async Task<StepOutcome> ValidateAsync(RecoveryPlan plan, PlannedVm member, VmValidation validation, JobStepContext context, CancellationToken cancellationToken)
        {
            var recovered = context.Job.Steps.FirstOrDefault(s => s.Vm == member.Vm.Name && s.Details.TryGetValue(JobStepDetail.Kind, out var k) && k == JobStepKind.RecoverVm);
            string? ip = null;
            recovered?.Details.TryGetValue(JobStepDetail.IpAddress, out ip);
            var result = await new ValidationRunner(services.Scripts).RunAsync(validation,
                new ValidationTarget(member.Vm.Name, ip, plan.SourceFolder, plan.Name), cancellationToken).ConfigureAwait(false);
            var details = new StepDetails { [JobStepDetail.Kind] = JobStepKind.Validate, [JobStepDetail.Validation] = validation.ToString() };
            if (!result.Passed)
            {
                throw new RecoveryException("ValidationFailed", FailureKind.InvalidData, member.Vm.Name, result.Message);
            }
            return StepOutcome.Done(result.Message, details);
        }

        private JobStepDefinition ActionStep(RecoveryPlan plan, RecoveryPlanGroup group, string name, PlanAction action) =>
            new JobStepDefinition(name, async (context, ct) =>
            {
                var details = new StepDetails { [JobStepDetail.Kind] = JobStepKind.Action };
                switch (action)
                {
                    case ManualAction manual:
                        return StepOutcome.WaitForUser(manual.Message + $" Then continue with: Resume-DRJob {context.JobId}");
                    default:
                        var message = await new PlanActionRunner(services.Scripts).RunAsync(action,
                            new PlanActionContext(plan.Name, plan.SourceFolder, group.Name, context.JobId), ct).ConfigureAwait(false);
                        return StepOutcome.Done(message, details);
                }
            }, group.Name);

        private static async Task<StepOutcome> DeleteTestVmsAsync(RecoveryRun run, string site, DRJob job, CancellationToken cancellationToken)
        {
            var recoverySite = await run.RecoverySiteAsync(site, cancellationToken).ConfigureAwait(false);
            var deleted = await recoverySite.DeleteJobAsync(job, cancellationToken).ConfigureAwait(false);
            return StepOutcome.Done(deleted.Count == 0 ? "Nothing to delete." : $"Deleted {deleted.Count} VM(s): {string.Join(", ", deleted)}.",
                new StepDetails { [JobStepDetail.Kind] = JobStepKind.Cleanup });
        }

        // ---- Stop-TestFailover ----

        private JobDefinition StopTestFailover(RecoveryRequest request)
        {
            var testJobId = request.TestJobId ?? throw new RecoveryException("TestJobRequired", FailureKind.InvalidArgument, null, "Name the test failover job to stop (-JobId).");
            var run = new RecoveryRun(services, null);
            var steps = new[]
            {
                new JobStepDefinition($"Delete the VMs of test failover {testJobId}", async (context, ct) =>
                {
                    var test = await services.Vault.FindJobAsync(testJobId, ct).ConfigureAwait(false) ?? throw new ObjectNotFoundException("DRJob", testJobId);
                    var site = await run.RecoverySiteAsync(RecoverySiteOf(test), ct).ConfigureAwait(false);
                    var deleted = await site.DeleteJobAsync(test, ct).ConfigureAwait(false);
                    return StepOutcome.Done((deleted.Count == 0 ? "Nothing left to delete." : $"Deleted {deleted.Count} VM(s): {string.Join(", ", deleted)}.") +
                        (request.Notes is null ? "" : $" Notes: {request.Notes}"), new StepDetails { [JobStepDetail.Kind] = JobStepKind.Cleanup });
                }),
                new JobStepDefinition("Delete what crashed test failovers left behind", async (context, ct) =>
                {
                    var test = await services.Vault.FindJobAsync(testJobId, ct).ConfigureAwait(false) ?? throw new ObjectNotFoundException("DRJob", testJobId);
                    var site = await run.RecoverySiteAsync(RecoverySiteOf(test), ct).ConfigureAwait(false);
                    var swept = await site.SweepTestsAsync(IsOrphanAsync, ct).ConfigureAwait(false);
                    return StepOutcome.Done(swept.Count == 0 ? "Nothing left behind." : $"Deleted {swept.Count} VM(s) of test failovers whose process is gone: {string.Join(", ", swept)}.",
                        new StepDetails { [JobStepDetail.Kind] = JobStepKind.Cleanup });
                }),
            };
            return new JobDefinition(JobOperation.StopTestFailover, testJobId, steps, null, request.ToParameters()) { Resources = run };
        }

        private static string RecoverySiteOf(DRJob test)
        {
            if (test.Operation != JobOperation.TestFailover && test.Operation != JobOperation.Drill)
            {
                throw new RecoveryException("NotATestFailover", FailureKind.InvalidArgument, test.JobId,
                    $"Job {test.JobId} is a {test.Operation} of '{test.Target}', not a test failover; Stop-TestFailover cleans up test failovers and drills only.");
            }
            return test.Parameters.TryGetValue("recoverySite", out var site) ? site
                : throw new RecoveryException("RecoverySiteUnknown", FailureKind.InvalidData, test.JobId, $"Job {test.JobId} does not record its recovery site.");
        }

        /// <summary>
        /// Whether test VMs of job <paramref name="jobId"/> are left for nobody to clean up (the sweep deletes them): the job is not in the vault, its process died
        /// (Interrupted), or it was a drill that ended (a drill cleans up after itself). A failed or
        /// stopped test failover keeps its VMs for inspection until Stop-TestFailover is run for it.
        /// </summary>
        private async Task<bool> IsOrphanAsync(string jobId, CancellationToken cancellationToken)
        {
            var job = await services.Vault.FindJobAsync(jobId, cancellationToken).ConfigureAwait(false);
            var observed = job is null ? null : JobRunner.Observe(job);
            return observed is null
                || observed.State == JobState.Interrupted
                || (observed.Operation == JobOperation.Drill && DRJob.IsEnded(observed.State));
        }
    }
}
