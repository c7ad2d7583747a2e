BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $cred = New-TestCredential

    # The VM's snapshot names, as vCenter lists them (through the module's own vSphere client).
    function Get-LabSnapshotName([string] $Url, [string] $MoRef) {
        $core = (Get-ProtectedVm | Select-Object -First 1).GetType().Assembly
        $endpoint = $core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereEndpoint')::new([uri]$Url, $cred.UserName, $cred.GetNetworkCredential().Password, $null, $true)
        $client = $core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereClient')::ConnectAsync($endpoint, 'onprem', [Threading.CancellationToken]::None).GetAwaiter().GetResult()
        try { @($client.ListSnapshotsAsync($MoRef, [Threading.CancellationToken]::None).GetAwaiter().GetResult() | ForEach-Object Name) }
        finally { $client.Dispose() }
    }
    # Who holds the VM's replication lease in the vault (null when nobody), read with the module's SQLite.
    function Get-ReplicationLeaseOwner([string] $VaultPath, [string] $VmId) {
        Invoke-VaultSql $VaultPath "SELECT owner FROM leases WHERE resource = 'replication/$VmId'" -Scalar
    }
    # Starts Sync-VmReplication in a new pwsh; returns the process (the real pwsh: dotnet running pwsh.dll, no wrapper) once the module is loaded and the cycle is about to start.
    function Start-SyncChild([string] $VaultPath, [string] $Folder, [string] $Round) {
        $marker = Join-Path $Folder "started-$Round"
        # Written under another name and renamed, so the marker is never seen empty.
        $script = "Set-Content -LiteralPath '$marker.tmp' -Value `$PID; Move-Item -LiteralPath '$marker.tmp' -Destination '$marker'`nSync-VmReplication -ProtectionGroup erp -WarningAction SilentlyContinue"
        $process = Start-ChildPwsh -Script $script -VaultPath $VaultPath -OutputPath (Join-Path $Folder "sync-$Round.txt")
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not (Test-Path -LiteralPath $marker) -and -not $process.HasExited -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        if (-not (Test-Path -LiteralPath $marker)) { throw "The child pwsh did not start: $(Get-Content (Join-Path $Folder "sync-$Round.txt.err") -Raw)" }
        [int](Get-Content -LiteralPath $marker) | Should -Be $process.Id -Because 'the PID killed must be the pwsh running the cycle'
        $process
    }
    function Stop-Hard($Process) {
        if (-not $Process.HasExited) { & kill -9 $Process.Id }
        $Process.WaitForExit()
    }
}

