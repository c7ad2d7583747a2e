# The runbooks of the module (Runbooks/ in the zip of build.ps1 -Task Package) run as Azure Automation runs them:
# the zip unzipped and found on PSModulePath, a fresh pwsh (-NonInteractive, no profile) with no HOME, USERPROFILE
# or XDG_* variables, the managed identity through the lab's loopback IDENTITY_ENDPOINT/IDENTITY_HEADER, the older
# Azure.Core of Az.Accounts loaded into the session before the module, and the account's variables through
# Get-AutomationVariable. The vault is in Table storage (Azurite), its key a Key Vault secret of the lab ARM (or an
# Automation variable), its chunks in a Blob container. Against vcsim (the protected site), Azurite and the lab ARM: the nightly drill uploads its
# report, a hybrid worker replicates, and with the protected vCenter stopped the failover runbook brings the plan up
# in Azure; its peak memory (VmHWM of the child process) stays under 400 MB.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force

    # As Automation imports it: the package's zip, unzipped.
    if (-not $env:AZSR_DR_TEST_PACKAGE -or -not (Test-Path $env:AZSR_DR_TEST_PACKAGE)) { throw 'AZSR_DR_TEST_PACKAGE is not set: run the suites through build.ps1 -Task Test, which packages the module.' }
    $modules = Join-Path ([IO.Path]::GetTempPath()) "azsr-dr-automation-$([guid]::NewGuid().ToString('n'))"
    [IO.Compression.ZipFile]::ExtractToDirectory($env:AZSR_DR_TEST_PACKAGE, $modules)
    $moduleBase = Join-Path $modules 'AzureSiteRecovery.DR'
    $ourAzureCore = [Reflection.AssemblyName]::GetAssemblyName((Join-Path $moduleBase 'dependencies/Azure.Core.dll')).Version
    # Az.Accounts' Azure.Core (restored by tests/TestDependencies), older than ours.
    $olderAzureCore = Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages/azure.core/1.44.1/lib/netstandard2.0/Azure.Core.dll'

    # What a runbook must never show: the storage keys, the vault key, a SAS signature.
    function Assert-NoSecret($Run, [string[]] $Secrets) {
        foreach ($secret in $Secrets) { $Run.Text.Contains($secret) | Should -BeFalse -Because 'a secret must never be shown' }
    }
    function ConvertTo-Literal($Value) { "'" + ("$Value" -replace "'", "''") + "'" }

    # Runs Runbooks/<Name>.ps1 of the unzipped package as Automation would, with $Parameters and the account's $Variables.
    # Returns ExitCode, Output (stdout and stderr lines), Text and PeakMB: the child's VmHWM (/proc/<pid>/status), sampled until it exits.
    function Invoke-Runbook([string] $Name, [hashtable] $Parameters, [hashtable] $Variables = @{}, [int] $TimeoutSeconds = 240) {
        $runbook = Join-Path $moduleBase "Runbooks/$Name.ps1"
        $parameterText = ($Parameters.GetEnumerator() | ForEach-Object { "$($_.Key) = $(ConvertTo-Literal $_.Value)" }) -join '; '
        $variableText = ($Variables.GetEnumerator() | ForEach-Object { "$(ConvertTo-Literal $_.Key) = $(ConvertTo-Literal $_.Value)" }) -join '; '
        $script = @"
`$ErrorActionPreference = 'Stop'
`$PSStyle.OutputRendering = 'PlainText'
'environment: HOME=[{0}] USERPROFILE=[{1}] XDG=[{2}]' -f `$env:HOME, `$env:USERPROFILE, ((Get-ChildItem env: | Where-Object Name -like 'XDG_*').Name -join ',')
[void][Reflection.Assembly]::LoadFrom($(ConvertTo-Literal $olderAzureCore))
function Get-AutomationVariable {
    param([Parameter(Mandatory = `$true)][string] `$Name)
    `$variables = @{ $variableText }
    if (-not `$variables.ContainsKey(`$Name)) { throw "No Automation variable '`$Name'." }
    `$variables[`$Name]
}
`$runbookParameters = @{ $parameterText }
try { & $(ConvertTo-Literal $runbook) @runbookParameters }
finally {
    if (Get-Module AzureSiteRecovery.DR) { Get-DRVault | ForEach-Object { 'vault: {0} {1} {2}' -f `$_.Kind, `$_.Source, `$_.Location } }
    [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'Azure.Core' } |
        ForEach-Object { 'loaded Azure.Core {0} {1}' -f `$_.GetName().Version, [Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$_).GetType().Name }
}
"@
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($script))
        $unset = @('HOME', 'USERPROFILE') + @(Get-ChildItem env: | Where-Object { $_.Name -like 'XDG_*' -or $_.Name -like 'AZSR_DR_VAULT*' } | ForEach-Object Name)
        # env execs the pwsh: the process started is the runbook's own, whose memory is read.
        $arguments = @($unset | ForEach-Object { '-u', $_ }) + @("PSModulePath=$modules", "IDENTITY_ENDPOINT=$($azure.IdentityEndpoint)", "IDENTITY_HEADER=$($azure.IdentityHeader)") +
            @(Get-ChildPwshCommand) + @('-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)
        $out = Join-Path $work "$Name-$([guid]::NewGuid().ToString('n').Substring(0, 8)).out"
        $child = Start-Process -FilePath env -ArgumentList $arguments -PassThru -RedirectStandardOutput $out -RedirectStandardError "$out.err"
        $status = "/proc/$($child.Id)/status"
        $peakKb = 0L
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
        while (-not $child.HasExited) {
            try {
                if ([IO.File]::ReadAllText($status) -match '(?m)^VmHWM:\s+(\d+) kB') { $peakKb = [Math]::Max($peakKb, [long]$Matches[1]) }
            }
            catch { }   # gone between HasExited and the read
            if ([DateTime]::UtcNow -gt $deadline) { & kill -9 $child.Id; break }
            Start-Sleep -Milliseconds 100
        }
        $child.WaitForExit()
        $output = @(Get-Content $out) + @(Get-Content "$out.err")
        [pscustomobject]@{ ExitCode = $child.ExitCode; Output = $output; Text = $output -join "`n"; PeakMB = [Math]::Round($peakKb / 1024, 1) }
    }

    $vcsim = Start-TestVcsim -Arguments @('-disk-mb', '16', '-guest-boot', '300ms')
    $azure = Start-TestAzureLab
    $web = Start-TestHttpServer    # what the recovered guest serves: the lab ARM reports every VM at 127.0.0.1
    $work = Join-Path ([IO.Path]::GetTempPath()) "azsr-dr-runbooks-$([guid]::NewGuid().ToString('n'))"
    New-Item -ItemType Directory $work -Force | Out-Null
    # The vault in Table storage (Azurite, its development account and key), its key a Key Vault secret of the lab ARM.
    $url = & bash (Join-Path $PSScriptRoot '../lab/azurite/azurite.sh') start-table (Join-Path $work 'tables')
    if ($LASTEXITCODE -ne 0) { throw "azurite.sh start-table failed ($LASTEXITCODE): $url" }
    $vault = "$(@($url)[-1])".Trim()
    $tablePrefix = "rb$([guid]::NewGuid().ToString('n').Substring(0, 8))"
    $tableKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='   # Azurite's published key
    $vaultKey = [Convert]::ToBase64String([Security.Cryptography.RandomNumberGenerator]::GetBytes(32))
    Invoke-RestMethod -Method Put -Uri "$($azure.ArmUrl.TrimEnd('/'))/lab/secrets/dr-vault-key" -SkipCertificateCheck -ContentType 'application/json' -Body (@{ value = $vaultKey } | ConvertTo-Json) | Out-Null
    $vaultKeyUri = "$($azure.ArmUrl.TrimEnd('/'))/secrets/dr-vault-key"
    # What each runbook is given to reach the vault: the account key in an Automation variable, the vault key from Key Vault (managed identity).
    $vaultParameters = @{ Vault = $vault; VaultTablePrefix = $tablePrefix; VaultAuthentication = 'SharedKey'; VaultSecretVariable = 'DrVaultStorageKey'
        VaultKeySecretUri = $vaultKeyUri; VaultCertificateThumbprint = $azure.Thumbprint }
    $automationVariables = @{ DrVaultStorageKey = $tableKey }
    Write-DiskBytes (Get-FlatFile $vcsim.StateDir DC0_H0_VM0) 1MB 2MB 1
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
        validations:
          - httpGet:
              port: $($web.Port)
              path: /health
"@
    # The vault as an admin sets it up (signed in as the lab's managed identity): erp-azure replicated to Azure; group wrk
    # protected without its first copy, for the replication worker.
    $setup = Invoke-ChildPwsh -Script ((Get-TestAzureIdentityPrelude $azure) + @"
`$ErrorActionPreference = 'Stop'
Connect-DRVault '$vault' -TablePrefix $tablePrefix -AccountKey (ConvertTo-SecureString '$tableKey' -AsPlainText -Force) -KeySecretUri '$vaultKeyUri' -CertificateThumbprint $($azure.Thumbprint) -Confirm:`$false | Out-Null
# Where a disaster leaves them: the chunks in a Blob container too.
Set-DRChunkStore -BlobContainer '$($azure.BlobEndpoint)/chunks' -AccountKey (ConvertTo-SecureString '$($azure.StorageKey)' -AsPlainText -Force) -Confirm:`$false | Out-Null
New-DRSite -Name onprem -VSphere -Server '$($vcsim.Url)' -Credential ([pscredential]::new('administrator@vsphere.local', (ConvertTo-SecureString 'S3cret!pass' -AsPlainText -Force))) -Role Protected -SkipCertificateCheck -WarningAction SilentlyContinue | Out-Null
New-DRSite -Name azure -Azure -SubscriptionId $($azure.SubscriptionId) -ResourceGroup rg-dr -Location westeurope -StorageAccount drreplica -Environment Custom -ArmEndpoint '$($azure.ArmUrl)' -ArmCertificateThumbprint $($azure.Thumbprint) -Role Recovery | Out-Null
New-ReplicationPolicy -Name gold | Out-Null
New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite azure -Policy gold | Out-Null
New-ProtectionGroup -Name wrk -ProtectedSite onprem -RecoverySite azure -Policy gold | Out-Null
Get-DRVm -Site onprem -Name DC0_H0_VM0 | Enable-VmProtection -ProtectionGroup erp | Out-Null
Get-DRVm -Site onprem -Name DC0_H0_VM1 | Enable-VmProtection -ProtectionGroup wrk -NoWait | Out-Null
Import-RecoveryPlan -Path '$(Join-Path $work 'erp-azure.plan.yaml')' | Out-Null
'setup done'
"@)
    # This session reads the vault as an admin would (the key itself, no managed identity here); forgotten in AfterAll.
    Connect-DRVault $vault -TablePrefix $tablePrefix -AccountKey (ConvertTo-SecureString $tableKey -AsPlainText -Force) -Key $vaultKey -Confirm:$false | Out-Null
}

AfterAll {
    Disconnect-DRVault
    & bash (Join-Path $PSScriptRoot '../lab/azurite/azurite.sh') stop-table (Join-Path $work 'tables') *> $null
    Stop-TestHttpServer $web
    Stop-TestAzureLab $azure
    if ($vcsim -and (Test-Path $vcsim.StateDir)) { Stop-TestVcsim $vcsim }
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
    if ($modules) { Remove-Item $modules -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'The runbooks, run as Azure Automation runs them' {
    It 'had the vault set up and the older Azure.Core to preload' {
        $setup.Output | Should -Contain 'setup done' -Because $setup.Text
        $olderAzureCore | Should -Exist
        [Reflection.AssemblyName]::GetAssemblyName($olderAzureCore).Version | Should -BeLessThan $ourAzureCore
    }

    It 'Invoke-NightlyDrill drills the plan, uploads the HTML and JSON report with the SAS from an Automation variable, and says PASSED' {
        $sas = Get-TestAzuriteSas $azure 'rwlc'
        $created = Invoke-WebRequest -Method Put -Uri "$($azure.BlobEndpoint)/drills?restype=container&$sas" -SkipHttpErrorCheck
        $created.StatusCode | Should -Be 201
        $run = Invoke-Runbook Invoke-NightlyDrill (@{ RecoveryPlan = 'erp-azure'; ReportContainerUrl = "$($azure.BlobEndpoint)/drills"; ReportSasVariable = 'DrillReportSas' } + $vaultParameters) -Variables (@{ DrillReportSas = $sas } + $automationVariables)
        Write-Host "    Invoke-NightlyDrill: peak memory $($run.PeakMB) MB"
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain 'environment: HOME=[] USERPROFILE=[] XDG=[]'
        $run.Output | Should -Contain 'loaded Azure.Core 1.44.1.0 DefaultAssemblyLoadContext'
        $run.Output | Should -Contain "loaded Azure.Core $ourAzureCore DependencyLoadContext"
        $summary = @($run.Output -like 'Drill of plan erp-azure *')
        $summary.Count | Should -Be 1 -Because $run.Text
        $summary[0] | Should -Match 'PASSED in [\d.]+ s \(job (\S+)\): 1/1 VMs up, 1/1 checks passed, clean-up done; report http://\S+/drills/erp-azure/\d{8}-\d{6}-\S+\.html$'
        $jobId = [regex]::Match($summary[0], '\(job (\S+)\)').Groups[1].Value
        $run.Output | Should -Contain "vault: Table Session $vault"
        Assert-NoSecret $run @([uri]::UnescapeDataString(($sas -split 'sig=')[1]), ($sas -split 'sig=')[1], $tableKey, $vaultKey)

        $blobs = @(Get-TestAzureBlob $azure drills | ForEach-Object Name | Sort-Object)
        $blobs.Count | Should -Be 2
        $blobs[0] | Should -Match "^erp-azure/\d{8}-\d{6}-$jobId\.html$"
        $blobs[1] | Should -Match "^erp-azure/\d{8}-\d{6}-$jobId\.json$"
        $json = [Text.Encoding]::UTF8.GetString((Read-TestAzureBlob $azure drills $blobs[1])).TrimStart([char]0xFEFF) | ConvertFrom-Json
        $json.JobId | Should -Be $jobId
        $json.Passed | Should -BeTrue
        [Text.Encoding]::UTF8.GetString((Read-TestAzureBlob $azure drills $blobs[0])) | Should -Match '<html'
        Get-TestAzureTagged $azure | Should -BeNullOrEmpty -Because 'the drill deleted what it created'
    }

    It 'Invoke-NightlyDrill fails the Automation job with the reason when the drill cannot run' {
        $run = Invoke-Runbook Invoke-NightlyDrill (@{ RecoveryPlan = 'no-such-plan'; ReportContainerUrl = "$($azure.BlobEndpoint)/drills" } + $vaultParameters) -Variables $automationVariables
        $run.ExitCode | Should -Not -Be 0
        $run.Text | Should -Match "no-such-plan"
        $run.Text | Should -Not -Match 'Drill of plan'
    }

    It 'Start-DRReplicationWorker replicates the due VMs under its worker name for its duration, then stops' {
        # The vault key from an encrypted Automation variable this time, instead of Key Vault.
        $parameters = @{ WorkerName = 'hrw-01'; Duration = '00:00:10'; ProtectionGroup = 'wrk'; VaultKeyVariable = 'DrVaultKey' } + $vaultParameters
        $parameters.Remove('VaultKeySecretUri')
        $run = Invoke-Runbook Start-DRReplicationWorker $parameters -Variables ($automationVariables + @{ DrVaultKey = $vaultKey })
        Write-Host "    Start-DRReplicationWorker: peak memory $($run.PeakMB) MB"
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Text | Should -Match 'DC0_H0_VM1: point \S+ \(Full'
        $run.Output | Should -Contain 'Replication worker hrw-01 ran 00:00:10: 1 cycle(s) of 1 VM(s), 0 failed'
        $run.Output | Should -Contain "vault: Table Session $vault"
        Assert-NoSecret $run @($tableKey, $vaultKey, $azure.StorageKey)
        @(Get-TestAzureBlob $azure chunks).Count | Should -BeGreaterThan 0 -Because 'the chunk store is the Blob container'
        $vm = Get-ProtectedVm DC0_H0_VM1
        $vm.LastRecoveryPointId | Should -Not -BeNullOrEmpty
        @(Get-DRWorker | Where-Object WorkerId -like 'hrw-01/*').Count | Should -Be 1
    }

    It 'Invoke-DRFailover fails the plan over to Azure with the protected vCenter stopped, in under 400 MB' {
        Stop-TestVcsim $vcsim
        $vcenter = [uri]$vcsim.Url
        $probe = [Net.Sockets.TcpClient]::new()
        try { { $probe.Connect($vcenter.Host, $vcenter.Port) } | Should -Throw -Because 'the protected vCenter is down' } finally { $probe.Dispose() }
        $run = Invoke-Runbook Invoke-DRFailover (@{ RecoveryPlan = 'erp-azure' } + $vaultParameters) -Variables $automationVariables
        Write-Host "    Invoke-DRFailover: peak memory $($run.PeakMB) MB (VmHWM of the runbook's pwsh)"
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain "loaded Azure.Core 1.44.1.0 DefaultAssemblyLoadContext"
        $run.Output | Should -Contain "loaded Azure.Core $ourAzureCore DependencyLoadContext"
        $run.Output | Should -Contain "vault: Table Session $vault"
        Assert-NoSecret $run @($tableKey, $vaultKey, $azure.StorageKey)
        @(Get-TestAzureLabState $azure requests | Where-Object { $_.service -eq 'keyvault' -and $_.status -eq 200 }).Count | Should -BeGreaterThan 0 -Because 'the vault key came from Key Vault'
        $summary = @($run.Output -like 'Failover of plan erp-azure *')
        $summary.Count | Should -Be 1 -Because $run.Text
        $summary[0] | Should -Match 'Succeeded in [\d.]+ s \(job (\S+)\): 1/1 VMs up$'
        $run.Text | Should -Match '(?m)^  DC0_H0_VM0 -> DC0_H0_VM0 \(azure\) at 127\.0\.0\.1, RTO [\d.]+ s, point .*, checks 1/1: ok$'
        $jobId = [regex]::Match($summary[0], '\(job (\S+)\)').Groups[1].Value
        (Get-DRJob -JobId $jobId).State | Should -Be 'Succeeded'

        $vms = @(Get-TestAzureTagged $azure $jobId | Where-Object type -eq 'Microsoft.Compute/virtualMachines')
        $vms.Count | Should -Be 1
        $vms[0].tags.'azsr-dr.kind' | Should -Be 'failover'
        $view = Invoke-RestMethod -Uri "$($azure.ArmUrl.TrimEnd('/'))$($vms[0].id)/instanceView?api-version=2023-07-01" -Headers @{ Authorization = "Bearer $(Get-TestAzureToken $azure)" } -SkipCertificateCheck
        $view.statuses.code | Should -Contain 'PowerState/running'
        Get-TestAzureLabState $azure violations | Should -BeNullOrEmpty
        $run.PeakMB | Should -BeGreaterThan 0
        $run.PeakMB | Should -BeLessThan 400
    }
}
