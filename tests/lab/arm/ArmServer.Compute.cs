using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;

namespace ArmLab
{
    public sealed partial class ArmServer
    {
        private const long MinUpload = 20 * DiskBlobs.MiB + 512;
        private const long MaxUpload = 32L * 1024 * 1024 * DiskBlobs.MiB + 512;

        // ---- managed disks (Microsoft.Compute 2023-04-02) ------------------------------------

        private async Task<Answer> PutDiskAsync(Req req)
        {
            var body = req.Body as JsonObject ?? throw new ArmException(400, "InvalidRequestContent", "The request content was invalid: a disk body is required.");
            var id = ResourceId(req, Compute, "disks", req.G("name"));
            var name = req.G("name");
            var location = LocationOf(body);
            var props = body["properties"] as JsonObject ?? throw new ArmException(400, "InvalidParameter", "The value of parameter properties is invalid.");
            var creation = props["creationData"] as JsonObject ?? throw new ArmException(400, "InvalidParameter", "Required parameter 'creationData' is missing (null).");
            var option = (string?)creation["createOption"] ?? "";
            JsonObject? existing;
            lock (state.Gate) existing = state.Get(id);
            if (existing != null)
            {
                // An update: tags (and nothing else the lab tracks) change.
                lock (state.Gate)
                {
                    existing["tags"] = Tags(body);
                    state.Save();
                    return new Answer(200, ArmState.Public(existing));
                }
            }

            var uniqueId = Guid.NewGuid().ToString();
            var blobName = $"{req.G("rg").ToLowerInvariant()}/{name}-{uniqueId}.vhd";
            long? sizeBytes = null;
            string diskState;
            Func<CancellationToken, Task<long>> create;
            switch (option.ToLowerInvariant())
            {
                case "upload":
                    {
                        var upload = (long?)creation["uploadSizeBytes"] ?? throw new ArmException(400, "InvalidParameter", "Required parameter 'creationData.uploadSizeBytes' is missing (null).");
                        if (upload < MinUpload || upload > MaxUpload)
                        {
                            throw new ArmException(400, "InvalidParameter", $"The value {upload} of 'creationData.uploadSizeBytes' is out of range: it must be between {MinUpload} (20 MiB + 512 bytes for the VHD footer) and {MaxUpload} (32 TiB + 512 bytes).");
                        }
                        if ((upload - 512) % DiskBlobs.MiB != 0)
                        {
                            throw new ArmException(400, "InvalidParameter", $"The value {upload} of 'creationData.uploadSizeBytes' is not a whole number of MiB plus 512 bytes for the VHD footer.");
                        }
                        diskState = "ReadyToUpload";
                        create = async ct => { await blobs.CreateAsync(blobName, upload, null, ct); return upload - 512; };
                        break;
                    }
                case "import":
                    {
                        var source = (string?)creation["sourceUri"] ?? throw new ArmException(400, "InvalidParameter", "Required parameter 'creationData.sourceUri' is missing (null).");
                        var accountId = (string?)creation["storageAccountId"] ?? throw new ArmException(400, "InvalidParameter", "Required parameter 'creationData.storageAccountId' is missing (null).");
                        JsonObject? account;
                        lock (state.Gate) account = state.Get(accountId);
                        if (account == null) throw new ArmException(404, "ResourceNotFound", $"The Resource 'Microsoft.Storage/storageAccounts/{accountId.Split('/').Last()}' was not found (creationData.storageAccountId).");
                        var endpoint = (string)account["properties"]!["primaryEndpoints"]!["blob"]!;
                        if (!source.StartsWith(endpoint, StringComparison.OrdinalIgnoreCase))
                        {
                            throw new ArmException(400, "InvalidParameter", $"The source blob {source.Split('?')[0]} is not in storage account {accountId} (creationData.storageAccountId).");
                        }
                        var (_, sourceBlob) = blobs.SourceBlob(source);
                        diskState = "Unattached";
                        create = ct => blobs.ImportAsync(sourceBlob, blobName, name, ct);
                        break;
                    }
                case "empty":
                    {
                        var gb = (long?)props["diskSizeGB"] ?? throw new ArmException(400, "InvalidParameter", "Required parameter 'diskSizeGB' is missing (null).");
                        var size = gb * 1024 * DiskBlobs.MiB;
                        diskState = "Unattached";
                        create = async ct => { await blobs.CreateAsync(blobName, size + 512, DiskBlobs.Footer(size), ct); return size; };
                        break;
                    }
                default:
                    throw new ArmException(400, "InvalidParameter", $"The lab ARM supports createOption Upload, Import and Empty, not '{option}'.");
            }

            var sku = body["sku"]?.DeepClone() as JsonObject ?? new JsonObject { ["name"] = "Standard_LRS" };
            sku["tier"] = ((string?)sku["name"] ?? "").StartsWith("Premium", StringComparison.OrdinalIgnoreCase) ? "Premium" : "Standard";
            var disk = new JsonObject
            {
                ["id"] = id,
                ["name"] = name,
                ["type"] = "Microsoft.Compute/disks",
                ["location"] = location,
                ["tags"] = Tags(body),
                ["sku"] = sku,
                ["properties"] = new JsonObject(),
                ["_lab"] = new JsonObject { ["blob"] = blobName },
            };
            var p = disk["properties"]!.AsObject();
            foreach (var kv in props) if (kv.Key != "creationData") p[kv.Key] = kv.Value?.DeepClone();
            p["creationData"] = creation.DeepClone();
            p["uniqueId"] = uniqueId;
            p["timeCreated"] = Now();
            p["provisioningState"] = "Updating";
            p["diskState"] = diskState;
            p["encryption"] = new JsonObject { ["type"] = "EncryptionAtRestWithPlatformKey" };
            p["networkAccessPolicy"] ??= "AllowAll";
            p["publicNetworkAccess"] ??= "Enabled";
            lock (state.Gate) state.Put(disk);

            async Task<Answer> Finish()
            {
                long size;
                try
                {
                    size = await create(CancellationToken.None);
                }
                catch (ArmException)
                {
                    lock (state.Gate) state.Remove(id);
                    await blobs.DeleteAsync(blobName, CancellationToken.None);
                    throw;
                }
                lock (state.Gate)
                {
                    sizeBytes = size;
                    p["diskSizeBytes"] = size;
                    p["diskSizeGB"] = (int)Math.Ceiling(size / (double)(1024 * DiskBlobs.MiB));
                    p["provisioningState"] = "Succeeded";
                    state.Save();
                    return new Answer(200, ArmState.Public(disk));
                }
            }

            return await LroAsync(req, Compute, 202, ArmState.Public(disk), Finish);
        }

