BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $none = [Threading.CancellationToken]::None

    # The script host is the module's own (internal: the recovery cmdlets create it); reflection only
    # creates it, and the scripts reach it through the service library's public runners, as in a job.
    $assemblies = [AppDomain]::CurrentDomain.GetAssemblies()
    $cmdlets = $assemblies | Where-Object { $_.GetName().Name -eq 'AzureSiteRecovery.DR' } | Select-Object -First 1
    $core = $assemblies | Where-Object { $_.GetName().Name -eq 'AzureSiteRecovery.DR.Core' } | Select-Object -First 1
    $scriptHost = [Activator]::CreateInstance($cmdlets.GetType('AzureSiteRecovery.DR.Common.RunspaceScriptHost', $true))
    $validationRunner = [Activator]::CreateInstance($core.GetType('AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks.ValidationRunner'), @($scriptHost))
    $actionRunner = [Activator]::CreateInstance($core.GetType('AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks.PlanActionRunner'), @($scriptHost))
    $targetType = $core.GetType('AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks.ValidationTarget')
    $contextType = $core.GetType('AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks.PlanActionContext')

    # Runs validation number $Index of the plan's only VM, as the recovery engine does once the VM is up.
    function Invoke-TestValidation($Plan, [int] $Index, [string] $IpAddress = '127.0.0.1') {
        $vm = $Plan.Groups[0].Vms[0]
        $target = [Activator]::CreateInstance($targetType, @($vm.Name, $IpAddress, $Plan.SourceFolder, $Plan.Name))
        $validationRunner.RunAsync($vm.Validations[$Index], $target, $none).GetAwaiter().GetResult()
    }

    $planYaml = @'
name: web
protectedSite: onprem
recoverySite: dr
groups:
  - name: web
    preActions:
      - script:
          path: scripts/Pre.ps1
    vms:
      - name: web01
        validations:
          - script:
              inline: |
                if ($VmName -ne 'web01' -or $IpAddress -ne '127.0.0.1') { throw "got '$VmName' at '$IpAddress'" }
                "web01 answers at $IpAddress"
          - script:
              inline: |
                param([string] $VmName, [string] $IpAddress)
                "declared: $VmName $IpAddress"
          - script:
              inline: |
                'checking the database'
                throw 'the database is not ready'
          - script:
              inline: |
                'looked, and it is down'
                $false
          - script:
              inline: |
                Write-Error 'port 443 is closed'
                'carried on'
          - script:
              inline: Start-Sleep -Seconds 30
              timeout: 2s
          - script:
              path: checks/Test-Web.ps1
          - script:
              path: checks/Missing.ps1
'@
}

Describe 'Plan scripts in a runspace of their own' {
    BeforeAll {
        $vault = New-TestVaultPath
        $planFolder = Join-Path (Split-Path $vault) 'plans'
        New-Item -ItemType Directory -Force -Path (Join-Path $planFolder 'checks'), (Join-Path $planFolder 'scripts') | Out-Null
        Set-Content -Path (Join-Path $planFolder 'web.plan.yaml') -Value $planYaml
        Set-Content -Path (Join-Path $planFolder 'checks/Test-Web.ps1') -Value '"checked $VmName from $PSScriptRoot"'
        Set-Content -Path (Join-Path $planFolder 'scripts/Pre.ps1') -Value 'param($Group) "ready: $RecoveryPlan/$Group/$JobId/$Site"'

        Import-RecoveryPlan -Path (Join-Path $planFolder 'web.plan.yaml') -Vault $vault | Out-Null
        $plan = Get-RecoveryPlan web -Vault $vault
    }
    AfterAll { Remove-TestVault $vault }

    It 'keeps the folder the plan was imported from' {
        $plan.SourceFolder | Should -Be (Resolve-Path $planFolder).Path
    }

    It 'gives a check script the VM name and IP address, as variables and as declared parameters' {
        $result = Invoke-TestValidation $plan 0
        $result.Message | Should -Match '^inline script succeeded in [\d.]+ s$'
        $result.Passed | Should -BeTrue
        $result.Output | Should -Be @('web01 answers at 127.0.0.1')

        (Invoke-TestValidation $plan 1).Output | Should -Be @('declared: web01 127.0.0.1')
    }

    It 'fails a script that throws, with its message and where' {
        $result = Invoke-TestValidation $plan 2
        $result.Passed | Should -BeFalse
        $result.Message | Should -Match '^inline script failed after [\d.]+ s: the database is not ready \(at line 2\)$'
        $result.Output | Should -Be @('checking the database')
    }

    It 'fails a script whose last output is $false' {
        $result = Invoke-TestValidation $plan 3
        $result.Passed | Should -BeFalse
        $result.Message | Should -Match ': Its last output was \$false\.$'
    }

    It 'fails a script that writes an error, even if it carries on' {
        $result = Invoke-TestValidation $plan 4
        $result.Passed | Should -BeFalse
        $result.Message | Should -Match ': port 443 is closed'
        $result.Output | Should -Be @('carried on')
    }

    It 'stops a script that runs past its timeout' {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $result = Invoke-TestValidation $plan 5
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 6
        $result.Passed | Should -BeFalse
        $result.Message | Should -Match 'It did not finish in 2 s and was stopped\.$'
    }

    It 'stops a script at once when the job is stopped' {
        $vm = $plan.Groups[0].Vms[0]
        $target = [Activator]::CreateInstance($targetType, @($vm.Name, '127.0.0.1', $plan.SourceFolder, $plan.Name))
        $stop = [Threading.CancellationTokenSource]::new([TimeSpan]::FromSeconds(1))
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $caught = $null
        try { $validationRunner.RunAsync($vm.Validations[5], $target, $stop.Token).GetAwaiter().GetResult() }
        catch { $caught = $_.Exception.InnerException }
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 1.9
        $caught | Should -BeOfType ([OperationCanceledException])
    }

    It 'runs a script file found beside the plan, and names a missing one with the plan' {
        $result = Invoke-TestValidation $plan 6
        $result.Passed | Should -BeTrue
        $result.Output | Should -Be @("checked web01 from $(Join-Path $plan.SourceFolder 'checks')")

        $missing = Invoke-TestValidation $plan 7
        $missing.Passed | Should -BeFalse
        $missing.Message | Should -BeLike "The script 'checks/Missing.ps1' of recovery plan 'web' (web:*) was not found: '$(Join-Path $plan.SourceFolder 'checks/Missing.ps1')' does not exist.*"
    }

    It 'runs a group action script beside the plan with the plan, group, job and site' {
        $context = [Activator]::CreateInstance($contextType, @($plan.Name, $plan.SourceFolder, 'web', 'job-1', 'dr'))
        $message = $actionRunner.RunAsync($plan.Groups[0].PreActions[0], $context, $none).GetAwaiter().GetResult()
        $message | Should -Match '^The script scripts/Pre\.ps1 succeeded in [\d.]+ s: ready: web/web/job-1/dr$'
    }
}
