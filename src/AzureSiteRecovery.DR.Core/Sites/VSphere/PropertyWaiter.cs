using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using System.Xml.Linq;
using AzureSiteRecovery.DR.Core.Errors;
using static AzureSiteRecovery.DR.Core.Sites.VSphere.VimXml;

namespace AzureSiteRecovery.DR.Core.Sites.VSphere
{
    /// <summary>How a wait of <see cref="PropertyWaiter"/> ended: the condition held (with the properties that satisfied it), or the time ran out (with the last ones seen, if any).</summary>
    internal sealed record PropertyWaitResult(bool Reached, ObjectContent? Last);

    /// <summary>
    /// Waits for VM properties (<see cref="VmPaths"/>) to satisfy a condition through the PropertyCollector's
    /// WaitForUpdatesEx instead of polling: a collector of the session's own, one filter over the VMs being
    /// waited for (made again, and the full state asked for again, whenever a VM joins), and one loop that asks
    /// for updates at least once a second (maxWaitSeconds 1). A waiter completes as soon as an update satisfies it.
    /// A server that faults these calls (one without WaitForUpdatesEx) makes the waiter unavailable for the rest of
    /// the session: <see cref="WaitAsync"/> then answers null and the caller polls; <see cref="FallbackReason"/> says why.
    /// </summary>
    internal sealed class PropertyWaiter : IDisposable
    {
        /// <summary>The VM properties the filter watches: everything a guest or power wait looks at.</summary>
        public static readonly IReadOnlyList<string> VmPaths = new[]
        {
            "runtime.powerState", "guestHeartbeatStatus", "guest.guestState", "guest.toolsRunningStatus", "guest.ipAddress", "guest.hostName",
        };

        private const int MaxWaitSeconds = 1;
        // ManagedObjectNotFound this many times in a row (collector gone with a re-login, a VM deleted) before giving up on updates.
        private const int MaxResetsInARow = 3;

        private readonly VimClient vim;
        private readonly string siteName;
        private readonly object gate = new object();
        private readonly Dictionary<string, Watched> watched = new Dictionary<string, Watched>(StringComparer.Ordinal);
        private readonly CancellationTokenSource stop = new CancellationTokenSource();
        private readonly SemaphoreSlim wake = new SemaphoreSlim(0);
        private Task? loop;
        private MoRef? collector;
        private bool joined;     // a VM joined (or was deleted) since the filter was made: make it again
        private bool left;       // a VM's waits ended since the filter was made
        private bool inWait;     // a WaitForUpdatesEx call is in flight
        private string? fallbackReason;
        private int disposed;

        public PropertyWaiter(VimClient vim, string siteName)
        {
            this.vim = vim;
            this.siteName = siteName;
        }

        /// <summary>Null while updates work; once the server faulted them, why (every later wait polls).</summary>
        public string? FallbackReason
        {
            get { lock (gate) return fallbackReason; }
        }

        /// <summary>WaitForUpdatesEx round trips that returned (for tests and diagnostics).</summary>
        public int UpdateRoundTrips => Volatile.Read(ref updateRoundTrips);
        private int updateRoundTrips;

        /// <summary>
        /// Waits until <paramref name="done"/> holds for <paramref name="vm"/>'s properties. Null: updates are unavailable
        /// (or the VM left the collector's view): poll instead, for what is left of the timeout.
        /// </summary>
        public async Task<PropertyWaitResult?> WaitAsync(MoRef vm, Func<ObjectContent, bool> done, TimeSpan timeout, CancellationToken ct)
        {
            var waiter = new Waiter(done);
            Watched entry;
            var wakeLoop = false;
            lock (gate)
            {
                if (fallbackReason != null || disposed != 0) return null;
                if (!watched.TryGetValue(vm.Value, out entry!))
                {
                    entry = new Watched(vm);
                    watched.Add(vm.Value, entry);
                    joined = true;
                    wakeLoop = true;
                }
                else if (entry.Known && done(entry.Content()))
                {
                    return new PropertyWaitResult(true, entry.Content());
                }
                entry.Waiters.Add(waiter);
                loop ??= Task.Run(RunAsync);
            }
            if (wakeLoop) Wake();

            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(timeout);
            using (limit.Token.Register(() => waiter.Result.TrySetCanceled()))
            {
                try
                {
                    var content = await waiter.Result.Task.ConfigureAwait(false);
                    return content is null ? null : new PropertyWaitResult(true, content);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    lock (gate) return new PropertyWaitResult(false, entry.Known ? entry.Content() : null);
                }
                finally
                {
                    Forget(entry, waiter);
                }
            }
        }