        private async Task<Answer> DeleteDiskAsync(Req req)
        {
            var id = ResourceId(req, Compute, "disks", req.G("name"));
            string? blob;
            lock (state.Gate)
            {
                var disk = state.Get(id);
                if (disk == null) return new Answer(204, null);
                if (disk["managedBy"] is JsonNode vm && ((string?)vm)?.Length > 0)
                {
                    throw new ArmException(409, "OperationNotAllowed", $"Disk {disk["name"]} is attached to VM {vm}.");
                }
                blob = (string?)ArmState.Lab(disk)["blob"];
            }
            return await LroAsync(req, Compute, 202, null, async () =>
            {
                lock (state.Gate) state.Remove(id);
                if (blob != null) await blobs.DeleteAsync(blob, CancellationToken.None);
                return new Answer(200, null);
            });
        }

        /// <summary>beginGetAccess of a disk or a snapshot (<paramref name="type"/> disks|snapshots).</summary>
        private async Task<Answer> BeginGetAccessAsync(Req req, string type)
        {
            var id = ResourceId(req, Compute, type, req.G("name"));
            var access = (string?)req.Body?["access"] ?? "";
            var seconds = (int?)req.Body?["durationInSeconds"] ?? 3600;
            string blob;
            lock (state.Gate)
            {
                var resource = Require(id, $"{Compute}/{type}");
                var p = resource["properties"]!.AsObject();
                var ds = (string?)p["diskState"];
                blob = (string)ArmState.Lab(resource)["blob"]!;
                if (string.Equals(access, "Write", StringComparison.OrdinalIgnoreCase))
                {
                    if (type == "snapshots")
                    {
                        throw new ArmException(409, "OperationNotAllowed", $"Write access cannot be granted to snapshot {resource["name"]}: only a disk created with createOption Upload can be written through a SAS.");
                    }
                    if (ds != "ReadyToUpload" && ds != "ActiveUpload")
                    {
                        throw new ArmException(409, "OperationNotAllowed", $"Write access can only be granted to a disk created with createOption Upload that is in ReadyToUpload state; disk {resource["name"]} is {ds}.");
                    }
                    p["diskState"] = "ActiveUpload";
                }
                else if (string.Equals(access, "Read", StringComparison.OrdinalIgnoreCase))
                {
                    if (ds == "ReadyToUpload" || ds == "ActiveUpload")
                    {
                        throw new ArmException(409, "OperationNotAllowed", $"Read access cannot be granted to disk {resource["name"]} in state {ds}.");
                    }
                    if ((string?)resource["managedBy"] is { Length: > 0 } vmId && state.Get(vmId) is JsonObject vm && PowerState(vm) is "running" or "starting" or "stopping" or "deallocating")
                    {
                        // As Azure answers (Compute: 409 Conflict); a snapshot of the disk can be read instead.
                        throw new ArmException(409, "Conflict", $"Access not permitted because disk {resource["name"]} is currently attached to running VM {vm["id"]}.");
                    }
                    p["diskState"] = "ActiveSAS";
                    ArmState.Lab(resource)["readSas"] = true;
                }
                else
                {
                    throw new ArmException(400, "InvalidParameter", $"The value '{access}' of 'access' is not valid: Read or Write.");
                }
                state.Save();
            }
            var sas = blobs.Sas(blob, access.Equals("Write", StringComparison.OrdinalIgnoreCase), seconds);
            var result = new JsonObject { ["accessSAS"] = sas.ToString() };
            return await LroAsync(req, Compute, 202, null, () => Task.FromResult(new Answer(200, result)));
        }

