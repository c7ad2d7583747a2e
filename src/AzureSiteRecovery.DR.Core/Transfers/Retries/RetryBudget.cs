using System;
using System.Threading;

namespace AzureSiteRecovery.DR.Core.Transfers.Retries
{
    /// <summary>
    /// The retries one piece of work (a replication cycle) may spend over all its requests, and the
    /// settings its transfers use. Begun with <see cref="Begin"/> around the work; every transfer
    /// started inside it (on any thread the work's awaits reach) draws on it, found through an
    /// AsyncLocal so the SOAP, datastore and store layers need no extra parameter. Outside a budget
    /// the defaults apply per request only.
    /// </summary>
    public sealed class RetryBudget : IDisposable
    {
        private static readonly AsyncLocal<RetryBudget?> Ambient = new AsyncLocal<RetryBudget?>();
        private readonly RetryBudget? outer;
        private int spent;
        private int faults;

        private RetryBudget(RetrySettings settings, RetryBudget? outer)
        {
            Settings = settings;
            this.outer = outer;
        }

        /// <summary>The budget of the work this code runs for; null outside any.</summary>
        public static RetryBudget? Current => Ambient.Value;

        /// <summary>The settings in force here: the current budget's, else the defaults.</summary>
        public static RetrySettings CurrentSettings => Ambient.Value?.Settings ?? RetrySettings.Default;

        public RetrySettings Settings { get; }

        /// <summary>Retries spent so far.</summary>
        public int Spent => Volatile.Read(ref spent);

        /// <summary>Transient faults met so far (retried or not).</summary>
        public int Faults => Volatile.Read(ref faults);

        /// <summary>Starts a budget for the work that follows on this async flow; dispose it when the work ends.</summary>
        public static RetryBudget Begin(RetrySettings settings)
        {
            var budget = new RetryBudget(settings ?? throw new ArgumentNullException(nameof(settings)), Ambient.Value);
            Ambient.Value = budget;
            return budget;
        }

        /// <summary>Records a transient fault and takes one retry from the budget; false when none is left.</summary>
        internal bool TrySpend()
        {
            Interlocked.Increment(ref faults);
            if (Interlocked.Increment(ref spent) <= Settings.CycleRetries) return true;
            Interlocked.Decrement(ref spent);
            return false;
        }

        public void Dispose()
        {
            if (Ambient.Value == this) Ambient.Value = outer;
        }
    }
}
