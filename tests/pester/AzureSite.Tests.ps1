# Azure as a recovery site: New-DRSite/Set-DRSite's sign-in and cloud parameters, recovery plans for an
# Azure site (subnets, 'azure:' blocks) as Import-RecoveryPlan and Test-RecoveryPlan -SkipSiteCheck see
# them, and Test-DRSite against the lab ARM (Azurite + tests/lab/arm, TestSupport's Start-TestAzureLab).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    $module = Import-Module $env:AZSR_DR_TEST_MODULE -Force -PassThru
    $example = Join-Path $module.ModuleBase 'Examples/erp-azure.plan.yaml'
    $cred = New-TestCredential
    $sub = '00000000-0000-0000-0000-000000000001'
    $thumb = (1..32 | ForEach-Object { 'ab' }) -join ':'
    $azure = @{ Azure = $true; SubscriptionId = $sub; ResourceGroup = 'rg-dr'; Location = 'westeurope'; Role = 'Recovery'; SkipConnectionTest = $true }
    function New-Secret([string] $Text) { ConvertTo-SecureString $Text -AsPlainText -Force }
}

Describe 'New-DRSite -Azure and Set-DRSite: sign-in and cloud' {
    BeforeEach {
        $vault = New-TestVaultPath
        $PSDefaultParameterValues = @{ '*-DRSite:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
    }
    AfterEach { Remove-TestVault $vault }

    It 'signs in with the system-assigned managed identity in AzureCloud by default, and the table shows the cloud' {
        $site = New-DRSite -Name azure @azure
        $site.Authentication | Should -Be 'ManagedIdentity'
        $site.ClientId | Should -BeNullOrEmpty
        $site.Environment | Should -Be 'AzureCloud'
        $site.ArmEndpoint | Should -BeNullOrEmpty
        $site.HasSecret | Should -BeFalse
        Get-DRSite | Out-String -Width 200 | Should -Match "azure\s+Azure\s+Recovery\s+ManagedIdentity\s+/subscriptions/$sub/resourceGroups/rg-dr \(westeurope, AzureCloud\)"
    }

    It 'takes a user-assigned managed identity by its client id, and a sovereign cloud in any case' {
        $site = New-DRSite -Name azure @azure -ClientId 5b1e0f0c-1111-2222-3333-444455556666 -Environment azurechinacloud
        $site.Authentication | Should -Be 'ManagedIdentity'
        $site.ClientId | Should -Be '5b1e0f0c-1111-2222-3333-444455556666'
        $site.Environment | Should -Be 'AzureChinaCloud'
        $site.GetArmEndpoint() | Should -Be 'https://management.chinacloudapi.cn/'
    }

    It 'registers the lab: -ArmEndpoint alone means Custom, the pinned thumbprint is normalised, the authority defaults to the endpoint' {
        $site = New-DRSite -Name lab @azure -ArmEndpoint https://127.0.0.1:5443/ -ArmCertificateThumbprint $thumb
        $site.Environment | Should -Be 'Custom'
        $site.ArmEndpoint | Should -Be 'https://127.0.0.1:5443/'
        $site.ArmCertificateThumbprint | Should -Be ('AB' * 32)
        $site.GetAuthorityHost() | Should -Be 'https://127.0.0.1:5443/'
        (Get-DRSite lab).Endpoint | Should -Match 'Custom https://127\.0\.0\.1:5443/'
    }

    It 'completes -Environment with the four cloud names' {
        $line = 'New-DRSite -Name x -Azure -Environment Azure'
        $result = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $result.CompletionMatches.CompletionText | Should -Be @('AzureCloud', 'AzureChinaCloud', 'AzureUSGovernment')
        $line = 'Set-DRSite x -Environment c'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('Custom')
    }

    It 'refuses <Case> with InvalidSiteSetting naming <Setting>, and stores nothing' -ForEach @(
        @{ Case = 'an unknown environment'; Setting = 'Environment'; Extra = @{ Environment = 'AzureGermanCloud' }; Words = 'AzureCloud, AzureChinaCloud, AzureUSGovernment, Custom' }
        @{ Case = 'an http ARM endpoint'; Setting = 'ArmEndpoint'; Extra = @{ ArmEndpoint = 'http://127.0.0.1:5443/' }; Words = 'absolute https URL' }
        @{ Case = 'Custom without an ARM endpoint'; Setting = 'ArmEndpoint'; Extra = @{ Environment = 'Custom' }; Words = 'needs ArmEndpoint' }
        @{ Case = 'an ARM endpoint for a public cloud'; Setting = 'ArmEndpoint'; Extra = @{ Environment = 'AzureCloud'; ArmEndpoint = 'https://127.0.0.1:5443/' }; Words = 'goes with Environment Custom' }
        @{ Case = 'an http authority host'; Setting = 'AuthorityHost'; Extra = @{ ArmEndpoint = 'https://127.0.0.1:5443/'; AuthorityHost = 'http://127.0.0.1:5443/' }; Words = 'absolute https URL' }
        @{ Case = 'a service principal without a secret'; Setting = 'ClientSecret'; Extra = @{ Authentication = 'ServicePrincipalSecret'; TenantId = 't'; ClientId = 'app' }; Words = '-ClientSecret' }
        @{ Case = 'a service principal without a tenant'; Setting = 'TenantId'; Extra = @{ Authentication = 'ServicePrincipalSecret'; ClientId = 'app'; ClientSecret = (ConvertTo-SecureString 'x' -AsPlainText -Force) }; Words = 'tenant id' }
        @{ Case = 'a certificate sign-in without a thumbprint'; Setting = 'ClientCertificateThumbprint'; Extra = @{ Authentication = 'ServicePrincipalCertificate'; TenantId = 't'; ClientId = 'app' }; Words = 'certificate store' }
        @{ Case = 'a secret for a managed identity'; Setting = 'ClientSecret'; Extra = @{ Authentication = 'ManagedIdentity'; ClientSecret = (ConvertTo-SecureString 'x' -AsPlainText -Force) }; Words = 'takes no client secret' }
        @{ Case = 'a secret given twice'; Setting = 'ClientSecret'; Extra = @{ TenantId = 't'; ClientId = 'app'; ClientSecret = (ConvertTo-SecureString 'x' -AsPlainText -Force); Credential = [pscredential]::new('app', (ConvertTo-SecureString 'y' -AsPlainText -Force)) }; Words = 'not both' }
        @{ Case = 'a pinned certificate of a public cloud'; Setting = 'ArmCertificateThumbprint'; Extra = @{ ArmCertificateThumbprint = ('ab' * 32) }; Words = 'rotates its certificates' }
    ) {
        New-DRSite -Name azure @azure @Extra -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be 'InvalidSiteSetting,AzureSiteRecovery.DR.Sites.NewDRSiteCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].Exception.Setting | Should -Be $Setting
        $err[0].Exception.Message | Should -BeLike "*$Words*"
        Test-Path $vault | Should -BeFalse -Because 'nothing was stored'
    }

    It 'takes a service principal as -Credential (client id and secret) and infers the sign-in from it' {
        $site = New-DRSite -Name azure @azure -TenantId 72f988bf-0000-0000-0000-000000000000 -Credential (New-TestCredential 7f3c2a10-aaaa-bbbb-cccc-0123456789ab 'Sp-secret-1')
        $site.Authentication | Should -Be 'ServicePrincipalSecret'
        $site.ClientId | Should -Be '7f3c2a10-aaaa-bbbb-cccc-0123456789ab'
        $site.UserName | Should -BeNullOrEmpty
        $site.HasSecret | Should -BeTrue
    }

    It 'infers a certificate sign-in from -ClientCertificateThumbprint, normalised' {
        $site = New-DRSite -Name azure @azure -TenantId t -ClientId app -ClientCertificateThumbprint ((1..20 | ForEach-Object { '0f' }) -join ':')
        $site.Authentication | Should -Be 'ServicePrincipalCertificate'
        $site.ClientCertificateThumbprint | Should -Be ('0F' * 20)
    }

    It 'rotates a service principal secret with Set-DRSite, and switches a site to the lab and back to a public cloud' {
        New-DRSite -Name azure @azure -TenantId t -ClientId app -ClientSecret (New-Secret 'old-secret') | Out-Null
        $rotated = Set-DRSite azure -ClientSecret (New-Secret 'new-secret') -PassThru
        $rotated.HasSecret | Should -BeTrue
        $core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'AzureSiteRecovery.DR.Core' } | Select-Object -First 1
        $vaultType = $core.GetType('AzureSiteRecovery.DR.Core.Vault.SqliteVault', $true)
        $opened = $vaultType::Open($vault)
        try { $opened.ReadSiteSecretAsync('azure', [Threading.CancellationToken]::None).GetAwaiter().GetResult() | Should -Be 'new-secret' }
        finally { $opened.Dispose() }

        $lab = Set-DRSite azure -ArmEndpoint https://127.0.0.1:5443/ -ArmCertificateThumbprint $thumb -AuthorityHost https://127.0.0.1:5444/ -PassThru
        $lab.Environment | Should -Be 'Custom'
        $lab.GetAuthorityHost() | Should -Be 'https://127.0.0.1:5444/'
        $back = Set-DRSite azure -Environment AzureUSGovernment -PassThru
        $back.Environment | Should -Be 'AzureUSGovernment'
        $back.ArmEndpoint | Should -BeNullOrEmpty
        $back.AuthorityHost | Should -BeNullOrEmpty
        $back.ArmCertificateThumbprint | Should -BeNullOrEmpty
        $back.ClientId | Should -Be 'app'
    }

    It 'contacts an Azure site before storing it, and Test-DRSite reports one it cannot reach (a custom cloud on a closed loopback port)' {
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0); $listener.Start()
        $closed = $listener.LocalEndpoint.Port; $listener.Stop()
        $unreachable = @{ ArmEndpoint = "https://127.0.0.1:$closed/"; Authentication = 'ServicePrincipalSecret'; TenantId = 't'; ClientId = 'app'; ClientSecret = (New-Secret 'x') }
        $splat = $azure.Clone(); $splat.Remove('SkipConnectionTest')
        New-DRSite -Name lab @splat @unreachable -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'Azure*,AzureSiteRecovery.DR.Sites.NewDRSiteCommand'
        $err[0].Exception.Message | Should -Match "'lab'"
        Test-Path $vault | Should -BeFalse -Because 'a site that cannot be reached is not stored'

        New-DRSite -Name lab @azure @unreachable | Out-Null
        $result = Test-DRSite lab
        $result.Succeeded | Should -BeFalse
        $result.Kind | Should -Be 'Azure'
        $result.ErrorId | Should -BeLike 'Azure*'
        $result.Error | Should -Not -Match "ClientSecret|'x'"
    }

    It 'refuses an Azure setting on a vSphere site and a vSphere one on an Azure site' {
        New-DRSite -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest | Out-Null
        New-DRSite -Name azure @azure | Out-Null
        Set-DRSite onprem -Environment AzureCloud -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'InvalidSiteSetting,AzureSiteRecovery.DR.Sites.SetDRSiteCommand'
        $err[0].Exception.Message | Should -Match '-Environment is a setting of Azure sites'
        Set-DRSite azure -SkipCertificateCheck -ErrorVariable err2 -ErrorAction SilentlyContinue
        $err2[0].Exception.Message | Should -Match '-SkipCertificateCheck is a setting of VSphere sites'
        Set-DRSite azure -ClientSecret (New-Secret 'x') -ErrorVariable err3 -ErrorAction SilentlyContinue
        $err3[0].Exception.Message | Should -Match 'takes no client secret'
        (Get-DRSite azure).HasSecret | Should -BeFalse
    }
}

