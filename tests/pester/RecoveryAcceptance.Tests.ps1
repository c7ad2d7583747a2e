BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
}

# The recovery issue's acceptance script, run as written in a fresh pwsh against two lab vcsims.
# $labPlan is the example plan shipped in the module (Examples/erp.plan.yaml), pointed at the lab:
# its VMs, networks, ports and URL replaced by the lab's, its script file written beside it, its
# long waits shortened, and its manual step (which would pause the drill for a person) replaced by a wait.
Describe 'The acceptance script of the recovery issue' {
    BeforeAll {
        $cred = New-TestCredential
        $lab = [pscustomobject]@{
            Protected = Start-TestVcsim -Arguments @('-vm', '3', '-disk-mb', '8', '-guest-boot', '300ms')
            Recovery  = Start-TestVcsim -Arguments @('-disk-mb', '8', '-pg', '2', '-guest-boot', '300ms')
            Vault     = New-TestVaultPath
        }
        $v = @{ Vault = $lab.Vault; WarningAction = 'SilentlyContinue' }
        New-DRSite @v -Name onprem -VSphere -Server $lab.Protected.Url -Credential $cred -Role Protected -SkipCertificateCheck | Out-Null
        New-DRSite @v -Name dr -VSphere -Server $lab.Recovery.Url -Credential $cred -Role Recovery -SkipCertificateCheck | Out-Null
        New-ReplicationPolicy @v -Name gold | Out-Null
        New-ProtectionGroup @v -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        New-ProtectionGroup @v -Name erp-web -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        $names = @{ 'erp-db01' = 'DC0_H0_VM0'; 'erp-app01' = 'DC0_H0_VM1'; 'erp-app02' = 'DC0_C0_RP0_VM0'; 'erp-lb01' = 'DC0_C0_RP0_VM1' }
        $seed = 1
        foreach ($vm in @($names.Values) + 'DC0_H0_VM2') { Write-DiskBytes (Get-FlatFile $lab.Protected.StateDir $vm) 1MB 2MB ($seed++) }
        Get-DRVm @v -Site onprem -Name @($names.Values) | Enable-VmProtection @v -ProtectionGroup erp | Out-Null
        Get-DRVm @v -Site onprem -Name DC0_H0_VM2 | Enable-VmProtection @v -ProtectionGroup erp-web | Out-Null

        # What the guests serve: SQL (1433), the app servers (8443) and the load balancer's HTTP health page (80), all on 127.0.0.1.
        $sql = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0); $sql.Start()
        $app = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0); $app.Start()
        $web = Start-TestHttpServer
        $webPort = $web.Port

        $planFolder = Join-Path (Split-Path $lab.Vault) 'plan'
        New-Item -ItemType Directory (Join-Path $planFolder 'checks') | Out-Null
        Set-Content (Join-Path $planFolder 'checks/Test-ErpDatabase.ps1') 'param($VmName, $IpAddress) "checked $VmName at $IpAddress"; $true'
        $labPlan = Join-Path $planFolder 'erp.plan.yaml'
        $yaml = Get-Content -Raw (Join-Path (Split-Path $env:AZSR_DR_TEST_MODULE) 'Examples/erp.plan.yaml')
        foreach ($name in $names.Keys) { $yaml = $yaml.Replace($name, $names[$name]) }
        $yaml = $yaml.Replace('recoveryNetwork: DR Production', 'recoveryNetwork: VM Network').Replace('testNetwork: DR Isolated Test', 'testNetwork: DC0_DVPG1')
        $yaml = $yaml.Replace('sourceNetwork: Backend', 'sourceNetwork: DC0_DVPG0').Replace('recoveryNetwork: DR Backend', 'recoveryNetwork: DC0_DVPG0').Replace('testNetwork: DR Isolated Backend', 'testNetwork: DC0_DVPG1')
        $yaml = $yaml.Replace('port: 1433', "port: $($sql.LocalEndpoint.Port)").Replace('tcpPort: 8443', "tcpPort: $($app.LocalEndpoint.Port)").Replace('port: 80', "port: $webPort")
        $yaml = $yaml.Replace('https://erp.example.test/login', "http://127.0.0.1:$webPort/login")
        $yaml = $yaml -replace '(?m)^(\s+)- manual: .*$', '$1- wait: 1s' -replace 'wait: 2m', 'wait: 1s' -replace 'bootDelay: (30s|1m|10s)', 'bootDelay: 1s'

        $before = Get-RecoverySiteState $lab
        $out = Join-Path (Split-Path $lab.Vault) 'reports'
        New-Item -ItemType Directory $out | Out-Null
        Set-Content $labPlan $yaml
        $run = Invoke-ChildPwsh -VaultPath $lab.Vault -Script @"