        /// <summary>endGetAccess of a disk or a snapshot: an upload's VHD footer is checked; the state goes back to Unattached, Attached or Reserved.</summary>
        private async Task<Answer> EndGetAccessAsync(Req req, string type)
        {
            var id = ResourceId(req, Compute, type, req.G("name"));
            string blob, name, state0;
            lock (state.Gate)
            {
                var resource = Require(id, $"{Compute}/{type}");
                blob = (string)ArmState.Lab(resource)["blob"]!;
                name = (string)resource["name"]!;
                state0 = (string?)resource["properties"]!["diskState"] ?? "";
            }
            return await LroAsync(req, Compute, 202, null, async () =>
            {
                long? size = null;
                if (state0 == "ActiveUpload")
                {
                    // Azure checks the uploaded VHD here.
                    size = await DiskBlobs.CheckBlobAsync(blobs.DiskBlob(blob), name, CancellationToken.None);
                }
                lock (state.Gate)
                {
                    var resource = Require(id, $"{Compute}/{type}");
                    var p = resource["properties"]!.AsObject();
                    var ds = (string?)p["diskState"];
                    if (ds == "ActiveUpload" || ds == "ActiveSAS") p["diskState"] = AttachState(resource);
                    if (size != null)
                    {
                        p["diskSizeBytes"] = size.Value;
                        p["diskSizeGB"] = (int)Math.Ceiling(size.Value / (double)(1024 * DiskBlobs.MiB));
                    }
                    ArmState.Lab(resource).Remove("readSas");
                    state.Save();
                }
                return new Answer(200, null);
            });
        }

        /// <summary>A disk's state without a SAS: Unattached, Attached, or Reserved (its VM deallocated).</summary>
        private string AttachState(JsonObject disk)
        {
            if ((string?)disk["managedBy"] is not { Length: > 0 } vmId) return "Unattached";
            return state.Get(vmId) is JsonObject vm && PowerState(vm) is "deallocated" or "deallocating" ? "Reserved" : "Attached";
        }

        // ---- virtual machines (Microsoft.Compute 2023-07-01) ---------------------------------

