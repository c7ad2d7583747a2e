using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks;

namespace AzureSiteRecovery.DR.Core.Tests.Checks
{
    /// <summary>Records each request and answers with <see cref="Answer"/>; the real host (a runspace) is tested in Pester.</summary>
    internal sealed class FakeScriptHost : IScriptHost
    {
        public List<ScriptRequest> Requests { get; } = new List<ScriptRequest>();

        public Func<ScriptRequest, ScriptRunResult> Answer { get; set; } =
            _ => new ScriptRunResult { Succeeded = true, Output = new[] { "all good" }, Duration = TimeSpan.FromMilliseconds(1200) };

        public Task<ScriptRunResult> RunAsync(ScriptRequest request, CancellationToken cancellationToken)
        {
            Requests.Add(request);
            return Task.FromResult(Answer(request));
        }
    }
}
