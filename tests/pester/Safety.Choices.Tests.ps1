# Choices made for the user (issue 9, part 2): no silent fallback, a job keeps its plan, no
# protection dropped under a failed-over VM, a pre-flight that looks at the recovery site, exports
# that never overwrite, runbooks that never hang on a prompt, and a failed drill that is an error.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $capacity = 8MB

    # A plan from YAML text (groups and mappings as given) over the lab's two sites.
    function Import-PlanYaml($Lab, [string] $Name, [string] $Yaml) {
        $path = Join-Path (Split-Path $Lab.Vault) "$Name.yaml"
        Set-Content -LiteralPath $path -Value $Yaml
        Import-RecoveryPlan -Vault $Lab.Vault -Path $path | Out-Null
        $path
    }
    # Changes the YAML the vault holds for a plan behind the module's back (as another admin's import would).
    function Set-VaultPlanYaml([string] $VaultPath, [string] $Name, [string] $Yaml) {
        $changed = Invoke-VaultSql $VaultPath 'UPDATE recovery_plans SET yaml = $yaml WHERE name = $name' -Parameters @{ '$yaml' = $Yaml; '$name' = $Name }
        if ($changed -ne 1) { throw "No plan '$Name' in the vault." }
    }
    # Changes the plan copy a job keeps, as a damaged vault file would.
    function Set-JobPlanYaml([string] $VaultPath, [string] $JobId, [string] $Yaml) {
        $changed = Invoke-VaultSql $VaultPath 'UPDATE jobs SET plan_yaml = $yaml WHERE id = $id' -Parameters @{ '$yaml' = $Yaml; '$id' = $JobId }
        if ($changed -ne 1) { throw "No job '$JobId' in the vault." }
    }
    # A port nothing listens on: bound by us, then released.
    function Get-FreePort {
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
    }
    # Runs a command in a child pwsh -NonInteractive (as a runbook does) and returns what it wrote, with the error id of a terminating error.
    function Invoke-NonInteractive($Lab, [string] $Command) {
        $run = Invoke-ChildPwsh -VaultPath $Lab.Vault -Script "try { $Command | Out-Null; 'RESULT: done' } catch { 'ID: ' + `$_.FullyQualifiedErrorId; 'MESSAGE: ' + `$_.Exception.Message }"
        $run.Text
    }
    # What a runbook sees from a high-impact cmdlet it did not confirm: our error naming -Confirm:$false, not the host's NonInteractive exception.
    function Assert-ConfirmationRequired([string] $Text, [string] $Cmdlet) {
        $Text | Should -Match "ID: ConfirmationRequired,AzureSiteRecovery\.DR\.\w+\.$Cmdlet" -Because $Text
        $Text | Should -Match ([regex]::Escape('-Confirm:$false'))
        $Text | Should -Not -Match 'NonInteractive mode'
        $Text | Should -Not -Match 'RESULT: done'
    }
    function Get-VmStates { @(Get-ProtectedVm | Sort-Object Name | ForEach-Object State) }

    $mappings = @'
networkMappings:
  - sourceNetwork: VM Network
    recoveryNetwork: VM Network
    testNetwork: DC0_DVPG1
  - sourceNetwork: DC0_DVPG0
    recoveryNetwork: DC0_DVPG0
    testNetwork: DC0_DVPG1
'@
}

