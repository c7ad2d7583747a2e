using System.Collections.Generic;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Vault;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests
{
    public sealed class VaultLocationTests
    {
        private static string Resolve(string? explicitPath, bool isWindows, params (string Name, string Value)[] variables)
        {
            var environment = new Dictionary<string, string>();
            foreach (var (name, value) in variables) environment[name] = value;
            return VaultLocation.Resolve(explicitPath, name => environment.TryGetValue(name, out var value) ? value : null, isWindows);
        }

        [Fact]
        public void An_explicit_path_wins_and_is_not_resolved()
        {
            Assert.Equal("rel/vault.db", Resolve("rel/vault.db", false, ("AZSR_DR_VAULT", "/env/vault.db")));
        }

        [Fact]
        public void The_environment_variable_comes_next()
        {
            Assert.Equal("/env/vault.db", Resolve(null, false, ("AZSR_DR_VAULT", "/env/vault.db"), ("HOME", "/home/ann")));
            Assert.Equal(@"D:\dr\vault.db", Resolve("", true, ("AZSR_DR_VAULT", @"D:\dr\vault.db")));
        }

        [Fact]
        public void On_Linux_and_macOS_the_default_follows_XDG_then_HOME()
        {
            Assert.Equal("/data/AzureSiteRecovery.DR/vault.db", Resolve(null, false, ("XDG_DATA_HOME", "/data/"), ("HOME", "/home/ann")));
            Assert.Equal("/home/ann/.local/share/AzureSiteRecovery.DR/vault.db", Resolve(null, false, ("HOME", "/home/ann")));
            Assert.Equal("/home/ann/.local/share/AzureSiteRecovery.DR/vault.db", Resolve(null, false, ("XDG_DATA_HOME", "relative"), ("HOME", "/home/ann")));
        }

        [Fact]
        public void On_Windows_the_default_is_under_LOCALAPPDATA()
        {
            Assert.Equal(@"C:\Users\ann\AppData\Local\AzureSiteRecovery.DR\vault.db", Resolve(null, true, ("LOCALAPPDATA", @"C:\Users\ann\AppData\Local")));
        }

        [Fact]
        public void Without_any_home_the_error_says_how_to_choose_a_vault()
        {
            var error = Assert.Throws<VaultException>(() => Resolve(null, false));
            Assert.Equal("VaultLocationUnknown", error.ErrorId);
            Assert.Contains("AZSR_DR_VAULT", error.Message);
        }
    }
}
