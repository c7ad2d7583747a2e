using System;
using System.Threading.Tasks;
using Azure.ResourceManager.Compute.Models;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Model;
using AzureSiteRecovery.DR.Core.Orchestration.Recovery;
using AzureSiteRecovery.DR.Core.Sites.Azure;
using AzureSiteRecovery.DR.Core.Sites.VSphere;
using AzureSiteRecovery.DR.Core.Tests.Lab;
using Xunit;

namespace AzureSiteRecovery.DR.Core.Tests.Azure
{
    /// <summary>
    /// An Azure site's connection: a custom cloud's endpoint certificate is pinned by SHA-256 (vcsim's
    /// self-signed HTTPS endpoint stands in for the endpoint: only TLS is under test), and the choices
    /// AzureVmRecovery makes from the source VM.
    /// </summary>
    public sealed class AzureSiteConnectionTests : IClassFixture<VcsimLab>
    {
        private readonly VcsimLab lab;

        public AzureSiteConnectionTests(VcsimLab lab) => this.lab = lab;

        private Site CustomCloud(string? thumbprint) => Samples.AzureSite("lab") with
        {
            Environment = AzureClouds.Custom,
            ArmEndpoint = new Uri(lab.Url.GetLeftPart(UriPartial.Authority) + "/"),
            ArmCertificateThumbprint = thumbprint,
            Authentication = AzureAuthentication.ServicePrincipalSecret,
            ClientId = "7f3c2a10-aaaa-bbbb-cccc-0123456789ab",
            StorageAccount = "drreplica",
            HasSecret = true,
        };

        [Fact]
        public async Task An_untrusted_endpoint_certificate_is_named_by_its_thumbprint_and_pinning_it_gets_past_tls()
        {
            var expected = (await Assert.ThrowsAsync<CertificateUntrustedException>(() =>
                VSphereClient.ConnectAsync(lab.Endpoint(skipCertificateCheck: false), "onprem", default))).Thumbprint;

            using (var unpinned = AzureSiteConnection.Open(CustomCloud(null), "Sp-secret-1"))
            {
                var e = await Assert.ThrowsAsync<AzureException>(() => unpinned.GetStorageAccountAsync(default));
                Assert.Equal("AzureCertificateUntrusted", e.ErrorId);
                Assert.Equal(FailureKind.Security, e.Kind);
                Assert.Contains(expected, e.Message);
                Assert.Contains("-ArmCertificateThumbprint " + expected, e.Message);
                Assert.DoesNotContain("Sp-secret-1", e.Message);
            }

            // Pinned, the handshake passes: what fails now is the sign-in (vcsim is no Entra ID), not the certificate.
            using var pinned = AzureSiteConnection.Open(CustomCloud(expected), "Sp-secret-1");
            var signIn = await Assert.ThrowsAsync<AzureException>(() => pinned.GetStorageAccountAsync(default));
            Assert.Equal("AzureSignInFailed", signIn.ErrorId);
            Assert.DoesNotContain("Sp-secret-1", signIn.Message);
        }

        [Fact]
        public void A_vsphere_site_is_refused_naming_the_kind()
        {
            var e = Assert.Throws<InvalidSettingException>(() => AzureSiteConnection.Open(Samples.VSphereSite("onprem"), null));
            Assert.Contains("needs an Azure site", e.Message);
        }

        [Fact]
        public void A_service_principal_without_a_secret_is_refused_before_anything_is_sent()
        {
            var e = Assert.Throws<InvalidSettingException>(() => AzureSiteConnection.Open(CustomCloud(null) with { HasSecret = true }, null));
            Assert.Contains("ClientSecret", e.Message);
        }

        [Theory]
        [InlineData("windows2019srv_64Guest", "efi", "Windows", "V2")]
        [InlineData("windows9Server64Guest", "bios", "Windows", "V1")]
        [InlineData("rhel9_64Guest", "efi", "Linux", "V2")]
        [InlineData("otherGuest64", null, "Linux", "V1")]
        [InlineData(null, "EFI", "Linux", "V2")]
        public void The_os_disk_type_and_generation_follow_the_guest_id_and_firmware(string? guestId, string? firmware, string osType, string generation)
        {
            Assert.Equal(osType, AzureVmRecovery.OsTypeOf(guestId).ToString());
            Assert.Equal(generation, AzureVmRecovery.HyperVGenerationOf(firmware).ToString());
        }

        [Fact]
        public void The_size_is_the_smallest_with_the_sources_cpus_and_memory()
        {
            var sizes = new[]
            {
                ArmComputeModelFactory.VirtualMachineSize("Standard_D4s_v3", 4, null, null, 16384, 8),
                ArmComputeModelFactory.VirtualMachineSize("Standard_B2s", 2, null, null, 4096, 4),
                ArmComputeModelFactory.VirtualMachineSize("Standard_D2s_v3", 2, null, null, 8192, 4),
                ArmComputeModelFactory.VirtualMachineSize("Standard_B1s", 1, null, null, 1024, 2),
            };
            Assert.Equal("Standard_B2s", AzureVmRecovery.ChooseSize(sizes, new ProtectedVm { NumCpu = 2, MemoryMB = 4096 }));
            Assert.Equal("Standard_D2s_v3", AzureVmRecovery.ChooseSize(sizes, new ProtectedVm { NumCpu = 2, MemoryMB = 6000 }));
            Assert.Equal("Standard_B1s", AzureVmRecovery.ChooseSize(sizes, new ProtectedVm { NumCpu = 0, MemoryMB = 0 }));
            Assert.Null(AzureVmRecovery.ChooseSize(sizes, new ProtectedVm { NumCpu = 8, MemoryMB = 1024 }));
        }

        [Theory]
        [InlineData("DC0_H0_VM0-drtest-abc123", "DC0_H0_VM0-drtest-abc123")]
        [InlineData("web 01 (prod)", "web-01--prod")]
        [InlineData("_x.", "x")]
        public void Resource_names_keep_what_azure_allows(string name, string expected) =>
            Assert.Equal(expected, AzureVmRecovery.ResourceName(name));
    }
}