Describe 'Recovery plans for an Azure recovery site' {
    BeforeEach {
        $vault = New-TestVaultPath
        $work = Split-Path $vault
        $PSDefaultParameterValues = @{
            '*-RecoveryPlan:Vault' = $vault; '*-DRSite:Vault' = $vault; '*-ReplicationPolicy:Vault' = $vault; '*-ProtectionGroup:Vault' = $vault
            '*:WarningAction' = 'SilentlyContinue'
        }
        New-DRSite -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest | Out-Null
        New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        New-DRSite -Name azure @azure | Out-Null
        New-ReplicationPolicy -Name gold | Out-Null
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite azure -Policy gold | Out-Null
        New-ProtectionGroup -Name erp-web -ProtectedSite onprem -RecoverySite azure -Policy gold | Out-Null

        function Protect([string[]] $Name, [string] $Group = 'erp', [string] $Firmware = 'bios') {
            foreach ($vm in $Name) {
                Add-TestProtectedVm -VaultPath $vault -Group $Group -Name $vm
                Add-TestRecoveryPoint -VaultPath $vault -Name $vm
                # What a cycle reads from vSphere: the firmware (NULL: not read yet) and the networks.
                $firmwareValue = if ($Firmware) { "'$Firmware'" } else { 'NULL' }
                Invoke-VaultSql $vault "UPDATE protected_vms SET firmware = $firmwareValue, networks = '[""VM Network"",""Backend""]' WHERE name = '$vm';" | Out-Null
            }
        }
        function Write-Plan([string] $Text) { $path = Join-Path $work 'plan.yaml'; [IO.File]::WriteAllText($path, $Text); $path }
    }
    AfterEach { Remove-TestVault $vault }

    It 'ships a commented Azure example that imports, exports unchanged, and passes the vault checks' {
        Get-Content $example -Raw | Should -Match '# .*hv_vmbus'
        $plan = Import-RecoveryPlan -Path $example
        $plan.RecoverySite | Should -Be 'azure'
        $plan.Groups[0].Vms[0].Azure.VmSize | Should -Be 'Standard_E8s_v5'
        $plan.Groups[0].Defaults.Azure.VmSize | Should -Be 'Standard_E4s_v5'
        Export-RecoveryPlan erp-azure | Should -BeExactly (Get-Content $example -Raw)

        Protect erp-db01, erp-app01, erp-app02, erp-lb01
        Protect erp-web01 -Group erp-web -Firmware efi
        $output = Test-RecoveryPlan erp-azure -SkipSiteCheck
        $summary = $output | Select-Object -Last 1
        $summary.Passed | Should -BeTrue -Because ($output | Out-String -Width 300)
        $summary.VmCount | Should -Be 5
        @($summary.Vms | Where-Object { $_.Vm.Name -eq 'erp-web01' }).Settings.Azure | Should -BeNullOrEmpty
        @($summary.Vms | Where-Object { $_.Vm.Name -eq 'erp-app02' }).Settings.Azure.VmSize | Should -Be 'Standard_D2s_v3'
    }

    It 'reports a mapping that is not a subnet, and an unknown firmware, at their plan lines' {
        $path = Write-Plan "name: bad`nprotectedSite: onprem`nrecoverySite: azure`nnetworkMappings:`n  - sourceNetwork: VM Network`n    recoveryNetwork: DR Production`n    testNetwork: vnet-test/snet-app`ngroups:`n  - name: db`n    vms: [erp-db01]`n"
        Import-RecoveryPlan -Path $path | Out-Null
        Protect erp-db01 -Firmware ''
        $output = Test-RecoveryPlan bad -SkipSiteCheck
        ($output | Select-Object -Last 1).Passed | Should -BeFalse
        $mapping = @($output | Where-Object Check -eq 'AzureNetworkMappingInvalid')
        $mapping | Should -HaveCount 1
        "$($mapping[0].Location)" | Should -Be 'bad:6:22'
        $mapping[0].Message | Should -Match "recoveryNetwork 'DR Production' of source network 'VM Network' does not name an Azure subnet"
        @($output | Where-Object Check -eq 'FirmwareUnknown').Vm | Should -Be 'erp-db01'
    }

    It 'names the line and column of an unknown key in an azure block, and stores nothing' {
        $path = Write-Plan "name: bad`nprotectedSite: onprem`nrecoverySite: azure`ngroups:`n  - name: db`n    azure:`n      vmSize: Standard_D2s_v3`n      diskType: Premium_LRS`n    vms: [erp-db01]`n"
        Import-RecoveryPlan -Path $path -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'RecoveryPlanInvalid,AzureSiteRecovery.DR.Plans.ImportRecoveryPlanCommand'
        $err[0].Exception.Message | Should -BeExactly "plan.yaml:8:7: unknown key 'diskType' in 'azure'; expected one of: vmSize"
        Get-RecoveryPlan | Should -BeNullOrEmpty
    }

    It "refuses an 'azure:' block in a plan whose recovery site is vSphere" {
        New-ProtectionGroup -Name local -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        $path = Write-Plan "name: local`nprotectedSite: onprem`nrecoverySite: dr`nnetworkMappings:`n  - sourceNetwork: VM Network`n    recoveryNetwork: DR Production`n    testNetwork: DR Test`ngroups:`n  - name: db`n    vms:`n      - name: local01`n        azure: { vmSize: Standard_B2s }`n"
        Import-RecoveryPlan -Path $path | Out-Null
        Protect local01 -Group local
        $finding = @(Test-RecoveryPlan local -SkipSiteCheck | Where-Object Check -eq 'AzureSettingsOnVSphere')
        $finding | Should -HaveCount 1
        $finding[0].Severity | Should -Be 'Error'
        "$($finding[0].Location)" | Should -Be 'local:12:9'
        $finding[0].Message | Should -Match "VM 'local01' has an 'azure:' block, but the plan's recovery site 'dr' is a VSphere site"
    }
}