        /// <summary>Stops the loop and destroys the session's collector (best effort, a few seconds at most).</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) != 0) return;
            Task? running;
            lock (gate)
            {
                running = loop;
                HandOverAll();
            }
            stop.Cancel();
            try
            {
                running?.Wait(TimeSpan.FromSeconds(3));
            }
            catch (AggregateException)
            {
                // The loop's own errors were handed to its waiters.
            }
            MoRef? mine;
            lock (gate) mine = collector;
            if (mine is MoRef c)
            {
                try
                {
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    // No SynchronizationContext is captured (ConfigureAwait(false) throughout), so blocking here cannot deadlock.
                    vim.DestroyPropertyCollectorAsync(c, cts.Token).GetAwaiter().GetResult();
                }
                catch (Exception e) when (e is DRException || e is OperationCanceledException || e is ObjectDisposedException)
                {
                    // Collectors die with the session anyway.
                }
            }
            stop.Dispose();
            wake.Dispose();
        }

        private void Wake()
        {
            MoRef? waiting;
            lock (gate) waiting = inWait ? collector : null;
            try
            {
                wake.Release();
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            if (waiting is MoRef c)
            {
                // A VM joined while the loop waits for updates on the old filter: have that wait return now, not within a second.
                _ = CancelWaitAsync(c);
            }
        }

        private async Task CancelWaitAsync(MoRef c)
        {
            try
            {
                await vim.CancelWaitForUpdatesAsync(c, stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is DRException || e is OperationCanceledException || e is ObjectDisposedException)
            {
                // The wait returns within MaxWaitSeconds anyway.
            }
        }

        private void Forget(Watched entry, Waiter waiter)
        {
            lock (gate)
            {
                entry.Waiters.Remove(waiter);
                if (entry.Waiters.Count == 0 && watched.TryGetValue(entry.Vm.Value, out var current) && ReferenceEquals(current, entry))
                {
                    watched.Remove(entry.Vm.Value);
                    left = true;
                }
            }
        }

        private async Task RunAsync()
        {
            var ct = stop.Token;
            MoRef? filter = null;
            string? version = null;
            var resets = 0;
            try
            {
                while (!ct.IsCancellationRequested)
                {
                    List<MoRef> vms;
                    bool remake;
                    lock (gate)
                    {
                        // A VM that left stays in the filter until one joins: fewer filters made, and its updates are ignored.
                        remake = joined || (left && watched.Count == 0);
                        joined = false;
                        if (remake) left = false;
                        vms = watched.Values.Select(w => w.Vm).ToList();
                    }
                    try
                    {
                        if (collector is null)
                        {
                            var made = await vim.CreatePropertyCollectorAsync(ct).ConfigureAwait(false);
                            lock (gate) collector = made;
                        }
                        if (remake)
                        {
                            if (filter is MoRef old)
                            {
                                filter = null;
                                await vim.DestroyPropertyFilterAsync(old, ct).ConfigureAwait(false);
                            }
                            if (vms.Count > 0)
                            {
                                filter = await vim.CreateFilterAsync(collector.Value,
                                    new[] { PropertyCollector.PropertySpec("VirtualMachine", VmPaths) },
                                    vms.Select(v => PropertyCollector.ObjectSpec(v, false)), ct).ConfigureAwait(false);
                            }
                            // The full state of the new filter: nothing that changed while it was being made is missed.
                            version = null;
                        }
                        if (filter is null)
                        {
                            await wake.WaitAsync(ct).ConfigureAwait(false);
                            continue;
                        }
                        lock (gate) inWait = true;
                        XElement? set;
                        try
                        {
                            set = await vim.WaitForUpdatesExAsync(collector.Value, version, MaxWaitSeconds, ct).ConfigureAwait(false);
                        }
                        finally
                        {
                            lock (gate) inWait = false;
                        }
                        Interlocked.Increment(ref updateRoundTrips);
                        resets = 0;
                        if (set is null) continue;
                        version = set.ChildValue("version") ?? version;
                        Apply(set);
                    }
                    catch (VSphereFaultException e) when (e.FaultName == "RequestCanceled" && !ct.IsCancellationRequested)
                    {
                        // Our CancelWaitForUpdates: a VM joined.
                    }
                    catch (VSphereFaultException e) when (e.FaultName == "ManagedObjectNotFound" && ++resets < MaxResetsInARow)
                    {
                        // The collector went with a lost session, or a watched VM was deleted: its waiters poll (and find out), the rest start over.
                        lock (gate)
                        {
                            HandOverAll();
                            left = false;
                            joined = false;
                        }
                        lock (gate) collector = null;
                        filter = null;
                        version = null;
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            catch (ObjectDisposedException) when (ct.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                // Whatever stops the loop, no waiter may hang on it: each polls from here on.
                var reason = e is VSphereFaultException f
                    ? $"vSphere at '{vim.Transport.SdkUrl}' (site '{siteName}') faulted the property update calls ({f.FaultName}: {f.ServerMessage}); waiting for VMs by polling instead."
                    : $"Waiting for VM updates from site '{siteName}' failed ({e.Message}); waiting for VMs by polling instead.";
                lock (gate)
                {
                    fallbackReason = reason;
                    HandOverAll();
                }
            }
        }

        /// <summary>Every waiter polls from now on (their tasks complete with null); the watched set empties. Under the gate.</summary>
        private void HandOverAll()
        {
            foreach (var w in watched.Values.SelectMany(e => e.Waiters).ToList())
            {
                w.Result.TrySetResult(null);
            }
            watched.Clear();
        }

        /// <summary>Applies an UpdateSet's object updates in order, then completes the waiters whose condition now holds.</summary>
        private void Apply(XElement set)
        {
            lock (gate)
            {
                var touched = new HashSet<Watched>();
                foreach (var update in set.Children("filterSet").SelectMany(f => f.Children("objectSet")))
                {
                    var obj = update.Child("obj");
                    if (obj is null || !watched.TryGetValue(MoRef.Parse(obj).Value, out var entry)) continue;
                    if (update.ChildValue("kind") == "leave")
                    {
                        // Deleted (or out of the filter's view): its waiters poll and report what they find; the filter is made without it.
                        foreach (var w in entry.Waiters) w.Result.TrySetResult(null);
                        watched.Remove(entry.Vm.Value);
                        joined = true;
                        continue;
                    }
                    foreach (var change in update.Children("changeSet"))
                    {
                        var name = change.ChildValue("name");
                        if (name is null) continue;
                        var val = change.Child("val");
                        if (val is null || change.ChildValue("op") is "remove" or "indirectRemove") entry.Properties.Remove(name);
                        else entry.Properties[name] = val;
                    }
                    entry.Known = true;
                    touched.Add(entry);
                }
                foreach (var entry in touched)
                {
                    var content = entry.Content();
                    foreach (var w in entry.Waiters.Where(w => w.Done(content)).ToList())
                    {
                        w.Result.TrySetResult(content);
                    }
                }
            }
        }

        private sealed class Watched
        {
            public Watched(MoRef vm)
            {
                Vm = vm;
            }

            public MoRef Vm { get; }
            public Dictionary<string, XElement> Properties { get; } = new Dictionary<string, XElement>(StringComparer.Ordinal);
            public List<Waiter> Waiters { get; } = new List<Waiter>();
            /// <summary>The filter's state of the VM has arrived at least once.</summary>
            public bool Known { get; set; }

            public ObjectContent Content() => new ObjectContent(Vm, Properties);
        }

        private sealed class Waiter
        {
            public Waiter(Func<ObjectContent, bool> done)
            {
                Done = done;
            }

            public Func<ObjectContent, bool> Done { get; }
            public TaskCompletionSource<ObjectContent?> Result { get; } = new TaskCompletionSource<ObjectContent?>(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }
}
