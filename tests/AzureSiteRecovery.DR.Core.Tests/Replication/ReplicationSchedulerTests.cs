using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Replication;
using AzureSiteRecovery.DR.Core.Replication.Scheduling;
using AzureSiteRecovery.DR.Core.Storage;
using AzureSiteRecovery.DR.Core.Vault;
using Xunit;
using static AzureSiteRecovery.DR.Core.Tests.Replication.ReplicationBed;

namespace AzureSiteRecovery.DR.Core.Tests.Replication
{
    /// <summary>The scheduler's choice of the next VMs (no lab).</summary>
    public sealed class ReplicationScheduleTests
    {
        private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_000);
        private static readonly TimeSpan Five = TimeSpan.FromMinutes(5);

        [Fact]
        public void The_due_vms_come_most_overdue_first_and_the_others_not_at_all()
        {
            var never = Vm("never", null);
            var late10 = Vm("late10", Now.AddMinutes(-15));
            var late1 = Vm("late1", Now.AddMinutes(-6));
            var lateTieB = Vm("b-tie", Now.AddMinutes(-8));
            var lateTieA = Vm("a-tie", Now.AddMinutes(-8));
            var fresh = Vm("fresh", Now.AddMinutes(-2));
            var exactlyDue = Vm("exact", Now.AddMinutes(-5));
            var failedOver = Vm("away", null) with { State = ProtectionState.FailedOver };
            var slowPolicy = Vm("slow", Now.AddMinutes(-15));
            var vms = new[] { fresh, late1, never, lateTieB, late10, failedOver, exactlyDue, lateTieA }.Select(v => new ScheduledVm(v, Five))
                .Append(new ScheduledVm(slowPolicy, TimeSpan.FromMinutes(30)));

            var due = ReplicationSchedule.ChooseDue(vms, Now);

            Assert.Equal(new[] { "never", "late10", "a-tie", "b-tie", "late1", "exact" }, due.Select(v => v.Name));
        }

        [Fact]
        public void A_vm_held_back_waits_until_its_time_and_then_takes_its_place_again()
        {
            var a = Vm("a", Now.AddMinutes(-20));
            var b = Vm("b", Now.AddMinutes(-10));
            var vms = new[] { new ScheduledVm(a, Five), new ScheduledVm(b, Five) };
            DateTimeOffset? Held(string id) => id == a.VmId ? Now.AddSeconds(30) : (DateTimeOffset?)null;

            Assert.Equal(new[] { "b" }, ReplicationSchedule.ChooseDue(vms, Now, Held).Select(v => v.Name));
            Assert.Equal(new[] { "a", "b" }, ReplicationSchedule.ChooseDue(vms, Now.AddSeconds(30), Held).Select(v => v.Name));
        }

        [Fact]
        public void Workers_take_vms_equally_overdue_in_orders_of_their_own_but_the_much_more_overdue_first()
        {
            var never = Vm("never", null);
            var late = Vm("late", Now.AddMinutes(-15));
            var herd = Enumerable.Range(0, 12).Select(i => Vm($"herd{i:00}", Now.AddMinutes(-6).AddMilliseconds(i * 100))).ToList();
            var vms = herd.Append(late).Append(never).Select(v => new ScheduledVm(v, Five)).ToList();

            var first = ReplicationSchedule.ChooseDue(vms, Now, null, "host-a/1/aaaa").Select(v => v.Name).ToList();
            var second = ReplicationSchedule.ChooseDue(vms, Now, null, "host-b/2/bbbb").Select(v => v.Name).ToList();

            Assert.Equal(new[] { "never", "late" }, first.Take(2));
            Assert.Equal(new[] { "never", "late" }, second.Take(2));
            Assert.Equal(herd.Select(v => v.Name).OrderBy(n => n), first.Skip(2).OrderBy(n => n));
            Assert.NotEqual(first.Skip(2).Take(3), second.Skip(2).Take(3));
            Assert.Equal(first, ReplicationSchedule.ChooseDue(vms, Now, null, "host-a/1/aaaa").Select(v => v.Name));
        }