Describe 'Test-DRSite on an Azure site, against the lab ARM' {
    BeforeAll {
        $clientId = '1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e'
        $tenant = '00000000-0000-0000-0000-0000000000bb'
        $secret = 'lab-sp-secret~' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $azure = Start-TestAzureLab -ArmArguments @('--client', "$clientId=$secret", '--tenant', $tenant)
        $vault = New-TestVaultPath
        $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue'; '*:Confirm' = $false }
        New-DRSite -Name onprem -VSphere -Server https://vc.example.test/sdk -Credential (New-TestCredential) -Role Protected -SkipConnectionTest | Out-Null
        New-DRSite -Name azure -Azure -TenantId $tenant -SubscriptionId $azure.SubscriptionId -ResourceGroup rg-dr -Location westeurope -StorageAccount drreplica `
            -Environment Custom -ArmEndpoint $azure.ArmUrl -ArmCertificateThumbprint $azure.Thumbprint -ClientId $clientId `
            -ClientSecret (ConvertTo-SecureString $secret -AsPlainText -Force) -Role Recovery | Out-Null
        New-ReplicationPolicy -Name gold | Out-Null
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite azure -Policy gold | Out-Null
        function Import-SubnetPlan([string] $TestNetwork) {
            $path = Join-Path (Split-Path $vault) 'subnets.plan.yaml'
            Set-Content $path "name: subnets`nprotectedSite: onprem`nrecoverySite: azure`nnetworkMappings:`n  - sourceNetwork: VM Network`n    recoveryNetwork: dr-vnet/default`n    testNetwork: $TestNetwork`ngroups:`n  - name: db`n    protectionGroups: [erp]`n"
            Import-RecoveryPlan -Path $path -Force | Out-Null
        }
    }
    AfterAll {
        Stop-TestAzureLab $azure
        Remove-TestVault $vault
    }

    It 'signs in and reads the subscription, the resource group, the storage account and the subnets the plans name' {
        Import-SubnetPlan 'dr-test/test'
        $result = Test-DRSite azure
        $result.Succeeded | Should -BeTrue -Because $result.Error
        $result.Product | Should -Match "subscription '.+', /subscriptions/$($azure.SubscriptionId)/resourceGroups/rg-dr"
        $result.Product | Should -Match ([regex]::Escape("storage $($azure.BlobEndpoint)"))
        $result.Product | Should -Match '2 plan subnet\(s\) checked'
        $result.Product | Should -Not -Match ([regex]::Escape($secret))
        @(Get-TestAzureLabState $azure violations) | Should -BeNullOrEmpty
    }

    It 'fails with SubnetNotFound, naming the plan and the subnet, when a plan maps a network to a subnet that does not exist' {
        Import-SubnetPlan 'dr-test/missing'
        $result = Test-DRSite azure
        $result.Succeeded | Should -BeFalse
        $result.ErrorId | Should -Be 'SubnetNotFound'
        $result.Error | Should -Match "plan 'subnets': test subnet 'dr-test/missing' \(/subscriptions/$($azure.SubscriptionId)/resourceGroups/rg-dr/providers/Microsoft.Network/virtualNetworks/dr-test/subnets/missing\)"
        $result.Error | Should -Match 'Create them, or fix the plans'' networkMappings'
    }
}
