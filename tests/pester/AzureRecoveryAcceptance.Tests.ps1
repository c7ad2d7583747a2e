# Azure as the recovery site, the issue's acceptance script as written, in a fresh pwsh with the built module,
# against vcsim (the protected site), Azurite (the storage account drreplica) and the lab ARM with its managed-
# identity endpoint (IDENTITY_ENDPOINT/IDENTITY_HEADER in the child: the default sign-in). What is checked is
# read from the lab itself: the replica snapshots and the recovered managed disks (through a read SAS) byte for
# byte against the guest's disk, the bytes sent per cycle, what the lab ARM and Azurite hold after a drill and
# after a drill killed mid-recovery, and the requests the swagger files would reject.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $capacity = 16MB
    $chunk = 4MB
}

Describe 'The acceptance script of the Azure recovery issue' {
    BeforeAll {
        $vcsim = Start-TestVcsim -Arguments @('-disk-mb', '16', '-guest-boot', '300ms')
        $azure = Start-TestAzureLab
        $vault = New-TestVaultPath
        $work = Split-Path $vault
        New-Item -ItemType Directory $work -Force | Out-Null
        $support = Join-Path $PSScriptRoot 'TestSupport.psm1'
        $disk0 = Get-FlatFile $vcsim.StateDir DC0_H0_VM0
        $disk1 = Get-FlatFile $vcsim.StateDir DC0_H0_VM1

        # What the recovered guests serve, on 127.0.0.1 (the lab ARM reports every VM there): TCP for the database, HTTP for the app.
        $tcp = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0); $tcp.Start()
        $web = Start-TestHttpServer
        $webPort = $web.Port

        Set-Content (Join-Path $work 'erp-azure.plan.yaml') @"
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
    waitFor: Heartbeat
    vms:
      - name: DC0_H0_VM0
        azure:
          vmSize: Standard_E2s_v5
        validations:
          - tcpPort:
              port: $($tcp.LocalEndpoint.Port)
              timeout: 30s
    postActions:
      - wait: 1s
  - name: app
    waitFor: IpAddress
    vms:
      - name: DC0_H0_VM1
        validations:
          - httpGet:
              port: $webPort
              path: /health
"@

        # The issue's script; the guest writes between cycles go straight into the VMs' flat files.
        $run = Invoke-ChildPwsh -VaultPath $vault -Script ((Get-TestAzureIdentityPrelude $azure) + @"
`$ErrorActionPreference = 'Stop'
Import-Module '$support'
Set-Location '$work'
`$points = [ordered]@{}
function Save-Hashes { foreach (`$p in (Get-ProtectedVm | Get-RecoveryPoint)) { if (-not `$points.Contains(`$p.RecoveryPointId)) { `$points[`$p.RecoveryPointId] = Get-DiskHash (Get-FlatFile '$($vcsim.StateDir)' `$p.VmName) $capacity } } }
Write-DiskBytes '$disk0' 1MB 2MB 1
Write-DiskBytes '$disk1' 5MB 2MB 2
New-DRSite -Name onprem -VSphere -Server '$($vcsim.Url)' -Credential ([pscredential]::new('administrator@vsphere.local', (ConvertTo-SecureString 'S3cret!pass' -AsPlainText -Force))) -Role Protected -SkipCertificateCheck -WarningAction SilentlyContinue | Out-Null
New-DRSite -Name azure -Azure -SubscriptionId $($azure.SubscriptionId) -ResourceGroup rg-dr -Location westeurope -StorageAccount drreplica -Environment Custom -ArmEndpoint '$($azure.ArmUrl)' -ArmCertificateThumbprint $($azure.Thumbprint) -Role Recovery | Format-List Name, Kind, Authentication, Endpoint
Get-DRSite onprem | New-ProtectionGroup -Name erp -RecoverySite azure | Out-Null
`$protected = Get-DRVm -Site onprem -Name 'DC0_H0_VM*' | Enable-VmProtection -ProtectionGroup erp
Save-Hashes
Write-DiskBytes '$disk0' 4.5MB 1MB 3      # chunk 1
Write-DiskBytes '$disk0' 13MB 1MB 4       # chunk 3
Write-DiskBytes '$disk1' 0 512KB 5        # chunk 0
`$cycles = @(Sync-VmReplication -ProtectionGroup erp)
Save-Hashes
Write-DiskBytes '$disk0' 512KB 256KB 6    # chunk 0
Write-DiskBytes '$disk1' 9MB 2MB 7        # chunk 2
Write-DiskBytes '$disk1' 14MB 1MB 8       # chunk 3
`$cycles += @(Sync-VmReplication -ProtectionGroup erp)
Save-Hashes
`$checks = @(Get-ProtectedVm | Get-RecoveryPoint | Test-RecoveryPoint)
Import-RecoveryPlan ./erp-azure.plan.yaml | Out-Null; `$test = Test-RecoveryPlan erp-azure
`$drill = Invoke-DRDrill -RecoveryPlan erp-azure
`$drill | Export-DrillReport -Path drill.html
`$drill | Export-DrillReport -Path drill.json
`$tf = Start-TestFailover -RecoveryPlan erp-azure
[ordered]@{
    Vms = @(Get-ProtectedVm | ForEach-Object { @{ Name = `$_.Name; VmId = `$_.VmId } })
    Points = `$points
    Snapshots = @(Get-ProtectedVm | Get-RecoveryPoint | ForEach-Object { `$p = `$_; `$p.ReplicaSnapshots | ForEach-Object { @{ PointId = `$p.RecoveryPointId; Blob = `$_.BlobName; Snapshot = `$_.Snapshot } } })
    Cycles = @(`$cycles | ForEach-Object { @{ Vm = `$_.Vm.Name; Mode = `$_.Mode; Sent = `$_.ReplicaBytesSent; PointId = `$_.Point.RecoveryPointId } })
    Checks = @(`$checks | ForEach-Object { @{ Id = `$_.RecoveryPointId; Intact = `$_.Intact; ReplicaChecked = `$_.ReplicaChecked; Problems = `$_.Problems } })
    TestPassed = `$test.Passed; TestErrors = @(`$test.Findings | ForEach-Object { "`$_" })
    Validations = @(`$drill.Steps | Where-Object Name -like 'Validate *' | ForEach-Object { @{ Name = `$_.Name; State = "`$(`$_.State)"; Message = `$_.Message } })
    DrillIps = @(`$drill.Vms | ForEach-Object IpAddress)
    DrillJob = `$drill.JobId; DrillPassed = `$drill.Passed; DrillError = `$drill.Error; CleanupPassed = `$drill.CleanupPassed
    TestFailoverJob = `$tf.JobId; TestFailoverState = "`$(`$tf.State)"; TestFailoverError = `$tf.Error
} | ConvertTo-Json -Depth 6 | Set-Content ./result.json
"@)
        $result = if (Test-Path (Join-Path $work 'result.json')) { Get-Content -Raw (Join-Path $work 'result.json') | ConvertFrom-Json -AsHashtable -DateKind String }
    }
    AfterAll {
        Stop-TestHttpServer $web
        if ($tcp) { $tcp.Stop() }
        Stop-TestAzureLab $azure
        Stop-TestVcsim $vcsim
        Remove-TestVault $vault
    }

    It 'runs to the end, signed in as the managed identity, with a passing pre-flight and drill' {
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Text | Should -Match 'Authentication\s*:\s*ManagedIdentity'
        $result.TestPassed | Should -BeTrue -Because ($result.TestErrors -join '; ')
        $result.DrillPassed | Should -BeTrue -Because $result.DrillError
        $result.CleanupPassed | Should -BeTrue
        Test-Path (Join-Path $work 'drill.html') | Should -BeTrue
        # The managed identity signed in: the identity endpoint minted the tokens, the lab's own token endpoint was never asked.
        Get-Content (Join-Path $azure.StateDir 'arm/identity-requests.jsonl') | Should -Not -BeNullOrEmpty
        @(Get-TestAzureLabState $azure requests | Where-Object path -match 'oauth2') | Should -BeNullOrEmpty
    }

    It 'keeps a replica snapshot per point that is the guest''s disk at the point, byte for byte, behind a valid footer; Test-RecoveryPoint checks it' {
        $result.Snapshots.Count | Should -Be 6 -Because 'two VMs, three points each, one disk'
        foreach ($snapshot in $result.Snapshots) {
            $vhd = Read-TestAzureBlob $azure -Container azsr-dr-replica -Name $snapshot.Blob -Snapshot $snapshot.Snapshot
            Get-VhdProblem $vhd $capacity | Should -BeNullOrEmpty -Because "the footer of $($snapshot.Blob) at $($snapshot.Snapshot)"
            Get-VhdDiskHash $vhd $capacity | Should -Be $result.Points[$snapshot.PointId] -Because "snapshot $($snapshot.Snapshot) holds point $($snapshot.PointId)"
        }
        $result.Checks.Count | Should -Be 6
        foreach ($check in $result.Checks) {
            $check.Intact | Should -BeTrue -Because ($check.Problems -join '; ')
            $check.ReplicaChecked | Should -BeTrue
        }
    }

    It 'sends Azure only the changed chunks each cycle (within 5 %)' {
        # Per VM and cycle: the chunks the guest wrote since the last point (see the script's writes).
        $expected = @{ 'DC0_H0_VM0' = @((2 * $chunk), (1 * $chunk)); 'DC0_H0_VM1' = @((1 * $chunk), (2 * $chunk)) }
        foreach ($vm in $expected.Keys) {
            $sent = @($result.Cycles | Where-Object Vm -eq $vm)
            $sent.Count | Should -Be 2
            for ($i = 0; $i -lt 2; $i++) {
                $sent[$i].Mode | Should -Be 'ChangedBlockTracking'
                $sent[$i].Sent | Should -BeGreaterOrEqual ($expected[$vm][$i] * 0.95) -Because "cycle $($i + 1) of $vm"
                $sent[$i].Sent | Should -BeLessOrEqual ($expected[$vm][$i] * 1.05) -Because "cycle $($i + 1) of $vm"
            }
        }
    }

    It 'ran the TCP and HTTP validations against 127.0.0.1, and the drill left no resource tagged with it and no temporary blob' {
        $validations = @($result.Validations)
        $validations.Count | Should -Be 2
        foreach ($step in $validations) {
            $step.State | Should -Be 'Succeeded' -Because $step.Message
            $step.Message | Should -Match '127\.0\.0\.1'
        }
        $result.DrillIps | Should -Be @('127.0.0.1', '127.0.0.1')
        Get-TestAzureTagged $azure $result.DrillJob | Should -BeNullOrEmpty
        Get-TestAzureBlob $azure -Container azsr-dr-import -Snapshots | Should -BeNullOrEmpty
    }

    It 'recovers each managed disk (read through a read SAS of its snapshot) as the guest''s disk at the chosen point, with the plan''s size and subnet' {
        $result.TestFailoverState | Should -Be 'Succeeded' -Because $result.TestFailoverError
        $tagged = @(Get-TestAzureTagged $azure $result.TestFailoverJob)
        $disks = @($tagged | Where-Object type -eq 'Microsoft.Compute/disks')
        $disks.Count | Should -Be 2
        $latest = @{}
        foreach ($cycle in $result.Cycles) { $latest[$cycle.Vm] = $cycle.PointId }
        foreach ($disk in $disks) {
            $name = ($result.Vms | Where-Object { $_.VmId -eq $disk.tags.'azsr-dr.vm' }).Name
            $disk.tags.'azsr-dr.point' | Should -Be $latest[$name]
            $vhd = Read-TestManagedDisk $azure $disk.id
            Get-VhdProblem $vhd $capacity | Should -BeNullOrEmpty -Because "the footer of managed disk $($disk.name)"
            Get-VhdDiskHash $vhd $capacity | Should -Be $result.Points[$latest[$name]] -Because "managed disk $($disk.name) of $name"
        }
        $vms = @($tagged | Where-Object type -eq 'Microsoft.Compute/virtualMachines')
        ($vms | Where-Object name -like 'DC0_H0_VM0-drtest-*').properties.hardwareProfile.vmSize | Should -Be 'Standard_E2s_v5'
        foreach ($nic in @($tagged | Where-Object type -eq 'Microsoft.Network/networkInterfaces')) {
            $nic.properties.ipConfigurations[0].properties.subnet.id | Should -Match '/virtualNetworks/dr-test/subnets/test$'
            $nic.properties.ipConfigurations[0].properties.privateIPAddress | Should -Be '127.0.0.1'
        }

        $stop = Invoke-ChildPwsh -VaultPath $vault -Script ((Get-TestAzureIdentityPrelude $azure) + "Stop-TestFailover -JobId $($result.TestFailoverJob) | Format-List State, Error")
        $stop.Text | Should -Match 'State\s*:\s*Succeeded' -Because $stop.Text
        Get-TestAzureTagged $azure $result.TestFailoverJob | Should -BeNullOrEmpty
        Get-TestAzureBlob $azure -Container azsr-dr-import -Snapshots | Should -BeNullOrEmpty
    }

    It 'leaves nothing in Azure after a drill whose process was SIGKILLed mid-recovery, then Stop-TestFailover' {
        $known = @(Get-TestAzureTagged $azure | ForEach-Object { $_.tags.'azsr-dr.job' })
        Invoke-ChildPwshKilled -VaultPath $vault -OutputPath (Join-Path $work 'killed.txt') `
            -Script ((Get-TestAzureIdentityPrelude $azure) + 'Invoke-DRDrill -RecoveryPlan erp-azure') -Until { @(Get-TestAzureTagged $azure | Where-Object { $_.tags.'azsr-dr.job' -notin $known }).Count -gt 0 }
        $left = @(Get-TestAzureTagged $azure | Where-Object { $_.tags.'azsr-dr.job' -notin $known })
        $left | Should -Not -BeNullOrEmpty -Because 'the kill landed mid-recovery'
        $job = $left[0].tags.'azsr-dr.job'

        $stop = Invoke-ChildPwsh -VaultPath $vault -Script ((Get-TestAzureIdentityPrelude $azure) + "Stop-TestFailover -JobId $job | Format-List State, Error")
        $stop.Text | Should -Match 'State\s*:\s*Succeeded' -Because $stop.Text
        Get-TestAzureTagged $azure $job | Should -BeNullOrEmpty
        Get-TestAzureBlob $azure -Container azsr-dr-import -Snapshots | Should -BeNullOrEmpty
    }

    It 'sent no request the swagger files would reject' {
        Get-TestAzureLabState $azure violations | Should -BeNullOrEmpty
    }

    # The script's last three lines (Start-Failover -Planned, Invoke-Reprotect, Invoke-Failback with Azure, and the original
    # vSphere disk equal to the Azure VM's disk after failback) are asserted in AzureFailover.Tests.ps1 on the same lab helpers.
}
