using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using System.Xml.Linq;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Transfers.Retries;

namespace AzureSiteRecovery.DR.Core.Sites.VSphere
{
    /// <summary>
    /// Waits for a vSphere task by polling its info through the PropertyCollector (backing off from
    /// 100 ms to 2 s). Cancelling stops the wait, not the task: vSphere tasks mostly cannot be cancelled.
    /// </summary>
    internal sealed class TaskWaiter
    {
        private static readonly Backoff Polls = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2));
        private readonly PropertyCollector collector;

        public TaskWaiter(PropertyCollector collector)
        {
            this.collector = collector;
        }

        /// <summary>Returns info.result (null for tasks without one); a task in state error throws its fault, with <paramref name="target"/> named.</summary>
        public async Task<XElement?> WaitAsync(MoRef task, string target, IProgress<int>? progress, CancellationToken ct)
        {
            var polls = 0;
            var lastPercent = -1;
            while (true)
            {
                var content = await collector.RetrieveOneAsync(task, new[] { "info" }, ct).ConfigureAwait(false);
                var info = content.Value("info") ?? throw new VSphereFaultException("InvalidResponse", $"task {task.Value} has no info", target);
                switch (info.ChildValue("state"))
                {
                    case "success":
                        progress?.Report(100);
                        return info.Child("result");
                    case "error":
                        throw TaskFault(info.Child("error"), target);
                }
                var percent = info.ChildInt("progress") ?? 0;
                if (percent != lastPercent)
                {
                    progress?.Report(percent);
                    lastPercent = percent;
                }
                await Task.Delay(Polls.After(++polls), ct).ConfigureAwait(false);
            }
        }

        /// <summary>A LocalizedMethodFault (fault + localizedMessage) as a typed exception.</summary>
        private static VSphereFaultException TaskFault(XElement? error, string target)
        {
            var fault = error?.Child("fault");
            var name = fault is null ? "RuntimeFault" : VimXml.TypeOf(fault) ?? "RuntimeFault";
            var message = error?.ChildValue("localizedMessage");
            if (string.IsNullOrEmpty(message))
            {
                // vcsim leaves localizedMessage empty; the fault's own fields still tell what went wrong.
                var fields = fault?.Elements().Where(e => !e.HasElements).Select(e => $"{e.Name.LocalName}={e.Value}");
                message = fields is null ? "" : string.Join(", ", fields);
            }
            return new VSphereFaultException(name, message!, target);
        }
    }
}
