BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force

    # A first full copy of every VM of the lab by Sync-VmReplication -ThrottleLimit 4 (all at once) into a fresh vault whose
    # protected site gets $SiteArguments. The aggregate rate: the bytes the four read over the span their copies ran (first copy's
    # start to last copy's end, CycleResult.CopyStarted/CopyTime); the span of the whole cycles (snapshots, commits) for the record.
    function Measure-FullCopy($Lab, [hashtable] $SiteArguments = @{}) {
        $vault = New-TestVaultPath
        $at = @{ Vault = $vault; WarningAction = 'SilentlyContinue' }
        $cred = New-TestCredential
        New-DRSite @at -Name onprem -VSphere -Server $Lab.Url -Credential $cred -Role Protected -SkipCertificateCheck @SiteArguments | Out-Null
        New-DRSite @at -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        New-ReplicationPolicy @at -Name gold -AppConsistentFrequency 0 | Out-Null
        New-ProtectionGroup @at -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        Get-DRVm @at -Site onprem | Enable-VmProtection @at -ProtectionGroup erp -NoWait | Out-Null
        $results = @(Sync-VmReplication @at -ProtectionGroup erp -ThrottleLimit 4)
        $first = ($results | ForEach-Object { $_.CopyStarted } | Measure-Object -Minimum).Minimum
        $last = ($results | ForEach-Object { $_.CopyStarted + $_.CopyTime } | Measure-Object -Maximum).Maximum
        $cycles = ($results | ForEach-Object { $_.Started + $_.Duration } | Measure-Object -Maximum).Maximum - ($results | ForEach-Object { $_.Started } | Measure-Object -Minimum).Minimum
        $bytes = ($results | Measure-Object -Property BytesRead -Sum).Sum
        [pscustomobject]@{
            Vault = $vault
            Results = $results
            Seconds = ($last - $first).TotalSeconds
            MiBps = $bytes / 1MB / ($last - $first).TotalSeconds
            CycleMiBps = $bytes / 1MB / $cycles.TotalSeconds
        }
    }
}