        private async Task<Answer> PutVmAsync(Req req)
        {
            var body = req.Body as JsonObject ?? throw new ArmException(400, "InvalidRequestContent", "The request content was invalid: a virtual machine body is required.");
            var id = ResourceId(req, Compute, "virtualMachines", req.G("name"));
            var location = LocationOf(body);
            var props = body["properties"]?.DeepClone() as JsonObject ?? throw new ArmException(400, "InvalidParameter", "The value of parameter properties is invalid.");
            var size = (string?)props["hardwareProfile"]?["vmSize"];
            if (size == null || !VmSizes.Any(s => string.Equals(s.Name, size, StringComparison.OrdinalIgnoreCase)))
            {
                throw new ArmException(400, "InvalidParameter", $"The value {size} provided for the VM size is not valid. The valid sizes in the current region are: {string.Join(",", VmSizes.Select(s => s.Name))}. Find out about the available VM sizes in each region at https://aka.ms/azure-regions.");
            }
            var storage = props["storageProfile"] as JsonObject ?? throw new ArmException(400, "InvalidParameter", "Required parameter 'storageProfile' is missing (null).");
            var osDisk = storage["osDisk"] as JsonObject ?? throw new ArmException(400, "InvalidParameter", "Required parameter 'osDisk' is missing (null).");
            var disks = new List<(JsonObject Ref, string Id)>();
            foreach (var d in new[] { osDisk }.Concat((storage["dataDisks"] as JsonArray ?? new JsonArray()).Select(x => x!.AsObject())))
            {
                var opt = (string?)d["createOption"];
                if (!string.Equals(opt, "Attach", StringComparison.OrdinalIgnoreCase))
                {
                    throw new ArmException(400, "InvalidParameter", $"The lab ARM creates VMs from attached managed disks only (createOption Attach), not '{opt}'.");
                }
                var diskId = (string?)d["managedDisk"]?["id"] ?? throw new ArmException(400, "InvalidParameter", "Required parameter 'managedDisk.id' is missing (null).");
                disks.Add((d, diskId));
            }
            var nics = (props["networkProfile"]?["networkInterfaces"] as JsonArray ?? new JsonArray()).Select(x => x!.AsObject()).ToList();
            if (nics.Count == 0) throw new ArmException(400, "InvalidParameter", "Required parameter 'networkProfile' is missing (null).");

            JsonObject initial;
            bool created;
            lock (state.Gate)
            {
                var existing = state.Get(id);
                foreach (var (dref, diskId) in disks)
                {
                    var disk = state.Get(diskId) ?? throw new ArmException(404, "NotFound", $"Disk {diskId.Split('/').Last()} not found.");
                    var ds = (string?)disk["properties"]!["diskState"];
                    var owner = (string?)disk["managedBy"];
                    if (owner != null && !string.Equals(owner, id, StringComparison.OrdinalIgnoreCase))
                    {
                        throw new ArmException(409, "OperationNotAllowed", $"Disk {disk["name"]} is already attached to VM {owner}.");
                    }
                    if (ds == "ReadyToUpload" || ds == "ActiveUpload" || ds == "ActiveSAS")
                    {
                        throw new ArmException(409, "OperationNotAllowed", $"Disk {disk["name"]} cannot be attached to the VM because it is in {ds} state.");
                    }
                    if (!string.Equals((string?)disk["properties"]!["provisioningState"], "Succeeded", StringComparison.OrdinalIgnoreCase))
                    {
                        throw new ArmException(409, "OperationNotAllowed", $"Disk {disk["name"]} is still being created.");
                    }
                }
                foreach (var n in nics)
                {
                    var nicId = (string?)n["id"] ?? throw new ArmException(400, "InvalidParameter", "Required parameter 'networkInterfaces.id' is missing (null).");
                    var nic = state.Get(nicId) ?? throw new ArmException(404, "NotFound", $"Resource {nicId} not found.");
                    var owner = (string?)nic["properties"]!["virtualMachine"]?["id"];
                    if (owner != null && !string.Equals(owner, id, StringComparison.OrdinalIgnoreCase))
                    {
                        throw new ArmException(400, "NicInUse", $"Network Interface {nicId} is used by existing resource {owner}. In order to create a new resource, delete the existing resource or remove network interface from the existing resource.");
                    }
                }

                // Attach: the disks and NICs now belong to the VM.
                foreach (var (dref, diskId) in disks)
                {
                    var disk = state.Get(diskId)!;
                    disk["managedBy"] = id;
                    disk["properties"]!["diskState"] = "Attached";
                    dref["managedDisk"]!["id"] = disk["id"]!.DeepClone();
                    dref["managedDisk"]!["storageAccountType"] ??= disk["sku"]?["name"]?.DeepClone();
                    dref["name"] ??= disk["name"]!.DeepClone();
                    dref["caching"] ??= dref == osDisk ? "ReadWrite" : "None";
                    dref["diskSizeGB"] ??= disk["properties"]!["diskSizeGB"]?.DeepClone();
                    dref["deleteOption"] ??= "Detach";
                    if (dref == osDisk) dref["osType"] ??= disk["properties"]!["osType"]?.DeepClone();
                }
                foreach (var n in nics)
                {
                    var nic = state.Get((string)n["id"]!)!;
                    nic["properties"]!["virtualMachine"] = new JsonObject { ["id"] = id };
                    n["properties"] ??= new JsonObject();
                    n["properties"]!["deleteOption"] ??= "Detach";
                }
                if (existing != null)
                {
                    // Disks the new body no longer names are detached.
                    foreach (var old in VmDiskIds(existing).Where(o => !disks.Any(d => string.Equals(d.Id, o, StringComparison.OrdinalIgnoreCase))))
                    {
                        if (state.Get(old) is JsonObject od) { od.Remove("managedBy"); od["properties"]!["diskState"] = "Unattached"; }
                    }
                }

                props["vmId"] = existing?["properties"]?["vmId"]?.DeepClone() ?? Guid.NewGuid().ToString();
                props["timeCreated"] = existing?["properties"]?["timeCreated"]?.DeepClone() ?? Now();
                props["provisioningState"] = existing == null ? "Creating" : "Updating";
                var vm = new JsonObject
                {
                    ["id"] = id,
                    ["name"] = req.G("name"),
                    ["type"] = "Microsoft.Compute/virtualMachines",
                    ["location"] = location,
                    ["tags"] = Tags(body),
                    ["properties"] = props,
                    ["_lab"] = existing?["_lab"]?.DeepClone() ?? new JsonObject
                    {
                        ["power"] = "running",
                        ["bootAt"] = DateTimeOffset.UtcNow.Add(options.BootDelay).ToUnixTimeMilliseconds(),
                    },
                };
                if (body["identity"] is JsonObject identity) vm["identity"] = identity.DeepClone();
                state.Put(vm);
                initial = ArmState.Public(vm);
                created = existing == null;
            }
            return await LroAsync(req, Compute, created ? 201 : 200, initial, () =>
            {
                lock (state.Gate)
                {
                    var current = state.Get(id) ?? throw new ArmException(404, "NotFound", $"The VM {id} was deleted while being created.");
                    current["properties"]!["provisioningState"] = "Succeeded";
                    state.Save();
                    return Task.FromResult(new Answer(created ? 201 : 200, ArmState.Public(current)));
                }
            });
        }

