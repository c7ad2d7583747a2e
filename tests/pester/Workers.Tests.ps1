BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
}

# Three replication workers (Sync-VmReplication -Continuous) on one vault, each as if on its own machine
# (AZSR_DR_WORKER_NAME), share six VMs; one is SIGKILLed in the middle of a cycle and its VMs go to the others.
Describe 'Many replication workers on one vault' {
    BeforeAll {
        $lab = Start-TestVcsim -Arguments @('-vm', '6', '-cluster', '0', '-disk-mb', '16')
        $vault = New-TestVaultPath
        $folder = Split-Path $vault
        $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
        $cred = New-TestCredential
        New-DRSite -Name onprem -VSphere -Server $lab.Url -Credential $cred -Role Protected -SkipCertificateCheck | Out-Null
        New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        New-ReplicationPolicy -Name fast -ReplicationInterval 00:00:30 -RpoThreshold 00:01:00 -AppConsistentFrequency 0 | Out-Null
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy fast | Out-Null
        Get-DRVm -Site onprem | Enable-VmProtection -ProtectionGroup erp -NoWait | Out-Null
        $vms = @(Get-ProtectedVm)
        $lease = [timespan]::FromSeconds(6)

        # Each committed cycle as one line: VM, start and end (Unix ms), worker, point.
        $workers = foreach ($name in 'w1', 'w2', 'w3') {
            $log = Join-Path $folder "$name.log"
            $script = @"
`$env:AZSR_DR_WORKER_NAME = '$name'
Sync-VmReplication -Continuous -ThrottleLimit 2 -LeaseDuration $lease | ForEach-Object {
    Add-Content -LiteralPath '$log' -Value ('{0}|{1}|{2}|{3}|{4}' -f `$_.Vm.Name, `$_.Started.ToUnixTimeMilliseconds(), (`$_.Started + `$_.Duration).ToUnixTimeMilliseconds(), `$_.Worker, `$_.Point.RecoveryPointId)
}
"@
            [pscustomobject]@{ Name = $name; Log = $log; Process = Start-ChildPwsh -VaultPath $vault -OutputPath (Join-Path $folder "$name.out") -Script $script }
        }

        function Get-Cycles {
            foreach ($worker in $workers) {
                if (Test-Path $worker.Log) {
                    foreach ($line in Get-Content $worker.Log) {
                        $vm, $start, $end, $id, $point = $line -split '\|'
                        [pscustomobject]@{ Vm = $vm; Start = [long]$start; End = [long]$end; Worker = $id; Point = $point }
                    }
                }
            }
        }

        # Every VM's first point, then a worker caught holding a VM (the second round, 30 s on) becomes the victim:
        # whichever it is (which worker claims which VM is the scheduler's business, not the test's).
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        do { Start-Sleep -Milliseconds 500 } until (@(Get-ProtectedVm | Where-Object LastRecoveryPointId).Count -eq $vms.Count -or [DateTime]::UtcNow -gt $deadline)
        $firstRound = @(Get-ProtectedVm | Where-Object LastRecoveryPointId).Count
        $held = @()
        $victim = $null
        $deadline = [DateTime]::UtcNow.AddSeconds(45)
        do {
            Start-Sleep -Milliseconds 50
            $busy = Get-DRWorker | Where-Object { $_.Status -eq 'Running' -and @($_.CurrentVms).Count -gt 0 } | Select-Object -First 1
            if ($busy) {
                $victim = $workers | Where-Object Name -eq $busy.Machine
                $held = @($busy.CurrentVms)
            }
        } until ($held.Count -gt 0 -or @($workers | Where-Object { $_.Process.HasExited }).Count -gt 0 -or [DateTime]::UtcNow -gt $deadline)
        if (-not $victim) { $victim = $workers[2] }
        $killedAt = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
        $victimWasRunning = -not $victim.Process.HasExited
        & kill -9 $victim.Process.Id
        $victim.Process.WaitForExit()

        # The held VMs get points from the others once the lease ran out; the victim shows as Lost after three lease durations.
        $deadline = [DateTime]::UtcNow.AddSeconds(40)
        do {
            Start-Sleep -Seconds 1
            $after = @(Get-Cycles | Where-Object { $_.Start -gt $killedAt })
            $lost = Get-DRWorker -Status Lost
        } until ((@($held | Where-Object { $after.Vm -notcontains $_ }).Count -eq 0 -and $lost) -or [DateTime]::UtcNow -gt $deadline)
        $workersSeen = @(Get-DRWorker)
        $listing = Get-DRWorker | Out-String -Width 120
        $cycles = @(Get-Cycles)
    }
    AfterAll {
        foreach ($worker in $workers) { if (-not $worker.Process.HasExited) { & kill -9 $worker.Process.Id } }
        $lab | Stop-TestVcsim
        Remove-TestVault $vault
    }

    It 'gives every VM a point, the work split between the workers' {
        $firstRound | Should -Be 6
        $errors = ($workers | ForEach-Object { Get-Content "$($_.Log -replace '\.log$', '.out').err" -Raw -ErrorAction SilentlyContinue }) -join ''
        @($cycles.Worker | ForEach-Object { ($_ -split '/')[0] } | Sort-Object -Unique).Count | Should -BeGreaterOrEqual 2 -Because $errors
        foreach ($vm in $vms) { @($vm | Get-RecoveryPoint).Count | Should -BeGreaterOrEqual 2 -Because "$($vm.Name) had its first point, then one after the kill" }
    }

    It 'never cycles one VM in two workers at once' {
        $cycles.Count | Should -BeGreaterOrEqual 8
        foreach ($group in $cycles | Group-Object Vm) {
            $ordered = @($group.Group | Sort-Object Start)
            for ($i = 1; $i -lt $ordered.Count; $i++) {
                $ordered[$i].Start | Should -BeGreaterOrEqual $ordered[$i - 1].End -Because "$($group.Name): a cycle by $($ordered[$i].Worker) began before the one by $($ordered[$i - 1].Worker) ended"
            }
        }
        # Every logged cycle is a point the vault holds.
        $points = @(Get-ProtectedVm | Get-RecoveryPoint).RecoveryPointId
        $cycles.Point | ForEach-Object { $points | Should -Contain $_ }
    }

    It 'hands the VMs of a worker killed mid-cycle to the others after its lease expires' {
        $victimWasRunning | Should -BeTrue
        $held.Count | Should -BeGreaterThan 0 -Because 'the victim was caught cycling a VM'
        foreach ($name in $held) {
            $takeover = @($cycles | Where-Object { $_.Vm -eq $name -and $_.Start -gt $killedAt } | Sort-Object Start)[0]
            $takeover | Should -Not -BeNullOrEmpty -Because "$name must get a new point from a live worker"
            $takeover.Worker | Should -Not -BeLike "$($victim.Name)/*"
            # Renewed at most a third of the lease before the kill: never taken sooner than two thirds of it after.
            ($takeover.Start - $killedAt) | Should -BeGreaterOrEqual ($lease.TotalMilliseconds * 2 / 3 - 250)
        }
    }

    It 'shows the live workers as Running and the killed one as Lost, with the VMs they hold' {
        $workersSeen | Should -HaveCount 3
        ($workersSeen | Where-Object WorkerId -like "$($victim.Name)/*").Status | Should -Be 'Lost'
        @($workersSeen | Where-Object Status -eq 'Running').Machine | Sort-Object | Should -Be @($workers.Name | Where-Object { $_ -ne $victim.Name })
        $workersSeen | ForEach-Object { $_.WorkerId | Should -Match "^$($_.Machine)/$($_.ProcessId)/[0-9a-f]{8}$" }
        $listing | Should -Match "$($victim.Name)/\d+/[0-9a-f]{8}\s+Lost"
    }
}
