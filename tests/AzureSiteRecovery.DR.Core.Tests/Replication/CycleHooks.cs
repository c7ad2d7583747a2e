using System;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Replication;

namespace AzureSiteRecovery.DR.Core.Tests.Replication
{
    internal static class CycleHooks
    {
        /// <summary>Runs <paramref name="action"/> to its end and returns what it threw (null: nothing).</summary>
        public static Exception? Record(Func<Task> action)
        {
            // On the thread pool: the hook runs inside the first cycle, which must not be re-entered.
            try
            {
                Task.Run(action).GetAwaiter().GetResult();
                return null;
            }
            catch (Exception ex)
            {
                return ex;
            }
        }
    }

    /// <summary>Runs an action, synchronously inside the cycle, the first time the cycle reports a step.</summary>
    internal sealed class StepHook : IProgress<CycleProgress>
    {
        private readonly string step;
        private Action? action;

        public StepHook(string step, Action action)
        {
            this.step = step;
            this.action = action;
        }

        public void Report(CycleProgress value)
        {
            if (value.Step != step) return;
            Interlocked.Exchange(ref action, null)?.Invoke();
        }
    }
}
