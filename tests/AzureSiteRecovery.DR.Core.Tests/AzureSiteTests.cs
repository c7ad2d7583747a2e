using System;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Vault;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests
{
    /// <summary>An Azure site's cloud (Environment, ArmEndpoint, AuthorityHost, ArmCertificateThumbprint) and sign-in rules, through the vault.</summary>
    public sealed class AzureSiteTests : VaultTest
    {
        private static readonly string Thumbprint = new string('A', 40) + new string('0', 24);

        private static Site Lab() => Samples.AzureSite("lab") with
        {
            Environment = AzureClouds.Custom,
            ArmEndpoint = new Uri("https://127.0.0.1:5443/"),
            ArmCertificateThumbprint = Thumbprint,
            StorageAccount = "drreplica",
        };

        [Fact]
        public async Task A_custom_cloud_site_reads_back_equal_and_derives_its_authority_from_the_arm_endpoint()
        {
            var added = await vault.AddSiteAsync(Lab(), null, none);

            using var other = SqliteVault.Open(folder.VaultPath);
            var found = await other.FindSiteAsync("lab", none);
            Assert.Equal(added, found);
            Assert.Equal(new Uri("https://127.0.0.1:5443/"), found!.GetArmEndpoint());
            Assert.Equal(new Uri("https://127.0.0.1:5443/"), found.GetAuthorityHost());
            Assert.Contains("Custom https://127.0.0.1:5443/", found.Endpoint);
        }

        [Theory]
        [InlineData(null, "https://management.azure.com/", "https://login.microsoftonline.com/")]
        [InlineData("AzureCloud", "https://management.azure.com/", "https://login.microsoftonline.com/")]
        [InlineData("AzureChinaCloud", "https://management.chinacloudapi.cn/", "https://login.chinacloudapi.cn/")]
        [InlineData("AzureUSGovernment", "https://management.usgovcloudapi.net/", "https://login.microsoftonline.us/")]
        public void A_public_cloud_has_its_own_endpoints(string? environment, string arm, string authority)
        {
            var site = Samples.AzureSite() with { Environment = environment };
            site.Validate();
            Assert.Equal((new Uri(arm), new Uri(authority)), (site.GetArmEndpoint(), site.GetAuthorityHost()));
            Assert.EndsWith($"(westeurope, {environment ?? "AzureCloud"})", site.Endpoint);
        }

        [Fact]
        public void An_authority_host_given_wins_and_names_are_read_in_any_case()
        {
            var site = Lab() with { AuthorityHost = new Uri("https://login.contoso.local/") };
            Assert.Equal(new Uri("https://login.contoso.local/"), site.GetAuthorityHost());
            Assert.Equal("AzureUSGovernment", AzureClouds.Canonical(" azureusgovernment"));
            Assert.Equal("Mars", AzureClouds.Canonical("Mars"));
        }

        public static TheoryData<Site, string, string> BadClouds => new TheoryData<Site, string, string>
        {
            { Samples.AzureSite() with { Environment = "AzureGermanCloud" }, "Environment", "AzureCloud, AzureChinaCloud, AzureUSGovernment, Custom" },
            { Samples.AzureSite() with { Environment = "azurecloud" }, "Environment", "must be one of" },
            { Lab() with { ArmEndpoint = null }, "ArmEndpoint", "Custom cloud" },
            { Lab() with { ArmEndpoint = new Uri("http://127.0.0.1:5443/") }, "ArmEndpoint", "absolute https URL" },
            { Lab() with { AuthorityHost = new Uri("http://login.contoso.local/") }, "AuthorityHost", "absolute https URL" },
            { Samples.AzureSite() with { ArmEndpoint = new Uri("https://127.0.0.1:5443/") }, "ArmEndpoint", "goes with Environment Custom" },
            { Lab() with { ArmCertificateThumbprint = "AB:CD" }, "ArmCertificateThumbprint", "64 hex digits" },
            { Lab() with { ArmCertificateThumbprint = new string('A', 40) }, "ArmCertificateThumbprint", "SHA-256" },
            { Samples.AzureSite() with { ArmCertificateThumbprint = Thumbprint }, "ArmCertificateThumbprint", "rotates its certificates" },
            { Samples.AzureSite() with { Authentication = AzureAuthentication.ServicePrincipalCertificate, ClientId = "app" }, "ClientCertificateThumbprint", "certificate store" },
            { Samples.AzureSite() with { Authentication = AzureAuthentication.ServicePrincipalCertificate, ClientId = "app", ClientCertificateThumbprint = "XYZ" }, "ClientCertificateThumbprint", "40 hex digits" },
        };

        [Theory]
        [MemberData(nameof(BadClouds))]
        public async Task A_site_with_a_bad_cloud_or_certificate_setting_is_refused_and_not_stored(Site site, string setting, string expected)
        {
            var error = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.AddSiteAsync(site, null, none));

            Assert.Equal(("InvalidSiteSetting", setting), (error.ErrorId, error.Setting));
            Assert.Contains(expected, error.Message);
            Assert.Empty(await vault.ListSitesAsync(none));
        }

        [Fact]
        public async Task A_service_principal_with_a_secret_needs_the_secret_when_added_and_when_switched_to()
        {
            var principal = Samples.AzureSite() with { Authentication = AzureAuthentication.ServicePrincipalSecret, ClientId = "11111111-1111-1111-1111-111111111111" };
            var error = await Assert.ThrowsAsync<InvalidSettingException>(() => vault.AddSiteAsync(principal, null, none));
            Assert.Equal("ClientSecret", error.Setting);
            Assert.Contains("-ClientSecret", error.Message);

            await vault.AddSiteAsync(Samples.AzureSite(), null, none);
            var switched = await Assert.ThrowsAsync<InvalidSettingException>(() =>
                vault.UpdateSiteAsync("azure-weu", s => s with { Authentication = AzureAuthentication.ServicePrincipalSecret, ClientId = "app" }, null, none));
            Assert.Equal("ClientSecret", switched.Setting);

            var updated = await vault.UpdateSiteAsync("azure-weu", s => s with { Authentication = AzureAuthentication.ServicePrincipalSecret, ClientId = "app" }, "s3cret", none);
            Assert.True(updated.HasSecret);
            Assert.Equal("s3cret", await vault.ReadSiteSecretAsync("azure-weu", none));
        }

        [Fact]
        public async Task A_protected_vms_firmware_is_kept()
        {
            await vault.AddSiteAsync(Samples.VSphereSite("onprem"), null, none);
            await vault.AddSiteAsync(Samples.AzureSite(), null, none);
            await vault.AddPolicyAsync(Samples.Policy(), none);
            await vault.AddGroupAsync(Samples.Group(), none);
            var vm = await vault.AddProtectedVmAsync(new ProtectedVm { VmId = "vm1", Name = "erp-db01", ProtectionGroup = "erp", Site = "onprem", MoRef = "vm-1", Firmware = "efi" }, none);

            Assert.Equal("efi", (await vault.FindProtectedVmAsync(vm.VmId, none))!.Firmware);
            await vault.UpdateProtectedVmAsync(vm.VmId, v => v with { Firmware = "bios" }, none);
            Assert.Equal("bios", (await vault.FindProtectedVmAsync(vm.VmId, none))!.Firmware);
        }
    }
}
