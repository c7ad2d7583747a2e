# Writes to disks and the sites they go to are proven safe (issue 9, section 1): a failback whose
# read-back differs keeps the recovered VM and can be finished; a VM or vCenter that is not the one
# protected is refused before anything is read or written; plain http is refused unless allowed.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $capacity = 16MB
    $chunk = 4MB
    $cred = New-TestCredential
    function Get-JobStep($Job, [string] $Name) { $Job.Steps | Where-Object Name -eq $Name }
    # Failover, commit, a change of chunk 1 on the recovered VM, reprotect: ready for Invoke-Failback.
    function Initialize-Reprotected($Lab, [string] $Vm, [int] $Seed) {
        $job = Start-Failover -RecoveryPlan erp -Planned
        $job.State | Should -Be 'Succeeded' -Because $job.Error
        (Complete-Failover -RecoveryPlan erp).State | Should -Be 'Succeeded'
        Write-DiskBytes (Get-RecoveredFlatFile $Lab $Vm) $chunk $chunk $Seed
        $reprotect = Invoke-Reprotect -RecoveryPlan erp
        $reprotect.State | Should -Be 'Succeeded' -Because $reprotect.Error
        Get-DiskHash (Get-RecoveredFlatFile $Lab $Vm) $capacity
    }
}

Describe 'A failback whose read-back differs from the point (datastore without ranged writes, one PUT corrupted)' {
    BeforeAll {
        # -corrupt-put 1: the first PUT to a flat disk file on the protected site gets a byte flipped (lab fault).
        $lab = New-FailoverLab -Vms DC0_H0_VM0 -DiskMb 16 -GuestBoot 300ms -ProtectedArguments @('-ranged-put=false', '-corrupt-put', '1')
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue'; '*:Confirm' = $false }
        Import-TestPlan $lab erp @'
  - name: db
    vms:
      - name: DC0_H0_VM0
'@
    }
    AfterAll { Remove-FailoverLab $lab }

    It 'fails with FailbackVerifyFailed, keeps the recovered VM running, and a second Invoke-Failback finishes' {
        $wanted = Initialize-Reprotected $lab DC0_H0_VM0 41
        $recoveredMoRef = (Get-ProtectedVm DC0_H0_VM0).RecoveredMoRef

        $failed = Invoke-Failback -RecoveryPlan erp
        $failed.State | Should -Be 'Failed'
        $step = Get-JobStep $failed 'Fail back DC0_H0_VM0'
        $step.State | Should -Be 'Failed'
        $step.Details['errorId'] | Should -Be 'FailbackVerifyFailed'
        $step.Error | Should -Match "wrote disk \d+ .*does not give recovery point $((Get-ProtectedVm DC0_H0_VM0).LastRecoveryPointId): chunk 0 \(offset 0, 4194304 bytes\) differs" 
        (Get-JobStep $failed 'Protect DC0_H0_VM0 forward again').State | Should -Be 'Skipped' -Because 'the recovered VM is never deleted after a failed verify'
        $vm = Get-ProtectedVm DC0_H0_VM0
        $vm.State | Should -Be 'Reprotected'
        $vm.RecoveredMoRef | Should -Be $recoveredMoRef
        (Get-DRVm -Site dr | Where-Object MoRef -eq $recoveredMoRef).PowerState | Should -Be 'PoweredOn' -Because 'the recovered VM runs again'
        (Get-DRVm -Site onprem -Name DC0_H0_VM0).PowerState | Should -Be 'PoweredOff' -Because 'the original VM never starts on a disk that failed its check'
        Get-DiskHash (Get-FlatFile $lab.Protected.StateDir DC0_H0_VM0) $capacity | Should -Not -Be $wanted

        $again = Invoke-Failback -RecoveryPlan erp
        $again.State | Should -Be 'Succeeded' -Because $again.Error
        (Get-JobStep $again 'Fail back DC0_H0_VM0').Details['writeMode'] | Should -Be 'whole'
        Get-DiskHash (Get-FlatFile $lab.Protected.StateDir DC0_H0_VM0) $capacity | Should -Be $wanted
        (Get-Item (Get-FlatFile $lab.Protected.StateDir DC0_H0_VM0)).Length | Should -Be $capacity
        (Get-ProtectedVm DC0_H0_VM0).State | Should -Be 'Protected'
        Get-DRVm -Site dr | Where-Object MoRef -eq $recoveredMoRef | Should -BeNullOrEmpty -Because 'the recovered VM goes once the original is verified'
    }
}