        private static IEnumerable<string> VmDiskIds(JsonObject vm)
        {
            var storage = vm["properties"]?["storageProfile"];
            if ((string?)storage?["osDisk"]?["managedDisk"]?["id"] is string os) yield return os;
            foreach (var d in storage?["dataDisks"] as JsonArray ?? new JsonArray())
            {
                if ((string?)d?["managedDisk"]?["id"] is string id) yield return id;
            }
        }

        private Answer GetVm(Req req)
        {
            lock (state.Gate)
            {
                var vm = Require(ResourceId(req, Compute, "virtualMachines", req.G("name")), "Microsoft.Compute/virtualMachines");
                var body = ArmState.Public(vm);
                if (string.Equals(req.Query("$expand"), "instanceView", StringComparison.OrdinalIgnoreCase))
                {
                    body["properties"]!["instanceView"] = InstanceView(vm);
                }
                return new Answer(200, body);
            }
        }

        private Answer InstanceViewAnswer(Req req)
        {
            lock (state.Gate)
            {
                var vm = Require(ResourceId(req, Compute, "virtualMachines", req.G("name")), "Microsoft.Compute/virtualMachines");
                return new Answer(200, InstanceView(vm));
            }
        }

        private string PowerState(JsonObject vm)
        {
            var lab = ArmState.Lab(vm);
            var power = (string?)lab["power"] ?? "running";
            if (power == "running" && (long?)lab["bootAt"] > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) return "starting";
            return power;
        }

