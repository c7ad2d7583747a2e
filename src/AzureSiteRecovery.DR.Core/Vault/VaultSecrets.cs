using System;
using System.Text;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Secrets;

namespace AzureSiteRecovery.DR.Core.Vault
{
    /// <summary>
    /// How every vault seals the secrets it keeps (a site's password or client secret, the chunk store's key or SAS):
    /// UTF-8 text sealed with the vault key's cipher, bound to what it belongs to so that a secret copied onto
    /// another row does not open. The vaults differ only in where they keep the sealed bytes and the key's id.
    /// </summary>
    internal static class VaultSecrets
    {
        /// <summary>A site's secret is bound to the site's name.</summary>
        public static ArraySegment<byte> SiteBinding(string siteName) => new ArraySegment<byte>(Encoding.UTF8.GetBytes(siteName));

        /// <summary>The chunk store's secret is bound to its container.</summary>
        public static ArraySegment<byte> ChunkStoreBinding(ChunkStoreSetting setting) =>
            new ArraySegment<byte>(Encoding.UTF8.GetBytes("chunk-store/" + setting.BlobContainer?.AbsoluteUri));

        public static byte[] Seal(AuthenticatedCipher cipher, string secret, ArraySegment<byte> binding)
        {
            var plaintext = Encoding.UTF8.GetBytes(secret);
            try
            {
                return cipher.Seal(new ArraySegment<byte>(plaintext), binding);
            }
            finally
            {
                Array.Clear(plaintext, 0, plaintext.Length);
            }
        }

        /// <summary>The secret as text; VaultSecretTampered (naming <paramref name="what"/> and the cmdlet that sets it again, <paramref name="fix"/>) when it fails its integrity check.</summary>
        public static string Open(AuthenticatedCipher cipher, byte[] sealedSecret, ArraySegment<byte> binding, string location, string what, string fix)
        {
            try
            {
                var plaintext = cipher.Open(new ArraySegment<byte>(sealedSecret), binding);
                try
                {
                    return Encoding.UTF8.GetString(plaintext);
                }
                finally
                {
                    Array.Clear(plaintext, 0, plaintext.Length);
                }
            }
            catch (TamperedDataException ex)
            {
                throw new VaultException("VaultSecretTampered", location,
                    $"{Capitalize(what)} in the vault '{location}' failed its integrity check (it was changed or damaged). Set it again with {fix}.", ex);
            }
        }

        public static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text.Substring(1);
    }
}