Describe 'The identity of protected VMs and their vCenter' {
    BeforeAll {
        $lab = New-FailoverLab -Vms DC0_H0_VM0 -DiskMb 16 -GuestBoot 300ms
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue'; '*:Confirm' = $false }
        Import-TestPlan $lab erp @'
  - name: db
    vms:
      - name: DC0_H0_VM0
'@
        $vmId = (Get-ProtectedVm DC0_H0_VM0).VmId
        $uuid = (Get-ProtectedVm DC0_H0_VM0).InstanceUuid
        $server = Invoke-VaultSql $lab.Vault "SELECT server_instance_uuid FROM sites WHERE name = 'onprem'" -Scalar
        $other = $null
    }
    AfterAll {
        $other | Stop-TestVcsim
        Remove-FailoverLab $lab
    }

    It 'records the vCenter of each site and the instanceUuid of each protected VM' {
        $server | Should -Match '^[0-9a-f]{8}-[0-9a-f]{4}-'
        Invoke-VaultSql $lab.Vault "SELECT server_instance_uuid FROM sites WHERE name = 'dr'" -Scalar | Should -Not -Be $server -Because 'each vCenter has its own'
        $uuid | Should -Be (Get-DRVm -Site onprem -Name DC0_H0_VM0).InstanceUuid
    }

    It 'records them at the first connection or cycle when the vault has none yet (sites and VMs stored before)' {
        Invoke-VaultSql $lab.Vault "UPDATE sites SET server_instance_uuid = NULL WHERE name = 'onprem'" | Should -Be 1
        Invoke-VaultSql $lab.Vault "UPDATE protected_vms SET instance_uuid = NULL WHERE id = '$vmId'" | Should -Be 1
        (Get-DRSite onprem).ServerInstanceUuid | Should -BeNullOrEmpty
        (Sync-VmReplication -ProtectionGroup erp).Point | Should -Not -BeNullOrEmpty
        (Get-DRSite onprem).ServerInstanceUuid | Should -Be $server
        (Get-ProtectedVm DC0_H0_VM0).InstanceUuid | Should -Be $uuid
    }

    It 'refuses a replication cycle of a VM whose instanceUuid changed, with VmIdentityChanged and no new point' {
        $last = (Get-ProtectedVm DC0_H0_VM0).LastRecoveryPointId
        Invoke-VaultSql $lab.Vault "UPDATE protected_vms SET instance_uuid = '00000000-0000-0000-0000-000000000001' WHERE id = '$vmId'" | Should -Be 1
        try {
            Sync-VmReplication -ProtectionGroup erp -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -Be 'VmIdentityChanged,AzureSiteRecovery.DR.Replication.SyncVmReplicationCommand'
            $err[0].Exception.Message | Should -Match 'Nothing was read or written'
            (Get-ProtectedVm DC0_H0_VM0).LastRecoveryPointId | Should -Be $last
        }
        finally { Invoke-VaultSql $lab.Vault "UPDATE protected_vms SET instance_uuid = '$uuid' WHERE id = '$vmId'" | Out-Null }
        (Sync-VmReplication -ProtectionGroup erp).Point | Should -Not -BeNullOrEmpty -Because 'the right VM replicates again'
    }

    It 'refuses a replication cycle when the site answers as another vCenter, with VmIdentityChanged' {
        $last = (Get-ProtectedVm DC0_H0_VM0).LastRecoveryPointId
        Invoke-VaultSql $lab.Vault "UPDATE sites SET server_instance_uuid = '00000000-0000-0000-0000-000000000002' WHERE name = 'onprem'" | Should -Be 1
        try {
            Sync-VmReplication -ProtectionGroup erp -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -Be 'VmIdentityChanged,AzureSiteRecovery.DR.Replication.SyncVmReplicationCommand'
            $err[0].Exception.Message | Should -Match "Site 'onprem'.*now answers as vCenter $server"
            (Get-ProtectedVm DC0_H0_VM0).LastRecoveryPointId | Should -Be $last
        }
        finally { Invoke-VaultSql $lab.Vault "UPDATE sites SET server_instance_uuid = '$server' WHERE name = 'onprem'" | Out-Null }
    }

    It 'refuses a failback write onto a VM whose instanceUuid changed, leaving its disk as it was and the recovered VM running' {
        $wanted = Initialize-Reprotected $lab DC0_H0_VM0 51
        $flat = Get-FlatFile $lab.Protected.StateDir DC0_H0_VM0
        $untouched = Get-DiskHash $flat $capacity
        Invoke-VaultSql $lab.Vault "UPDATE protected_vms SET instance_uuid = '00000000-0000-0000-0000-000000000003' WHERE id = '$vmId'" | Should -Be 1
        try {
            $failed = Invoke-Failback -RecoveryPlan erp
            $failed.State | Should -Be 'Failed'
            (Get-JobStep $failed 'Fail back DC0_H0_VM0').Details['errorId'] | Should -Be 'VmIdentityChanged'
            Get-DiskHash $flat $capacity | Should -Be $untouched -Because 'nothing was written'
            (Get-ProtectedVm DC0_H0_VM0).State | Should -Be 'Reprotected'
            (Get-DRVm -Site dr | Where-Object MoRef -eq (Get-ProtectedVm DC0_H0_VM0).RecoveredMoRef).PowerState | Should -Be 'PoweredOn'
        }
        finally { Invoke-VaultSql $lab.Vault "UPDATE protected_vms SET instance_uuid = '$uuid' WHERE id = '$vmId'" | Out-Null }
        $done = Invoke-Failback -RecoveryPlan erp
        $done.State | Should -Be 'Succeeded' -Because $done.Error
        Get-DiskHash $flat $capacity | Should -Be $wanted
    }

    It 'refuses Set-DRSite -Server pointing the site at another vCenter unless -Force' {
        $other = Start-TestVcsim -Arguments @('-disk-mb', '1')
        try {
            $before = Get-DRSite onprem
            Set-DRSite onprem -Server $other.Url -ErrorVariable err -ErrorAction SilentlyContinue
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -Be 'SiteServerChanged,AzureSiteRecovery.DR.Sites.SetDRSiteCommand'
            $err[0].Exception.Message | Should -Match '-Force'
            $after = Get-DRSite onprem
            $after.Server | Should -Be $before.Server
            $after.ServerInstanceUuid | Should -Be $server

            # The same vCenter again is accepted without -Force (it is connected to and checked).
            (Set-DRSite onprem -Server $lab.Protected.Url -PassThru).ServerInstanceUuid | Should -Be $server

            $moved = Set-DRSite onprem -Server $other.Url -Force -PassThru
            $moved.Server | Should -Be $other.Url
            $moved.ServerInstanceUuid | Should -Not -Be $server
            $moved.RangedWrites | Should -BeNullOrEmpty -Because 'another server is probed again'
        }
        finally { $other | Stop-TestVcsim }
    }
}