        private bool HasAgent(JsonObject vm) =>
            options.VmAgent || (vm["tags"] is JsonObject t && t.Any(kv => string.Equals(kv.Key, "lab.vmAgent", StringComparison.OrdinalIgnoreCase) && string.Equals((string?)kv.Value, "true", StringComparison.OrdinalIgnoreCase)));

        private JsonObject InstanceView(JsonObject vm)
        {
            var now = Now();
            var power = PowerState(vm);
            var provisioning = ((string?)vm["properties"]!["provisioningState"] ?? "Succeeded").ToLowerInvariant();
            string hyperV = "V1";
            var disks = new JsonArray();
            foreach (var id in VmDiskIds(vm))
            {
                var disk = state.Get(id);
                if (disk == null) continue;
                if (id == VmDiskIds(vm).First() && (string?)disk["properties"]!["hyperVGeneration"] is string g) hyperV = g;
                disks.Add(new JsonObject
                {
                    ["name"] = disk["name"]!.DeepClone(),
                    ["statuses"] = new JsonArray(new JsonObject { ["code"] = "ProvisioningState/succeeded", ["level"] = "Info", ["displayStatus"] = "Provisioning succeeded", ["time"] = now }),
                });
            }
            var running = power == "running";
            var agent = HasAgent(vm) && running
                ? new JsonObject
                {
                    ["vmAgentVersion"] = "2.7.41491.1102",
                    ["statuses"] = new JsonArray(new JsonObject { ["code"] = "ProvisioningState/succeeded", ["level"] = "Info", ["displayStatus"] = "Ready", ["message"] = "GuestAgent is running and processing the extensions.", ["time"] = now }),
                }
                : new JsonObject
                {
                    ["vmAgentVersion"] = "Unknown",
                    ["statuses"] = new JsonArray(new JsonObject { ["code"] = "ProvisioningState/Unavailable", ["level"] = "Warning", ["displayStatus"] = "Not Ready", ["message"] = "VM status blob is found but not yet populated.", ["time"] = now }),
                };
            var view = new JsonObject
            {
                ["computerName"] = HasAgent(vm) && running ? vm["name"]!.DeepClone() : null,
                ["hyperVGeneration"] = hyperV,
                ["vmAgent"] = agent,
                ["disks"] = disks,
                ["statuses"] = new JsonArray(
                    new JsonObject { ["code"] = $"ProvisioningState/{provisioning}", ["level"] = "Info", ["displayStatus"] = provisioning == "succeeded" ? "Provisioning succeeded" : "Provisioning " + provisioning, ["time"] = now },
                    new JsonObject { ["code"] = $"PowerState/{power}", ["level"] = "Info", ["displayStatus"] = "VM " + power }),
            };
            if (view["computerName"] == null) view.Remove("computerName");
            if (vm["properties"]?["diagnosticsProfile"]?["bootDiagnostics"]?["enabled"] is JsonNode e && (bool)e)
            {
                view["bootDiagnostics"] = new JsonObject();
            }
            return view;
        }