        [Fact]
        public void The_next_due_time_is_the_earliest_a_vm_not_due_yet_falls_due_or_is_let_go()
        {
            var fresh = Vm("fresh", Now.AddMinutes(-2));       // due in 3 minutes
            var sooner = Vm("sooner", Now.AddMinutes(-4));     // due in 1 minute, but held for 2
            var overdue = Vm("overdue", Now.AddMinutes(-9));   // due already: not a next one
            var away = Vm("away", Now.AddMinutes(-4)) with { State = ProtectionState.FailedOver };
            var vms = new[] { fresh, sooner, overdue, away }.Select(v => new ScheduledVm(v, Five)).ToList();
            DateTimeOffset? Held(string id) => id == sooner.VmId ? Now.AddMinutes(2) : (DateTimeOffset?)null;

            Assert.Equal(Now.AddMinutes(1), ReplicationSchedule.NextDue(vms, Now));
            Assert.Equal(Now.AddMinutes(2), ReplicationSchedule.NextDue(vms, Now, Held));
            Assert.Null(ReplicationSchedule.NextDue(vms.Where(s => s.Vm.Name == "overdue" || s.Vm.Name == "away"), Now));
        }

        [Fact]
        public void Failures_in_a_row_double_the_wait_up_to_the_maximum()
        {
            var max = TimeSpan.FromMinutes(30);
            Assert.Equal(new[] { 5.0, 10, 20, 30, 30 }, Enumerable.Range(1, 5).Select(n => ReplicationSchedule.BackOff(Five, n, max).TotalMinutes));
            Assert.Equal(max, ReplicationSchedule.BackOff(Five, 500, max));
        }

        [Fact]
        public void The_vm_closest_to_breaching_its_rpo_goes_first_not_the_most_overdue()
        {
            // relaxed: due 4 min ago, breaches in 6 min; tight: due 10 s ago, breaches in 20 s; breached: over its threshold already.
            var relaxed = Vm("relaxed", Now.AddMinutes(-9)) with { RpoThreshold = TimeSpan.FromMinutes(15) };
            var tight = Vm("tight", Now.AddSeconds(-20)) with { RpoThreshold = TimeSpan.FromSeconds(40) };
            var breached = Vm("breached", Now.AddSeconds(-50)) with { RpoThreshold = TimeSpan.FromSeconds(40) };
            var never = Vm("never", null);
            // A failed cycle moves the cycle time on, not the point: it is its point that breaches.
            var failing = Vm("failing", Now.AddSeconds(-12)) with { LastRecoveryPointTime = Now.AddMinutes(-2), RpoThreshold = TimeSpan.FromMinutes(2) };
            var vms = new[]
            {
                new ScheduledVm(relaxed, Five), new ScheduledVm(tight, TimeSpan.FromSeconds(10)), new ScheduledVm(breached, TimeSpan.FromSeconds(10)),
                new ScheduledVm(never, TimeSpan.FromSeconds(10)), new ScheduledVm(failing, TimeSpan.FromSeconds(10)),
            };

            Assert.Equal(Now.AddSeconds(20), vms[1].BreachAt);
            Assert.Equal(DateTimeOffset.MinValue, vms[3].BreachAt);
            Assert.Equal(new[] { "never", "breached", "failing", "tight", "relaxed" }, ReplicationSchedule.ChooseDue(vms, Now).Select(v => v.Name));
            Assert.Equal(new[] { "never", "breached", "failing", "tight", "relaxed" }, ReplicationSchedule.ChooseDue(vms, Now, null, "host-a/1/aaaa").Select(v => v.Name));
        }

        [Fact]
        public void A_vm_whose_policy_is_gone_breaches_after_the_default_threshold()
        {
            var orphan = new ScheduledVm(Vm("orphan", Now.AddMinutes(-1)) with { RpoThreshold = TimeSpan.Zero }, Five);

            Assert.Equal(Now.AddMinutes(-1) + ReplicationPolicy.DefaultRpoThreshold, orphan.BreachAt);
        }