Describe 'Choices made for the user' {
    BeforeAll {
        $vms = 'DC0_H0_VM0', 'DC0_H0_VM1'
        $lab = New-FailoverLab -Vms $vms -GuestBoot 300ms
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue' }
        Import-TestPlan $lab erp @'
  - name: db
    vms:
      - name: DC0_H0_VM0
  - name: app
    vms:
      - name: DC0_H0_VM1
'@
        $work = Split-Path $lab.Vault
        $before = Get-RecoverySiteState $lab
    }
    AfterAll { Remove-FailoverLab $lab }

    It 'exports the points of two VMs into one folder without one overwriting the other, and refuses to replace an image without -Force' {
        $points = @((Sync-VmReplication -ProtectionGroup erp).Point | Sort-Object VmName)
        $points.VmName | Should -Be $vms
        $destination = Join-Path $work 'export'
        $images = @($points | Export-RecoveryPoint -Destination $destination)
        $images | Should -HaveCount 2
        $images.Name | Should -Be '2000.img', '2000.img' -Because 'both first disks have device key 2000, as on real vSphere'
        $images.FullName | Should -Be ($vms | ForEach-Object { Join-Path $destination "$_/2000.img" })
        foreach ($i in 0, 1) {
            (Get-FileHash $images[$i].FullName -Algorithm SHA256).Hash | Should -Be (Get-DiskHash (Get-FlatFile $lab.Protected.StateDir $vms[$i]) $capacity) -Because "the image of $($vms[$i]) is its own disk"
        }
        (Get-FileHash $images[0].FullName).Hash | Should -Not -Be (Get-FileHash $images[1].FullName).Hash

        # An image already there (here: someone's edited copy) stays as it is without -Force.
        [IO.File]::WriteAllBytes($images[0].FullName, [byte[]](1, 2, 3))
        $points[0] | Export-RecoveryPoint -Destination $destination -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be 'ExportFileExists,AzureSiteRecovery.DR.Replication.ExportRecoveryPointCommand'
        $err[0].Exception.Message | Should -Match ([regex]::Escape($images[0].FullName))
        $err[0].Exception.Message | Should -Match '-Force'
        [IO.File]::ReadAllBytes($images[0].FullName) | Should -Be 1, 2, 3

        $again = $points[0] | Export-RecoveryPoint -Destination $destination -Force
        $again.FullName | Should -Be $images[0].FullName
        (Get-FileHash $again.FullName -Algorithm SHA256).Hash | Should -Be (Get-DiskHash (Get-FlatFile $lab.Protected.StateDir $vms[0]) $capacity)
    }

    It 'fails a mistyped recovery point id with RecoveryPointNotFound, recording no job and recovering nothing' {
        Import-PlanYaml $lab dbonly @"
name: dbonly
protectedSite: onprem
recoverySite: dr
$mappings
groups:
  - name: db
    vms:
      - name: DC0_H0_VM0
"@ | Out-Null
        $newest = (Get-ProtectedVm DC0_H0_VM0).LastRecoveryPointId
        $foreign = (Get-ProtectedVm DC0_H0_VM1).LastRecoveryPointId
        $mistyped = $newest.Substring(0, $newest.Length - 1) + $(if ($newest[-1] -eq '0') { '1' } else { '0' })
        $jobs = @(Get-DRJob).Count

        foreach ($command in 'Start-Failover', 'Start-TestFailover', 'Invoke-DRDrill') {
            & $command -RecoveryPlan erp -RecoveryPoint $mistyped -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1 -Because $command
            $err[0].FullyQualifiedErrorId | Should -BeLike 'RecoveryPointNotFound,AzureSiteRecovery.DR.Recovery.*' -Because $command
            $err[0].Exception.Message | Should -Match $mistyped
        }
        # A real point, but of a VM the plan does not recover: no VM may quietly take its newest point instead.
        Start-Failover -RecoveryPlan dbonly -RecoveryPoint $foreign -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'RecoveryPointNotFound,AzureSiteRecovery.DR.Recovery.StartFailoverCommand'
        $err[0].Exception.Message | Should -Match 'DC0_H0_VM1'
        # Without a plan, VMs piped in.
        Get-ProtectedVm DC0_H0_VM0 | Start-TestFailover -Network DC0_DVPG1 -RecoveryPoint $mistyped -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'RecoveryPointNotFound,AzureSiteRecovery.DR.Recovery.StartTestFailoverCommand'

        @(Get-DRJob).Count | Should -Be $jobs -Because 'nothing was recorded'
        Get-VmStates | Should -Be 'Protected', 'Protected'
        Assert-NothingLeft $lab $before 'nothing was recovered'
    }

    It 'runs a job resumed after its plan changed in the vault with the plan it started with, and keeps the plan while the job is unfinished (RecoveryPlanInUse)' {
        $path = Import-PlanYaml $lab snap @"
name: snap
protectedSite: onprem
recoverySite: dr
$mappings
groups:
  - name: db
    vms:
      - name: DC0_H0_VM0
    postActions:
      - manual: Check the database, then Resume-DRJob.
  - name: app
    vms:
      - name: DC0_H0_VM1
"@
        $original = Get-Content -Raw -LiteralPath $path
        $job = Start-TestFailover -RecoveryPlan snap
        $job.State | Should -Be 'WaitingForUser' -Because $job.Error
        $job.PlanHash | Should -Be (Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash.ToLowerInvariant()
        (Get-DRJob -JobId $job.JobId).PlanHash | Should -Be $job.PlanHash
        (Get-DRJob -JobId $job.JobId).PlanYaml | Should -Be $original

        # The vault refuses to change the plan under the unfinished job, and says how to finish it.
        $changed = $original.Replace('testNetwork: DC0_DVPG1', 'testNetwork: DC0_DVPG0')
        Set-Content -LiteralPath $path -Value $changed -NoNewline
        Import-RecoveryPlan -Path $path -Force -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be 'RecoveryPlanInUse,AzureSiteRecovery.DR.Plans.ImportRecoveryPlanCommand'
        $err[0].Exception.Message | Should -Match $job.JobId
        $err[0].Exception.Message | Should -Match "Resume-DRJob -JobId $($job.JobId)"
        $err[0].Exception.Message | Should -Match 'Stop-DRJob'
        Remove-RecoveryPlan snap -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be 'RecoveryPlanInUse,AzureSiteRecovery.DR.Plans.RemoveRecoveryPlanCommand'
        (Get-RecoveryPlan snap).Yaml | Should -Be $original

        # A copy that no longer matches its hash is not run.
        Set-JobPlanYaml $lab.Vault $job.JobId $changed
        Resume-DRJob -JobId $job.JobId -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be 'JobPlanDamaged,AzureSiteRecovery.DR.Jobs.ResumeDRJobCommand'
        (Get-DRJob -JobId $job.JobId).State | Should -Be 'WaitingForUser'
        Set-JobPlanYaml $lab.Vault $job.JobId $original

        # Changed anyway, behind the module's back: the resumed job still uses the test network it started with.
        Set-VaultPlanYaml $lab.Vault snap $changed
        (Get-RecoveryPlan snap).Yaml | Should -Be $changed
        $resumed = Resume-DRJob -JobId $job.JobId
        $resumed.State | Should -Be 'Succeeded' -Because $resumed.Error
        $resumed.PlanHash | Should -Be $job.PlanHash
        $names = @($resumed.Steps | Where-Object { $_.Details['kind'] -eq 'recoverVm' } | ForEach-Object { $_.Details['recoveredName'] })
        $names | Should -HaveCount 2
        foreach ($name in $names) {
            (Get-DRVm -Site dr -Name $name).Networks | Should -Be 'DC0_DVPG1' -Because "$name was recovered onto the job's own plan's test network, not the vault's DC0_DVPG0"
        }

        $stop = $resumed | Stop-TestFailover
        $stop.State | Should -Be 'Succeeded' -Because $stop.Error
        Assert-NothingLeft $lab $before 'Stop-TestFailover of the resumed job'
        # Ended: the plan is free again.
        (Import-RecoveryPlan -Path $path -Force).Name | Should -Be 'snap'
        Remove-RecoveryPlan snap -Confirm:$false
        Get-RecoveryPlan snap -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'fails the pre-flight of a plan whose test network does not exist on the recovery site, and of a plan to an Azure recovery site' {
        $path = Import-PlanYaml $lab badnet @"
name: badnet
protectedSite: onprem
recoverySite: dr
$($mappings.Replace('testNetwork: DC0_DVPG1', 'testNetwork: DR Isolated Test'))
groups:
  - name: db
    vms:
      - name: DC0_H0_VM0
"@
        $output = Test-RecoveryPlan badnet
        $summary = $output | Select-Object -Last 1
        $summary.Passed | Should -BeFalse
        $missing = @($output | Where-Object Check -eq 'TestNetworkNotFound')
        $missing | Should -HaveCount 2 -Because 'both mappings name it'
        $missing.Severity | Should -Be 'Error', 'Error'
        $missing[0].Message | Should -Match "test network 'DR Isolated Test'"
        $missing[0].Message | Should -Match "recovery site 'dr'"
        $missing[0].Message | Should -Match 'DC0_DVPG1' -Because 'it lists the networks the site has'
        "$($missing[0].Location)" | Should -Match '^badnet:\d+:\d+$'

        $jobs = @(Get-DRJob).Count
        foreach ($command in 'Invoke-DRDrill', 'Start-TestFailover') {
            & $command -RecoveryPlan badnet -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1 -Because $command
            $err[0].FullyQualifiedErrorId | Should -BeLike 'RecoveryPlanNotReady,*' -Because $command
            $err[0].Exception.Message | Should -Match 'DR Isolated Test'
        }
        @(Get-DRJob).Count | Should -Be $jobs
        Assert-NothingLeft $lab $before 'the pre-flight stopped the drill'

        # The same plan passes with a network the site has: the finding was about the site, not the vault.
        (Test-RecoveryPlan erp | Select-Object -Last 1).Passed | Should -BeTrue

        # An Azure recovery site is checked through Resource Manager: here a custom cloud on a closed loopback port (sign-in goes there too), so nothing leaves the machine.
        New-DRSite -Name azure -Azure -SubscriptionId 00000000-0000-0000-0000-000000000001 -ResourceGroup rg-dr -Location westeurope -Role Recovery `
            -Environment Custom -ArmEndpoint https://127.0.0.1:1/ -TenantId 72f988bf-0000-0000-0000-000000000000 -ClientId 7f3c2a10-aaaa-bbbb-cccc-0123456789ab `
            -ClientSecret (ConvertTo-SecureString 'Sp-secret-1' -AsPlainText -Force) -SkipConnectionTest | Out-Null
        Import-PlanYaml $lab toazure ((Get-Content -Raw $path).Replace('name: badnet', 'name: toazure').Replace('recoverySite: dr', 'recoverySite: azure')) | Out-Null
        $output = Test-RecoveryPlan toazure
        ($output | Select-Object -Last 1).Passed | Should -BeFalse
        $azure = @($output | Where-Object Check -eq 'RecoverySiteUnreachable')
        $azure | Should -HaveCount 1
        $azure[0].Severity | Should -Be 'Error'
        $azure[0].Message | Should -Match "recovery site 'azure' could not be checked"
        $azure[0].Message | Should -Match 'AzureSignInFailed|could not sign in'
        $azure[0].Message | Should -Not -Match 'Sp-secret-1'
    }

    It 'writes DrillFailed for a drill that fails, besides its report, so $? is false and -ErrorAction Stop stops the script' {
        $closed = Get-FreePort
        Import-PlanYaml $lab failing @"
name: failing
protectedSite: onprem
recoverySite: dr
$mappings
groups:
  - name: db
    vms:
      - name: DC0_H0_VM0
        validations:
          - tcpPort: { port: $closed, timeout: 2s }
"@ | Out-Null
        $report = Invoke-DRDrill -RecoveryPlan failing -ErrorVariable err -ErrorAction SilentlyContinue
        $succeeded = $?
        $succeeded | Should -BeFalse
        $report | Should -HaveCount 1 -Because 'the report is still returned'
        $report.Passed | Should -BeFalse
        $report.State | Should -Be 'Failed'
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be 'DrillFailed,AzureSiteRecovery.DR.Recovery.InvokeDRDrillCommand'
        $err[0].TargetObject | Should -Be $report.JobId
        $err[0].Exception.Message | Should -Match "\b$closed\b"
        Assert-NothingLeft $lab $before 'the failed drill cleaned up'

        $run = Invoke-ChildPwsh -VaultPath $lab.Vault -Script @'
try { $r = Invoke-DRDrill -RecoveryPlan failing -ErrorAction Stop; 'REACHED' } catch { 'ID: ' + $_.FullyQualifiedErrorId }
'@
        $run.Text | Should -Not -Match 'REACHED'
        $run.Text | Should -Match 'ID: DrillFailed,AzureSiteRecovery.DR.Recovery.InvokeDRDrillCommand'

        $passed = Invoke-DRDrill -RecoveryPlan erp -ErrorVariable err
        $ok = $?
        $passed.Passed | Should -BeTrue -Because $passed.Error
        $ok | Should -BeTrue
        $err | Should -BeNullOrEmpty
        Assert-NothingLeft $lab $before 'the drills cleaned up'
    }

    It 'asks before every high-impact change, and in a non-interactive session fails with ConfirmationRequired instead of hanging or a raw host error' {
        $high = @(Get-Command -Module AzureSiteRecovery.DR -CommandType Cmdlet | Where-Object {
                $_.ImplementingType.GetCustomAttributes([Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact -eq 'High' } | ForEach-Object Name | Sort-Object)
        $high | Should -Be 'Complete-Failover', 'Disable-VmProtection', 'Invoke-Failback', 'Start-Failover'
        (Get-Command Undo-Failover).ImplementingType.GetCustomAttributes([Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact | Should -Be 'Medium'

        $jobs = @(Get-DRJob).Count
        Assert-ConfirmationRequired (Invoke-NonInteractive $lab 'Get-ProtectedVm DC0_H0_VM0 | Disable-VmProtection') 'DisableVmProtectionCommand'
        (Get-ProtectedVm).Name | Should -Be $vms -Because 'protection was not disabled'
        Assert-ConfirmationRequired (Invoke-NonInteractive $lab 'Start-Failover -RecoveryPlan erp') 'StartFailoverCommand'
        @(Get-DRJob).Count | Should -Be $jobs
        Get-VmStates | Should -Be 'Protected', 'Protected'
        # With -Confirm:$false a runbook goes through.
        (Invoke-NonInteractive $lab 'Start-Failover -RecoveryPlan erp -Confirm:$false') | Should -Match 'RESULT: done'
        Get-VmStates | Should -Be 'FailedOver', 'FailedOver'

        Assert-ConfirmationRequired (Invoke-NonInteractive $lab 'Complete-Failover -RecoveryPlan erp') 'CompleteFailoverCommand'
        Get-VmStates | Should -Be 'FailedOver', 'FailedOver' -Because 'the failover was not committed'
        # Undo-Failover is not high impact: it runs without a prompt.
        (Invoke-NonInteractive $lab 'Undo-Failover -RecoveryPlan erp') | Should -Match 'RESULT: done'
        Get-VmStates | Should -Be 'Protected', 'Protected'
        Assert-NothingLeft $lab $before 'Undo-Failover deleted the recovered VMs'
    }

    It 'refuses to stop the protection of failed-over, committed or reprotected VMs (VmFailedOver), by VM or by group' {
        function Assert-ProtectionKept([string] $State) {
            Get-ProtectedVm DC0_H0_VM0 | Disable-VmProtection -RemoveData -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            $err | Should -HaveCount 1 -Because $State
            $err[0].FullyQualifiedErrorId | Should -Be 'VmFailedOver,AzureSiteRecovery.DR.Replication.DisableVmProtectionCommand'
            $err[0].Exception.Message | Should -Match "DC0_H0_VM0' \($State"
            Remove-ProtectionGroup erp -Force -RemoveData -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            $err | Should -HaveCount 1 -Because $State
            $err[0].FullyQualifiedErrorId | Should -Be 'VmFailedOver,AzureSiteRecovery.DR.ProtectionGroups.RemoveProtectionGroupCommand'
            (Get-ProtectionGroup erp).ProtectedVmCount | Should -Be 2
            Get-VmStates | Should -Be $State, $State
            foreach ($vm in Get-ProtectedVm) { @($vm | Get-RecoveryPoint).Count | Should -BeGreaterThan 0 -Because 'the points are the way back' }
        }
        (Start-Failover -RecoveryPlan erp -Confirm:$false).State | Should -Be 'Succeeded'
        Assert-ProtectionKept 'FailedOver'
        (Complete-Failover -RecoveryPlan erp -Confirm:$false).State | Should -Be 'Succeeded'
        Assert-ProtectionKept 'FailoverCommitted'
        (Invoke-Reprotect -RecoveryPlan erp).State | Should -Be 'Succeeded'
        Assert-ProtectionKept 'Reprotected'

        Assert-ConfirmationRequired (Invoke-NonInteractive $lab 'Invoke-Failback -RecoveryPlan erp') 'InvokeFailbackCommand'
        Get-VmStates | Should -Be 'Reprotected', 'Reprotected'
        $failback = Invoke-Failback -RecoveryPlan erp -Confirm:$false
        $failback.State | Should -Be 'Succeeded' -Because $failback.Error
        Get-VmStates | Should -Be 'Protected', 'Protected'
        Assert-NothingLeft $lab $before 'failback deleted the recovered VMs'
    }

    It 'removes a group with -Force the way Disable-VmProtection stops protection: our snapshots removed, CBT off, points deleted with -RemoveData' {
        $protected = @(Get-ProtectedVm | Sort-Object Name)
        $cred = New-TestCredential
        $core = $protected[0].GetType().Assembly
        $endpoint = $core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereEndpoint')::new([uri]$lab.Protected.Url, $cred.UserName, $cred.GetNetworkCredential().Password, $null, $true)
        $client = $core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereClient')::ConnectAsync($endpoint, 'onprem', [Threading.CancellationToken]::None).GetAwaiter().GetResult()
        try {
            # What a cycle killed mid-way leaves behind.
            [void]$client.CreateSnapshotAsync($protected[0].MoRef, 'azsr-dr-leftover', $null, $false, $false, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
            (Get-DRVm -Site onprem -Name $vms).ChangeTrackingEnabled | Should -Be $true, $true
            $manifests = { @(Get-ChildItem ([IO.Path]::ChangeExtension($lab.Vault, '.store')) -Recurse -File | Where-Object { $_.FullName -match "points[\\/]($($protected.VmId -join '|'))" }) }
            (& $manifests).Count | Should -BeGreaterThan 1

            Remove-ProtectionGroup erp -Force -RemoveData -Confirm:$false
            Get-ProtectionGroup erp -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Get-ProtectedVm | Should -BeNullOrEmpty
            (Get-DRVm -Site onprem -Name $vms).ChangeTrackingEnabled | Should -Be $false, $false
            foreach ($vm in $protected) {
                @($client.ListSnapshotsAsync($vm.MoRef, [Threading.CancellationToken]::None).GetAwaiter().GetResult() | Where-Object Name -like 'azsr-dr-*') | Should -BeNullOrEmpty
            }
            & $manifests | Should -BeNullOrEmpty -Because '-RemoveData deleted the points'
        }
        finally { $client.Dispose() }
    }
}

Describe 'The pre-flight of a recovery datastore too small for the disks' {
    BeforeAll {
        # Each lab VM disk is 8 MiB; the recovery datastore reports 4 MiB free.
        $lab = New-FailoverLab -Vms DC0_H0_VM0 -RecoveryArguments @('-ds-free-mb', '4')
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue' }
        Import-TestPlan $lab erp @'
  - name: db
    vms:
      - name: DC0_H0_VM0
'@
        $before = Get-RecoverySiteState $lab
    }
    AfterAll { Remove-FailoverLab $lab }

    It 'fails Test-RecoveryPlan with DatastoreTooSmall, and refuses the drill and the failover before recording a job' {
        $output = Test-RecoveryPlan erp
        ($output | Select-Object -Last 1).Passed | Should -BeFalse
        $small = @($output | Where-Object Check -eq 'DatastoreTooSmall')
        $small | Should -HaveCount 1
        $small[0].Severity | Should -Be 'Error'
        $small[0].Message | Should -Match "Datastore 'LocalDS_0' on recovery site 'dr' has 4,194,304 bytes"
        $small[0].Message | Should -Match '8,388,608 bytes'
        $small[0].Message | Should -Match '-Datastore'

        $jobs = @(Get-DRJob).Count
        foreach ($command in 'Invoke-DRDrill', 'Start-Failover') {
            & $command -RecoveryPlan erp -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1 -Because $command
            $err[0].FullyQualifiedErrorId | Should -BeLike 'RecoveryPlanNotReady,*' -Because $command
            $err[0].Exception.Message | Should -Match 'LocalDS_0'
        }
        @(Get-DRJob).Count | Should -Be $jobs
        (Get-ProtectedVm).State | Should -Be 'Protected'
        Assert-NothingLeft $lab $before 'nothing was recovered'
    }
}