Describe 'Replication killed at random moments' {
    BeforeAll {
        $lab = Start-TestVcsim -Arguments @('-vm', '1', '-cluster', '0', '-disk-mb', '256')
        $vault = New-TestVaultPath
        $work = Split-Path $vault
        $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
        New-DRSite -Name onprem -VSphere -Server $lab.Url -Credential $cred -Role Protected -SkipCertificateCheck | Out-Null
        New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        New-ReplicationPolicy -Name gold -AppConsistentFrequency 0 | Out-Null
        New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null

        $capacity = 256MB
        $disk = Get-FlatFile $lab.StateDir 'DC0_H0_VM0'
        Write-DiskBytes $disk 0 100MB 1
        $vm = Get-DRVm -Site onprem -Name DC0_H0_VM0 | Enable-VmProtection -ProtectionGroup erp -NoWait
        $seed = Get-Random -Maximum 100000
        $rng = [Random]::new($seed)
    }
    AfterAll {
        $lab | Stop-TestVcsim
        Remove-TestVault $vault
    }

    It 'keeps every recovery point intact through six SIGKILLs' {
        $vm.State | Should -Be 'InitialSync'
        $rounds = foreach ($round in 1..6) {
            if ($round -eq 3) {
                # Let one cycle finish (taking over a killed one's lease), so the later kills hit delta cycles on top of committed points.
                # The first rounds' kill may come before or after their cycle committed (a full copy of 100 MiB takes about as long as the longest delay).
                $pointsBefore = @(Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint).Count
                $completed = Invoke-ChildPwsh -Script 'Sync-VmReplication -ProtectionGroup erp -ErrorAction Stop | Select-Object Mode, ChunksStored, Duration | Format-List' -VaultPath $vault
                $completed.ExitCode | Should -Be 0 -Because $completed.Text
                Write-Host $completed.Text
                @(Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint) | Should -HaveCount ($pointsBefore + 1)
                # Later kills land anywhere within a delta cycle: draw them over about its length.
                $durationText = ($completed.Output | Where-Object { $_ -match '^Duration\s*:' } | Select-Object -First 1) -replace '^Duration\s*:\s*', ''
                $cycleMs = [int][TimeSpan]::Parse($durationText).TotalMilliseconds
                $maxDelay = [Math]::Max(300, $cycleMs + 200)
            }
            $child = Start-SyncChild $vault $work $round
            $delay = if ($round -le 3) { 100 + $rng.Next(1400) } else { 50 + $rng.Next($maxDelay) }
            Start-Sleep -Milliseconds $delay
            $killed = -not $child.HasExited
            Stop-Hard $child
            Write-DiskBytes $disk ($rng.Next(0, 60) * 4MB + $rng.Next(0, 4096)) (($rng.Next(1, 5)) * 1MB) (100 + $round)

            $points = @(Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint)
            $checks = @($points | Test-RecoveryPoint -ErrorVariable problems -ErrorAction SilentlyContinue)
            $problems | Should -BeNullOrEmpty -Because "round $round (seed $seed, killed after $delay ms) must leave no point naming a missing chunk"
            $checks.Count | Should -Be $points.Count
            $checks.Intact | Should -Not -Contain $false -Because "round $round (seed $seed)"
            [pscustomobject]@{ Round = $round; DelayMs = $delay; Killed = $killed; Points = $points.Count }
        }
        Write-Host ("seed {0}: {1}" -f $seed, (($rounds | ForEach-Object { "$($_.DelayMs)ms$(if ($_.Killed) { ' killed' } else { ' done' })/$($_.Points)pts" }) -join ', '))
        @($rounds | Where-Object Killed).Count | Should -BeGreaterThan 0 -Because "at least one cycle must be killed while running (seed $seed)"
    }

    It 'takes over the lease and removes the snapshot of a cycle killed while it held both' {
        # Enough new data that the copy takes a while; kill once our snapshot exists (the lease is held by then).
        Write-DiskBytes $disk 120MB 80MB 200
        # A killed round may have left its snapshot: wait for one this child takes (it removes leftovers first).
        $before = @(Get-LabSnapshotName $lab.Url $vm.MoRef)
        $child = Start-SyncChild $vault $work 'snapshot'
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not $child.HasExited -and [DateTime]::UtcNow -lt $deadline -and -not (Get-LabSnapshotName $lab.Url $vm.MoRef | Where-Object { $_ -like 'azsr-dr-*' -and $_ -notin $before })) { Start-Sleep -Milliseconds 10 }
        $child.HasExited | Should -BeFalse -Because 'the cycle must still be running when it is killed'
        Stop-Hard $child
        @(Get-LabSnapshotName $lab.Url $vm.MoRef) -like 'azsr-dr-*' | Should -HaveCount 1
        Get-ReplicationLeaseOwner $vault $vm.VmId | Should -Match "/$($child.Id)/"

        $hashNow = Get-DiskHash $disk $capacity
        $result = Sync-VmReplication -ProtectionGroup erp -ErrorVariable failed -ErrorAction SilentlyContinue

        $failed | Should -BeNullOrEmpty
        $result.Point | Should -Not -BeNullOrEmpty
        Get-ReplicationLeaseOwner $vault $vm.VmId | Should -BeNullOrEmpty
        @(Get-LabSnapshotName $lab.Url $vm.MoRef) -like 'azsr-dr-*' | Should -BeNullOrEmpty
        $protected = Get-ProtectedVm DC0_H0_VM0
        $protected.State | Should -Be 'Protected'
        $protected.LastRecoveryPointId | Should -Be $result.Point.RecoveryPointId

        $image = Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint | Where-Object RecoveryPointId -eq $result.Point.RecoveryPointId | Export-RecoveryPoint -Destination (Join-Path $work 'export')
        $image.Length | Should -Be $capacity
        (Get-FileHash $image.FullName -Algorithm SHA256).Hash | Should -Be $hashNow
        $checks = Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint | Test-RecoveryPoint
        $checks.Intact | Should -Not -Contain $false
    }
}
