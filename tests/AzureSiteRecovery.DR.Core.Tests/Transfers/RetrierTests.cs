using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Transfers.Retries;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Transfers
{
    /// <summary>The retry loop's rules: what is retried, how often, and what a request that changes something may not do.</summary>
    public sealed class RetrierTests
    {
        private static readonly RetrySettings Quick = RetrySettings.Default with { Backoff = new Backoff(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5)) };

        [Fact]
        public void Backoff_GrowsByItsFactorUpToItsSlowest()
        {
            var backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));
            Assert.Equal(new[] { 100.0, 200, 400, 800, 1000, 1000 }, new[] { 1, 2, 3, 4, 5, 60 }.Select(n => backoff.After(n).TotalMilliseconds));
            for (var n = 1; n < 8; n++)
            {
                var jittered = backoff.AfterWithJitter(n);
                Assert.InRange(jittered, TimeSpan.FromTicks(backoff.After(n).Ticks / 2), backoff.After(n));
            }
        }

        [Fact]
        public async Task TransientFaults_AreRetriedUpToMaxAttempts()
        {
            var tries = 0;
            using var budget = RetryBudget.Begin(Quick);
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Retrier.RunAsync<int>(_ =>
            {
                tries++;
                throw new IOException("Received an unexpected EOF or 0 bytes from the transport stream.");
            }, changesState: false, outcome => new InvalidOperationException(outcome.AttemptsText + ": " + outcome.Fault!.Description), default));

            Assert.Equal(Quick.MaxAttempts, tries);
            Assert.Equal($"{Quick.MaxAttempts} attempts: Received an unexpected EOF or 0 bytes from the transport stream.", e.Message);
            Assert.Equal(Quick.MaxAttempts - 1, budget.Spent);
        }

        [Fact]
        public async Task AFaultThatIsNotTransient_FailsAtOnce()
        {
            var tries = 0;
            var fault = new VSphereFaultException("InvalidLogin", "Cannot complete login due to an incorrect user name or password.", "lab");
            var e = await Assert.ThrowsAsync<VSphereFaultException>(() => Retrier.RunAsync<int>(_ =>
            {
                tries++;
                throw fault;
            }, changesState: false, outcome => outcome.Last, default));

            Assert.Same(fault, e);
            Assert.Equal(1, tries);
        }

        [Fact]
        public async Task ARequestThatChangesSomething_IsNotSentAgainWhenItMayHaveReachedTheServer()
        {
            var tries = 0;
            await Assert.ThrowsAsync<IOException>(() => Retrier.RunAsync<int>(_ =>
            {
                tries++;
                throw new IOException("Connection reset by peer");
            }, changesState: true, outcome => outcome.Last, default));

            Assert.Equal(1, tries);
        }

        [Fact]
        public async Task ARequestThatChangesSomething_IsSentAgainAfterA503()
        {
            var tries = 0;
            using var budget = RetryBudget.Begin(Quick);
            var result = await Retrier.RunAsync(_ =>
            {
                if (++tries < 3) throw new TransientHttpStatusException(HttpStatusCode.ServiceUnavailable, TimeSpan.FromMilliseconds(10), "https://127.0.0.1/sdk");
                return Task.FromResult(42);
            }, changesState: true, outcome => outcome.Last, default);

            Assert.Equal(42, result);
            Assert.Equal(3, tries);
        }

        [Fact]
        public async Task TheCycleBudget_EndsRetriesAcrossRequests()
        {
            using var budget = RetryBudget.Begin(Quick with { CycleRetries = 3 });
            var tries = 0;
            Task<int> Flaky() => Retrier.RunAsync<int>(_ =>
            {
                tries++;
                throw new IOException("reset");
            }, changesState: false, outcome => outcome.Last, default);

            await Assert.ThrowsAsync<IOException>(Flaky);
            await Assert.ThrowsAsync<IOException>(Flaky);

            // 3 retries in all: the first request used them (4 tries), the second got none (1 try).
            Assert.Equal(5, tries);
            Assert.Equal(3, budget.Spent);
        }

        [Fact]
        public async Task AnAttemptThatMovedBytes_DoesNotCountAgainstTheAttempts()
        {
            var tries = 0;
            using var budget = RetryBudget.Begin(Quick with { MaxAttempts = 2 });
            var result = await Retrier.RunAsync(attempt =>
            {
                if (++tries < 5)
                {
                    attempt.Progressed();
                    throw new IOException("reset after some bytes");
                }
                return Task.FromResult(tries);
            }, changesState: false, outcome => outcome.Last, default);

            Assert.Equal(5, result);
        }

        [Fact]
        public async Task TheCallersCancellation_IsNotRetried()
        {
            using var cancel = new CancellationTokenSource();
            var tries = 0;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Retrier.RunAsync<int>(async attempt =>
            {
                tries++;
                cancel.Cancel();
                await Task.Delay(1000, attempt.Token);
                return 0;
            }, changesState: false, outcome => outcome.Last, cancel.Token));

            Assert.Equal(1, tries);
        }
    }
}
