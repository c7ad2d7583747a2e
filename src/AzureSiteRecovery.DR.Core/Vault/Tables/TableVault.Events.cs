using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Data.Tables;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Core.Vault.Tables
{
    public sealed partial class TableVault
    {
        // ---- Events: one partition, one row per event id (an insert: a 409 means another worker recorded it first) ----

        private const string EventPartition = "events";

        public Task<bool> AddEventAsync(DREvent dREvent, CancellationToken cancellationToken) =>
            Run(async () =>
            {
                var entity = WithDoc(new TableEntity(EventPartition, Key(dREvent.EventId))
                {
                    ["Time"] = dREvent.Time.ToUnixTimeMilliseconds(), ["VmId"] = dREvent.VmId, ["Kind"] = dREvent.Kind.ToString(),
                }, dREvent, "DREvent", dREvent.EventId);
                try
                {
                    await events.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
                    return true;
                }
                catch (RequestFailedException ex) when (ex.Status == 409)
                {
                    return false;
                }
            });

        public Task<IReadOnlyList<DREvent>> ListEventsAsync(DateTimeOffset? since, string? vmId, DREventKind? kind, CancellationToken cancellationToken) =>
            Run<IReadOnlyList<DREvent>>(async () =>
            {
                var filter = $"PartitionKey eq '{EventPartition}'";
                if (since is DateTimeOffset from) filter += $" and Time ge {from.ToUnixTimeMilliseconds()}L";
                if (vmId != null) filter += $" and VmId eq '{Quote(vmId)}'";
                if (kind != null) filter += $" and Kind eq '{kind}'";
                // Ordered as SqliteVault: by time to the millisecond, then id.
                return (await QueryAsync(events, filter, cancellationToken).ConfigureAwait(false))
                    .Select(Doc<DREvent>)
                    .OrderBy(e => e.Time.ToUnixTimeMilliseconds()).ThenBy(e => e.EventId, StringComparer.Ordinal).ToList();
            });
    }
}
