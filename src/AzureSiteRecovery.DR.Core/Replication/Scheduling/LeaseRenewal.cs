using System;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Replication.Scheduling
{
    /// <summary>
    /// Keeps a lease while work runs: renews it every third of its duration; when a renewal finds it is no longer
    /// ours (taken over after it expired), or no renewal got through for a whole duration (the vault unreachable, so
    /// another worker may take it), <see cref="Token"/> is cancelled and <see cref="Lost"/> set.
    /// </summary>
    internal sealed class LeaseRenewal
    {
        private readonly CancellationTokenSource cancel;
        private readonly CancellationTokenSource stop = new CancellationTokenSource();
        private readonly Task loop;
        private int lost;

        public LeaseRenewal(IVault vault, string resource, string owner, TimeSpan duration, CancellationToken cancellationToken)
        {
            cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            loop = Task.Run(() => RenewAsync(vault, resource, owner, duration));
        }

        /// <summary>Cancelled when the caller's token is, or when the lease is lost.</summary>
        public CancellationToken Token => cancel.Token;

        public bool Lost => Volatile.Read(ref lost) == 1;

        /// <summary>Stops renewing (the caller releases the lease next).</summary>
        public async Task StopAsync()
        {
            stop.Cancel();
            await loop.ConfigureAwait(false);
            cancel.Dispose();
            stop.Dispose();
        }

        private async Task RenewAsync(IVault vault, string resource, string owner, TimeSpan duration)
        {
            var every = TimeSpan.FromTicks(duration.Ticks / 3);
            var renewed = DateTimeOffset.UtcNow;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(every, stop.Token).ConfigureAwait(false);
                    if (await vault.RenewLeaseAsync(resource, owner, duration, stop.Token).ConfigureAwait(false))
                    {
                        renewed = DateTimeOffset.UtcNow;
                        continue;
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception) when (DateTimeOffset.UtcNow - renewed < duration)
                {
                    // A vault hiccup (busy, a network blip): the lease still runs; the next renewal tries again.
                    continue;
                }
                catch (Exception)
                {
                    // No renewal for a whole duration: another worker may hold the VM now.
                }

                Interlocked.Exchange(ref lost, 1);
                cancel.Cancel();
                return;
            }
        }
    }
}
