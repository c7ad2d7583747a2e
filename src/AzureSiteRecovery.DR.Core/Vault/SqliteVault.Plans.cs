using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using Microsoft.Data.Sqlite;

namespace AzureSiteRecovery.DR.Core.Vault
{
    /// <summary>The recovery plan half of the vault: each plan's YAML source, as imported.</summary>
    public sealed partial class SqliteVault
    {
        private const string PlanColumns = "r.name, r.protected_site, r.recovery_site, r.yaml, r.created_unix_ms, r.modified_unix_ms, r.source_folder";

        public Task<RecoveryPlanSource> AddRecoveryPlanAsync(RecoveryPlanSource plan, bool replace, CancellationToken cancellationToken)
        {
            if (plan is null) throw new ArgumentNullException(nameof(plan));
            NameRules.Validate("RecoveryPlan", plan.Name);
            return WriteAsync(transaction =>
            {
                var existing = FindRecoveryPlan(transaction, plan.Name);
                if (existing is not null && !replace)
                {
                    throw new ObjectAlreadyExistsException("RecoveryPlan", existing.Name, "Use -Force to replace it, or give the plan another name.");
                }
                if (existing is not null)
                {
                    RefuseIfPlanInUse(transaction, existing.Name, "replaced");
                }

                var now = Now();
                var stored = plan with { Name = existing?.Name ?? plan.Name, Created = existing?.Created ?? now, Modified = now };
                Execute(transaction,
                    @"INSERT INTO recovery_plans (name, yaml, protected_site, recovery_site, source_folder, created_unix_ms, modified_unix_ms)
                      VALUES ($name, $yaml, $protectedSite, $recoverySite, $sourceFolder, $created, $modified)
                      ON CONFLICT (name) DO UPDATE SET
                          yaml = excluded.yaml, protected_site = excluded.protected_site, recovery_site = excluded.recovery_site,
                          source_folder = excluded.source_folder, modified_unix_ms = excluded.modified_unix_ms;",
                    ("$name", stored.Name), ("$yaml", stored.Yaml), ("$protectedSite", stored.ProtectedSite), ("$recoverySite", stored.RecoverySite),
                    ("$sourceFolder", stored.SourceFolder), ("$created", ToUnixMs(stored.Created)), ("$modified", ToUnixMs(stored.Modified)));
                return stored;
            }, cancellationToken);
        }

        public Task<RecoveryPlanSource?> FindRecoveryPlanAsync(string name, CancellationToken cancellationToken) =>
            ReadAsync(() => FindRecoveryPlan(null, name), cancellationToken);

        public Task<IReadOnlyList<RecoveryPlanSource>> ListRecoveryPlansAsync(CancellationToken cancellationToken) =>
            ReadAsync<IReadOnlyList<RecoveryPlanSource>>(() => ReadAll(null, $"SELECT {PlanColumns} FROM recovery_plans r ORDER BY r.name;", ReadRecoveryPlan),
                cancellationToken);

        public Task RemoveRecoveryPlanAsync(string name, CancellationToken cancellationToken) =>
            WriteAsync(transaction =>
            {
                var plan = FindRecoveryPlan(transaction, name) ?? throw new ObjectNotFoundException("RecoveryPlan", name);
                RefuseIfPlanInUse(transaction, plan.Name, "removed");
                Execute(transaction, "DELETE FROM recovery_plans WHERE name = $name;", ("$name", plan.Name));
                return true;
            }, cancellationToken);

        /// <summary>
        /// A plan with a job that has not ended (not started, running, interrupted, waiting for the
        /// user) stays as it is: the job keeps its own copy, but the user would lose track of what runs.
        /// </summary>
        private void RefuseIfPlanInUse(SqliteTransaction transaction, string name, string change)
        {
            var jobs = ReadAll(transaction,
                $@"SELECT {JobColumns} FROM jobs j
                   WHERE j.target = $name COLLATE NOCASE AND j.operation <> $stopTest AND j.state IN ($notStarted, $running, $waiting)
                   ORDER BY j.created_unix_ms;",
                ReadJob, ("$name", name), ("$stopTest", JobOperation.StopTestFailover.ToString()),
                ("$notStarted", JobState.NotStarted.ToString()), ("$running", JobState.Running.ToString()), ("$waiting", JobState.WaitingForUser.ToString()));
            VaultRules.RefuseIfPlanInUse(name, change, jobs);
        }

        private RecoveryPlanSource? FindRecoveryPlan(SqliteTransaction? transaction, string name) =>
            ReadAll(transaction, $"SELECT {PlanColumns} FROM recovery_plans r WHERE r.name = $name;", ReadRecoveryPlan, ("$name", name)).FirstOrDefault();

        private static RecoveryPlanSource ReadRecoveryPlan(SqliteDataReader reader) => new RecoveryPlanSource
        {
            Name = reader.GetString(0),
            ProtectedSite = reader.GetString(1),
            RecoverySite = reader.GetString(2),
            Yaml = reader.GetString(3),
            Created = FromUnixMs(reader.GetInt64(4)),
            Modified = FromUnixMs(reader.GetInt64(5)),
            SourceFolder = NullableString(reader, 6),
        };
    }
}
