using System;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;

namespace ArmLab
{
    public sealed partial class ArmServer
    {
        // ---- snapshots (Microsoft.Compute 2023-04-02, DiskRP snapshot.json) ------------------

        /// <summary>
        /// Snapshots_CreateOrUpdate: createOption Copy from a managed disk (attached or not, as Azure allows: crash-consistent)
        /// or from another snapshot; the source's Azurite blob as of now is copied to the snapshot's own blob. A PUT on an
        /// existing snapshot updates its tags. 200 (sync) or 202 + LRO headers, as disks.
        /// </summary>
        private async Task<Answer> PutSnapshotAsync(Req req)
        {
            var body = req.Body as JsonObject ?? throw new ArmException(400, "InvalidRequestContent", "The request content was invalid: a snapshot body is required.");
            var name = req.G("name");
            var id = ResourceId(req, Compute, "snapshots", name);
            var location = LocationOf(body);
            var props = body["properties"] as JsonObject ?? throw new ArmException(400, "InvalidParameter", "The value of parameter properties is invalid.");
            var creation = props["creationData"] as JsonObject ?? throw new ArmException(400, "InvalidParameter", "Required parameter 'creationData' is missing (null).");
            var option = (string?)creation["createOption"] ?? "";
            lock (state.Gate)
            {
                if (state.Get(id) is JsonObject existing)
                {
                    existing["tags"] = Tags(body);
                    state.Save();
                    return new Answer(200, ArmState.Public(existing));
                }
            }
            if (!string.Equals(option, "Copy", StringComparison.OrdinalIgnoreCase))
            {
                throw new ArmException(400, "InvalidParameter", $"The lab ARM creates snapshots with createOption Copy (sourceResourceId a managed disk or a snapshot), not '{option}'.");
            }
            if ((bool?)props["incremental"] == true)
            {
                throw new ArmException(400, "InvalidParameter", "The lab ARM makes full snapshots only (incremental: false).");
            }
            var sourceId = (string?)creation["sourceResourceId"] ?? throw new ArmException(400, "InvalidParameter", "Required parameter 'creationData.sourceResourceId' is missing (null).");

            var uniqueId = Guid.NewGuid().ToString();
            var blobName = $"{req.G("rg").ToLowerInvariant()}/snapshot-{name}-{uniqueId}.vhd";
            string sourceBlob;
            string instant = "";
            JsonObject snapshot;
            lock (state.Gate)
            {
                var source = state.Get(sourceId);
                var sourceType = (string?)source?["type"];
                if (source == null || !(sourceType is "Microsoft.Compute/disks" or "Microsoft.Compute/snapshots"))
                {
                    var parts = sourceId.Split('/');
                    throw new ArmException(404, "NotFound", $"Resource {sourceId} (creationData.sourceResourceId) was not found: the lab copies managed disks and snapshots{(parts.Length > 7 ? $", not {parts[6]}/{parts[7]}" : "")}.");
                }
                var sp = source["properties"]!.AsObject();
                var sourceState = (string?)sp["diskState"];
                if (sourceState is "ReadyToUpload" or "ActiveUpload" || !string.Equals((string?)sp["provisioningState"], "Succeeded", StringComparison.OrdinalIgnoreCase))
                {
                    throw new ArmException(409, "OperationNotAllowed", $"A snapshot of {source["name"]} cannot be taken while it is {(sourceState is "ReadyToUpload" or "ActiveUpload" ? sourceState : "being created")}.");
                }
                sourceBlob = (string)ArmState.Lab(source)["blob"]!;
                var sku = body["sku"]?.DeepClone() as JsonObject ?? new JsonObject { ["name"] = "Standard_LRS" };
                sku["tier"] = ((string?)sku["name"] ?? "").StartsWith("Premium", StringComparison.OrdinalIgnoreCase) ? "Premium" : "Standard";
                var creationOut = creation.DeepClone().AsObject();
                creationOut["sourceResourceId"] = source["id"]!.DeepClone();
                creationOut["sourceUniqueId"] = sp["uniqueId"]?.DeepClone();
                snapshot = new JsonObject
                {
                    ["id"] = id,
                    ["name"] = name,
                    ["type"] = "Microsoft.Compute/snapshots",
                    ["location"] = location,
                    ["tags"] = Tags(body),
                    ["sku"] = sku,
                    ["properties"] = new JsonObject(),
                    ["_lab"] = new JsonObject { ["blob"] = blobName },
                };
                var p = snapshot["properties"]!.AsObject();
                foreach (var kv in props) if (kv.Key != "creationData") p[kv.Key] = kv.Value?.DeepClone();
                p["osType"] ??= sp["osType"]?.DeepClone();
                p["hyperVGeneration"] ??= sp["hyperVGeneration"]?.DeepClone();
                if (p["osType"] == null) p.Remove("osType");
                if (p["hyperVGeneration"] == null) p.Remove("hyperVGeneration");
                p["creationData"] = creationOut;
                p["diskSizeGB"] = sp["diskSizeGB"]?.DeepClone();
                p["timeCreated"] = Now();
                p["uniqueId"] = uniqueId;
                p["provisioningState"] = "Updating";
                p["diskState"] = "Unattached";
                p["incremental"] = false;
                p["encryption"] = new JsonObject { ["type"] = "EncryptionAtRestWithPlatformKey" };
                p["networkAccessPolicy"] ??= "AllowAll";
                p["publicNetworkAccess"] ??= "Enabled";
                state.Put(snapshot);
            }

            async Task<Answer> Finish()
            {
                long size;
                try
                {
                    size = await blobs.CopyDiskAsync(sourceBlob, instant, blobName, name, CancellationToken.None);
                }
                catch (Exception)
                {
                    lock (state.Gate) state.Remove(id);
                    await blobs.DeleteAsync(blobName, CancellationToken.None);
                    throw;
                }
                lock (state.Gate)
                {
                    var p = snapshot["properties"]!.AsObject();
                    p["diskSizeBytes"] = size;
                    p["diskSizeGB"] = (int)Math.Ceiling(size / (double)(1024 * DiskBlobs.MiB));
                    p["provisioningState"] = "Succeeded";
                    state.Save();
                    return new Answer(200, ArmState.Public(snapshot));
                }
            }

            // Azure takes the snapshot when it accepts the PUT; the copy may finish later.
            try
            {
                instant = await blobs.InstantAsync(sourceBlob, Ct(req));
            }
            catch (Exception)
            {
                lock (state.Gate) state.Remove(id);
                throw;
            }
            JsonObject initial;
            lock (state.Gate) initial = ArmState.Public(snapshot);
            return await LroAsync(req, Compute, 202, initial, Finish);
        }

        /// <summary>Snapshots_Delete: 200/202, 204 when there is no such snapshot; the blob goes too.</summary>
        private async Task<Answer> DeleteSnapshotAsync(Req req)
        {
            var id = ResourceId(req, Compute, "snapshots", req.G("name"));
            string? blob;
            lock (state.Gate)
            {
                var snapshot = state.Get(id);
                if (snapshot == null) return new Answer(204, null);
                blob = (string?)ArmState.Lab(snapshot)["blob"];
            }
            return await LroAsync(req, Compute, 202, null, async () =>
            {
                lock (state.Gate) state.Remove(id);
                if (blob != null) await blobs.DeleteAsync(blob, CancellationToken.None);
                return new Answer(200, null);
            });
        }
    }
}
