using System;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Core.Secrets
{
    /// <summary>
    /// The 32-byte master key of one vault, kept in a file beside the vault (<c>&lt;vault&gt;.key</c>),
    /// never in it. On Linux and macOS the file holds the raw key with mode 0600; on Windows it holds
    /// the key protected by DPAPI for the current user. A key can also come from elsewhere (a Key Vault
    /// secret, a value the caller holds: <see cref="VaultKeySource"/>): then it has no file.
    /// </summary>
    public sealed class VaultKey : IDisposable
    {
        public const string FileSuffix = ".key";
        private const int IdLength = 8;
        /// <summary>The DPAPI entropy a key file is protected with on Windows (the text a user needs to unprotect it by hand).</summary>
        internal const string DpapiEntropyText = "AzureSiteRecovery.DR vault key";
        private static readonly byte[] DpapiEntropy = Encoding.UTF8.GetBytes(DpapiEntropyText);
        // netstandard2.0 cannot call File.GetUnixFileMode directly; every runtime that runs the module on Linux or macOS (.NET 8+) has it.
        private static readonly MethodInfo? GetUnixFileMode =
            typeof(File).GetMethod("GetUnixFileMode", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(string) }, null);

        private readonly byte[] key;

        private VaultKey(string filePath, byte[] key)
            : this(key, $"the vault key file '{filePath}'")
        {
            FilePath = filePath;
        }

        private VaultKey(byte[] key, string description)
        {
            Description = description;
            this.key = key;
            var id = AuthenticatedCipher.DeriveKey(key, "key-id", "identifier");
            Id = new byte[IdLength];
            Buffer.BlockCopy(id, 0, Id, 0, IdLength);
        }

        /// <summary>The key file; null for a key that came from elsewhere.</summary>
        public string? FilePath { get; }

        /// <summary>Where the key came from, for errors ("the vault key file '/x'", "the Key Vault secret https://..."); never the key.</summary>
        public string Description { get; }

        /// <summary>A key of 32 bytes that came from <paramref name="description"/>; the bytes are copied.</summary>
        public static VaultKey FromBytes(byte[] material, string description)
        {
            if (material is null) throw new ArgumentNullException(nameof(material));
            if (material.Length != AuthenticatedCipher.MasterKeyLength)
            {
                throw new VaultException("VaultKeyInvalid", FailureKind.InvalidArgument, description,
                    $"The vault key from {description} holds {material.Length} bytes, not {AuthenticatedCipher.MasterKeyLength}. A vault key is the base64 of {AuthenticatedCipher.MasterKeyLength} random bytes.");
            }
            return new VaultKey((byte[])material.Clone(), description);
        }

        /// <summary>Another instance holding the same key (each owner disposes its own).</summary>
        public VaultKey Copy() => FilePath != null ? new VaultKey(FilePath, (byte[])key.Clone()) : new VaultKey((byte[])key.Clone(), Description);

        /// <summary>A short fingerprint that tells keys apart without revealing them; stored beside what the key sealed.</summary>
        public byte[] Id { get; }

        /// <summary>The key file that belongs to a vault file.</summary>
        public static string PathFor(string vaultPath) => vaultPath + FileSuffix;

        /// <summary>
        /// Reads the key file, or creates it with a new random key. When two processes race to create it, both end up with the winner's key.
        /// A missing key is never replaced when <paramref name="sealedDataExists"/> says something was sealed with it: a new key would
        /// not open that data, and would hide the loss (VaultKeyMissing).
        /// </summary>
        public static VaultKey OpenOrCreate(string keyPath, Func<bool> sealedDataExists)
        {
            if (sealedDataExists is null) throw new ArgumentNullException(nameof(sealedDataExists));
            var existing = OpenExisting(keyPath);
            if (existing != null) return existing;
            if (sealedDataExists())
            {
                throw Missing(keyPath);
            }
            return Create(keyPath) ?? OpenExisting(keyPath)
                ?? throw new VaultException("VaultKeyUnreadable", keyPath, $"The vault key file '{keyPath}' was created by another process and then disappeared.");
        }

        /// <summary>The error for a vault whose key file is gone while data sealed with it remains.</summary>
        public static VaultException Missing(string keyPath) =>
            new VaultException("VaultKeyMissing", keyPath,
                $"The vault key file '{keyPath}' is missing, but the vault holds data sealed with it (site secrets, recovery points). " +
                "Put the key file back from a backup; a new key would not open that data, so none is created.");

        /// <summary>Reads the key file; null when there is none.</summary>
        public static VaultKey? OpenExisting(string keyPath)
        {
            if (!File.Exists(keyPath))
            {
                return null;
            }
            RefuseIfReadableByOthers(keyPath);

            byte[] content;
            try
            {
                content = File.ReadAllBytes(keyPath);
            }
            catch (FileNotFoundException)
            {
                return null;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new VaultException("VaultKeyUnreadable", keyPath, $"The vault key file '{keyPath}' cannot be read: {ex.Message}", ex);
            }

            var key = IsWindows ? UnprotectForCurrentUser(content, keyPath) : content;
            if (key.Length != AuthenticatedCipher.MasterKeyLength)
            {
                throw new VaultException("VaultKeyUnreadable", keyPath,
                    $"The vault key file '{keyPath}' is damaged (it holds {key.Length} bytes, not {AuthenticatedCipher.MasterKeyLength}). Restore it from a backup.");
            }
            return new VaultKey(keyPath, key);
        }

        /// <summary>A cipher whose keys are derived from this key for one purpose (site secrets, disk chunks, ...).</summary>
        public AuthenticatedCipher CreateCipher(string purpose) => new AuthenticatedCipher(key, purpose);

        /// <summary>The key itself, for the chunk store to derive its keys from; never written anywhere by Core.</summary>
        internal byte[] Material => key;

        public void Dispose() => Array.Clear(key, 0, key.Length);

        private static bool IsWindows => RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        /// <summary>
        /// Writes this key into a new key file at <paramref name="keyPath"/> (owner-only; DPAPI on Windows), as a vault's own key file
        /// is written; false when that file exists already (it is never replaced). Copy-DRVault gives a new vault its source's key so.
        /// </summary>
        public bool TryWriteNewFile(string keyPath)
        {
            if (string.IsNullOrEmpty(keyPath)) throw new ArgumentException("A key file path is required.", nameof(keyPath));
            return Publish(keyPath, key);
        }

        /// <summary>Creates the key file; null when another process created it first.</summary>
        private static VaultKey? Create(string keyPath)
        {
            var key = new byte[AuthenticatedCipher.MasterKeyLength];
            using (var random = RandomNumberGenerator.Create())
            {
                random.GetBytes(key);
            }
            return Publish(keyPath, key) ? new VaultKey(keyPath, key) : null;
        }

        /// <summary>Writes <paramref name="key"/> into a new file at <paramref name="keyPath"/>; false when the file exists already.</summary>
        private static bool Publish(string keyPath, byte[] key)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(keyPath))!;
            OwnerOnly.CreateFolder(directory);
            // Written in full under a private name first, so that a racing reader never sees half a key.
            var temporaryPath = Path.Combine(directory, "." + Path.GetFileName(keyPath) + "." + Guid.NewGuid().ToString("N") + ".tmp");

            return IsWindows ? PublishOnWindows(key, temporaryPath, keyPath) : PublishOnUnix(key, temporaryPath, keyPath);
        }

        private static bool PublishOnUnix(byte[] key, string temporaryPath, string keyPath)
        {
            var descriptor = LibC.CreateFile(temporaryPath, LibC.OwnerReadWrite);
            try
            {
                try
                {
                    LibC.WriteAllAndSync(descriptor, key, temporaryPath);
                }
                finally
                {
                    LibC.Close(descriptor);
                }
                // link fails with EEXIST instead of replacing, which is what decides the race.
                var error = LibC.Link(temporaryPath, keyPath);
                if (error == LibC.FileExists) return false;
                if (error != 0) throw new IOException($"Could not create the vault key file '{keyPath}' (errno {error}).");
                return true;
            }
            finally
            {
                LibC.Unlink(temporaryPath);
            }
        }

        private static bool PublishOnWindows(byte[] key, string temporaryPath, string keyPath)
        {
            File.WriteAllBytes(temporaryPath, ProtectForCurrentUser(key));
            try
            {
                // File.Move never replaces an existing file, which is what decides the race.
                File.Move(temporaryPath, keyPath);
                return true;
            }
            catch (IOException) when (File.Exists(keyPath))
            {
                return false;
            }
            finally
            {
                File.Delete(temporaryPath);
            }
        }

        private static void RefuseIfReadableByOthers(string keyPath)
        {
            if (IsWindows || GetUnixFileMode is null)
            {
                return;
            }
            var mode = Convert.ToInt32(GetUnixFileMode.Invoke(null, new object[] { keyPath }));
            const int GroupAndOthers = 0x3F; // 0077
            if ((mode & GroupAndOthers) != 0)
            {
                throw new VaultException("VaultKeyFileInsecure", keyPath,
                    $"The vault key file '{keyPath}' can be read or changed by other users (mode {Convert.ToString(mode & 0xFFF, 8)}), so the secrets in the vault are not safe. " +
                    $"Restrict it with: chmod 600 '{keyPath}'");
            }
        }

        // Kept apart so that the DPAPI assembly is only loaded on Windows.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static byte[] ProtectForCurrentUser(byte[] key) =>
            ProtectedData.Protect(key, DpapiEntropy, DataProtectionScope.CurrentUser);

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static byte[] UnprotectForCurrentUser(byte[] content, string keyPath)
        {
            try
            {
                return ProtectedData.Unprotect(content, DpapiEntropy, DataProtectionScope.CurrentUser);
            }
            catch (CryptographicException ex)
            {
                throw new VaultException("VaultKeyUnreadable", keyPath,
                    $"The vault key file '{keyPath}' cannot be unprotected: it belongs to another Windows user or is damaged. Run as the user who created the vault.", ex);
            }
        }
    }
}
