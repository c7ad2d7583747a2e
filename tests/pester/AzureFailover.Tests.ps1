# Failover to Azure and back, with the same cmdlets and job steps as for vSphere, against vcsim (the protected
# site), Azurite and the lab ARM (TestSupport: Start-TestAzureLab): a planned failover carries the writes made
# after the last sync; Undo-Failover leaves nothing tagged; Invoke-Reprotect replicates the Azure VM's disk back
# (disk snapshots with a read SAS); Invoke-Failback writes only the differing chunks into the original VM (ranged
# PUT on) or the whole disk (-ranged-put=false), verified, and deletes the Azure VM with its disks and NIC.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $capacity = 16MB
    $chunk = 4MB

    # A read+write SAS of a managed disk's page blob: the lab's back door standing in for the guest (not an Azure API).
    function Get-GuestDiskSas($Azure, [string] $DiskName) {
        (Invoke-RestMethod -Method Post -Uri "$($Azure.ArmUrl.TrimEnd('/'))/lab/disks/$DiskName/sas?access=write" -SkipCertificateCheck).accessSAS
    }
    function Get-BlobHash([string] $Sas, [long] $Length) {
        $http = [Net.Http.HttpClient]::new()
        try {
            $request = [Net.Http.HttpRequestMessage]::new('GET', $Sas)
            $request.Headers.Add('x-ms-range', "bytes=0-$($Length - 1)")
            $request.Headers.Add('x-ms-version', '2021-08-06')
            $bytes = $http.SendAsync($request).GetAwaiter().GetResult().Content.ReadAsByteArrayAsync().GetAwaiter().GetResult()
        }
        finally { $http.Dispose() }
        $bytes.Length | Should -Be $Length
        [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($bytes))
    }
    # The guest writes $Length random bytes at $Offset of its Azure disk (Put Page).
    function Write-BlobPages([string] $Sas, [long] $Offset, [int] $Length, [int] $Seed) {
        $bytes = [byte[]]::new($Length); [Random]::new($Seed).NextBytes($bytes)
        $http = [Net.Http.HttpClient]::new()
        try {
            $request = [Net.Http.HttpRequestMessage]::new('PUT', "$Sas&comp=page")
            $request.Headers.Add('x-ms-page-write', 'update')
            $request.Headers.Add('x-ms-range', "bytes=$Offset-$($Offset + $Length - 1)")
            $request.Headers.Add('x-ms-version', '2021-08-06')
            $request.Content = [Net.Http.ByteArrayContent]::new($bytes)
            $response = $http.SendAsync($request).GetAwaiter().GetResult()
            [int]$response.StatusCode | Should -Be 201 -Because $response.Content.ReadAsStringAsync().GetAwaiter().GetResult()
        }
        finally { $http.Dispose() }
    }
    function Get-Tagged($Azure, [string] $Type) {
        @(Get-TestAzureLabState $Azure resources | Where-Object { $_.tags -and $_.tags.'azsr-dr.vm' -and (-not $Type -or $_.type -eq $Type) })
    }
}

