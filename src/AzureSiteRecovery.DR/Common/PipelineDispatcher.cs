using System;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;

namespace AzureSiteRecovery.DR.Common
{
    /// <summary>
    /// Runs a cmdlet's long work on the thread pool while everything it wants to write (progress,
    /// verbose lines, results) is posted back and run here, on the pipeline thread, the only one
    /// that may call Write*. After Ctrl+C (or a write that throws) the posted writes are dropped,
    /// but the work is still waited for, so that cleanup it does on cancellation finishes.
    /// </summary>
    internal sealed class PipelineDispatcher : IDisposable
    {
        private readonly BlockingCollection<Action> posted = new BlockingCollection<Action>();

        /// <summary>From any thread: runs <paramref name="write"/> on the pipeline thread.</summary>
        public void Post(Action write)
        {
            if (!posted.IsAddingCompleted)
            {
                posted.Add(write);
            }
        }

        /// <summary>On the pipeline thread: starts <paramref name="work"/>, runs what it posts until it ends, and returns its result.</summary>
        public T Run<T>(Func<Task<T>> work)
        {
            var task = Task.Run(work);
            task.ContinueWith(_ => posted.CompleteAdding(), TaskScheduler.Default);

            // A write that throws (Ctrl+C's PipelineStoppedException, or an error to end the cmdlet)
            // ends the writing, not the waiting: the work still runs to its end, then the exception is rethrown.
            ExceptionDispatchInfo? thrown = null;
            foreach (var write in posted.GetConsumingEnumerable())
            {
                if (thrown != null)
                {
                    continue;
                }

                try
                {
                    write();
                }
                catch (Exception ex)
                {
                    thrown = ExceptionDispatchInfo.Capture(ex);
                }
            }

            thrown?.Throw();
            return task.GetAwaiter().GetResult();
        }

        public void Dispose() => posted.Dispose();
    }
}

namespace AzureSiteRecovery.DR.Common
{
    /// <summary>An IProgress whose reports are handled on the pipeline thread through a <see cref="PipelineDispatcher"/>.</summary>
    internal sealed class DispatchedProgress<T> : IProgress<T>
    {
        private readonly PipelineDispatcher dispatcher;
        private readonly Action<T> handle;

        public DispatchedProgress(PipelineDispatcher dispatcher, Action<T> handle)
        {
            this.dispatcher = dispatcher;
            this.handle = handle;
        }

        public void Report(T value) => dispatcher.Post(() => handle(value));
    }
}