        // A VM whose last cycle made its newest point (as a cycle that worked does).
        private static ProtectedVm Vm(string name, DateTimeOffset? lastCycle) => new ProtectedVm
        {
            VmId = Guid.NewGuid().ToString("N"),
            Name = name,
            ProtectionGroup = "erp",
            State = lastCycle is null ? ProtectionState.InitialSync : ProtectionState.Protected,
            LastCycleTime = lastCycle,
            LastRecoveryPointTime = lastCycle,
            RpoThreshold = TimeSpan.FromMinutes(15),
        };
    }

    /// <summary>Short leases against SQLite: renewal only by their owner, takeover after expiry, and a commit refused once the lease was taken over.</summary>
    public sealed class ReplicationLeaseTests : VaultTest, IAsyncLifetime
    {
        public async Task InitializeAsync()
        {
            await vault.AddSiteAsync(Samples.VSphereSite("onprem", SiteRole.Protected), null, none);
            await vault.AddSiteAsync(Samples.AzureSite("azure-weu", SiteRole.Recovery), null, none);
            await vault.AddPolicyAsync(Samples.Policy("gold"), none);
            await vault.AddGroupAsync(Samples.Group("erp"), none);
        }

        public Task DisposeAsync() => Task.CompletedTask;

        [Fact]
        public async Task An_expired_lease_goes_to_another_owner_and_its_old_owner_can_neither_renew_it_nor_commit()
        {
            var vm = await vault.AddProtectedVmAsync(new ProtectedVm { VmId = "vm1", Name = "sql01", ProtectionGroup = "erp", Site = "onprem", MoRef = "vm-1", State = ProtectionState.InitialSync }, none);
            const string resource = "replication/vm1";
            var a = new LeaseClaim(resource, "host-a/100/aaaa");
            var b = new LeaseClaim(resource, "host-b/200/bbbb");

            Assert.True(await vault.TryAcquireLeaseAsync(resource, a.Owner, TimeSpan.FromMilliseconds(300), none));
            Assert.False(await vault.TryAcquireLeaseAsync(resource, b.Owner, TimeSpan.FromSeconds(30), none));
            // Renewed by its owner (also after it ran out, while nobody took it): still A's.
            await Task.Delay(400);
            Assert.True(await vault.RenewLeaseAsync(resource, a.Owner, TimeSpan.FromMilliseconds(300), none));
            Assert.False(await vault.TryAcquireLeaseAsync(resource, b.Owner, TimeSpan.FromSeconds(30), none));
            Assert.False(await vault.RenewLeaseAsync(resource, b.Owner, TimeSpan.FromSeconds(30), none));

            // Expired: B takes it; A's renewal and A's commit are refused, B's commit goes through.
            await Task.Delay(400);
            Assert.True(await vault.TryAcquireLeaseAsync(resource, b.Owner, TimeSpan.FromSeconds(30), none));
            Assert.False(await vault.RenewLeaseAsync(resource, a.Owner, TimeSpan.FromSeconds(30), none));
            var lost = await Assert.ThrowsAsync<ObjectInUseException>(() => vault.CommitRecoveryPointAsync(Point(vm, "p-a"), v => v with { LastRecoveryPointId = "p-a" }, a, none));
            Assert.Equal("VmReplicationLeaseLost", lost.ErrorId);
            Assert.Contains("'sql01'", lost.Message);
            Assert.Empty(await vault.ListRecoveryPointsAsync(vm.VmId, none));
            Assert.Null((await vault.FindProtectedVmAsync(vm.VmId, none))!.LastRecoveryPointId);

            await vault.CommitRecoveryPointAsync(Point(vm, "p-b"), v => v with { LastRecoveryPointId = "p-b" }, b, none);
            Assert.Equal("p-b", Assert.Single(await vault.ListRecoveryPointsAsync(vm.VmId, none)).RecoveryPointId);

            // Released: nobody holds it, and a commit claiming it is refused too.
            await vault.ReleaseLeaseAsync(resource, b.Owner, none);
            Assert.False(await vault.RenewLeaseAsync(resource, b.Owner, TimeSpan.FromSeconds(30), none));
            await Assert.ThrowsAsync<ObjectInUseException>(() => vault.CommitRecoveryPointAsync(Point(vm, "p-c"), v => v, b, none));
        }

        [Fact]
        public async Task Workers_are_recorded_with_their_heartbeat_and_show_as_lost_after_three_lease_durations()
        {
            var started = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).AddMinutes(-10);
            var worker = new ReplicationWorker
            {
                WorkerId = "host-a/100/abcd1234", Machine = "host-a", ProcessId = 100, Started = started, LastHeartbeat = started.AddMinutes(1),
                LeaseDuration = TimeSpan.FromMinutes(2), CurrentVms = new[] { "sql01", "web01" },
            };
            await vault.SaveWorkerAsync(worker, none);
            await vault.SaveWorkerAsync(worker with { LastHeartbeat = started.AddMinutes(5), CurrentVms = new[] { "web01" } }, none);
            await vault.SaveWorkerAsync(worker with { WorkerId = "host-b/7/ffff0000", Machine = "host-b", ProcessId = 7, Started = started.AddMinutes(1), Stopped = started.AddMinutes(2) }, none);

            var listed = await vault.ListWorkersAsync(none);
            Assert.Equal(new[] { "host-b/7/ffff0000", "host-a/100/abcd1234" }, listed.Select(w => w.WorkerId));
            var a = listed[1];
            Assert.Equal((started.AddMinutes(5).ToUnixTimeMilliseconds(), 100, TimeSpan.FromMinutes(2)), (a.LastHeartbeat.ToUnixTimeMilliseconds(), a.ProcessId, a.LeaseDuration));
            Assert.Equal(new[] { "web01" }, a.CurrentVms);
            Assert.Equal(WorkerStatus.Running, a.StatusAt(started.AddMinutes(11)));
            Assert.Equal(WorkerStatus.Lost, a.StatusAt(started.AddMinutes(11).AddSeconds(1)));
            Assert.Equal(WorkerStatus.Stopped, listed[0].StatusAt(started.AddDays(1)));

            // Forgotten once not seen since the cut-off: host-b (last seen at its start), not host-a (seen 4 minutes later).
            Assert.Equal(1, await vault.ForgetWorkersAsync(started.AddMinutes(2), none));
            Assert.Equal("host-a/100/abcd1234", Assert.Single(await vault.ListWorkersAsync(none)).WorkerId);
        }

        [Fact]
        public async Task A_worker_rides_out_a_vault_that_cannot_be_read_backing_off_and_reporting_each_failure()
        {
            // Not due for an hour: the worker only polls.
            await vault.AddProtectedVmAsync(new ProtectedVm { VmId = "vm1", Name = "sql01", ProtectionGroup = "erp", Site = "onprem", MoRef = "vm-1", State = ProtectionState.Protected, LastCycleTime = DateTimeOffset.UtcNow }, none);
            var lists = 0;
            var flaky = FaultyVault.Wrap(vault, method =>
                method == nameof(IVault.ListProtectedVmsAsync) && Interlocked.Increment(ref lists) <= 3 ? new System.IO.IOException("database is locked") : null);
            var poll = TimeSpan.FromMilliseconds(100);
            var scheduler = new ReplicationScheduler(flaky, () => throw new InvalidOperationException("no cycle runs"), null,
                new ReplicationSchedulerOptions { PollInterval = poll, LeaseDuration = TimeSpan.FromSeconds(3) });
            var observer = new PollRecorder();
            using var stop = new CancellationTokenSource();
            var run = scheduler.RunAsync(observer, stop.Token);
            var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
            while (Volatile.Read(ref lists) < 6 && DateTimeOffset.UtcNow < deadline && !run.IsCompleted)
            {
                await Task.Delay(50);
            }

            Assert.False(run.IsCompleted, "the worker must keep running");
            stop.Cancel();
            await run;
            Assert.Equal(new[] { 100.0, 200, 400 }, observer.Failures.Select(f => f.RetryIn.TotalMilliseconds));
            Assert.All(observer.Failures, f => Assert.Equal("database is locked", f.Error.Message));
            Assert.True(Volatile.Read(ref lists) >= 6);
            Assert.Equal(WorkerStatus.Stopped, Assert.Single(await vault.ListWorkersAsync(none)).StatusAt(DateTimeOffset.UtcNow));
            Assert.Empty(await vault.ListRecoveryPointsAsync("vm1", none));
        }

        [Fact]
        public async Task Two_workers_record_an_rpo_breach_once_and_one_of_them_reports_it_once()
        {
            // Its last cycle failed just now (not due for 5 minutes), its newest point is 20 minutes old: over the 15-minute threshold.
            await vault.AddProtectedVmAsync(new ProtectedVm { VmId = "vm1", Name = "sql01", ProtectionGroup = "erp", Site = "onprem", MoRef = "vm-1", State = ProtectionState.InitialSync }, none);
            var pointTime = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-20).ToUnixTimeMilliseconds());
            await vault.UpdateProtectedVmAsync("vm1", v => v with { State = ProtectionState.Error, LastRecoveryPointId = "p1", LastRecoveryPointTime = pointTime, LastCycleTime = DateTimeOffset.UtcNow }, none);
            using var otherVault = SqliteVault.Open(folder.VaultPath);
            var options = new ReplicationSchedulerOptions { PollInterval = TimeSpan.FromMilliseconds(100), LeaseDuration = TimeSpan.FromSeconds(3) };
            var observers = new[] { new PollRecorder(), new PollRecorder() };
            using var stop = new CancellationTokenSource();
            var runs = new[] { vault, otherVault }.Select((v, i) => new ReplicationScheduler(v, () => throw new InvalidOperationException("no cycle runs"), null, options).RunAsync(observers[i], stop.Token)).ToList();
            await Task.Delay(1500);
            stop.Cancel();
            await Task.WhenAll(runs);

            var breach = Assert.Single(observers.SelectMany(o => o.Breaches));
            var recorded = Assert.Single(await vault.ListEventsAsync(null, null, null, none));
            Assert.Equal(("RpoBreached:vm1:p1", DREventKind.RpoBreached, "sql01", "erp"), (recorded.EventId, recorded.Kind, recorded.VmName, recorded.ProtectionGroup));
            Assert.Equal(("p1", pointTime, TimeSpan.FromMinutes(15)), (recorded.RecoveryPointId, recorded.RecoveryPointTime, recorded.RpoThreshold));
            Assert.Equal(breach.EventId, recorded.EventId);
            Assert.InRange(recorded.Rpo!.Value.TotalMinutes, 20, 21);
            Assert.Contains("VM 'sql01' (protection group 'erp') is over its RPO threshold of 15 min 0 s: its newest recovery point is 20 min", recorded.Message);
            Assert.All(observers, o => Assert.Empty(o.Failures));
        }

        private sealed class PollRecorder : IReplicationSchedulerObserver
        {
            public System.Collections.Concurrent.ConcurrentQueue<(Exception Error, TimeSpan RetryIn)> Failures { get; } = new System.Collections.Concurrent.ConcurrentQueue<(Exception, TimeSpan)>();
            public IProgress<CycleProgress>? CycleStarting(ProtectedVm vm) => throw new InvalidOperationException("no VM is due");
            public void CycleCompleted(CycleResult result) => throw new InvalidOperationException("no VM is due");
            public void CycleFailed(ProtectedVm vm, Exception error, TimeSpan retryIn) => throw new InvalidOperationException("no VM is due");
            public void GarbageCollected(GarbageCollectionResult result) => throw new InvalidOperationException("no VM is due");
            public void PollFailed(Exception error, TimeSpan retryIn) => Failures.Enqueue((error, retryIn));
            public System.Collections.Concurrent.ConcurrentQueue<DREvent> Breaches { get; } = new System.Collections.Concurrent.ConcurrentQueue<DREvent>();
            public void RpoBreached(DREvent breach) => Breaches.Enqueue(breach);
        }

        private static RecoveryPoint Point(ProtectedVm vm, string id) => new RecoveryPoint
        {
            RecoveryPointId = id, VmId = vm.VmId, VmName = vm.Name, Time = DateTimeOffset.UtcNow, ManifestKey = $"points/{vm.VmId}/{id}",
        };
    }

    /// <summary>Leases around real cycles (vcsim), and the scheduler taking a VM whose lease another machine's worker left behind.</summary>
    public sealed class ReplicationLeaseCycleTests : IClassFixture<ReplicationVcsimLab>
    {
        private const int MiB = 1 << 20;
        private readonly ReplicationVcsimLab lab;

        public ReplicationLeaseCycleTests(ReplicationVcsimLab lab)
        {
            this.lab = lab;
        }

        [Fact]
        public async Task A_cycle_renews_its_lease_while_it_runs_and_one_whose_lease_was_taken_over_commits_nothing()
        {
            const string name = "DC0_H0_VM0";
            using var bed = await CreateAsync(lab);
            bed.Write(name, 0, MiB, 41);
            var vm = await bed.ProtectAsync(name);
            var resource = "replication/" + vm.VmId;
            var lease = TimeSpan.FromSeconds(3);

            // A cycle that takes twice its lease: renewed, so nobody else gets the VM meanwhile.
            Exception? meanwhile = null;
            var slow = new StepHook("Taking a snapshot", () =>
            {
                Thread.Sleep(2 * lease);
                meanwhile = CycleHooks.Record(() => new VmReplicator(bed.Vault, bed.OpenLocalStore, null, "host-b/1/bbbb") { LeaseDuration = lease }.RunCycleAsync(vm.VmId, None));
            });
            var first = await new VmReplicator(bed.Vault, bed.OpenLocalStore, null, "host-a/1/aaaa") { LeaseDuration = lease }.RunCycleAsync(vm.VmId, None, slow);
            Assert.Equal("VmReplicationInProgress", Assert.IsType<ObjectInUseException>(meanwhile).ErrorId);
            Assert.NotNull(first.Point);
            Assert.Equal("host-a/1/aaaa", first.Worker);
            Assert.True(first.Duration >= 2 * lease);
            Assert.Null(await bed.Vault.FindLeaseHolderAsync(resource, None));

            // Taken over mid-cycle (as after an expiry while the worker stalled): the cycle is cancelled or its commit refused.
            bed.Write(name, 8 * MiB, MiB, 42);
            var takeover = new StepHook("Taking a snapshot", () =>
            {
                bed.Vault.BreakLeaseAsync(resource, "host-a/1/aaaa", None).GetAwaiter().GetResult();
                Assert.True(bed.Vault.TryAcquireLeaseAsync(resource, "host-c/1/cccc", TimeSpan.FromMinutes(5), None).GetAwaiter().GetResult());
            });
            var lost = await Assert.ThrowsAsync<ObjectInUseException>(() =>
                new VmReplicator(bed.Vault, bed.OpenLocalStore, null, "host-a/1/aaaa") { LeaseDuration = lease }.RunCycleAsync(vm.VmId, None, takeover));
            Assert.Equal("VmReplicationLeaseLost", lost.ErrorId);
            Assert.Equal(first.Point!.RecoveryPointId, Assert.Single(await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None)).RecoveryPointId);
            var after = (await bed.Vault.FindProtectedVmAsync(vm.VmId, None))!;
            Assert.Null(after.LastError);
            Assert.Equal(ProtectionState.Protected, after.State);
            Assert.Equal("host-c/1/cccc", await bed.Vault.FindLeaseHolderAsync(resource, None));
            Assert.Empty(await bed.SnapshotsAsync(vm));
        }

        [Fact]
        public async Task A_vm_another_worker_cycled_after_it_was_listed_as_due_is_not_cycled_again_and_its_lease_is_left_free()
        {
            const string name = "DC0_H0_VM2";
            using var bed = await CreateAsync(lab);
            bed.Write(name, 0, MiB, 44);
            var vm = await bed.ProtectAsync(name);
            var resource = "replication/" + vm.VmId;
            var a = new VmReplicator(bed.Vault, bed.OpenLocalStore, null, "host-a/1/aaaa");
            var b = new VmReplicator(bed.Vault, bed.OpenLocalStore, null, "host-b/1/bbbb");
            await a.RunCycleAsync(vm.VmId, None);

            // Worker A lists the VM as due; worker B cycles it before A claims it.
            var listedByA = (await bed.Vault.FindProtectedVmAsync(vm.VmId, None))!;
            bed.Write(name, 4 * MiB, MiB, 45);
            var byB = await b.RunCycleAsync(vm.VmId, None);
            Assert.NotNull(byB.Point);

            Assert.Null(await a.TryClaimAsync(vm.VmId, listedByA.LastCycleTime, None));
            Assert.Null(await bed.Vault.FindLeaseHolderAsync(resource, None));
            Assert.Equal(2, (await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None)).Count);

            // Listed again, it is claimed, read under the lease (B's point is its base) and cycled once.
            var listedAgain = (await bed.Vault.FindProtectedVmAsync(vm.VmId, None))!;
            var claim = await a.TryClaimAsync(vm.VmId, listedAgain.LastCycleTime, None);
            Assert.NotNull(claim);
            Assert.Equal(byB.Point!.RecoveryPointId, claim!.Vm.LastRecoveryPointId);
            Assert.Equal("host-a/1/aaaa", await bed.Vault.FindLeaseHolderAsync(resource, None));
            Assert.Null(await b.TryClaimAsync(vm.VmId, listedAgain.LastCycleTime, None));
            var byA = await a.RunCycleAsync(claim, None);
            Assert.NotNull(byA.Point);
            Assert.Equal("host-a/1/aaaa", byA.Worker);
            Assert.Null(await bed.Vault.FindLeaseHolderAsync(resource, None));
            Assert.Equal(3, (await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None)).Count);
        }

        [Fact]
        public async Task A_worker_takes_a_vm_whose_lease_a_dead_worker_of_another_machine_left_once_it_expires()
        {
            const string name = "DC0_H0_VM1";
            using var bed = await CreateAsync(lab);
            bed.Write(name, 0, MiB, 43);
            var vm = await bed.ProtectAsync(name);
            var resource = "replication/" + vm.VmId;
            var expires = DateTimeOffset.UtcNow.AddSeconds(4);
            Assert.True(await bed.Vault.TryAcquireLeaseAsync(resource, "other-host/4242/dead0000", TimeSpan.FromSeconds(4), None));

            var scheduler = new ReplicationScheduler(bed.Vault, bed.OpenLocalStore, null,
                new ReplicationSchedulerOptions { LeaseDuration = TimeSpan.FromSeconds(3), PollInterval = TimeSpan.FromMilliseconds(200) });
            var observer = new Recorder();
            using var stop = new CancellationTokenSource();
            var run = scheduler.RunAsync(observer, stop.Token);
            var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
            while (observer.Results.IsEmpty && DateTimeOffset.UtcNow < deadline && !run.IsCompleted)
            {
                await Task.Delay(100);
            }

            var running = (await bed.Vault.ListWorkersAsync(None)).Single(w => w.WorkerId == scheduler.WorkerId);
            stop.Cancel();
            await run;

            var result = Assert.Single(observer.Results);
            Assert.True(result.Started >= expires, $"taken at {result.Started:O}, before the lease expired at {expires:O}");
            Assert.Equal(scheduler.WorkerId, result.Worker);
            Assert.Empty(observer.Failures);
            Assert.Single(await bed.Vault.ListRecoveryPointsAsync(vm.VmId, None));
            Assert.Equal(WorkerStatus.Running, running.StatusAt(DateTimeOffset.UtcNow));
            Assert.Equal(Environment.ProcessId, running.ProcessId);
            Assert.StartsWith($"{running.Machine}/{Environment.ProcessId}/", scheduler.WorkerId);
            var stopped = (await bed.Vault.ListWorkersAsync(None)).Single(w => w.WorkerId == scheduler.WorkerId);
            Assert.Equal(WorkerStatus.Stopped, stopped.StatusAt(DateTimeOffset.UtcNow));
            Assert.Empty(stopped.CurrentVms);
        }

        private sealed class Recorder : IReplicationSchedulerObserver
        {
            public System.Collections.Concurrent.ConcurrentQueue<CycleResult> Results { get; } = new System.Collections.Concurrent.ConcurrentQueue<CycleResult>();
            public System.Collections.Concurrent.ConcurrentQueue<Exception> Failures { get; } = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
            public IProgress<CycleProgress>? CycleStarting(ProtectedVm vm) => null;
            public void CycleCompleted(CycleResult result) => Results.Enqueue(result);
            public void CycleFailed(ProtectedVm vm, Exception error, TimeSpan retryIn) => Failures.Enqueue(error);
            public void GarbageCollected(GarbageCollectionResult result)
            {
            }

            public void PollFailed(Exception error, TimeSpan retryIn) => Failures.Enqueue(error);
            public System.Collections.Concurrent.ConcurrentQueue<DREvent> Breaches { get; } = new System.Collections.Concurrent.ConcurrentQueue<DREvent>();
            public void RpoBreached(DREvent breach) => Breaches.Enqueue(breach);
        }
    }
}
