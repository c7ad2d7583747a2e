using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace ArmLab
{
    public sealed partial class ArmServer
    {
        private const string Compute = "Microsoft.Compute";
        private const string Network = "Microsoft.Network";

        /// <summary>VM sizes of the lab's region (a subset of Azure's, same numbers).</summary>
        private static readonly (string Name, int Cores, int MemoryMb, int MaxDisks, int ResourceDiskMb)[] VmSizes =
        {
            ("Standard_B1s", 1, 1024, 2, 4096),
            ("Standard_B2s", 2, 4096, 4, 8192),
            ("Standard_D2s_v3", 2, 8192, 4, 16384),
            ("Standard_D4s_v3", 4, 16384, 8, 32768),
            ("Standard_D8s_v3", 8, 32768, 16, 65536),
            ("Standard_D16s_v3", 16, 65536, 32, 131072),
            ("Standard_D2s_v5", 2, 8192, 4, 0),
            ("Standard_D4s_v5", 4, 16384, 8, 0),
            ("Standard_D8s_v5", 8, 32768, 16, 0),
            ("Standard_E2s_v5", 2, 16384, 4, 0),
            ("Standard_E4s_v5", 4, 32768, 8, 0),
            ("Standard_E8s_v5", 8, 65536, 16, 0),
            ("Standard_F2s_v2", 2, 4096, 4, 16384),
            ("Standard_F4s_v2", 4, 8192, 8, 32768),
        };

        private void Seed()
        {
            lock (state.Gate)
            {
                foreach (var rg in options.ResourceGroups)
                {
                    if (state.Get(RgId(rg)) != null) continue;
                    state.Put(new JsonObject
                    {
                        ["id"] = RgId(rg),
                        ["name"] = rg,
                        ["type"] = "Microsoft.Resources/resourceGroups",
                        ["location"] = options.Location,
                        ["properties"] = new JsonObject { ["provisioningState"] = "Succeeded" },
                    });
                }
                foreach (var s in options.StorageAccounts)
                {
                    var id = $"{RgId(s.ResourceGroup)}/providers/Microsoft.Storage/storageAccounts/{s.Name}";
                    state.Put(new JsonObject
                    {
                        ["id"] = id,
                        ["name"] = s.Name,
                        ["type"] = "Microsoft.Storage/storageAccounts",
                        ["location"] = options.Location,
                        ["kind"] = "StorageV2",
                        ["sku"] = new JsonObject { ["name"] = "Standard_LRS", ["tier"] = "Standard" },
                        ["tags"] = new JsonObject(),
                        ["properties"] = new JsonObject
                        {
                            ["provisioningState"] = "Succeeded",
                            ["creationTime"] = Now(),
                            ["primaryLocation"] = options.Location,
                            ["statusOfPrimary"] = "available",
                            ["accessTier"] = "Hot",
                            ["supportsHttpsTrafficOnly"] = false,
                            ["minimumTlsVersion"] = "TLS1_2",
                            ["allowBlobPublicAccess"] = false,
                            ["encryption"] = new JsonObject
                            {
                                ["keySource"] = "Microsoft.Storage",
                                ["services"] = new JsonObject { ["blob"] = new JsonObject { ["enabled"] = true, ["keyType"] = "Account" } },
                            },
                            ["primaryEndpoints"] = new JsonObject { ["blob"] = s.BlobEndpoint + "/" },
                            ["networkAcls"] = new JsonObject { ["bypass"] = "AzureServices", ["defaultAction"] = "Allow", ["ipRules"] = new JsonArray(), ["virtualNetworkRules"] = new JsonArray() },
                        },
                        ["_lab"] = new JsonObject { ["key"] = s.Key },
                    });
                }
                var octet = 0;
                foreach (var v in options.Vnets)
                {
                    octet++;
                    var id = $"{RgId(v.ResourceGroup)}/providers/Microsoft.Network/virtualNetworks/{v.Name}";
                    var subnets = new JsonArray();
                    var k = 0;
                    foreach (var s in v.Subnets)
                    {
                        subnets.Add(new JsonObject
                        {
                            ["name"] = s,
                            ["id"] = $"{id}/subnets/{s}",
                            ["etag"] = Etag(),
                            ["type"] = "Microsoft.Network/virtualNetworks/subnets",
                            ["properties"] = new JsonObject
                            {
                                ["provisioningState"] = "Succeeded",
                                ["addressPrefix"] = $"10.{octet}.{k++}.0/24",
                                ["delegations"] = new JsonArray(),
                                ["privateEndpointNetworkPolicies"] = "Disabled",
                                ["privateLinkServiceNetworkPolicies"] = "Enabled",
                            },
                        });
                    }
                    state.Put(new JsonObject
                    {
                        ["id"] = id,
                        ["name"] = v.Name,
                        ["type"] = "Microsoft.Network/virtualNetworks",
                        ["location"] = options.Location,
                        ["etag"] = Etag(),
                        ["tags"] = new JsonObject(),
                        ["properties"] = new JsonObject
                        {
                            ["provisioningState"] = "Succeeded",
                            ["resourceGuid"] = Guid.NewGuid().ToString(),
                            ["addressSpace"] = new JsonObject { ["addressPrefixes"] = new JsonArray($"10.{octet}.0.0/16") },
                            ["subnets"] = subnets,
                            ["virtualNetworkPeerings"] = new JsonArray(),
                            ["enableDdosProtection"] = false,
                        },
                    });
                }
            }
        }

        private static string Etag() => $"W/\"{Guid.NewGuid()}\"";

        private void Routes()
        {
            Route("GET", @"/subscriptions", _ => Task.FromResult(new Answer(200, new JsonObject { ["value"] = new JsonArray(Subscription()) })));
            Route("GET", @"/subscriptions/(?<sub>[^/]+)", _ => Task.FromResult(new Answer(200, Subscription())));
            Route("GET", @"/subscriptions/(?<sub>[^/]+)/providers/(?<ns>[^/]+)", r => Task.FromResult(Provider(r.G("ns"))));
            Route("GET", @"/subscriptions/(?<sub>[^/]+)/providers/Microsoft\.Compute/locations/(?<loc>[^/]+)/vmSizes", r => Task.FromResult(Sizes(r.G("loc"))));
            Route("GET", Rg, r => Task.FromResult(new Answer(200, ArmState.Public(state.Get(RgId(r.G("rg")))!))));
            Route("GET", Rg + "/resources", r => Task.FromResult(ListResources(r)));
            Route("GET", @"/subscriptions/(?<sub>[^/]+)/resources", r => Task.FromResult(ListResources(r)));

            // Compute: managed disks
            Route("PUT", Rg + @"/providers/Microsoft\.Compute/disks/(?<name>[^/]+)", PutDiskAsync);
            Route("GET", Rg + @"/providers/Microsoft\.Compute/disks/(?<name>[^/]+)", r => Task.FromResult(GetResource(r, Compute, "disks")));
            Route("GET", Rg + @"/providers/Microsoft\.Compute/disks", r => Task.FromResult(ListType(r, "Microsoft.Compute/disks")));
            Route("DELETE", Rg + @"/providers/Microsoft\.Compute/disks/(?<name>[^/]+)", DeleteDiskAsync);
            Route("POST", Rg + @"/providers/Microsoft\.Compute/disks/(?<name>[^/]+)/beginGetAccess", r => BeginGetAccessAsync(r, "disks"));
            Route("POST", Rg + @"/providers/Microsoft\.Compute/disks/(?<name>[^/]+)/endGetAccess", r => EndGetAccessAsync(r, "disks"));

            // Compute: snapshots
            Route("PUT", Rg + @"/providers/Microsoft\.Compute/snapshots/(?<name>[^/]+)", PutSnapshotAsync);
            Route("GET", Rg + @"/providers/Microsoft\.Compute/snapshots/(?<name>[^/]+)", r => Task.FromResult(GetResource(r, Compute, "snapshots")));
            Route("GET", Rg + @"/providers/Microsoft\.Compute/snapshots", r => Task.FromResult(ListType(r, "Microsoft.Compute/snapshots")));
            Route("DELETE", Rg + @"/providers/Microsoft\.Compute/snapshots/(?<name>[^/]+)", DeleteSnapshotAsync);
            Route("POST", Rg + @"/providers/Microsoft\.Compute/snapshots/(?<name>[^/]+)/beginGetAccess", r => BeginGetAccessAsync(r, "snapshots"));
            Route("POST", Rg + @"/providers/Microsoft\.Compute/snapshots/(?<name>[^/]+)/endGetAccess", r => EndGetAccessAsync(r, "snapshots"));

            // Compute: virtual machines
            Route("PUT", Rg + @"/providers/Microsoft\.Compute/virtualMachines/(?<name>[^/]+)", PutVmAsync);
            Route("GET", Rg + @"/providers/Microsoft\.Compute/virtualMachines/(?<name>[^/]+)", r => Task.FromResult(GetVm(r)));
            Route("GET", Rg + @"/providers/Microsoft\.Compute/virtualMachines", r => Task.FromResult(ListType(r, "Microsoft.Compute/virtualMachines")));
            Route("GET", Rg + @"/providers/Microsoft\.Compute/virtualMachines/(?<name>[^/]+)/instanceView", r => Task.FromResult(InstanceViewAnswer(r)));
            Route("DELETE", Rg + @"/providers/Microsoft\.Compute/virtualMachines/(?<name>[^/]+)", DeleteVmAsync);
            Route("POST", Rg + @"/providers/Microsoft\.Compute/virtualMachines/(?<name>[^/]+)/(?<action>powerOff|start|deallocate|restart)", PowerAsync);

            // Network
            Route("PUT", Rg + @"/providers/Microsoft\.Network/networkInterfaces/(?<name>[^/]+)", PutNicAsync);
            Route("GET", Rg + @"/providers/Microsoft\.Network/networkInterfaces/(?<name>[^/]+)", r => Task.FromResult(GetResource(r, Network, "networkInterfaces")));
            Route("DELETE", Rg + @"/providers/Microsoft\.Network/networkInterfaces/(?<name>[^/]+)", DeleteNicAsync);
            Route("GET", Rg + @"/providers/Microsoft\.Network/virtualNetworks/(?<name>[^/]+)", r => Task.FromResult(GetResource(r, Network, "virtualNetworks")));
            Route("GET", Rg + @"/providers/Microsoft\.Network/virtualNetworks", r => Task.FromResult(ListType(r, "Microsoft.Network/virtualNetworks")));
            Route("GET", Rg + @"/providers/Microsoft\.Network/virtualNetworks/(?<name>[^/]+)/subnets", r => Task.FromResult(Subnets(r, null)));
            Route("GET", Rg + @"/providers/Microsoft\.Network/virtualNetworks/(?<name>[^/]+)/subnets/(?<subnet>[^/]+)", r => Task.FromResult(Subnets(r, r.G("subnet"))));

            // Storage
            Route("GET", Rg + @"/providers/Microsoft\.Storage/storageAccounts/(?<name>[^/]+)", r => Task.FromResult(GetResource(r, "Microsoft.Storage", "storageAccounts")));
            Route("POST", Rg + @"/providers/Microsoft\.Storage/storageAccounts/(?<name>[^/]+)/listKeys", r => Task.FromResult(ListKeys(r)));
        }

        // ---- subscriptions, providers, sizes, lists ------------------------------------------

        private JsonObject Subscription() => new JsonObject
        {
            ["id"] = $"/subscriptions/{options.Subscription}",
            ["authorizationSource"] = "RoleBased",
            ["managedByTenants"] = new JsonArray(),
            ["subscriptionId"] = options.Subscription,
            ["tenantId"] = options.Tenant,
            ["displayName"] = "Lab subscription",
            ["state"] = "Enabled",
            ["subscriptionPolicies"] = new JsonObject { ["locationPlacementId"] = "Public_2014-09-01", ["quotaId"] = "PayAsYouGo_2014-09-01", ["spendingLimit"] = "Off" },
        };

        private Answer Provider(string ns)
        {
            (string Type, string Version)[] types = ns.ToLowerInvariant() switch
            {
                "microsoft.network" => new[] { ("networkInterfaces", "2023-09-01"), ("virtualNetworks", "2023-09-01"), ("virtualNetworks/subnets", "2023-09-01"), ("locations", "2023-09-01"), ("operations", "2023-09-01") },
                "microsoft.compute" => new[] { ("disks", "2023-04-02"), ("snapshots", "2023-04-02"), ("virtualMachines", "2023-07-01"), ("locations/vmSizes", "2023-07-01"), ("locations", "2023-07-01") },
                "microsoft.storage" => new[] { ("storageAccounts", "2023-01-01") },
                _ => Array.Empty<(string, string)>(),
            };
            if (types.Length == 0) return Error(404, "InvalidResourceNamespace", $"The resource namespace '{ns}' is invalid.");
            var name = ns.ToLowerInvariant() switch { "microsoft.network" => "Microsoft.Network", "microsoft.compute" => "Microsoft.Compute", _ => "Microsoft.Storage" };
            return new Answer(200, new JsonObject
            {
                ["id"] = $"/subscriptions/{options.Subscription}/providers/{name}",
                ["namespace"] = name,
                ["registrationState"] = "Registered",
                ["registrationPolicy"] = "RegistrationRequired",
                ["resourceTypes"] = new JsonArray(types.Select(t => (JsonNode)new JsonObject
                {
                    ["resourceType"] = t.Type,
                    ["locations"] = new JsonArray(DisplayLocation()),
                    ["apiVersions"] = new JsonArray(t.Version),
                    ["capabilities"] = "None",
                }).ToArray()),
            });
        }

        private string DisplayLocation() => options.Location == "westeurope" ? "West Europe" : options.Location;

        private Answer Sizes(string location)
        {
            if (!string.Equals(location.Replace(" ", ""), options.Location, StringComparison.OrdinalIgnoreCase))
            {
                return new Answer(200, new JsonObject { ["value"] = new JsonArray() });
            }
            return new Answer(200, new JsonObject
            {
                ["value"] = new JsonArray(VmSizes.Select(s => (JsonNode)new JsonObject
                {
                    ["name"] = s.Name,
                    ["numberOfCores"] = s.Cores,
                    ["osDiskSizeInMB"] = 1047552,
                    ["resourceDiskSizeInMB"] = s.ResourceDiskMb,
                    ["memoryInMB"] = s.MemoryMb,
                    ["maxDataDiskCount"] = s.MaxDisks,
                }).ToArray()),
            });
        }

        private static readonly Regex TagFilter = new Regex(@"^\s*tagName\s+eq\s+'(?<n>[^']*)'(\s+and\s+tagValue\s+eq\s+'(?<v>[^']*)')?\s*$", RegexOptions.IgnoreCase);
        private static readonly Regex TypeFilter = new Regex(@"^\s*resourceType\s+eq\s+'(?<t>[^']*)'\s*$", RegexOptions.IgnoreCase);

        /// <summary>Resources_ListByResourceGroup / Resources_List: $filter by tag (name, or name and value) or resourceType; $top; paged by nextLink.</summary>
        private Answer ListResources(Req req)
        {
            var filter = req.Query("$filter");
            var rgPrefix = req.M.Groups["rg"].Success ? RgId(req.G("rg")).ToLowerInvariant() + "/providers/" : $"/subscriptions/{options.Subscription}/resourcegroups/".ToLowerInvariant();
            Func<JsonObject, bool> match = _ => true;
            var tagFiltered = false;
            if (filter.Length > 0)
            {
                var t = TagFilter.Match(filter);
                var ty = TypeFilter.Match(filter);
                if (t.Success)
                {
                    tagFiltered = t.Groups["v"].Success;
                    var name = t.Groups["n"].Value;
                    var value = t.Groups["v"].Success ? t.Groups["v"].Value : null;
                    match = r => r["tags"] is JsonObject tags && tags.Any(kv => string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase) && (value == null || (string?)kv.Value == value));
                }
                else if (ty.Success)
                {
                    var type = ty.Groups["t"].Value;
                    match = r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase);
                }
                else
                {
                    return Error(400, "InvalidFilterInQueryString", $"The $filter '{filter}' is not supported by the lab ARM (tagName eq 'x' [and tagValue eq 'y'], or resourceType eq 'x').");
                }
            }
            List<JsonObject> all;
            lock (state.Gate)
            {
                all = state.All.Where(r => ((string)r["id"]!).ToLowerInvariant().StartsWith(rgPrefix, StringComparison.Ordinal)
                                           && ((string)r["id"]!).Contains("/providers/", StringComparison.OrdinalIgnoreCase)
                                           && match(r)).ToList();
            }
            var skip = int.TryParse(req.Query("$skiptoken"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : 0;
            var pageSize = options.PageSize;
            if (int.TryParse(req.Query("$top"), NumberStyles.None, CultureInfo.InvariantCulture, out var top) && top > 0) pageSize = Math.Min(pageSize, top);
            var page = all.Skip(skip).Take(pageSize).Select(r =>
            {
                var o = new JsonObject { ["id"] = r["id"]!.DeepClone(), ["name"] = r["name"]!.DeepClone(), ["type"] = r["type"]!.DeepClone(), ["location"] = r["location"]?.DeepClone() };
                if (r["sku"] != null) o["sku"] = r["sku"]!.DeepClone();
                if (r["kind"] != null) o["kind"] = r["kind"]!.DeepClone();
                if (r["managedBy"] != null) o["managedBy"] = r["managedBy"]!.DeepClone();
                // "When you filter by a tag name and value, the tags for each resource are not returned in the results."
                if (!tagFiltered && r["tags"] is JsonObject tags && tags.Count > 0) o["tags"] = tags.DeepClone();
                return (JsonNode)o;
            }).ToArray();
            var body = new JsonObject { ["value"] = new JsonArray(page) };
            if (skip + page.Length < all.Count)
            {
                var q = System.Web.HttpUtility.ParseQueryString(req.Ctx.Request.QueryString.Value ?? "");
                q["$skiptoken"] = (skip + page.Length).ToString(CultureInfo.InvariantCulture);
                body["nextLink"] = $"{BaseUrl}{req.Path.TrimStart('/')}?{q}";
            }
            return new Answer(200, body);
        }

        private Answer ListType(Req req, string type)
        {
            lock (state.Gate)
            {
                var prefix = RgId(req.G("rg")).ToLowerInvariant() + "/";
                var list = state.All.Where(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase)
                                                && ((string)r["id"]!).ToLowerInvariant().StartsWith(prefix, StringComparison.Ordinal))
                    .Select(r => (JsonNode)ArmState.Public(Refresh(r))).ToArray();
                return new Answer(200, new JsonObject { ["value"] = new JsonArray(list) });
            }
        }

        private Answer GetResource(Req req, string provider, string type)
        {
            lock (state.Gate)
            {
                var r = Require(ResourceId(req, provider, type, req.G("name")), $"{provider}/{type}");
                return new Answer(200, ArmState.Public(Refresh(r)));
            }
        }

        /// <summary>Derived state (a VM's power state) brought up to date before a resource is shown.</summary>
        private JsonObject Refresh(JsonObject r) => r;

        private Answer Subnets(Req req, string? subnet)
        {
            lock (state.Gate)
            {
                var vnet = Require(ResourceId(req, Network, "virtualNetworks", req.G("name")), "Microsoft.Network/virtualNetworks");
                var subnets = vnet["properties"]!["subnets"]!.AsArray();
                if (subnet == null) return new Answer(200, new JsonObject { ["value"] = subnets.DeepClone() });
                var s = subnets.FirstOrDefault(x => string.Equals((string?)x!["name"], subnet, StringComparison.OrdinalIgnoreCase));
                if (s == null) return Error(404, "NotFound", $"Resource {vnet["id"]}/subnets/{subnet} not found.");
                return new Answer(200, s.DeepClone());
            }
        }

        private Answer ListKeys(Req req)
        {
            lock (state.Gate)
            {
                var r = Require(ResourceId(req, "Microsoft.Storage", "storageAccounts", req.G("name")), "Microsoft.Storage/storageAccounts");
                var key = (string)ArmState.Lab(r)["key"]!;
                var created = (string?)r["properties"]?["creationTime"];
                return new Answer(200, new JsonObject
                {
                    ["keys"] = new JsonArray(
                        new JsonObject { ["creationTime"] = created, ["keyName"] = "key1", ["permissions"] = "FULL", ["value"] = key },
                        new JsonObject { ["creationTime"] = created, ["keyName"] = "key2", ["permissions"] = "FULL", ["value"] = key }),
                });
            }
        }

        /// <summary>The subnet a NIC's ipConfiguration names, or null.</summary>
        private JsonObject? FindSubnet(string subnetId)
        {
            var m = Regex.Match(subnetId, @"^(?<vnet>/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+)/subnets/(?<s>[^/]+)$", RegexOptions.IgnoreCase);
            if (!m.Success) return null;
            var vnet = state.Get(m.Groups["vnet"].Value);
            return vnet?["properties"]?["subnets"]?.AsArray().FirstOrDefault(x => string.Equals((string?)x!["name"], m.Groups["s"].Value, StringComparison.OrdinalIgnoreCase))?.AsObject();
        }

        private static CancellationToken Ct(Req r) => r.Ctx.RequestAborted;
    }
}