# The last case is vcsim with every lab extension off (no ranged PUT, no CBT, no paging, no simulated guest), as vSphere itself.
Describe 'Failover to Azure and failback, ranged PUT <RangedPut>, lab extensions <Extensions>' -ForEach @(
    @{ RangedPut = $true; Extensions = 'on'; Plain = @() },
    @{ RangedPut = $false; Extensions = 'on'; Plain = @() },
    @{ RangedPut = $false; Extensions = 'off'; Plain = @('-cbt=false', '-paging=false', '-guest=false') }) {
    BeforeAll {
        $clientId = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'
        $tenant = '00000000-0000-0000-0000-0000000000bb'
        $secret = 'lab-sp-secret~' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $vcsim = Start-TestVcsim -Arguments (@('-disk-mb', '16', '-guest-boot', '300ms', "-ranged-put=$($RangedPut.ToString().ToLower())") + $Plain)
        $azure = Start-TestAzureLab -ArmArguments @('--client', "$clientId=$secret", '--tenant', $tenant)
        $vault = New-TestVaultPath
        $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue'; '*:Confirm' = $false }
        $source = Get-FlatFile $vcsim.StateDir DC0_H0_VM0
        Write-DiskBytes $source 1MB 2MB 1
        New-DRSite -Name onprem -VSphere -Server $vcsim.Url -Credential (New-TestCredential) -Role Protected -SkipCertificateCheck | Out-Null
        New-DRSite -Name azure -Azure -TenantId $tenant -SubscriptionId $azure.SubscriptionId -ResourceGroup rg-dr -Location westeurope -StorageAccount drreplica `
            -Environment Custom -ArmEndpoint $azure.ArmUrl -ArmCertificateThumbprint $azure.Thumbprint -Authentication ServicePrincipalSecret `
            -ClientId $clientId -ClientSecret (ConvertTo-SecureString $secret -AsPlainText -Force) -Role Recovery | Out-Null
        New-ReplicationPolicy -Name gold | Out-Null
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite azure -Policy gold | Out-Null
        Get-DRVm -Site onprem -Name DC0_H0_VM0 | Enable-VmProtection -ProtectionGroup erp | Out-Null
        $plan = Join-Path (Split-Path $vault) 'erp-azure.plan.yaml'
        Set-Content $plan @"
name: erp-azure
protectedSite: onprem
recoverySite: azure
networkMappings:
  - sourceNetwork: VM Network
    recoveryNetwork: dr-vnet/default
    testNetwork: dr-test/test
  - sourceNetwork: DC0_DVPG0
    recoveryNetwork: dr-vnet/default
    testNetwork: dr-test/test
groups:
  - name: db
    waitFor: PowerOn
    vms:
      - name: DC0_H0_VM0
"@
        Import-RecoveryPlan $plan | Out-Null
    }
    AfterAll {
        Stop-TestAzureLab $azure
        Stop-TestVcsim $vcsim
        Remove-TestVault $vault
    }

    It 'carries the writes made after the last sync to Azure, and Undo-Failover leaves nothing tagged and restarts the original' {
        Write-DiskBytes $source (2 * $chunk + 4096) 64KB 2   # after the last sync: only the planned failover's final sync sees it
        $job = Start-Failover -RecoveryPlan erp-azure -Planned
        $job.State | Should -Be 'Succeeded' -Because $job.Error
        $disks = Get-Tagged $azure 'Microsoft.Compute/disks'
        $disks.Count | Should -Be 1
        $disks[0].tags.'azsr-dr.kind' | Should -Be 'failover'
        Get-BlobHash (Get-GuestDiskSas $azure $disks[0].name) $capacity | Should -Be (Get-DiskHash $source $capacity)
        (Get-Tagged $azure 'Microsoft.Compute/virtualMachines')[0].properties.storageProfile.osDisk.deleteOption | Should -Be 'Detach'
        (Get-DRVm -Site onprem -Name DC0_H0_VM0).PowerState | Should -Be 'PoweredOff'

        $undo = Undo-Failover -RecoveryPlan erp-azure
        $undo.State | Should -Be 'Succeeded' -Because $undo.Error
        Get-Tagged $azure | Should -BeNullOrEmpty
        (Get-DRVm -Site onprem -Name DC0_H0_VM0).PowerState | Should -Be 'PoweredOn'
        (Get-ProtectedVm DC0_H0_VM0).State | Should -Be 'Protected'
    }

    It 'reprotects from the Azure VM and fails back only what the Azure VM changed, verified, deleting the Azure VM, disks and NIC' {
        $job = Start-Failover -RecoveryPlan erp-azure -Planned
        $job.State | Should -Be 'Succeeded' -Because $job.Error
        (Complete-Failover -RecoveryPlan erp-azure).State | Should -Be 'Succeeded'
        $disk = (Get-Tagged $azure 'Microsoft.Compute/disks')[0]
        $sas = Get-GuestDiskSas $azure $disk.name
        Write-BlobPages $sas (1 * $chunk + 8192) 64KB 31    # the VM writes in Azure: chunk 1
        $reprotect = Invoke-Reprotect -RecoveryPlan erp-azure
        $reprotect.State | Should -Be 'Succeeded' -Because $reprotect.Error
        (Get-ProtectedVm DC0_H0_VM0).State | Should -Be 'Reprotected'
        Write-BlobPages $sas (3 * $chunk) 4KB 32            # and after reprotect: chunk 3, carried by failback's final sync
        $wanted = Get-BlobHash $sas $capacity
        $wanted | Should -Not -Be (Get-DiskHash $source $capacity)

        $failback = Invoke-Failback -RecoveryPlan erp-azure
        $failback.State | Should -Be 'Succeeded' -Because $failback.Error
        $step = $failback.Steps | Where-Object Name -eq 'Fail back DC0_H0_VM0'
        if ($RangedPut) {
            $step.Details['writeMode'] | Should -Be 'ranged'
            $step.Details['chunksWritten'] | Should -Be '2' -Because 'chunks 1 and 3 changed in Azure'
        }
        else {
            $step.Details['writeMode'] | Should -Be 'whole'
            $step.Details['chunksWritten'] | Should -Be '4'
            $step.Message | Should -Match '2 of 4 chunk\(s\) differed'
        }
        $step.Message | Should -Match 'read back and verified'
        Get-DiskHash $source $capacity | Should -Be $wanted -Because 'the original disk equals the Azure VM''s disk byte for byte'
        (Get-Item $source).Length | Should -Be $capacity
        foreach ($type in 'Microsoft.Compute/virtualMachines', 'Microsoft.Compute/disks', 'Microsoft.Network/networkInterfaces', 'Microsoft.Compute/snapshots') {
            @(Get-TestAzureLabState $azure resources | Where-Object type -eq $type) | Should -BeNullOrEmpty -Because "failback deletes every $type"
        }
        (Get-DRVm -Site onprem -Name DC0_H0_VM0).PowerState | Should -Be 'PoweredOn'
        $vm = Get-ProtectedVm DC0_H0_VM0
        $vm.State | Should -Be 'Protected'
        $vm.RecoveredSite | Should -BeNullOrEmpty
        $vm.PreFailoverPointId | Should -BeNullOrEmpty
        Get-TestAzureLabState $azure violations | Should -BeNullOrEmpty
    }
}
