using System;
using System.IO;

namespace AzureSiteRecovery.DR.Core.Tests
{
    /// <summary>A fresh folder under the system temp folder, deleted with everything in it on Dispose.</summary>
    public sealed class TemporaryFolder : IDisposable
    {
        public TemporaryFolder()
        {
            FolderPath = Path.Combine(Path.GetTempPath(), "azsr-dr-tests-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(FolderPath);
        }

        public string FolderPath { get; }

        /// <summary>A vault path one folder deeper than <see cref="FolderPath"/>, so Open has a folder to create.</summary>
        public string VaultPath => Path.Combine(FolderPath, "state", "vault.db");

        public void Dispose()
        {
            if (Directory.Exists(FolderPath))
            {
                Directory.Delete(FolderPath, recursive: true);
            }
        }
    }
}
