using AzureSiteRecovery.DR.Core.Vault.Connection;

namespace AzureSiteRecovery.DR.Vault
{
    /// <summary>
    /// What Get-DRVault and Connect-DRVault -PassThru show of a vault connection: where the vault is, its kind,
    /// how it signs in and where its key comes from. Never an account key, SAS or vault key.
    /// </summary>
    public sealed class DRVaultConnection
    {
        internal DRVaultConnection(VaultConnection connection, VaultSource source)
        {
            Location = connection.Location;
            Kind = connection.Kind;
            TablePrefix = connection.TablePrefix;
            Authentication = connection.Kind == VaultKind.Table ? connection.Authentication : (VaultAuthentication?)null;
            ClientId = connection.ClientId;
            KeySource = connection.KeySource?.Description ?? $"key file '{Core.Secrets.VaultKey.PathFor(connection.Location)}' (beside the vault)";
            CertificateThumbprint = connection.CertificateThumbprint;
            Source = source;
            Connection = connection;
        }

        /// <summary>The connection itself, secrets included, for a cmdlet given this object (Copy-DRVault -DestinationVault); never shown.</summary>
        internal VaultConnection Connection { get; }

        /// <summary>The vault file, or the table endpoint URL.</summary>
        public string Location { get; }

        /// <summary>Sqlite (a file) or Table (Azure Table storage).</summary>
        public VaultKind Kind { get; }

        /// <summary>The prefix of the vault's table names (Table).</summary>
        public string? TablePrefix { get; }

        /// <summary>How a Table vault signs in: ManagedIdentity, SharedKey or Sas.</summary>
        public VaultAuthentication? Authentication { get; }

        /// <summary>The user-assigned managed identity's client id; empty: system-assigned.</summary>
        public string? ClientId { get; }

        /// <summary>Where the vault key comes from (a file, a Key Vault secret, a value); never the key.</summary>
        public string KeySource { get; }

        /// <summary>The SHA-256 thumbprint of a certificate trusted for the table endpoint and Key Vault (a lab).</summary>
        public string? CertificateThumbprint { get; }

        /// <summary>Why this vault: Parameter (-Vault), Session (Connect-DRVault), Environment (AZSR_DR_VAULT) or Default.</summary>
        public VaultSource Source { get; }

        public override string ToString() => Location;
    }
}
