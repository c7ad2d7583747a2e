BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $capacity = 16MB
    $chunk = 4MB

    # SHA-256 of a VM's disk on the protected site (its original VM).
    function Get-SourceHash($Lab, [string] $Vm) { Get-DiskHash (Get-FlatFile $Lab.Protected.StateDir $Vm) $capacity }
    # SHA-256 of the disk of the VM a failover recovered under the VM's own name.
    function Get-RecoveredHash($Lab, [string] $Vm) { Get-DiskHash (Get-RecoveredFlatFile $Lab $Vm) $capacity }
    function Get-JobStep($Job, [string] $Name) { $Job.Steps | Where-Object Name -eq $Name }
    # The VMs a failover made on the recovery site (tagged azsr-dr.kind=failover).
    function Get-FailoverVm($Lab) { (Get-RecoverySiteState $Lab).Tagged | Where-Object { $_.Config['azsr-dr.kind'] -eq 'failover' } }
}

Describe 'Failover, commit, undo, reprotect and failback of a plan' {
    BeforeAll {
        $vms = 'DC0_H0_VM0', 'DC0_H0_VM1'
        # -pg 3: DC0_DVPG2 is the recovery network of DC0_DVPG0, so the recovered VMs show the mapping was used.
        $lab = New-FailoverLab -Vms $vms -DiskMb 16 -GuestBoot 300ms -RecoveryArguments @('-pg', '3')
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue'; '*:Confirm' = $false }
        Import-TestPlan $lab erp -RecoveryNetwork DC0_DVPG2 @'
  - name: db
    vms:
      - name: DC0_H0_VM0
  - name: app
    vms:
      - name: DC0_H0_VM1
'@
        $before = Get-RecoverySiteState $lab
    }
    AfterAll { Remove-FailoverLab $lab }
    # Each test starts with every VM protected: a failover a failed test left behind is undone.
    AfterEach {
        if (Get-ProtectedVm | Where-Object State -eq FailedOver) { Undo-Failover -RecoveryPlan erp | Out-Null }
    }

    It 'brings every write of a planned failover to the recovered VMs and pauses their replication' {
        $disk = Get-FlatFile $lab.Protected.StateDir DC0_H0_VM0
        Write-DiskBytes $disk 9MB 2MB 11
        $unsynced = Get-SourceHash $lab DC0_H0_VM0
        $lastPoint = (Get-ProtectedVm DC0_H0_VM0).LastRecoveryPointId

        $job = Start-Failover -RecoveryPlan erp -Planned
        $job.State | Should -Be 'Succeeded' -Because $job.Error
        $job.Steps.Name | Should -Be 'Shut down DC0_H0_VM0', 'Shut down DC0_H0_VM1', 'Final sync of DC0_H0_VM0', 'Final sync of DC0_H0_VM1',
            'Check the plan and choose recovery points', 'Recover DC0_H0_VM0', 'Recover DC0_H0_VM1'
        (Get-DRVm -Site onprem -Name $vms).PowerState | Should -Be 'PoweredOff', 'PoweredOff'

        $finalPoint = (Get-JobStep $job 'Final sync of DC0_H0_VM0').Details['recoveryPointId']
        $finalPoint | Should -Not -BeNullOrEmpty
        $finalPoint | Should -Not -Be $lastPoint
        (Get-JobStep $job 'Recover DC0_H0_VM0').Details['recoveryPointId'] | Should -Be $finalPoint
        Get-SourceHash $lab DC0_H0_VM0 | Should -Be $unsynced -Because 'a shutdown does not change the disk'
        Get-RecoveredHash $lab DC0_H0_VM0 | Should -Be $unsynced -Because 'the write after the last sync is on the recovered disk'
        Get-RecoveredHash $lab DC0_H0_VM1 | Should -Be (Get-SourceHash $lab DC0_H0_VM1)

        $protected = Get-ProtectedVm | Sort-Object Name
        $protected.State | Should -Be 'FailedOver', 'FailedOver'
        $protected.RecoveredSite | Should -Be 'dr', 'dr'
        $recovered = Get-DRVm -Site dr | Where-Object MoRef -in $protected.RecoveredMoRef | Sort-Object Name
        $recovered.Name | Should -Be $vms
        $recovered.PowerState | Should -Be 'PoweredOn', 'PoweredOn'
        $recovered | ForEach-Object { $_.Networks | Should -Be 'DC0_DVPG2' -Because 'the recovery network of the mapping' }
        $tagged = @(Get-FailoverVm $lab | Sort-Object Name)
        $tagged.Name | Should -Be $vms
        $tagged.MoRef | Should -Be $recovered.MoRef
        $tagged | ForEach-Object { $_.Config['azsr-dr.job'] | Should -Be $job.JobId }
        $tagged.ForEach({ $_.Config['azsr-dr.vm'] }) | Should -Be $protected.VmId

        $output = Sync-VmReplication -ProtectionGroup erp -Verbose -ErrorVariable syncErrors 4>&1
        $syncErrors | Should -BeNullOrEmpty
        $verbose = @($output | Where-Object { $_ -is [Management.Automation.VerboseRecord] } | ForEach-Object Message)
        foreach ($vm in $vms) { $verbose -match "VM '$vm' is failed over" | Should -HaveCount 1 }
        @($output | Where-Object { $_ -isnot [Management.Automation.VerboseRecord] }) | Should -BeNullOrEmpty -Because 'no VM was replicated'
        (Get-ProtectedVm DC0_H0_VM0).LastRecoveryPointId | Should -Be $finalPoint

        Get-ProtectedVm DC0_H0_VM0 | Sync-VmReplication -ErrorVariable direct -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $direct | Should -HaveCount 1
        $direct[0].FullyQualifiedErrorId | Should -Be 'VmFailedOver,AzureSiteRecovery.DR.Replication.SyncVmReplicationCommand'
        (Get-ProtectedVm DC0_H0_VM0).LastRecoveryPointId | Should -Be $finalPoint
    }

    It 'recovers the disks as they were at a chosen older point, and Undo-Failover removes them and resumes replication' {
        $disk = Get-FlatFile $lab.Protected.StateDir DC0_H0_VM0
        Write-DiskBytes $disk 5MB 2MB 21
        $hashA = Get-SourceHash $lab DC0_H0_VM0
        $pointA = (Sync-VmReplication -ProtectionGroup erp).Point | Where-Object VmName -eq DC0_H0_VM0
        Write-DiskBytes $disk 5MB 1MB 22
        Write-DiskBytes $disk 13MB 1MB 23
        $hashB = Get-SourceHash $lab DC0_H0_VM0
        $pointB = (Sync-VmReplication -ProtectionGroup erp).Point | Where-Object VmName -eq DC0_H0_VM0
        $hashA | Should -Not -Be $hashB
        $pointA.RecoveryPointId | Should -Not -Be $pointB.RecoveryPointId

        $job = Start-Failover -RecoveryPlan erp -RecoveryPoint $pointA.RecoveryPointId
        $job.State | Should -Be 'Succeeded' -Because $job.Error
        $job.Steps.Name | Should -Not -Contain 'Shut down DC0_H0_VM0' -Because 'an unplanned failover leaves the source alone'
        (Get-JobStep $job 'Recover DC0_H0_VM0').Details['recoveryPointId'] | Should -Be $pointA.RecoveryPointId
        Get-RecoveredHash $lab DC0_H0_VM0 | Should -Be $hashA
        Get-RecoveredHash $lab DC0_H0_VM1 | Should -Be (Get-SourceHash $lab DC0_H0_VM1) -Because 'a VM without a chosen point comes back from its newest'
        (Get-ProtectedVm).State | Should -Be 'FailedOver', 'FailedOver'

        $undo = Undo-Failover -RecoveryPlan erp
        $undo.State | Should -Be 'Succeeded' -Because $undo.Error
        Assert-NothingLeft $lab $before 'Undo-Failover deletes the recovered VMs with their files'
        $protected = Get-ProtectedVm | Sort-Object Name
        $protected.State | Should -Be 'Protected', 'Protected'
        $protected.RecoveredSite | Should -Be $null, $null
        (Get-DRVm -Site onprem -Name $vms).PowerState | Should -Be 'PoweredOn', 'PoweredOn'

        $points = @((Sync-VmReplication -ProtectionGroup erp).Point)
        $points | Should -HaveCount 2
        $next = $points | Where-Object VmName -eq DC0_H0_VM0
        $next.RecoveryPointId | Should -Not -BeIn $pointA.RecoveryPointId, $pointB.RecoveryPointId
        $next.Time | Should -BeGreaterThan $pointB.Time
        (Get-ProtectedVm DC0_H0_VM0).LastRecoveryPointId | Should -Be $next.RecoveryPointId
    }

    It 'refuses operations no VM of the plan is ready for, without recording a job' {
        $known = @(Get-DRJob).Count
        foreach ($command in 'Complete-Failover', 'Undo-Failover', 'Invoke-Reprotect', 'Invoke-Failback') {
            & $command -RecoveryPlan erp -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1 -Because "$command of a protected plan"
            $err[0].FullyQualifiedErrorId | Should -BeLike 'NoVmInState,*' -Because "$command of a protected plan"
        }
        @(Get-DRJob).Count | Should -Be $known

        $job = Start-Failover -RecoveryPlan erp
        $job.State | Should -Be 'Succeeded' -Because $job.Error
        $known = @(Get-DRJob).Count
        foreach ($planned in $false, $true) {
            Start-Failover -RecoveryPlan erp -Planned:$planned -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -Be 'VmAlreadyFailedOver,AzureSiteRecovery.DR.Recovery.StartFailoverCommand'
            $err[0].Exception.Message | Should -Match 'DC0_H0_VM0'
        }
        foreach ($command in 'Invoke-Reprotect', 'Invoke-Failback') {
            & $command -RecoveryPlan erp -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1 -Because "$command of a plan that is failed over but not committed"
            $err[0].FullyQualifiedErrorId | Should -BeLike 'NoVmInState,*'
        }
        @(Get-DRJob).Count | Should -Be $known
        (Get-ProtectedVm).State | Should -Be 'FailedOver', 'FailedOver'
    }

    It 'refuses Undo-Failover after Complete-Failover with FailoverCommitted, and says how to come back' {
        $job = Start-Failover -RecoveryPlan erp
        $job.State | Should -Be 'Succeeded' -Because $job.Error
        $commit = Complete-Failover -RecoveryPlan erp
        try {
            $commit.State | Should -Be 'Succeeded' -Because $commit.Error
            Undo-Failover -RecoveryPlan erp -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -Be 'FailoverCommitted,AzureSiteRecovery.DR.Recovery.UndoFailoverCommand'
            $err[0].Exception.Message | Should -Match 'Invoke-Reprotect and Invoke-Failback'
            (Get-ProtectedVm).State | Should -Be 'FailoverCommitted', 'FailoverCommitted'
            @(Get-FailoverVm $lab) | Should -HaveCount 2 -Because 'the committed VMs stay'
        }
        finally {
            # Back to protected the only way a committed failover allows.
            (Invoke-Reprotect -RecoveryPlan erp).State | Should -Be 'Succeeded'
            (Invoke-Failback -RecoveryPlan erp).State | Should -Be 'Succeeded'
        }
    }

    It 'runs a failover as a PowerShell job with -AsJob' {
        $known = @(Get-DRJob | ForEach-Object JobId)
        $psJob = Start-Failover -RecoveryPlan erp -AsJob
        $psJob | Should -BeOfType ([Management.Automation.Job])
        $psJob.PSJobTypeName | Should -Be 'AzureSiteRecovery.DR'
        $job = $psJob | Receive-Job -Wait -AutoRemoveJob
        $job | Should -HaveCount 1
        $job.State | Should -Be 'Succeeded' -Because $job.Error
        $job.Operation | Should -Be 'Failover'
        $job.JobId | Should -Not -BeIn $known
        (Get-DRJob -JobId $job.JobId).State | Should -Be 'Succeeded'
        (Get-ProtectedVm).State | Should -Be 'FailedOver', 'FailedOver'

        $undo = Undo-Failover -RecoveryPlan erp
        $undo.State | Should -Be 'Succeeded' -Because $undo.Error
        Assert-NothingLeft $lab $before 'Undo-Failover deletes the recovered VMs'
    }
}

