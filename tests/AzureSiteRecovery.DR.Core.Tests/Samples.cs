using System;
using AzureSiteRecovery.DR.Core.Model;
using Microsoft.Data.Sqlite;

namespace AzureSiteRecovery.DR.Core.Tests
{
    /// <summary>Valid vault objects to start each test from.</summary>
    internal static class Samples
    {
        public static Site VSphereSite(string name = "onprem", SiteRole role = SiteRole.Protected) => new Site
        {
            Name = name,
            Kind = SiteKind.VSphere,
            Role = role,
            Server = new Uri("https://vcenter.example.com/sdk"),
            UserName = "administrator@vsphere.local",
        };

        public static Site AzureSite(string name = "azure-weu", SiteRole role = SiteRole.Recovery) => new Site
        {
            Name = name,
            Kind = SiteKind.Azure,
            Role = role,
            TenantId = "00000000-0000-0000-0000-0000000000aa",
            SubscriptionId = "00000000-0000-0000-0000-000000000001",
            ResourceGroup = "rg-dr",
            Location = "westeurope",
            Authentication = AzureAuthentication.ManagedIdentity,
        };

        public static ReplicationPolicy Policy(string name = "gold") => new ReplicationPolicy { Name = name };

        public static ProtectionGroup Group(string name = "erp", string protectedSite = "onprem", string recoverySite = "azure-weu", string policy = "gold") =>
            new ProtectionGroup { Name = name, ProtectedSite = protectedSite, RecoverySite = recoverySite, Policy = policy };

        /// <summary>Writes protected VM rows straight into the vault file, as the replication code will.</summary>
        public static void AddProtectedVms(string vaultPath, string group, string site, int count)
        {
            using var connection = OpenFile(vaultPath);
            for (var i = 0; i < count; i++)
            {
                using var command = connection.CreateCommand();
                command.CommandText = "INSERT INTO protected_vms (id, name, group_name, site, moref, created_unix_ms, modified_unix_ms) " +
                                      "VALUES ($id, $name, $group, $site, $moref, 0, 0);";
                command.Parameters.AddWithValue("$id", Guid.NewGuid().ToString());
                command.Parameters.AddWithValue("$name", $"{group}-vm{i}");
                command.Parameters.AddWithValue("$group", group);
                command.Parameters.AddWithValue("$site", site);
                command.Parameters.AddWithValue("$moref", $"{group}-vm-{i}");
                command.ExecuteNonQuery();
            }
        }

        public static long CountRows(string vaultPath, string table)
        {
            using var connection = OpenFile(vaultPath);
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT COUNT(*) FROM {table};";
            return (long)command.ExecuteScalar()!;
        }

        /// <summary>A plain connection to a vault file, unpooled so that it really closes.</summary>
        public static SqliteConnection OpenFile(string path)
        {
            var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, ForeignKeys = true }.ToString());
            connection.Open();
            return connection;
        }
    }
}