Describe 'Plain http to a vCenter' {
    BeforeAll {
        $lab = Start-TestVcsim -Arguments @('-tls=false', '-vm', '1')
        $vault = New-TestVaultPath
        $PSDefaultParameterValues = @{ '*-DRSite:Vault' = $vault; 'Get-DRVm:Vault' = $vault }
    }
    AfterAll {
        $lab | Stop-TestVcsim
        Remove-TestVault $vault
    }

    It 'is refused with InsecureHttpRefused, before connecting and storing nothing' {
        $lab.Url | Should -BeLike 'http://*'
        foreach ($skip in $false, $true) {
            New-DRSite -Name plain -VSphere -Server $lab.Url -Credential $cred -SkipConnectionTest:$skip -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -Be 'InsecureHttpRefused,AzureSiteRecovery.DR.Sites.NewDRSiteCommand'
            $err[0].Exception.Message | Should -Match '-AllowInsecureHttp'
        }
        # Nothing listens on port 9: a connection attempt would fail as unreachable, so the refusal comes first.
        New-DRSite -Name closed -VSphere -Server http://127.0.0.1:9/sdk -Credential $cred -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'InsecureHttpRefused,AzureSiteRecovery.DR.Sites.NewDRSiteCommand'
        Test-Path $vault | Should -BeFalse -Because 'nothing was stored, so no vault was created'
    }

    It 'works with -AllowInsecureHttp, with a warning, and Set-DRSite -AllowInsecureHttp:$false refuses it again' {
        $site = New-DRSite -Name plain -VSphere -Server $lab.Url -Credential $cred -AllowInsecureHttp -WarningVariable warnings -WarningAction SilentlyContinue
        $site.AllowInsecureHttp | Should -BeTrue
        ($warnings -join "`n") | Should -Match 'in clear'
        @(Get-DRVm -Site plain).Count | Should -BeGreaterThan 0

        Set-DRSite plain -AllowInsecureHttp:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be 'InsecureHttpRefused,AzureSiteRecovery.DR.Sites.SetDRSiteCommand'
        (Get-DRSite plain).AllowInsecureHttp | Should -BeTrue -Because 'nothing was changed'
    }
}