# Failback in both server modes: a datastore that takes ranged writes (the lab's extension) and one
# that, as vSphere's /folder interface, replaces the whole file on any PUT (-ranged-put=false); and
# the whole lifecycle on the plain simulator, every lab extension off on both sites (no ranged PUT,
# no changed block tracking, no result paging, no guest: VMs are waited for until powered on).
Describe 'Failback onto the original VMs, ranged PUT <RangedPut>, plain simulator <Plain>' -ForEach @(
    @{ RangedPut = $true; Plain = $false }, @{ RangedPut = $false; Plain = $false }, @{ RangedPut = $false; Plain = $true }) {
    BeforeAll {
        $vms = 'DC0_H0_VM0', 'DC0_H0_VM1'
        [string[]] $extensions = @()
        if ($Plain) { $extensions = '-cbt=false', '-paging=false', '-guest=false' }
        $lab = New-FailoverLab -Vms $vms -DiskMb 16 -GuestBoot 300ms -RecoveryArguments $extensions `
            -ProtectedArguments (@("-ranged-put=$($RangedPut.ToString().ToLower())") + $extensions)
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue'; '*:Confirm' = $false }
        $waitFor = if ($Plain) { 'PowerOn' } else { 'Heartbeat' }
        Import-TestPlan $lab erp @"
  - name: db
    waitFor: $waitFor
    vms:
      - name: DC0_H0_VM0
  - name: app
    waitFor: $waitFor
    vms:
      - name: DC0_H0_VM1
"@
        $before = Get-RecoverySiteState $lab
    }
    AfterAll { Remove-FailoverLab $lab }

    It 'writes the recovered disks back (only what changed, or whole disks), verifies them and keeps the pre-failover point until the end' {
        # Retention 0 keeps only the newest point, except the last one from before the failover while it is not failed back.
        Set-ReplicationPolicy gold -RecoveryPointRetention 0
        $job = Start-Failover -RecoveryPlan erp -Planned
        $job.State | Should -Be 'Succeeded' -Because $job.Error
        $preFailover = (Get-JobStep $job 'Final sync of DC0_H0_VM0').Details['recoveryPointId']
        $commit = Complete-Failover -RecoveryPlan erp
        $commit.State | Should -Be 'Succeeded' -Because $commit.Error
        Get-SourceHash $lab DC0_H0_VM0 | Should -Be (Get-RecoveredHash $lab DC0_H0_VM0)

        # What the VM does while it runs on the recovery site: two whole chunks (1 and 3) change.
        $recoveredDisk = Get-RecoveredFlatFile $lab DC0_H0_VM0
        Write-DiskBytes $recoveredDisk (1 * $chunk) $chunk 31
        Write-DiskBytes $recoveredDisk (3 * $chunk) $chunk 32
        $wanted = @{}
        foreach ($vm in $vms) { $wanted[$vm] = Get-RecoveredHash $lab $vm }
        $wanted['DC0_H0_VM0'] | Should -Not -Be (Get-SourceHash $lab DC0_H0_VM0)

        $reprotect = Invoke-Reprotect -RecoveryPlan erp
        $reprotect.State | Should -Be 'Succeeded' -Because $reprotect.Error
        $reprotected = Get-ProtectedVm DC0_H0_VM0
        $reprotected.State | Should -Be 'Reprotected'
        $points = @(Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint)
        $points.RecoveryPointId | Should -Be $preFailover, $reprotected.LastRecoveryPointId -Because 'retention keeps the pre-failover point besides the newest'
        (Get-DRSite onprem).RangedWrites | Should -BeNullOrEmpty -Because 'the datastore is probed when failback first writes'

        $failback = Invoke-Failback -RecoveryPlan erp
        $failback.State | Should -Be 'Succeeded' -Because $failback.Error
        (Get-DRSite onprem).RangedWrites | Should -Be $RangedPut -Because 'the probe result is remembered in the vault'
        @(Get-ChildItem (Join-Path $lab.Protected.StateDir 'tmp') -Recurse -Filter 'azsr-dr-probe-*') | Should -BeNullOrEmpty -Because 'the probe deletes its scratch file'
        $step = Get-JobStep $failback 'Fail back DC0_H0_VM0'
        if ($RangedPut) {
            $step.Details['writeMode'] | Should -Be 'ranged'
            $step.Details['chunksWritten'] | Should -Be '2'
            $step.Details['bytesWritten'] | Should -Be "$(2 * $chunk)"
            $step.Message | Should -Match '2 of 4 chunk\(s\) differed and were written'
        }
        else {
            $step.Details['writeMode'] | Should -Be 'whole'
            $step.Details['chunksWritten'] | Should -Be '4'
            $step.Details['bytesWritten'] | Should -Be "$capacity"
            $step.Message | Should -Match "2 of 4 chunk\(s\) differed; site 'onprem' does not take ranged writes, so the whole disk\(s\) were written \($capacity bytes\); read back and verified"
        }
        (Get-JobStep $failback 'Fail back DC0_H0_VM1').Details['chunksWritten'] | Should -Be '0'
        (Get-JobStep $failback 'Fail back DC0_H0_VM1').Details['writeMode'] | Should -Be 'none'
        foreach ($vm in $vms) {
            $flat = Get-FlatFile $lab.Protected.StateDir $vm
            (Get-Item $flat).Length | Should -Be $capacity -Because "the original $vm's flat file keeps its size"
            Get-DiskHash $flat $capacity | Should -Be $wanted[$vm] -Because "the original $vm gets the recovered disk's bytes"
        }

        Assert-NothingLeft $lab $before 'failback deletes the recovered VMs'
        (Get-DRVm -Site onprem -Name $vms).PowerState | Should -Be 'PoweredOn', 'PoweredOn'
        $protected = Get-ProtectedVm | Sort-Object Name
        $protected.State | Should -Be 'Protected', 'Protected'
        $protected.Site | Should -Be 'onprem', 'onprem'
        $protected.RecoveredSite | Should -Be $null, $null
        $protected.PreFailoverPointId | Should -Be $null, $null
        $original = Get-DRVm -Site onprem -Name $vms | Sort-Object Name
        $protected.MoRef | Should -Be $original.MoRef
        $protected[0].LastRecoveryPointId | Should -Not -Be $reprotected.LastRecoveryPointId
        $protected[0].LastRecoveryPointTime | Should -BeGreaterThan $reprotected.LastRecoveryPointTime
        @(Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint).RecoveryPointId | Should -Be $protected[0].LastRecoveryPointId -Because 'after failback the pre-failover point expires as any other'
    }
}

Describe 'A planned failover killed mid-run' {
    BeforeAll {
        $vms = 'DC0_C0_RP0_VM0', 'DC0_H0_VM0', 'DC0_H0_VM1'
        $lab = New-FailoverLab -Vms $vms -DiskMb 16 -GuestBoot 300ms
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue'; '*:Confirm' = $false }
        # The wait keeps the job running after the first group's VM is up, so the kill always finds it mid-run.
        Import-TestPlan $lab erp @'
  - name: db
    vms:
      - name: DC0_H0_VM0
    postActions:
      - wait: 3s
  - name: app
    vms:
      - name: DC0_H0_VM1
      - name: DC0_C0_RP0_VM0
'@
        $before = Get-RecoverySiteState $lab
        $work = Split-Path $lab.Vault
    }
    AfterAll { Remove-FailoverLab $lab }

    It 'resumes with Resume-DRJob and recovers every VM exactly once' {
        $known = @(Get-DRJob | ForEach-Object JobId)
        $existing = @(Get-DRVm -Site dr | ForEach-Object MoRef)
        $out = Join-Path $work 'failover.txt'
        Invoke-ChildPwshKilled -Script 'Start-Failover -RecoveryPlan erp -Planned -Confirm:$false | Out-Null' -VaultPath $lab.Vault -OutputPath $out `
            -Until { Get-DRVm -Site dr | Where-Object MoRef -notin $existing } -TimeoutSeconds 90
        $killed = @(Get-DRJob | Where-Object { $_.JobId -notin $known -and $_.Operation -eq 'Failover' })
        $killed | Should -HaveCount 1
        Write-Host "killed job $($killed[0].JobId) during: $(($killed[0].Steps | Where-Object State -eq 'Running').Name -join ', ')"
        $killed[0].State | Should -Be 'Interrupted'
        (Get-DRJob -JobId $killed[0].JobId).State | Should -Be 'Interrupted'

        $resumed = Resume-DRJob -JobId $killed[0].JobId
        $resumed.State | Should -Be 'Succeeded' -Because $resumed.Error
        $resumed.Steps.State | Should -Not -Contain 'Failed'
        foreach ($done in $killed[0].Steps | Where-Object State -eq 'Succeeded') {
            (Get-JobStep $resumed $done.Name).Ended | Should -Be $done.Ended -Because "'$($done.Name)' ended before the kill and is not run again"
        }

        $after = Get-RecoverySiteState $lab
        $protected = Get-ProtectedVm | Sort-Object Name
        $protected.State | Should -Be 'FailedOver', 'FailedOver', 'FailedOver'
        $recovered = @($after.Tagged | Where-Object { $_.Config['azsr-dr.kind'] -eq 'failover' } | Sort-Object Name)
        $recovered.Name | Should -Be $vms -Because 'each VM is recovered once, under its own name'
        @($recovered.ForEach({ $_.Config['azsr-dr.vm'] }) | Sort-Object -Unique) | Should -HaveCount 3
        $recovered.ForEach({ $_.Config['azsr-dr.vm'] }) | Should -Be $protected.VmId
        $recovered.MoRef | Should -Be $protected.RecoveredMoRef
        $recovered | ForEach-Object { $_.Config['azsr-dr.job'] | Should -Be $killed[0].JobId }
        $after.VmNames.Count | Should -Be ($before.VmNames.Count + 3) -Because 'nothing but the three recovered VMs was added'
        foreach ($vm in $vms) {
            @($after.VmNames -eq $vm).Count | Should -Be (@($before.VmNames -eq $vm).Count + 1) -Because "$vm is recovered exactly once"
            Get-RecoveredHash $lab $vm | Should -Be (Get-SourceHash $lab $vm)
        }
    }
}
