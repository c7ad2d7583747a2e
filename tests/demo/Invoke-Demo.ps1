<#
.SYNOPSIS
    The end-to-end demo: ten VMs protected, replicated with changes, and a DR drill of a three-tier plan.
.DESCRIPTION
    Runs against the lab (tests/lab): two vCenter simulators on 127.0.0.1, a protected site with
    ten VMs and a recovery site with an isolated test network. Everything lives under out/demo/
    (vault, chunk store, the simulators' datastores, the drill report), made fresh on each run.

      1. Lab: protected vcsim (-vm 5: five VMs on the standalone host and five in the cluster's
         pool, 64 MiB disks), recovery vcsim (-pg 2: DC0_DVPG1 is the test network).
      2. Realistic disk contents: a shared OS image, per-VM logs and config (text), per-VM data
         (random, as compressed or encrypted files are), free space (zeros).
      3. Get-DRVm | Enable-VmProtection (first full copy), then cycles of Sync-VmReplication with
         guest writes between them.
      4. Listeners on 127.0.0.1 for the plan's checks (the lab's guests report 127.0.0.1):
         a TCP port each for db / app / web, and a small HTTP server for the web tier's /health.
      5. Import-RecoveryPlan (demo.plan.yaml beside this script), Invoke-DRDrill, the summary,
         and the report as drill.html, drill.json and drill.xml.
    The lab and the listeners are always stopped. Exits 1 when the drill did not pass.

    -RecoverySite Azure: the recovery site is Azure in the lab instead of the recovery vcsim: Azurite
    with the storage account drreplica, the lab ARM over it (tests/lab/arm: resource group rg-dr,
    virtual networks dr-vnet and dr-test, the VM agent reports Ready) and its managed-identity
    endpoint, whose IDENTITY_ENDPOINT/IDENTITY_HEADER this process signs in with (the default of
    New-DRSite -Azure). Each cycle also keeps the page-blob replica in drreplica; the drill creates
    managed disks from it by Import, NICs in dr-test/test and the VMs, then deletes them all.
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 -Task Demo
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Demo -RecoverySite Azure
#>
[CmdletBinding()]
param(
    # The built module (build.ps1 passes out/AzureSiteRecovery.DR/<version>/AzureSiteRecovery.DR.psd1).
    [Parameter(Mandatory)][string] $ModulePath,
    [string] $OutFolder = (Join-Path $PSScriptRoot '../../out/demo'),
    [ValidateRange(8, 4096)][int] $DiskMiB = 64,
    # Replication cycles in all, the first (full) one included.
    [ValidateRange(1, 10)][int] $Cycles = 3,
    # The recovery site: the lab's second vCenter simulator, or Azure in the lab.
    [ValidateSet('VSphere', 'Azure')][string] $RecoverySite = 'VSphere'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$ProgressPreference = 'SilentlyContinue'
$clock = [Diagnostics.Stopwatch]::StartNew()

$lab = Join-Path $PSScriptRoot '../lab/lab.sh'
if (Test-Path $OutFolder) { Remove-Item $OutFolder -Recurse -Force }
New-Item -ItemType Directory -Force -Path $OutFolder | Out-Null
$OutFolder = (Resolve-Path $OutFolder).Path
$protectedLab = Join-Path $OutFolder 'lab-protected'
$recoveryLab = Join-Path $OutFolder 'lab-recovery'
$azure = $null
$toAzure = $RecoverySite -eq 'Azure'
$env:AZSR_DR_VAULT = Join-Path $OutFolder 'vault.db'
$store = [IO.Path]::ChangeExtension($env:AZSR_DR_VAULT, '.store')

Import-Module (Resolve-Path $ModulePath).Path
# The Azure lab is started and stopped as the Pester suites do it.
if ($toAzure) { Import-Module (Join-Path $PSScriptRoot '../pester/TestSupport.psm1') -Function Start-TestAzureLab, Stop-TestAzureLab }

function Write-Phase([string] $Text) {
    Write-Host ("[{0,6:n1} s] {1}" -f $clock.Elapsed.TotalSeconds, $Text) -ForegroundColor Cyan
}

function Start-Lab([string] $StateDir, [string[]] $Arguments) {
    $url = & bash $lab start-vcsim $StateDir @Arguments
    if ($LASTEXITCODE -ne 0) { throw "lab.sh start-vcsim $StateDir failed ($LASTEXITCODE): $url" }
    "$url".Trim()
}

function Get-FlatFile([string] $StateDir, [string] $Vm) {
    $file = Get-ChildItem (Join-Path $StateDir 'tmp') -Recurse -Filter 'disk1-flat.vmdk' | Where-Object { $_.Directory.Name -eq $Vm } | Select-Object -First 1
    if (-not $file) { throw "No flat disk file of VM '$Vm' under $StateDir." }
    $file.FullName
}

# ---- disk contents: what guests write ----

# Log and config lines: text that compresses well, arranged differently on each VM.
$services = 'sqlservr', 'erp-api', 'nginx', 'sshd', 'cron', 'systemd', 'kernel', 'java', 'postfix'
$levels = 'INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'
$words = 'request', 'completed', 'order', 'invoice', 'customer', 'session', 'opened', 'closed', 'cache', 'miss', 'hit',
    'checkpoint', 'transaction', 'committed', 'rollback', 'connection', 'pool', 'timeout', 'retry', 'user', 'login', 'report'
$poolBuilder = [Text.StringBuilder]::new()
$poolRandom = [Random]::new(42)
while ($poolBuilder.Length -lt 256KB) {
    $sentence = [string[]]::new(4 + $poolRandom.Next(8))
    for ($w = 0; $w -lt $sentence.Length; $w++) { $sentence[$w] = $words[$poolRandom.Next($words.Count)] }
    $sentence = $sentence -join ' '
    [void]$poolBuilder.AppendFormat('2026-11-{0:00}T{1:00}:{2:00}:{3:00}.{4:000}Z {5} {6}[{7}]: {8} id={9}{10}',
        1 + $poolRandom.Next(28), $poolRandom.Next(24), $poolRandom.Next(60), $poolRandom.Next(60), $poolRandom.Next(1000),
        $levels[$poolRandom.Next($levels.Count)], $services[$poolRandom.Next($services.Count)], 1000 + $poolRandom.Next(30000),
        $sentence, $poolRandom.Next(), "`n")
}
$textPool = [Text.Encoding]::ASCII.GetBytes($poolBuilder.ToString())

function Write-DiskRegion {
    param([string] $Path, [long] $Offset, [long] $Length, [ValidateSet('Text', 'Random')][string] $Kind, [int] $Seed)
    $random = [Random]::new($Seed)
    $buffer = [byte[]]::new(1MB)
    $stream = [IO.File]::Open($Path, 'Open', 'Write')
    try {
        [void]$stream.Seek($Offset, 'Begin')
        for ($done = 0L; $done -lt $Length; $done += $buffer.Length) {
            if ($Kind -eq 'Random') { $random.NextBytes($buffer) }
            else {
                # Slices of the log pool at seeded offsets: compressible, yet unique to the seed.
                for ($at = 0; $at -lt $buffer.Length; $at += $length) {
                    $length = [math]::Min(512 + $random.Next(3584), $buffer.Length - $at)
                    [Array]::Copy($textPool, $random.Next($textPool.Length - $length), $buffer, $at, $length)
                }
            }
            $stream.Write($buffer, 0, [math]::Min($buffer.Length, $Length - $done))
        }
    }
    finally { $stream.Dispose() }
}

# A VM's disk: 0-8 MiB the OS image all VMs share (text and binaries), 8-16 MiB its own logs
# and config, 16-24 MiB its own data files, the rest free space (zeros).
function Initialize-Disk([string] $Path, [int] $VmIndex) {
    Write-DiskRegion $Path 0 4MB Text 1
    Write-DiskRegion $Path 4MB 4MB Random 2
    Write-DiskRegion $Path 8MB 8MB Text (100 + $VmIndex)
    Write-DiskRegion $Path 16MB 8MB Random (200 + $VmIndex)
}

# Between cycles: every VM appends logs; the databases change data pages; one web server gets a new file in free space.
function Write-GuestChanges([string] $StateDir, [string[]] $VmNames, [int] $Cycle) {
    $random = [Random]::new(1000 + $Cycle)
    $written = 0L
    for ($i = 0; $i -lt $VmNames.Count; $i++) {
        $path = Get-FlatFile $StateDir $VmNames[$i]
        $log = 256KB * (1 + $random.Next(4))
        Write-DiskRegion $path (8MB + [long]$random.Next(32) * 256KB) $log Text ($Cycle * 1000 + $i)
        $written += $log
        if ($VmNames[$i] -like '*_VM0') {
            Write-DiskRegion $path (16MB + [long]$random.Next(6) * 1MB) 2MB Random ($Cycle * 2000 + $i)
            $written += 2MB
        }
    }
    $web = Get-FlatFile $StateDir $VmNames[-1]
    Write-DiskRegion $web (24MB + [long]($Cycle - 1) * 4MB) 4MB Random (3000 + $Cycle)
    $written + 4MB
}

# ---- listeners for the plan's checks ----

# A TCP listener on 127.0.0.1 (a free port) served on its own thread; -Http answers GET /health with 200.
function Start-CheckListener([switch] $Http) {
    $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $listener.Start()
    $shell = [powershell]::Create()
    [void]$shell.AddScript({
        param($Listener, $Http)
        while ($true) {
            try { $client = $Listener.AcceptTcpClient() } catch { break }
            try {
                if ($Http) {
                    $stream = $client.GetStream()
                    $stream.ReadTimeout = 5000
                    $reader = [IO.StreamReader]::new($stream, [Text.Encoding]::ASCII)
                    $requestLine = $reader.ReadLine()
                    while ($reader.ReadLine()) { }
                    $status, $body = if ($requestLine -match '^GET /health[ ?]') { '200 OK', 'healthy' } else { '404 Not Found', 'not found' }
                    $response = [Text.Encoding]::ASCII.GetBytes("HTTP/1.1 $status`r`nContent-Type: text/plain`r`nContent-Length: $($body.Length)`r`nConnection: close`r`n`r`n$body")
                    $stream.Write($response, 0, $response.Length)
                }
            }
            catch { }
            finally { $client.Dispose() }
        }
    }).AddArgument($listener).AddArgument([bool]$Http)
    [void]$shell.BeginInvoke()
    [pscustomobject]@{ Port = $listener.LocalEndpoint.Port; Listener = $listener; Shell = $shell }
}

function Stop-CheckListener($Check) {
    $Check.Listener.Stop()
    [void]$Check.Shell.Stop()
    $Check.Shell.Dispose()
}

# ---- the demo ----

$listeners = @()
$exitCode = 1
try {
    if ($toAzure) {
        Write-Phase 'Starting the lab: a vCenter simulator, and Azure (Azurite, the lab ARM, a managed-identity endpoint) on 127.0.0.1'
        $protectedUrl = Start-Lab $protectedLab @('-vm', '5', '-disk-mb', "$DiskMiB")
        $azure = Start-TestAzureLab -StateDir (Join-Path $OutFolder 'lab-azure')
        # As Azure Automation (or App Service) sets them for a managed identity: the default sign-in of an Azure site.
        $env:IDENTITY_ENDPOINT = $azure.IdentityEndpoint
        $env:IDENTITY_HEADER = $azure.IdentityHeader
        Write-Host "  protected site onprem: $protectedUrl"
        Write-Host "  recovery site dr:      Azure Resource Manager $($azure.ArmUrl) (subscription $($azure.SubscriptionId), resource group rg-dr, storage account drreplica)"
    }
    else {
        Write-Phase 'Starting the lab: two vCenter simulators on 127.0.0.1'
        $protectedUrl = Start-Lab $protectedLab @('-vm', '5', '-disk-mb', "$DiskMiB")
        $recoveryUrl = Start-Lab $recoveryLab @('-pg', '2', '-disk-mb', '1', '-guest-boot', '1s')
        Write-Host "  protected site onprem: $protectedUrl"
        Write-Host "  recovery site dr:      $recoveryUrl"
    }

    $cred = [pscredential]::new('administrator@vsphere.local', (ConvertTo-SecureString 'demo-only' -AsPlainText -Force))
    New-DRSite -Name onprem -VSphere -Server $protectedUrl -Credential $cred -Role Protected -SkipCertificateCheck -WarningAction SilentlyContinue | Out-Null
    if ($toAzure) {
        New-DRSite -Name dr -Azure -SubscriptionId $azure.SubscriptionId -ResourceGroup rg-dr -Location westeurope -StorageAccount drreplica `
            -Environment Custom -ArmEndpoint $azure.ArmUrl -ArmCertificateThumbprint $azure.Thumbprint -Role Recovery | Out-Null
    }
    else {
        New-DRSite -Name dr -VSphere -Server $recoveryUrl -Credential $cred -Role Recovery -SkipCertificateCheck -WarningAction SilentlyContinue | Out-Null
    }
    New-ReplicationPolicy -Name gold -RpoThreshold 00:15:00 | Out-Null
    New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null

    $vms = @(Get-DRVm -Site onprem | Sort-Object Name)
    if ($vms.Count -ne 10) { throw "The protected site has $($vms.Count) VMs, not 10: $($vms.Name -join ', ')" }
    $vmNames = @($vms.Name)

    Write-Phase "Writing disk contents into the 10 VMs ($DiskMiB MiB disks: shared OS image, logs, data, free space)"
    for ($i = 0; $i -lt $vmNames.Count; $i++) { Initialize-Disk (Get-FlatFile $protectedLab $vmNames[$i]) $i }

    Write-Phase 'Protecting them: Get-DRVm | Enable-VmProtection (changed block tracking on, first full copy)'
    $vms | Enable-VmProtection -ProtectionGroup erp | Out-Null

    $cycleResults = @()
    foreach ($cycle in 2..$Cycles) {
        $changed = Write-GuestChanges $protectedLab $vmNames $cycle
        Write-Phase ("Guests wrote {0:n1} MiB; replication cycle {1}: Sync-VmReplication -ProtectionGroup erp" -f ($changed / 1MB), $cycle)
        $results = @(Sync-VmReplication -ProtectionGroup erp)
        $cycleResults += $results
        Write-Host ("  {0} VMs, mode {1}: read {2:n1} MiB, stored {3:n2} MiB" -f $results.Count, (($results.Mode | Select-Object -Unique) -join '/'),
            (($results | Measure-Object BytesRead -Sum).Sum / 1MB), (($results | Measure-Object BytesStored -Sum).Sum / 1MB))
    }

    Write-Phase 'Starting check listeners on 127.0.0.1 (db, app, web TCP; web HTTP /health)'
    $db = Start-CheckListener; $listeners += $db
    $app = Start-CheckListener; $listeners += $app
    $web = Start-CheckListener -Http; $listeners += $web
    $planPath = Join-Path $OutFolder 'demo.plan.yaml'
    $yaml = (Get-Content (Join-Path $PSScriptRoot 'demo.plan.yaml') -Raw).Replace('{{DB_PORT}}', "$($db.Port)").Replace('{{APP_PORT}}', "$($app.Port)").Replace('{{WEB_PORT}}', "$($web.Port)")
    if ($toAzure) {
        # Azure: the networks map to subnets (production dr-vnet/default, the isolated test virtual network dr-test), the database gets a size of its own.
        $yaml = $yaml -replace 'recoveryNetwork: (VM Network|DC0_DVPG0)', 'recoveryNetwork: dr-vnet/default' -replace 'testNetwork: DC0_DVPG1', 'testNetwork: dr-test/test'
        $yaml = $yaml -replace '(?m)^(      - name: DC0_H0_VM0)$', "`$1`n        azure:`n          vmSize: Standard_E2s_v5"
    }
    Set-Content $planPath $yaml
    Import-RecoveryPlan -Path $planPath | Out-Null
    $preflight = Test-RecoveryPlan demo
    if (-not $preflight.Passed) { $preflight | Format-List * | Out-String | Write-Host; throw 'The demo plan failed its pre-flight check.' }

    $testNetwork = if ($toAzure) { 'Azure subnet dr-test/test' } else { 'network DC0_DVPG1' }
    Write-Phase "DR drill: Invoke-DRDrill -RecoveryPlan demo (db -> app -> web on the isolated $testNetwork, checks, clean-up)"
    $report = Invoke-DRDrill -RecoveryPlan demo
    foreach ($format in 'html', 'json', 'xml') {
        $report | Export-DrillReport -Path (Join-Path $OutFolder "drill.$format") -Force | Out-Null
    }

    # ---- summary ----
    $points = @(Get-ProtectedVm -ProtectionGroup erp | Get-RecoveryPoint)
    $raw = ($points | Measure-Object SizeBytes -Sum).Sum
    $read = ($points | Measure-Object ChangedBytes -Sum).Sum
    $stored = ($points | Measure-Object StoredBytes -Sum).Sum
    $storeOnDisk = (Get-ChildItem $store -Recurse -File | Measure-Object Length -Sum).Sum
    $validations = @($report.Vms.Validations)
    $verdict = if ($report.Passed) { 'PASSED' } else { 'FAILED' }

    Write-Host ''
    Write-Host '== AzureSiteRecovery.DR demo ==' -ForegroundColor Green
    Write-Host ("VMs protected     : {0} (group erp, site onprem -> dr, {1})" -f $vms.Count, $RecoverySite)
    Write-Host ("Recovery points   : {0} ({1} cycles x {2} VMs)" -f $points.Count, $Cycles, $vms.Count)
    Write-Host ("Raw disk data     : {0:n0} MiB over all points; {1:n1} MiB read from the source" -f ($raw / 1MB), ($read / 1MB))
    Write-Host ("Stored            : {0:n1} MiB in the chunk store ({1:n1} MiB on disk) = {2:p1} of raw, {3:p1} of what was read" -f ($stored / 1MB), ($storeOnDisk / 1MB), ($stored / $raw), ($stored / $read))
    if ($toAzure) {
        $sent = ($cycleResults | Measure-Object ReplicaBytesSent -Sum).Sum
        Write-Host ("Replica in Azure  : {0:n1} MiB sent to storage account drreplica by cycles 2-{1} (only the changed chunks)" -f ($sent / 1MB), $Cycles)
    }
    Write-Host ("Drill             : {0} in {1:n1} s (job {2}; {3} VMs up, {4}/{5} checks passed, clean-up {6})" -f $verdict, $report.DurationSeconds, $report.JobId,
        @($report.Vms | Where-Object Passed).Count, @($validations | Where-Object Passed).Count, $validations.Count, $(if ($report.CleanupPassed) { 'done' } else { 'FAILED' }))
    if ($report.Error) { Write-Host "Error             : $($report.Error)" -ForegroundColor Red }
    $report.Vms | Select-Object Group, Name,
        @{ n = 'RTO (s)'; e = { '{0:n1}' -f $_.RtoSeconds } },
        @{ n = 'RPO (s)'; e = { '{0:n1}' -f $_.RpoSeconds } },
        @{ n = 'Checks'; e = { if ($_.Validations.Count) { '{0}/{1}' -f @($_.Validations | Where-Object Passed).Count, $_.Validations.Count } else { '-' } } },
        @{ n = 'Result'; e = { if ($_.Passed) { 'ok' } else { "FAILED: $($_.Error)" } } } |
        Format-Table -AutoSize | Out-String -Width 200 | ForEach-Object { $_.Trim("`r", "`n") } | Write-Host
    $reportPaths = 'html', 'json', 'xml' | ForEach-Object { [IO.Path]::GetRelativePath((Get-Location).Path, (Join-Path $OutFolder "drill.$_")) }
    Write-Host ("Report            : {0}" -f $reportPaths[0])
    Write-Host ("                    {0}, {1}" -f $reportPaths[1], $reportPaths[2])
    Write-Host ("Time taken        : {0:n1} s" -f $clock.Elapsed.TotalSeconds)
    if ($report.Passed) { $exitCode = 0 }
}
finally {
    foreach ($check in $listeners) { Stop-CheckListener $check }
    foreach ($stateDir in $protectedLab, $recoveryLab) {
        if (Test-Path (Join-Path $stateDir 'vcsim.pid')) { & bash $lab stop $stateDir | Out-Null }
    }
    if ($azure) { Stop-TestAzureLab $azure }
}
exit $exitCode