`$ErrorActionPreference = 'Stop'
Set-Location '$out'
`$labPlan = '$labPlan'
Import-RecoveryPlan -Path `$labPlan    # the example plan, pointed at the lab's VMs
'== test'
Test-RecoveryPlan erp | Format-List Name, Passed, ErrorCount, WarningCount, VmCount
`$r = Invoke-DRDrill -RecoveryPlan erp
'== drill'
`$r | Format-List Plan, Passed, CleanupPassed, FailedStepCount
`$r | Export-DrillReport -Path ./drill.html      # the format follows the extension:
`$r | Export-DrillReport -Path ./drill.json      # .html, .json, .xml (JUnit)
`$r | Export-DrillReport -Path ./drill.xml
'== test failover'
Start-TestFailover -RecoveryPlan erp | Wait-DRJob | Format-List State, Error
'== stop'
Get-DRJob | Select-Object -First 1 | Stop-TestFailover | Format-List Operation, State, Error   # the recovery vCenter is as before
"@
        $text = $run.Text
        $after = Get-RecoverySiteState $lab
    }
    AfterAll {
        Stop-TestHttpServer $web
        if ($sql) { $sql.Stop() }
        if ($app) { $app.Stop() }
        $lab.Protected, $lab.Recovery | Stop-TestVcsim
        Remove-TestVault $lab.Vault
    }

    It 'runs to its end without an error' {
        $run.ExitCode | Should -Be 0 -Because $text
    }

    It 'passes the pre-flight check with every VM of the plan, the protection group included' {
        $section = ($text -split '== ')[1]
        $section | Should -Match 'Passed\s+: True'
        $section | Should -Match 'VmCount\s+: 5'
    }

    It 'drills the plan: every VM up, every validation passed, the test VMs deleted' {
        $section = ($text -split '== drill')[1]
        $section | Should -Match 'Passed\s+: True'
        $section | Should -Match 'CleanupPassed\s+: True'
        $section | Should -Match 'FailedStepCount\s+: 0'
    }

    It 'writes the report in the format of each extension' {
        (Get-Content -Raw (Join-Path $out 'drill.html')) | Should -Match '<html'
        $json = Get-Content -Raw (Join-Path $out 'drill.json') | ConvertFrom-Json
        $json.passed | Should -BeTrue
        @($json.vms).Count | Should -Be 5
        @($json.vms | Where-Object { $_.rtoSeconds -gt 0 }).Count | Should -Be 5
        $junit = [xml](Get-Content -Raw (Join-Path $out 'drill.xml'))
        [int]$junit.testsuites.failures | Should -Be 0
        [int]$junit.testsuites.tests | Should -BeGreaterThan 10
    }

    It 'leaves a test failover up until Stop-TestFailover, which leaves the recovery vCenter as before' {
        ($text -split '== test failover')[1] | Should -Match 'State\s+: Succeeded'
        ($text -split '== stop')[1] | Should -Match 'Operation\s+: StopTestFailover\s+State\s+: Succeeded'
        $after.Tagged | Should -BeNullOrEmpty
        $after.VmNames | Should -Be $before.VmNames
        $after.Files | Should -Be $before.Files
    }
}