Describe 'A site''s bandwidth cap of 20 MiB/s over the full copy of 4 VMs replicating at once' {
    BeforeAll {
        # 4 VMs of 64 MiB of data each: 256 MiB, about 13 s at 20 MiB/s.
        $lab = Start-TestVcsim -Arguments @('-vm', '4', '-cluster', '0', '-disk-mb', '64')
        $seed = 1
        foreach ($flat in Get-ChildItem (Join-Path $lab.StateDir 'tmp') -Recurse -Filter '*-flat.vmdk') {
            Write-DiskBytes $flat.FullName 0 64MB ($seed++)
        }
        $free = Measure-FullCopy $lab
        $capped = Measure-FullCopy $lab @{ BandwidthLimitMiBps = 20 }
        Write-Host ("    full copy of {0:N0} MiB: {1:N1} MiB/s without the cap; with a cap of 20 MiB/s {2:N1} MiB/s over the copies ({3:N1} s; ratio {4:N3}), {5:N1} MiB/s over the whole cycles" -f `
            (($capped.Results | Measure-Object BytesRead -Sum).Sum / 1MB), $free.MiBps, $capped.MiBps, $capped.Seconds, ($capped.MiBps / 20), $capped.CycleMiBps)
    }
    AfterAll {
        $lab | Stop-TestVcsim
        foreach ($run in $free, $capped) { if ($run) { Remove-TestVault $run.Vault } }
    }

    It 'copies every VM in full in both runs' {
        foreach ($run in $free, $capped) {
            $run.Results | Should -HaveCount 4
            $run.Results | ForEach-Object { $_.Point | Should -Not -BeNullOrEmpty; $_.BytesRead | Should -Be 64MB }
        }
    }

    It 'is faster than the cap without it, so the cap is what binds' {
        $free.MiBps | Should -BeGreaterThan 22 -Because 'the lab must outrun 20 MiB/s for the capped run to measure the cap'
    }

    It 'holds the aggregate of the four at 20 MiB/s within 10 %' {
        $capped.MiBps | Should -BeLessOrEqual 22
        $capped.MiBps | Should -BeGreaterOrEqual 18
    }

    It 'shows each cycle''s achieved rate, and the VM keeps it (Get-ProtectedVm)' {
        foreach ($result in $capped.Results) {
            $result.TransferMiBps | Should -BeGreaterThan 0
            # Four share 20 MiB/s: none had it alone for long.
            $result.TransferMiBps | Should -BeLessOrEqual 11
            (Get-ProtectedVm -Vault $capped.Vault -Name $result.Vm.Name).LastTransferMiBps | Should -Be $result.TransferMiBps
        }
        $list = Get-ProtectedVm -Vault $capped.Vault | Select-Object -First 1 | Format-List | Out-String
        $list | Should -Match 'LastTransferMiBps\s+: \d'
    }

    It 'shows the cap on the site, and Set-DRSite -NoBandwidthLimit removes it' {
        (Get-DRSite -Vault $capped.Vault -Name onprem).BandwidthLimit.ToString() | Should -Be '20 MiB/s'
        Get-DRSite -Vault $capped.Vault -Name onprem | Format-List | Out-String | Should -Match 'BandwidthLimit\s+: 20 MiB/s'
        Set-DRSite -Vault $capped.Vault -Name onprem -NoBandwidthLimit
        (Get-DRSite -Vault $capped.Vault -Name onprem).BandwidthLimit | Should -BeNullOrEmpty
    }
}

Describe 'Bandwidth settings on sites and policies' {
    BeforeAll {
        $vault = New-TestVaultPath
        $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
        New-DRSite -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential (New-TestCredential) -Role Protected -SkipConnectionTest `
            -BandwidthLimitMiBps 20 -BandwidthSchedule '22:00-06:00=0,08:00-18:00=5' | Out-Null
    }
    AfterAll { Remove-TestVault $vault }

    It 'keeps the windows in order and changes one part at a time' {
        (Get-DRSite onprem).BandwidthLimit.ToString() | Should -Be '20 MiB/s; 08:00-18:00=5,22:00-06:00=0'
        (Set-DRSite onprem -BandwidthLimitMiBps 50 -PassThru).BandwidthLimit.ToString() | Should -Be '50 MiB/s; 08:00-18:00=5,22:00-06:00=0'
        (Set-DRSite onprem -BandwidthSchedule '' -PassThru).BandwidthLimit.ToString() | Should -Be '50 MiB/s'
        (Set-DRSite onprem -BandwidthLimitMiBps 0 -PassThru).BandwidthLimit | Should -BeNullOrEmpty
    }

    It 'refuses a bad window, naming it and the form, and changes nothing' {
        Set-DRSite onprem -BandwidthLimitMiBps 10
        { Set-DRSite onprem -BandwidthSchedule '08:00-18:00=5,9-17=1' -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidSiteSetting,AzureSiteRecovery.DR.Sites.SetDRSiteCommand' -ExpectedMessage "*'9-17=1'*HH:mm-HH:mm=MiBps*"
        (Get-DRSite onprem).BandwidthLimit.ToString() | Should -Be '10 MiB/s'
        { New-DRSite -Name other -VSphere -Server https://vc03.example.test/sdk -Credential (New-TestCredential) -SkipConnectionTest -BandwidthSchedule '18:00-08:00=1,07:00-09:00=2' -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidSiteSetting,AzureSiteRecovery.DR.Sites.NewDRSiteCommand' -ExpectedMessage "*'07:00-09:00=2' overlaps window '18:00-08:00=1'*"
        { Set-DRSite onprem -NoBandwidthLimit -BandwidthLimitMiBps 5 -ErrorAction Stop } | Should -Throw -ExpectedMessage '*goes alone*'
    }

    It 'gives a policy a transfer stall timeout of 60 s unless told, shown in its list view' {
        New-ReplicationPolicy -Name gold | Out-Null
        (Get-ReplicationPolicy gold).TransferStallTimeout | Should -Be ([TimeSpan]::FromSeconds(60))
        (New-ReplicationPolicy -Name fast -TransferStallTimeout 15s).TransferStallTimeout | Should -Be ([TimeSpan]::FromSeconds(15))
        Set-ReplicationPolicy gold -TransferStallTimeout 2m
        (Get-ReplicationPolicy gold).TransferStallTimeout | Should -Be ([TimeSpan]::FromMinutes(2))
        Get-ReplicationPolicy | Format-Table | Out-String | Should -Match 'AppConsistent\s+Stall[\s\S]*gold\s.*04:00:00 00:02:00'
        { Set-ReplicationPolicy gold -TransferStallTimeout 02:00:00 -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidReplicationPolicySetting,AzureSiteRecovery.DR.Policies.SetReplicationPolicyCommand' -ExpectedMessage '*TransferStallTimeout must be between 00:00:01 and 01:00:00*'
    }
}