Describe 'A failback killed mid-step' {
    BeforeAll {
        $lab = New-FailoverLab -Vms DC0_H0_VM0 -DiskMb 16 -GuestBoot 300ms -ProtectedArguments @('-ranged-put=false')
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue'; '*:Confirm' = $false }
        Import-TestPlan $lab erp @'
  - name: db
    vms:
      - name: DC0_H0_VM0
'@
        # The original VM's guest takes 5 s to boot, so the failback step is still running when the kill comes.
        function Set-OriginalBootSeconds($Lab, [string] $Vm, [string] $Seconds) {
            $found = Get-DRVm -Site onprem -Name $Vm
            $core = $found.GetType().Assembly
            $endpoint = $core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereEndpoint')::new([uri]$Lab.Protected.Url, $cred.UserName, $cred.GetNetworkCredential().Password, $null, $true)
            $client = $core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereClient')::ConnectAsync($endpoint, 'onprem', [Threading.CancellationToken]::None).GetAwaiter().GetResult()
            try {
                $options = [Collections.Generic.Dictionary[string, string]]::new()
                $options['guestinfo.lab.bootSeconds'] = $Seconds
                $client.SetExtraConfigAsync($found.MoRef, $options, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
            }
            finally { $client.Dispose() }
        }
    }
    AfterAll { Remove-FailoverLab $lab }

    It 'is finished by Resume-DRJob: the original disk equals the recovered one and the recovered VM goes' {
        $wanted = Initialize-Reprotected $lab DC0_H0_VM0 71
        Set-OriginalBootSeconds $lab DC0_H0_VM0 5
        $known = @(Get-DRJob | ForEach-Object JobId)
        $out = Join-Path (Split-Path $lab.Vault) 'failback.txt'
        Invoke-ChildPwshKilled -Script 'Invoke-Failback -RecoveryPlan erp -Confirm:$false | Out-Null' -VaultPath $lab.Vault -OutputPath $out -TimeoutSeconds 90 -Until {
            Get-DRJob | Where-Object { $_.JobId -notin $known -and $_.Operation -eq 'Failback' } |
                ForEach-Object { $_.Steps } | Where-Object { $_.Name -eq 'Fail back DC0_H0_VM0' -and $_.State -eq 'Running' }
        }
        $killed = @(Get-DRJob | Where-Object { $_.JobId -notin $known -and $_.Operation -eq 'Failback' })
        $killed | Should -HaveCount 1
        $killed[0].State | Should -Be 'Interrupted'
        (Get-ProtectedVm DC0_H0_VM0).State | Should -Be 'Reprotected' -Because 'nothing is deleted before the failback step ends'

        $resumed = Resume-DRJob -JobId $killed[0].JobId
        $resumed.State | Should -Be 'Succeeded' -Because $resumed.Error
        $flat = Get-FlatFile $lab.Protected.StateDir DC0_H0_VM0
        Get-DiskHash $flat $capacity | Should -Be $wanted
        (Get-Item $flat).Length | Should -Be $capacity
        (Get-ProtectedVm DC0_H0_VM0).State | Should -Be 'Protected'
        @((Get-RecoverySiteState $lab).Tagged) | Should -BeNullOrEmpty -Because 'the recovered VM goes once the original is verified'
    }
}
