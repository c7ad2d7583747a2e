# The pipelines the about topic, README "Use" and the cmdlets' examples show, each run against the
# lab vcsim; names where ids were needed; what a site offers; completion; the default policy; -Server.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $cred = New-TestCredential
}

Describe 'Documented pipelines and names against a vcsim' {
    BeforeAll {
        $lab = Start-TestVcsim -Arguments @('-disk-mb', '8')
        $vault = New-TestVaultPath
        $PSDefaultParameterValues = @{ '*:Vault' = $vault; '*:WarningAction' = 'SilentlyContinue' }
        # The PowerCLI habit: a bare host:port means https://host:port/sdk.
        $hostPort = ([uri]$lab.Url).Authority
        $onprem = New-DRSite -Name onprem -VSphere -Server $hostPort -Credential $cred -Role Protected -SkipCertificateCheck
        New-DRSite -Name dr -VSphere -Server $lab.Url -Credential $cred -Role Recovery -SkipCertificateCheck | Out-Null
        # No -Policy: the policy 'default' is created with the product's defaults.
        $group = Get-DRSite onprem | New-ProtectionGroup -Name erp -RecoverySite dr
        $protected = @(Get-DRVm -Site onprem -Name DC0_H0_VM0, DC0_H0_VM1 | Enable-VmProtection -ProtectionGroup erp)
        $vm1 = $protected | Where-Object Name -eq DC0_H0_VM1
    }
    AfterAll {
        $lab | Stop-TestVcsim
        Remove-TestVault $vault
    }

    It 'New-DRSite -Server host:port stores https://host:port/sdk and connects' {
        $onprem.Server | Should -Be "https://$hostPort/sdk"
        (Get-DRSite onprem).ServerInstanceUuid | Should -Not -BeNullOrEmpty
    }

    It 'New-DRSite and Set-DRSite -Server with a bare host name or host:port mean https://that/sdk' {
        $site = New-DRSite -Name lab-bare -VSphere -Server vc01.contoso.local -Credential $cred -SkipConnectionTest
        $site.Server | Should -Be 'https://vc01.contoso.local/sdk'
        Set-DRSite -Name onprem -Server $hostPort
        (Get-DRSite onprem).Server | Should -Be "https://$hostPort/sdk"
    }

    It 'New-ProtectionGroup without -Policy uses the policy default, created with the default settings' {
        $group.Policy | Should -Be 'default'
        $policy = Get-ReplicationPolicy default
        $policy.ReplicationInterval | Should -Be ([timespan]'00:05:00')
        $policy.RpoThreshold | Should -Be ([timespan]'00:15:00')
        New-ProtectionGroup -Name web -ProtectedSite onprem -RecoverySite dr | Select-Object -ExpandProperty Policy | Should -Be 'default'
        @(Get-ReplicationPolicy).Count | Should -Be 1
        Remove-ProtectionGroup web -Confirm:$false
    }

    It 'Get-DRVm | Enable-VmProtection protects both VMs' {
        $protected.Count | Should -Be 2
        $protected.State | Should -Not -Contain 'Error'
    }

    It 'Get-ProtectionGroup erp | Sync-VmReplication replicates every VM of the group' {
        $results = @(Get-ProtectionGroup erp | Sync-VmReplication)
        $results.Count | Should -Be 2
        $results.Vm.Name | Sort-Object | Should -Be @('DC0_H0_VM0', 'DC0_H0_VM1')
    }

    It 'Get-ProtectionGroup erp | Get-RecoveryPoint lists the points of every VM of the group' {
        $points = @(Get-ProtectionGroup erp | Get-RecoveryPoint)
        $expected = @(Get-ProtectedVm -ProtectionGroup erp | ForEach-Object { Get-RecoveryPoint -VmId $_.VmId })
        $points.Count | Should -Be $expected.Count
        $points.Count | Should -BeGreaterOrEqual 4
        @($points.VmId | Sort-Object -Unique).Count | Should -Be 2
    }

    It 'Get-ProtectedVm | Get-RecoveryPoint | Test-RecoveryPoint re-reads every point' {
        $checks = @(Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint | Test-RecoveryPoint)
        $checks.Count | Should -BeGreaterOrEqual 2
        $checks.Intact | Should -Not -Contain $false
    }

    It 'Get-RecoveryPoint takes a VM name positionally, a wildcard, or the id' {
        $byId = @(Get-RecoveryPoint $vm1.VmId)
        $byName = @(Get-RecoveryPoint DC0_H0_VM1)
        $byName.RecoveryPointId | Should -Be $byId.RecoveryPointId
        @(Get-RecoveryPoint 'DC0_H0_VM*').Count | Should -Be @(Get-ProtectionGroup erp | Get-RecoveryPoint).Count
        @(Get-RecoveryPoint 'nomatch*').Count | Should -Be 0
    }

    It 'Get-RecoveryPoint of an unknown VM name is ProtectedVmNotFound' {
        { Get-RecoveryPoint DC0_H0_VM9 -ErrorAction Stop } | Should -Throw -ErrorId 'ProtectedVmNotFound,AzureSiteRecovery.DR.Replication.GetRecoveryPointCommand'
    }

    It 'Sync-VmReplication -Vm takes a name; Get-ProtectedVm | Sync-VmReplication the object' {
        @(Sync-VmReplication -Vm DC0_H0_VM0).Count | Should -Be 1
        @(Get-ProtectedVm DC0_H0_VM1 | Sync-VmReplication).Count | Should -Be 1
    }

    It 'Sync-VmReplication without a group replicates only the VMs whose interval has passed' {
        # Both just replicated: nothing is due within the default 5-minute interval.
        @(Sync-VmReplication).Count | Should -Be 0
        $before = @(Get-RecoveryPoint DC0_H0_VM0).Count
        # DC0_H0_VM0's last cycle an hour ago: due.
        Invoke-VaultSql -VaultPath $vault -Sql 'UPDATE protected_vms SET last_cycle_unix_ms = $t WHERE name = ''DC0_H0_VM0''' -Parameters @{ '$t' = [DateTimeOffset]::UtcNow.AddHours(-1).ToUnixTimeMilliseconds() } | Should -Be 1
        $results = @(Sync-VmReplication)
        $results.Count | Should -Be 1
        @(Get-RecoveryPoint DC0_H0_VM0).Count | Should -Be ($before + 1)
    }

    It 'Get-ProtectionGroup erp | Sync-VmReplication -AsJob returns a job whose output is the cycles' {
        $before = @(Get-ProtectionGroup erp | Get-RecoveryPoint).Count
        $job = Get-ProtectionGroup erp | Sync-VmReplication -AsJob
        $job | Should -BeOfType 'System.Management.Automation.Job'
        $job | Wait-Job -Timeout 120 | Out-Null
        $job.State | Should -Be 'Completed'
        $results = @($job | Receive-Job)
        $results.Vm.Name | Sort-Object | Should -Be @('DC0_H0_VM0', 'DC0_H0_VM1')
        @(Get-ProtectionGroup erp | Get-RecoveryPoint).Count | Should -Be ($before + 2)
    }

    It 'Sync-VmReplication -Continuous -AsJob is a replication worker until Stop-Job, shown by Get-DRWorker' {
        # Both VMs' last cycle an hour ago: due at once.
        Invoke-VaultSql -VaultPath $vault -Sql 'UPDATE protected_vms SET last_cycle_unix_ms = $t' -Parameters @{ '$t' = [DateTimeOffset]::UtcNow.AddHours(-1).ToUnixTimeMilliseconds() } | Should -Be 2
        $job = Get-ProtectionGroup erp | Sync-VmReplication -Continuous -AsJob -LeaseDuration 00:00:30
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while ($job.Output.Count -lt 2 -and $job.State -in 'NotStarted', 'Running' -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }
        $running = @(Get-DRWorker -Status Running)
        $job | Stop-Job
        $job | Wait-Job -Timeout 30 | Out-Null
        $job.State | Should -Be 'Stopped' -Because ($job.ChildJobs.Error + $job.Error | Out-String)
        $results = @($job | Receive-Job)
        $results.Vm.Name | Sort-Object | Should -Be @('DC0_H0_VM0', 'DC0_H0_VM1')
        $worker = $results[0].Worker
        $running.WorkerId | Should -Be $worker
        $running[0].LeaseDuration | Should -Be ([timespan]::FromSeconds(30))
        (Get-DRWorker | Where-Object WorkerId -eq $worker).Status | Should -Be 'Stopped'
    }

    It 'Get-ProtectionGroup | Remove-ProtectionGroup -WhatIf removes nothing' {
        Get-ProtectionGroup | Remove-ProtectionGroup -WhatIf
        (Get-ProtectionGroup erp).Name | Should -Be 'erp'
    }

    It 'Get-DRSite | Set-DRSite -PassThru and Get-DRSite lab-* | Remove-DRSite' {
        (Get-DRSite dr | Set-DRSite -Role Both -PassThru).Role | Should -Be 'Both'
        Get-DRSite lab-* | Remove-DRSite -WhatIf
        (Get-DRSite lab-bare).Name | Should -Be 'lab-bare'
        Get-DRSite lab-* | Remove-DRSite -Confirm:$false
        @(Get-DRSite).Name | Should -Not -Contain 'lab-bare'
    }

    It 'an unknown group is ProtectionGroupNotFound with the same words from <Command>' -ForEach @(
        @{ Command = 'Get-ProtectionGroup'; Script = { Get-ProtectionGroup nope -ErrorAction Stop } }
        @{ Command = 'Set-ProtectionGroup'; Script = { Set-ProtectionGroup nope -Description x -ErrorAction Stop } }
        @{ Command = 'Remove-ProtectionGroup'; Script = { Remove-ProtectionGroup nope -Confirm:$false -ErrorAction Stop } }
        @{ Command = 'Get-ProtectedVm'; Script = { Get-ProtectedVm -ProtectionGroup nope -ErrorAction Stop } }
        @{ Command = 'Sync-VmReplication'; Script = { Sync-VmReplication -ProtectionGroup nope -ErrorAction Stop } }
        @{ Command = 'Get-RecoveryPoint'; Script = { Get-RecoveryPoint -ProtectionGroup nope -ErrorAction Stop } }
        @{ Command = 'Enable-VmProtection'; Script = { Get-DRVm -Site onprem | Where-Object Name -notlike 'DC0_H0_*' | Select-Object -First 1 | Enable-VmProtection -ProtectionGroup nope -ErrorAction Stop } }
    ) {
        $caught = $null
        try { & $Script } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeLike 'ProtectionGroupNotFound,*'
        $caught.Exception.Message | Should -Be "Protection group 'nope' was not found in the vault."
    }

    It 'Get-DRNetwork lists the networks of a site with their kind' {
        $networks = @(Get-DRNetwork -Site dr)
        $networks | Should -BeOfType 'AzureSiteRecovery.DR.Core.Model.SiteNetwork'
        ($networks | Where-Object Name -eq 'VM Network').Kind | Should -Be 'StandardPortgroup'
        ($networks | Where-Object Name -eq 'DC0_DVPG0').Kind | Should -Be 'DistributedPortgroup'
        $networks.Site | Sort-Object -Unique | Should -Be 'dr'
        (Get-DRSite dr | Get-DRNetwork -Name 'DC0_*').Name | Should -Contain 'DC0_DVPG0'
        (Get-DRNetwork dr | Out-String) | Should -Match 'DC0_DVPG0\s+dr\s+DistributedPortgroup'
    }

    It 'Get-DRDatastore lists the datastores of a site with capacity, free space and access' {
        $datastores = @(Get-DRDatastore -Site dr)
        $datastores | Should -BeOfType 'AzureSiteRecovery.DR.Core.Model.SiteDatastore'
        $local = $datastores | Where-Object Name -eq 'LocalDS_0'
        $local.Capacity | Should -BeGreaterThan 0
        $local.FreeSpace | Should -BeGreaterThan 0
        $local.FreeSpace | Should -BeLessOrEqual $local.Capacity
        $local.Accessible | Should -BeTrue
        (Get-DRDatastore dr | Out-String) | Should -Match 'LocalDS_0\s+dr\s+[\d.,]+\s+[\d.,]+\s+True'
    }

    It 'a network or datastore the site does not have is SiteNetworkNotFound / SiteDatastoreNotFound, naming the site' {
        { Get-DRNetwork -Site dr -Name 'No Such Net' -ErrorAction Stop } | Should -Throw -ErrorId 'SiteNetworkNotFound,AzureSiteRecovery.DR.Sites.GetDRNetworkCommand' -ExpectedMessage "*not found on site 'dr'*"
        { Get-DRDatastore -Site dr -Name NoSuchDs -ErrorAction Stop } | Should -Throw -ErrorId 'SiteDatastoreNotFound,AzureSiteRecovery.DR.Sites.GetDRDatastoreCommand'
    }

    It 'completes <Line>' -ForEach @(
        @{ Line = 'Get-RecoveryPoint DC0_H0_V'; Expected = @('DC0_H0_VM0', 'DC0_H0_VM1') }
        @{ Line = 'Disable-VmProtection -Vm DC0_H0_VM1'; Expected = @('DC0_H0_VM1') }
        @{ Line = 'Get-ProtectedVm DC0_H0_VM0'; Expected = @('DC0_H0_VM0') }
        @{ Line = 'Get-DRNetwork -Site dr -Name DC0_DV'; Expected = @('DC0_DVPG0') }
        @{ Line = 'Get-DRNetwork -Site dr -Name VM'; Expected = @("'VM Network'") }
        @{ Line = 'Get-DRDatastore -Site dr -Name Local'; Expected = @('LocalDS_0') }
        @{ Line = 'Start-TestFailover -VmId DC0_H0_VM0 -Network DC0_DV'; Expected = @('DC0_DVPG0') }
        @{ Line = 'Start-TestFailover -VmId DC0_H0_VM0 -Network DC0_DVPG0 -Datastore Local'; Expected = @('LocalDS_0') }
    ) {
        $full = "$Line -Vault '$vault'"
        $cursor = $Line.Length
        $result = TabExpansion2 -inputScript $full -cursorColumn $cursor
        $result.CompletionMatches.CompletionText | Should -Be $Expected
    }

    It 'completes job ids' {
        $jobId = [guid]::NewGuid().ToString('n')
        Invoke-VaultSql -VaultPath $vault -Sql "INSERT INTO jobs (id, operation, target, state, created_unix_ms) VALUES ('$jobId', 'TestFailover', 'erp', 'Succeeded', 0)" | Should -Be 1
        foreach ($command in 'Get-DRJob -JobId', 'Wait-DRJob -JobId', 'Export-DrillReport -JobId') {
            $line = "$command $($jobId.Substring(0, 6))"
            $result = TabExpansion2 -inputScript "$line -Vault '$vault'" -cursorColumn $line.Length
            $result.CompletionMatches.CompletionText | Should -Be $jobId -Because $command
        }
    }

    It 'completes nothing, quickly and quietly, for a site that cannot be reached' {
        New-DRSite -Name gone -VSphere -Server https://127.0.0.1:1/sdk -Credential $cred -SkipConnectionTest | Out-Null
        $line = 'Get-DRNetwork -Site gone -Name V'
        $elapsed = Measure-Command { $result = TabExpansion2 -inputScript "$line -Vault '$vault'" -cursorColumn $line.Length }
        @($result.CompletionMatches | Where-Object ResultType -eq 'ParameterValue').Count | Should -Be 0
        $elapsed | Should -BeLessThan ([timespan]'00:00:10')
        Remove-DRSite gone -Confirm:$false
    }

    It 'Disable-VmProtection takes a name: -WhatIf changes nothing, -Confirm:$false disables that VM only' {
        Disable-VmProtection DC0_H0_VM1 -WhatIf
        @(Get-ProtectedVm).Count | Should -Be 2
        Disable-VmProtection DC0_H0_VM1 -Confirm:$false
        (Get-ProtectedVm).Name | Should -Be 'DC0_H0_VM0'
        { Disable-VmProtection DC0_H0_VM1 -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'ProtectedVmNotFound,AzureSiteRecovery.DR.Replication.DisableVmProtectionCommand'
    }

    It 'Get-ProtectedVm | Disable-VmProtection -RemoveData removes the VM and its points' {
        Get-ProtectedVm DC0_H0_VM* | Disable-VmProtection -RemoveData -Confirm:$false
        @(Get-ProtectedVm).Count | Should -Be 0
        @(Get-RecoveryPoint 'DC0_H0_VM*').Count | Should -Be 0
    }
}