        private async Task<Answer> DeleteVmAsync(Req req)
        {
            var id = ResourceId(req, Compute, "virtualMachines", req.G("name"));
            lock (state.Gate)
            {
                if (state.Get(id) == null) return new Answer(204, null);
            }
            return await LroAsync(req, Compute, 202, null, async () =>
            {
                var blobsToDelete = new List<string>();
                lock (state.Gate)
                {
                    var vm = state.Get(id);
                    if (vm == null) return new Answer(200, null);
                    var storage = vm["properties"]!["storageProfile"]!;
                    foreach (var d in new[] { storage["osDisk"] }.Concat(storage["dataDisks"] as JsonArray ?? new JsonArray()))
                    {
                        var diskId = (string?)d?["managedDisk"]?["id"];
                        if (diskId == null || state.Get(diskId) is not JsonObject disk) continue;
                        if (string.Equals((string?)d!["deleteOption"], "Delete", StringComparison.OrdinalIgnoreCase))
                        {
                            if ((string?)ArmState.Lab(disk)["blob"] is string b) blobsToDelete.Add(b);
                            state.Remove(diskId);
                        }
                        else
                        {
                            disk.Remove("managedBy");
                            disk["properties"]!["diskState"] = "Unattached";
                        }
                    }
                    foreach (var n in vm["properties"]!["networkProfile"]?["networkInterfaces"] as JsonArray ?? new JsonArray())
                    {
                        var nicId = (string?)n?["id"];
                        if (nicId == null || state.Get(nicId) is not JsonObject nic) continue;
                        if (string.Equals((string?)n!["properties"]?["deleteOption"], "Delete", StringComparison.OrdinalIgnoreCase)) state.Remove(nicId);
                        else nic["properties"]!.AsObject().Remove("virtualMachine");
                    }
                    state.Remove(id);
                    state.Save();
                }
                foreach (var b in blobsToDelete) await blobs.DeleteAsync(b, CancellationToken.None);
                return new Answer(200, null);
            });
        }

        /// <summary>
        /// VirtualMachines_PowerOff (skipShutdown), _Deallocate, _Start, _Restart: 200 (sync) or 202 + LRO headers. While the
        /// operation runs the power state is stopping/deallocating/starting; then stopped (disks Attached), deallocated (disks
        /// Reserved) or running (after --boot-delay). Restart of a VM that is not running, and a start with a disk that has an
        /// active SAS, are refused 409 OperationNotAllowed.
        /// </summary>
        private async Task<Answer> PowerAsync(Req req)
        {
            var id = ResourceId(req, Compute, "virtualMachines", req.G("name"));
            var action = req.G("action").ToLowerInvariant();
            lock (state.Gate)
            {
                var vm = Require(id, "Microsoft.Compute/virtualMachines");
                var power = PowerState(vm);
                if (action == "restart" && power is "stopped" or "deallocated" or "deallocating" or "stopping")
                {
                    throw new ArmException(409, "OperationNotAllowed", $"Operation 'restart' is not allowed on VM '{vm["name"]}' since the VM is {power}. Start the VM instead.");
                }
                if (action is "start" or "restart")
                {
                    foreach (var diskId in VmDiskIds(vm))
                    {
                        if (state.Get(diskId) is JsonObject disk && (string?)disk["properties"]!["diskState"] == "ActiveSAS")
                        {
                            throw new ArmException(409, "OperationNotAllowed", $"VM '{vm["name"]}' cannot be started: its disk {disk["name"]} has an active SAS (diskState ActiveSAS). Revoke the access (endGetAccess) first.");
                        }
                    }
                }
                var lab = ArmState.Lab(vm);
                switch (action)
                {
                    case "poweroff": lab["power"] = "stopping"; break;
                    case "deallocate": lab["power"] = "deallocating"; break;
                    case "start": lab["power"] = "starting"; break;
                }
                state.Save();
            }
            return await LroAsync(req, Compute, 202, null, () =>
            {
                lock (state.Gate)
                {
                    var vm = Require(id, "Microsoft.Compute/virtualMachines");
                    var lab = ArmState.Lab(vm);
                    switch (action)
                    {
                        case "poweroff": lab["power"] = "stopped"; break;
                        case "deallocate": lab["power"] = "deallocated"; break;
                        default:
                            lab["power"] = "running";
                            lab["bootAt"] = DateTimeOffset.UtcNow.Add(options.BootDelay).ToUnixTimeMilliseconds();
                            break;
                    }
                    foreach (var diskId in VmDiskIds(vm))
                    {
                        if (state.Get(diskId) is JsonObject disk && (string?)disk["properties"]!["diskState"] is "Attached" or "Reserved")
                        {
                            disk["properties"]!["diskState"] = AttachState(disk);
                        }
                    }
                    state.Save();
                }
                return Task.FromResult(new Answer(200, null));
            });
        }

