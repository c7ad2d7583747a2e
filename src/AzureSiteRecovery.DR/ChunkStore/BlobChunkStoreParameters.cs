using System;
using System.Security;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Vault;

namespace AzureSiteRecovery.DR.ChunkStore
{
    /// <summary>
    /// The one way a cmdlet turns a Blob container and its sign-in parameters into a chunk store setting and its secret:
    /// Set-DRChunkStore's -BlobContainer, -Authentication, -AccountKey, -SasToken, -ClientId, and Copy-DRVault's
    /// -DestinationChunkStore with the same parameters prefixed ChunkStore (-ChunkStoreAccountKey...).
    /// </summary>
    internal sealed class BlobChunkStoreParameters
    {
        /// <param name="containerParameter">The name of the container's parameter, for errors (BlobContainer).</param>
        /// <param name="parameterPrefix">What the names of the sign-in parameters start with ("" or "ChunkStore").</param>
        public BlobChunkStoreParameters(string containerParameter, string parameterPrefix)
        {
            ContainerParameter = containerParameter;
            ParameterPrefix = parameterPrefix;
        }

        public string ContainerParameter { get; }
        public string ParameterPrefix { get; }
        public BlobAuthentication? Authentication { get; set; }
        public SecureString? AccountKey { get; set; }
        public SecureString? SasToken { get; set; }
        public string? ClientId { get; set; }

        /// <summary>Whether any sign-in parameter was given (they need a container).</summary>
        public bool AnyGiven => Authentication != null || AccountKey != null || SasToken != null || ClientId != null;

        /// <summary>
        /// The setting for <paramref name="container"/> and its account key or SAS (null for a managed identity), checked:
        /// InvalidChunkStoreSetting naming the parameter otherwise, before anything is stored.
        /// </summary>
        public (ChunkStoreSetting Setting, string? Secret) Describe(Uri container)
        {
            if (AccountKey != null && SasToken != null)
            {
                throw Invalid(nameof(AccountKey), $"Give {Name(nameof(AccountKey))} (SharedKey) or {Name(nameof(SasToken))} (Sas), not both.");
            }
            var authentication = Authentication ?? (AccountKey != null ? BlobAuthentication.SharedKey : SasToken != null ? BlobAuthentication.Sas : BlobAuthentication.ManagedIdentity);
            if ((AccountKey != null && authentication != BlobAuthentication.SharedKey) || (SasToken != null && authentication != BlobAuthentication.Sas))
            {
                throw Invalid(nameof(Authentication),
                    $"{Name(nameof(Authentication))} {authentication} does not take {(AccountKey != null ? Name(nameof(AccountKey)) + " (that is SharedKey)" : Name(nameof(SasToken)) + " (that is Sas)")}.");
            }
            var setting = new ChunkStoreSetting { Kind = ChunkStoreKind.AzureBlob, BlobContainer = container, Authentication = authentication, ClientId = ClientId };
            var secretSecure = AccountKey ?? SasToken;
            var secret = secretSecure is null ? null : VaultConnectionParameters.Plain(secretSecure);
            if (secret != null && secret.Length == 0)
            {
                throw Invalid(AccountKey != null ? nameof(AccountKey) : nameof(SasToken), "The account key or SAS is empty.");
            }
            setting.Validate(secret != null, ContainerParameter, ParameterPrefix);
            return (setting, secret);
        }

        private string Name(string parameter) => "-" + ParameterPrefix + parameter;

        private static InvalidSettingException Invalid(string setting, string message) => new InvalidSettingException("ChunkStore", "chunk store", setting, message);
    }
}