        // ---- network interfaces (Microsoft.Network 2023-09-01) -------------------------------

        private async Task<Answer> PutNicAsync(Req req)
        {
            var body = req.Body as JsonObject ?? throw new ArmException(400, "InvalidRequestContent", "The request content was invalid: a network interface body is required.");
            var id = ResourceId(req, Network, "networkInterfaces", req.G("name"));
            var location = LocationOf(body);
            var props = body["properties"]?.DeepClone() as JsonObject ?? new JsonObject();
            var configs = props["ipConfigurations"] as JsonArray;
            if (configs == null || configs.Count == 0)
            {
                throw new ArmException(400, "NetworkInterfaceMustHaveAtLeastOneIpConfiguration", $"Network interface {id} must have at least one IP configuration.");
            }
            JsonObject answer;
            int status;
            lock (state.Gate)
            {
                var existing = state.Get(id);
                var first = true;
                foreach (var c in configs.Select(x => x!.AsObject()))
                {
                    var cname = (string?)c["name"] ?? "ipconfig1";
                    var cp = c["properties"] as JsonObject ?? new JsonObject();
                    c["properties"] = cp;
                    var subnetId = (string?)cp["subnet"]?["id"];
                    if (subnetId == null || FindSubnet(subnetId) == null)
                    {
                        throw new ArmException(400, "InvalidResourceReference", $"Resource {subnetId} referenced by resource {id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.");
                    }
                    c["name"] = cname;
                    c["id"] = $"{id}/ipConfigurations/{cname}";
                    c["etag"] = Etag();
                    c["type"] = "Microsoft.Network/networkInterfaces/ipConfigurations";
                    cp["provisioningState"] = "Succeeded";
                    cp["privateIPAllocationMethod"] ??= "Dynamic";
                    if (!string.Equals((string?)cp["privateIPAllocationMethod"], "Static", StringComparison.OrdinalIgnoreCase) || cp["privateIPAddress"] == null)
                    {
                        // The lab's guests answer on loopback, so validations against the NIC's address run for real.
                        cp["privateIPAddress"] = "127.0.0.1";
                    }
                    cp["privateIPAddressVersion"] ??= "IPv4";
                    cp["primary"] ??= first;
                    first = false;
                }
                props["provisioningState"] = "Succeeded";
                props["resourceGuid"] = existing?["properties"]?["resourceGuid"]?.DeepClone() ?? Guid.NewGuid().ToString();
                props["dnsSettings"] ??= new JsonObject { ["dnsServers"] = new JsonArray(), ["appliedDnsServers"] = new JsonArray() };
                props["enableAcceleratedNetworking"] ??= false;
                props["enableIPForwarding"] ??= false;
                props["nicType"] = "Standard";
                props["vnetEncryptionSupported"] = false;
                if (existing?["properties"]?["virtualMachine"] is JsonNode owner) props["virtualMachine"] = owner.DeepClone();
                var nic = new JsonObject
                {
                    ["name"] = req.G("name"),
                    ["id"] = id,
                    ["etag"] = Etag(),
                    ["type"] = "Microsoft.Network/networkInterfaces",
                    ["location"] = location,
                    ["tags"] = Tags(body),
                    ["properties"] = props,
                };
                state.Put(nic);
                answer = ArmState.Public(nic);
                status = existing == null ? 201 : 200;
            }
            return await LroAsync(req, Network, status, answer, () => Task.FromResult(new Answer(status, answer)));
        }

        private async Task<Answer> DeleteNicAsync(Req req)
        {
            var id = ResourceId(req, Network, "networkInterfaces", req.G("name"));
            lock (state.Gate)
            {
                var nic = state.Get(id);
                if (nic == null) return new Answer(204, null);
                if ((string?)nic["properties"]?["virtualMachine"]?["id"] is string vm)
                {
                    throw new ArmException(400, "NicInUse", $"Network Interface {id} is used by existing resource {vm}. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.");
                }
            }
            return await LroAsync(req, Network, 202, null, () =>
            {
                lock (state.Gate) state.Remove(id);
                return Task.FromResult(new Answer(200, null));
            });
        }
    }
}
