<#
.SYNOPSIS
    A 100-VM test failover against its critical path, and against the same VMs recovered one after another.
.DESCRIPTION
    The 'Recovery' section of ../Invoke-Benchmarks.ps1 (also runs on its own). Lab: a protected
    vcsim with $VmCount VMs ($DiskMiB MiB disks, 1 MiB of random data written into each,
    replicated once) and a recovery vcsim with -pg 2 (DC0_DVPG1 = test network) whose simulated
    guests boot after -guest-boot $GuestBoot.

      T_plan      Start-TestFailover of a plan of three groups ($GroupSizes VMs; boot delays
                  0..$MaxBootDelaySeconds s spread over each group's VMs; waitFor Heartbeat):
                  the job's Started -> Ended (Get-DRJob).
      T_critical  per group, its slowest VM from the group's start (its first step's start) to
                  up (the step's upAt), summed over the groups: the critical path as the run had it.
      T_serial    the same VMs with the same boot delays in a plan of one group per VM (one after
                  another): that job's Started -> Ended.
      T_ideal     per group, the slowest of its VMs' own times in the serial run (each recovered
                  alone, so no contention), summed: the critical path if a group's VMs did not
                  slow one another down.
    Ratios T_plan / T_critical (goal <= 1.25), T_plan / T_serial, T_plan / T_ideal. Per group:
    step timings (start spread, slowest up, median VM time, against the serial median), so a
    ratio far from its goal shows where the time went. Both test failovers are cleaned up with
    Stop-TestFailover. Writes $OutFolder/recovery.json. Never asserted by a test.

    -CompareGuestWait: RTO over the lab's boot time, per VM of the plan run: (guest up as we saw it, the
    step's upAt) - (its poweredOnAt) - (that guest's boot time: $GuestBoot plus a random 0..$GuestBootJitter
    the recovery vcsim drew and logged, as real guests do not all take the same time); p95 over the VMs as RtoOverBoot (goal RtoGoal
    0.5 s). The guests are watched through WaitForUpdatesEx (the step's guestWait says so); the same
    plan is then run again with AZSR_VSPHERE_WAIT=Polling (stopped at once after) for
    RtoOverBootPolling, in the same run. The lab's vcsim gathers property changes every 250 ms
    before it answers a WaitForUpdatesEx: that bounds what the updates can reach here.

    -RecoverySite Azure: the recovery site is Azure in the lab (Azurite with the storage account
    drreplica, the lab ARM with VMs that report running after $GuestBoot, its managed-identity
    endpoint), each VM recovered from its page-blob replica (managed disk by Import, NIC, VM).
    Also measured: a cycle after the guests each wrote 1 MiB into one chunk, its bytes sent to
    Azure (Put Page) against the bytes of the chunks that changed (BytesSentToChanged, goal about 1).
    Writes $OutFolder/azure-recovery.json. RatioToCriticalPath is T_plan / T_critical in both.
.EXAMPLE
    dotnet pwsh -NoProfile -File tests/bench/recovery/Measure-RecoveryPlan.ps1 -ModulePath out/AzureSiteRecovery.DR/0.1.0/AzureSiteRecovery.DR.psd1
.EXAMPLE
    # A short try of the guest-wait comparison: 12 VMs, no serial run.
    dotnet pwsh -NoProfile -File tests/bench/recovery/Measure-RecoveryPlan.ps1 -ModulePath out/AzureSiteRecovery.DR/0.1.0/AzureSiteRecovery.DR.psd1 -GroupSizes 4,4,4 -NoSerial -CompareGuestWait
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [string] $OutFolder = (Join-Path $PSScriptRoot '../../../out/bench'),
    [int[]] $GroupSizes = @(20, 40, 40),
    [ValidateRange(0, 60)][int] $MaxBootDelaySeconds = 3,
    [string] $GuestBoot = '2s',
    [ValidateRange(1, 1024)][int] $DiskMiB = 4,
    # Skip the serial run (the longest part: one VM after the other).
    [switch] $NoSerial,
    # The recovery site: a vcsim, or Azure in the lab.
    [ValidateSet('VSphere', 'Azure')][string] $RecoverySite = 'VSphere',
    # RTO over the lab's boot time with WaitForUpdatesEx, and again with AZSR_VSPHERE_WAIT=Polling (vSphere recovery site only).
    [switch] $CompareGuestWait,
    # With -CompareGuestWait: each recovered guest boots in $GuestBoot plus a random 0..this (real guests vary; the lab logs each one's).
    [string] $GuestBootJitter = '1s'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$ProgressPreference = 'SilentlyContinue'
if (-not (Get-Module AzureSiteRecovery.DR)) { Import-Module (Resolve-Path $ModulePath).Path }
New-Item -ItemType Directory -Force -Path $OutFolder | Out-Null
$lab = Join-Path $PSScriptRoot '../../lab/lab.sh'
$work = Join-Path ([IO.Path]::GetTempPath()) "azsr-bench-recovery-$([guid]::NewGuid().ToString('n'))"
$protectedLab = Join-Path $work 'vcsim-protected'
$recoveryLab = Join-Path $work 'vcsim-recovery'
$vault = Join-Path $work 'vault.db'
$vmCount = [int]($GroupSizes | Measure-Object -Sum).Sum
$toAzure = $RecoverySite -eq 'Azure'
$azure = $null
$resultName = if ($toAzure) { 'azure-recovery' } else { 'recovery' }
# The Azure lab is started and stopped as the Pester suites do it.
if ($toAzure) { Import-Module (Join-Path $PSScriptRoot '../../pester/TestSupport.psm1') -Function Start-TestAzureLab, Stop-TestAzureLab }

function Start-Lab([string] $StateDir, [string[]] $Arguments) {
    $url = & bash $lab start-vcsim $StateDir @Arguments
    if ($LASTEXITCODE -ne 0) { throw "lab.sh start-vcsim $StateDir failed ($LASTEXITCODE): $url" }
    "$url".Trim()
}
function Get-Median([double[]] $Values) { if (-not $Values) { return $null }; $sorted = @($Values | Sort-Object); $sorted[[int][math]::Floor($sorted.Length / 2)] }
function Get-Seconds($From, $To) { if ($null -eq $From -or $null -eq $To) { return $null }; ([DateTimeOffset]$To - [DateTimeOffset]$From).TotalSeconds }
function Round([object] $Value, [int] $Digits = 2) { if ($null -eq $Value) { $null } else { [math]::Round([double]$Value, $Digits) } }

# The plan as YAML: one entry per group, each a list of (VM, boot delay in seconds).
function Write-Plan([string] $Path, [string] $Name, [object[]] $Groups) {
    $yaml = [Text.StringBuilder]::new()
    [void]$yaml.AppendLine("name: $Name").AppendLine('protectedSite: onprem').AppendLine('recoverySite: dr').AppendLine('networkMappings:')
    foreach ($network in 'VM Network', 'DC0_DVPG0') {
        $recovery, $test = if ($toAzure) { 'dr-vnet/default', 'dr-test/test' } else { $network, 'DC0_DVPG1' }
        [void]$yaml.AppendLine("  - sourceNetwork: $network").AppendLine("    recoveryNetwork: $recovery").AppendLine("    testNetwork: $test")
    }
    [void]$yaml.AppendLine('groups:')
    for ($g = 0; $g -lt $Groups.Count; $g++) {
        [void]$yaml.AppendLine("  - name: g$($g + 1)").AppendLine('    waitFor: Heartbeat').AppendLine('    startTimeout: 5m').AppendLine('    vms:')
        foreach ($vm in $Groups[$g]) { [void]$yaml.AppendLine("      - name: $($vm.Name)").AppendLine("        bootDelay: $($vm.BootDelay)s") }
    }
    Set-Content -Path $Path -Value $yaml.ToString()
}

# Per VM of a finished job: its group, step start, up time and end.
function Get-VmTimings($Job) {
    foreach ($step in $Job.Steps | Where-Object { $_.Vm -and $_.Name -like 'Recover *' }) {
        $upAt = if ($step.Details -and $step.Details.ContainsKey('upAt')) { [DateTimeOffset]::Parse($step.Details['upAt'], [Globalization.CultureInfo]::InvariantCulture) } else { $step.Ended }
        [pscustomobject]@{ Vm = $step.Vm; Group = $step.Group; Started = $step.Started; UpAt = $upAt; Ended = $step.Ended; State = "$($step.State)"; Error = $step.Error
            UpSeconds = Get-Seconds $step.Started $upAt }
    }
}

# The boot time the recovery vcsim drew for each guest (its log: "guest <moref> (<name>): booting in <s> s"), by VM name (the last boot wins).
function Get-LabBootSeconds([string] $StateDir) {
    $boots = @{}
    foreach ($line in Get-Content (Join-Path $StateDir 'vcsim.log')) {
        if ($line -match 'guest \S+ \((.+)\): booting in ([0-9.]+) s$') { $boots[$Matches[1]] = [double]::Parse($Matches[2], [Globalization.CultureInfo]::InvariantCulture) }
    }
    $boots
}

# Per VM of a finished job: (upAt - poweredOnAt) - the lab's boot time of that guest, in seconds, and how its guest was waited for.
function Get-RtoOverBoot($Job, [hashtable] $BootSeconds) {
    foreach ($step in $Job.Steps | Where-Object { $_.Vm -and $_.Name -like 'Recover *' -and $_.Details -and $_.Details.ContainsKey('poweredOnAt') -and $_.Details.ContainsKey('upAt') }) {
        $name = $step.Details['recoveredName']
        if (-not $BootSeconds.ContainsKey($name)) { Write-Warning "The recovery vcsim logged no boot of '$name': left out."; continue }
        $up = [DateTimeOffset]::Parse($step.Details['upAt'], [Globalization.CultureInfo]::InvariantCulture)
        $on = [DateTimeOffset]::Parse($step.Details['poweredOnAt'], [Globalization.CultureInfo]::InvariantCulture)
        [pscustomobject]@{ Vm = $step.Vm; Seconds = ($up - $on).TotalSeconds - $BootSeconds[$name]; GuestWait = $step.Details['guestWait'] }
    }
}
function Get-Percentile([double[]] $Values, [double] $Fraction) {
    if (-not $Values) { return $null }
    $sorted = @($Values | Sort-Object)
    $sorted[[int][math]::Min($sorted.Length - 1, [math]::Ceiling($Fraction * $sorted.Length) - 1)]
}

function ConvertTo-VmSeconds([object[]] $Timings) {
    $map = [ordered]@{}
    foreach ($timing in $Timings) { $map[$timing.Vm] = Round $timing.UpSeconds }
    $map
}

if ($CompareGuestWait -and $toAzure) { throw '-CompareGuestWait measures vSphere guest waits: use it with -RecoverySite VSphere.' }
$bootSeconds = [Xml.XmlConvert]::ToTimeSpan("PT$($GuestBoot.ToUpperInvariant())").TotalSeconds
$jitterArguments = if ($CompareGuestWait) { @('-guest-boot-jitter', $GuestBootJitter) } else { @() }
$cred = [pscredential]::new('bench@vsphere.local', (ConvertTo-SecureString 'bench-only' -AsPlainText -Force))
$testJobs = @()
try {
    Write-Host "== Recovery: test failover of $vmCount VMs to $RecoverySite in groups of $($GroupSizes -join '/') (guest boot $GuestBoot, boot delays 0-$MaxBootDelaySeconds s, $DiskMiB MiB disks)" -ForegroundColor Cyan
    $perPool = [int][math]::Ceiling($vmCount / 2)
    $protectedUrl = Start-Lab $protectedLab @('-vm', "$perPool", '-disk-mb', "$DiskMiB")
    New-DRSite -Vault $vault -Name onprem -VSphere -Server $protectedUrl -Credential $cred -Role Protected -SkipCertificateCheck -WarningAction SilentlyContinue | Out-Null
    if ($toAzure) {
        $boot = [Xml.XmlConvert]::ToTimeSpan("PT$($GuestBoot.ToUpperInvariant())").TotalSeconds
        $azure = Start-TestAzureLab -StateDir (Join-Path $work 'azure') -ArmArguments @('--boot-delay', "$boot")
        # The default sign-in of an Azure site: the managed identity (here the lab's endpoint).
        $env:IDENTITY_ENDPOINT = $azure.IdentityEndpoint
        $env:IDENTITY_HEADER = $azure.IdentityHeader
        New-DRSite -Vault $vault -Name dr -Azure -SubscriptionId $azure.SubscriptionId -ResourceGroup rg-dr -Location westeurope -StorageAccount drreplica `
            -Environment Custom -ArmEndpoint $azure.ArmUrl -ArmCertificateThumbprint $azure.Thumbprint -Role Recovery | Out-Null
    }
    else {
        $recoveryUrl = Start-Lab $recoveryLab (@('-pg', '2', '-disk-mb', '1', '-guest-boot', $GuestBoot) + $jitterArguments)
        New-DRSite -Vault $vault -Name dr -VSphere -Server $recoveryUrl -Credential $cred -Role Recovery -SkipCertificateCheck -WarningAction SilentlyContinue | Out-Null
    }
    New-ReplicationPolicy -Vault $vault -Name gold -AppConsistentFrequency 0 | Out-Null
    New-ProtectionGroup -Vault $vault -Name bench -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null

    $vms = @(Get-DRVm -Vault $vault -Site onprem | Sort-Object Name | Select-Object -First $vmCount)
    if ($vms.Count -ne $vmCount) { throw "The protected vcsim has $($vms.Count) VMs, not $vmCount." }
    $random = [Random]::new(11)
    $block = [byte[]]::new(1MB)
    $flats = @{}
    Get-ChildItem (Join-Path $protectedLab 'tmp') -Recurse -Filter 'disk1-flat.vmdk' | ForEach-Object { $flats[$_.Directory.Name] = $_.FullName }
    foreach ($vm in $vms) {
        $random.NextBytes($block)
        $stream = [IO.File]::Open($flats[$vm.Name], 'Open', 'Write')
        try { [void]$stream.Seek([long]$random.Next(0, $DiskMiB) * 1MB, 'Begin'); $stream.Write($block, 0, $block.Length) }
        finally { $stream.Dispose() }
    }
    $replicate = Measure-Command {
        $vms | Enable-VmProtection -Vault $vault -ProtectionGroup bench -NoWait | Out-Null
        $cycles = @(Sync-VmReplication -Vault $vault -ProtectionGroup bench -ThrottleLimit 8)
    }
    Write-Host ("replicated {0} VMs once in {1:n1} s" -f $cycles.Count, $replicate.TotalSeconds)

    # Azure: a cycle after each guest wrote 1 MiB into one 4 MiB chunk: bytes sent to Azure against the changed chunks' bytes.
    $replicaSent = $null; $changedChunkBytes = $null
    if ($toAzure) {
        $chunk = 4MB
        foreach ($vm in $vms) {
            $random.NextBytes($block)
            $stream = [IO.File]::Open($flats[$vm.Name], 'Open', 'Write')
            try { [void]$stream.Seek([long]$random.Next(0, [int]($DiskMiB * 1MB / $chunk)) * $chunk + [long]$random.Next(0, 4) * 1MB, 'Begin'); $stream.Write($block, 0, $block.Length) }
            finally { $stream.Dispose() }
        }
        $delta = @(Sync-VmReplication -Vault $vault -ProtectionGroup bench -ThrottleLimit 8)
        $replicaSent = ($delta | Measure-Object ReplicaBytesSent -Sum).Sum
        $changedChunkBytes = [long]$vms.Count * $chunk
        Write-Host ("delta cycle: {0:n1} MiB sent to Azure for {1:n1} MiB of changed chunks ({2} VMs, mode {3})" -f ($replicaSent / 1MB), ($changedChunkBytes / 1MB), $delta.Count, (($delta.Mode | Select-Object -Unique) -join '/'))
    }

    # The groups: consecutive VMs by name; boot delays 0..Max spread over each group's VMs.
    $groups = @()
    $at = 0
    foreach ($size in $GroupSizes) {
        $groups += , @(for ($i = 0; $i -lt $size; $i++) { [pscustomobject]@{ Name = $vms[$at + $i].Name; BootDelay = $i % ($MaxBootDelaySeconds + 1) } })
        $at += $size
    }
    $delayOf = @{}; $groupOf = @{}
    for ($g = 0; $g -lt $groups.Count; $g++) { foreach ($vm in $groups[$g]) { $delayOf[$vm.Name] = $vm.BootDelay; $groupOf[$vm.Name] = "g$($g + 1)" } }
    Write-Plan (Join-Path $work 'plan.yaml') 'bench-plan' $groups
    $serialGroups = @(foreach ($group in $groups) { foreach ($vm in $group) { , @($vm) } })
    Write-Plan (Join-Path $work 'serial.yaml') 'bench-serial' $serialGroups
    Import-RecoveryPlan -Vault $vault -Path (Join-Path $work 'plan.yaml') | Out-Null
    Import-RecoveryPlan -Vault $vault -Path (Join-Path $work 'serial.yaml') | Out-Null

    # ---- the plan: groups in order, each group's VMs together ----
    $cmdlet = Measure-Command { $planJob = Start-TestFailover -Vault $vault -RecoveryPlan bench-plan -Confirm:$false }
    $testJobs += $planJob.JobId
    $planJob = Get-DRJob -Vault $vault -JobId $planJob.JobId
    if ("$($planJob.State)" -ne 'Succeeded') { Write-Warning "plan test failover ended $($planJob.State): $($planJob.Error)" }
    $tPlan = Get-Seconds $planJob.Started $planJob.Ended
    $planVms = @(Get-VmTimings $planJob)
    $prepare = $planJob.Steps | Where-Object { -not $_.Vm -and -not $_.Group } | Select-Object -First 1
    Write-Host ("plan: {0:n1} s (job {1}, {2}; cmdlet {3:n1} s)" -f $tPlan, $planJob.JobId, $planJob.State, $cmdlet.TotalSeconds)

    # ---- RTO over the boot time: WaitForUpdatesEx (the run above), then polling ----
    $rtoUpdates = @(); $rtoPolling = @(); $pollingJob = $null
    if ($CompareGuestWait) {
        $rtoUpdates = @(Get-RtoOverBoot $planJob (Get-LabBootSeconds $recoveryLab))
        $stop = $planJob | Stop-TestFailover -Vault $vault -Confirm:$false
        if ("$($stop.State)" -ne 'Succeeded') { Write-Warning "Stop-TestFailover $($planJob.JobId) ended $($stop.State): $($stop.Error)" }
        $testJobs = @()
        $env:AZSR_VSPHERE_WAIT = 'Polling'
        try { $pollingJob = Start-TestFailover -Vault $vault -RecoveryPlan bench-plan -Confirm:$false }
        finally { Remove-Item Env:AZSR_VSPHERE_WAIT -ErrorAction SilentlyContinue }
        $testJobs += $pollingJob.JobId
        $pollingJob = Get-DRJob -Vault $vault -JobId $pollingJob.JobId
        if ("$($pollingJob.State)" -ne 'Succeeded') { Write-Warning "polling test failover ended $($pollingJob.State): $($pollingJob.Error)" }
        $rtoPolling = @(Get-RtoOverBoot $pollingJob (Get-LabBootSeconds $recoveryLab))
        $stop = $pollingJob | Stop-TestFailover -Vault $vault -Confirm:$false
        if ("$($stop.State)" -ne 'Succeeded') { Write-Warning "Stop-TestFailover $($pollingJob.JobId) ended $($stop.State): $($stop.Error)" }
        $testJobs = @()
        $methods = { param($rows) (@($rows.GuestWait | ForEach-Object { ($_ -split ' ')[0] } | Sort-Object -Unique) -join '/') }
        Write-Host ("RTO over boot ({0} s + 0..{7}) p95: WaitForUpdatesEx {1:n3} s ({2}), polling {3:n3} s ({4}); p50 {5:n3} / {6:n3} s" -f $bootSeconds,
            (Get-Percentile @($rtoUpdates.Seconds) 0.95), (& $methods $rtoUpdates), (Get-Percentile @($rtoPolling.Seconds) 0.95), (& $methods $rtoPolling),
            (Get-Percentile @($rtoUpdates.Seconds) 0.5), (Get-Percentile @($rtoPolling.Seconds) 0.5), $GuestBootJitter)
    }

    # ---- the same VMs one after another ----
    $serialVms = @(); $tSerial = $null; $serialJob = $null
    if (-not $NoSerial) {
        $stop = $planJob | Stop-TestFailover -Vault $vault -Confirm:$false
        if ("$($stop.State)" -ne 'Succeeded') { Write-Warning "Stop-TestFailover $($planJob.JobId) ended $($stop.State): $($stop.Error)" }
        $testJobs = @()
        $serialJob = Start-TestFailover -Vault $vault -RecoveryPlan bench-serial -Confirm:$false
        $testJobs += $serialJob.JobId
        $serialJob = Get-DRJob -Vault $vault -JobId $serialJob.JobId
        if ("$($serialJob.State)" -ne 'Succeeded') { Write-Warning "serial test failover ended $($serialJob.State): $($serialJob.Error)" }
        $tSerial = Get-Seconds $serialJob.Started $serialJob.Ended
        $serialVms = @(Get-VmTimings $serialJob)
        Write-Host ("serial: {0:n1} s (job {1}, {2})" -f $tSerial, $serialJob.JobId, $serialJob.State)
    }
    $serialUp = @{}
    foreach ($vm in $serialVms) { $serialUp[$vm.Vm] = $vm.UpSeconds }

    # ---- the critical path, group by group ----
    $rows = @()
    $previousEnd = if ($prepare) { $prepare.Ended } else { $planJob.Started }
    foreach ($name in 1..$groups.Count | ForEach-Object { "g$_" }) {
        $members = @($planVms | Where-Object Group -eq $name)
        $start = ($members.Started | Measure-Object -Minimum).Minimum
        $lastStart = ($members.Started | Measure-Object -Maximum).Maximum
        $lastUp = ($members.UpAt | Measure-Object -Maximum).Maximum
        $end = ($members.Ended | Measure-Object -Maximum).Maximum
        $ideal = if ($serialUp.Count) { ($members | ForEach-Object { $serialUp[$_.Vm] } | Measure-Object -Maximum).Maximum } else { $null }
        $rows += [pscustomobject][ordered]@{
            Group             = $name
            Vms               = $members.Count
            Failed            = @($members | Where-Object State -ne 'Succeeded').Count
            GapBeforeS        = Round (Get-Seconds $previousEnd $start)
            StartSpreadS      = Round (Get-Seconds $start $lastStart)
            SlowestUpS        = Round (Get-Seconds $start $lastUp)
            LastEndS          = Round (Get-Seconds $start $end)
            MedianVmUpS       = Round (Get-Median @($members.UpSeconds))
            MaxBootDelayS     = ($members | ForEach-Object { $delayOf[$_.Vm] } | Measure-Object -Maximum).Maximum
            SerialMedianVmUpS = Round (Get-Median @($members | ForEach-Object { $serialUp[$_.Vm] } | Where-Object { $null -ne $_ }))
            SerialSlowestUpS  = Round $ideal
        }
        $previousEnd = $end
    }
    $tCritical = ($rows | Measure-Object SlowestUpS -Sum).Sum
    $tIdeal = if ($serialUp.Count) { ($rows | Measure-Object SerialSlowestUpS -Sum).Sum } else { $null }
    $rows | Format-Table -Property ($rows[0].PSObject.Properties.Name) -AutoSize | Out-String -Width 240 | Write-Host

    $result = [ordered]@{
        Benchmark              = "Test failover of $vmCount VMs in groups of $($GroupSizes -join '/') against its critical path and a serial recovery"
        VmCount                = $vmCount
        GroupSizes             = $GroupSizes -join '/'
        GuestBoot              = $GuestBoot
        BootDelays             = "0..$MaxBootDelaySeconds s, i mod $($MaxBootDelaySeconds + 1) within each group"
        DiskMiB                = $DiskMiB
        PlanState              = "$($planJob.State)"
        TPlanSeconds           = Round $tPlan
        TCriticalSeconds       = Round $tCritical
        TSerialSeconds         = Round $tSerial
        TIdealSeconds          = Round $tIdeal
        RecoverySite           = $RecoverySite
        PlanOverCritical       = Round ($tPlan / $tCritical) 3
        RatioToCriticalPath    = Round ($tPlan / $tCritical) 3
        Goal                   = 'PlanOverCritical <= 1.25'
        BytesSentToChanged     = if ($toAzure) { Round ($replicaSent / $changedChunkBytes) 3 } else { $null }
        ReplicaBytesSent       = $replicaSent
        ChangedChunkBytes      = $changedChunkBytes
        PlanOverSerial         = if ($tSerial) { Round ($tPlan / $tSerial) 3 } else { $null }
        PlanOverIdeal          = if ($tIdeal) { Round ($tPlan / $tIdeal) 3 } else { $null }
        PrepareStepSeconds     = if ($prepare) { Round (Get-Seconds $prepare.Started $prepare.Ended) } else { $null }
        SerialMedianVmUpS      = if ($serialVms) { Round (Get-Median @($serialVms.UpSeconds)) } else { $null }
        SerialState            = if ($serialJob) { "$($serialJob.State)" } else { $null }
        MaxParallelDiskWrites  = 4
        RtoOverBoot            = if ($CompareGuestWait) { Round (Get-Percentile @($rtoUpdates.Seconds) 0.95) 3 } else { $null }
        RtoOverBootPolling     = if ($CompareGuestWait) { Round (Get-Percentile @($rtoPolling.Seconds) 0.95) 3 } else { $null }
        RtoGoal                = if ($CompareGuestWait) { 0.5 } else { $null }
        GuestBootJitter        = if ($CompareGuestWait) { $GuestBootJitter } else { $null }
        RtoOverBootP50         = if ($CompareGuestWait) { Round (Get-Percentile @($rtoUpdates.Seconds) 0.5) 3 } else { $null }
        RtoOverBootPollingP50  = if ($CompareGuestWait) { Round (Get-Percentile @($rtoPolling.Seconds) 0.5) 3 } else { $null }
        RtoOverBootMax         = if ($CompareGuestWait) { Round (($rtoUpdates.Seconds | Measure-Object -Maximum).Maximum) 3 } else { $null }
        RtoOverBootPollingMax  = if ($CompareGuestWait) { Round (($rtoPolling.Seconds | Measure-Object -Maximum).Maximum) 3 } else { $null }
        GuestWaitMethods       = if ($CompareGuestWait) { [ordered]@{ Updates = @($rtoUpdates.GuestWait | Sort-Object -Unique); Polling = @($rtoPolling.GuestWait | Sort-Object -Unique) } } else { $null }
        PollingState           = if ($pollingJob) { "$($pollingJob.State)" } else { $null }
        Groups                 = $rows
        # Every VM's own timings (seconds from its step's start to up), for a closer look.
        PlanVmUpSeconds        = ConvertTo-VmSeconds $planVms
        SerialVmUpSeconds      = ConvertTo-VmSeconds $serialVms
        LoadAverage            = (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' '
        Meaning                = 'RtoOverBoot(Polling): p95 over the plan''s VMs of (step upAt - step poweredOnAt - that guest''s boot time as the lab logged it: GuestBoot + 0..GuestBootJitter), guests watched with WaitForUpdatesEx (with AZSR_VSPHERE_WAIT=Polling: polling), goal RtoGoal. T_plan: plan job Started->Ended; T_critical: sum over groups of (slowest VM upAt - group first step start); T_serial: one-VM-per-group plan job Started->Ended; T_ideal: sum over groups of the slowest member''s Started->upAt in the serial run. Per group: GapBeforeS = first start - previous group''s last end (or the prepare step''s end), StartSpreadS = last step start - first, SlowestUpS / LastEndS from the first start, MedianVmUpS = median step Started->upAt.'
    }
    $result | ConvertTo-Json -Depth 4 | Set-Content (Join-Path $OutFolder "$resultName.json")
    Write-Host ("T_plan {0:n1} s | T_critical {1:n1} s | T_serial {2} s | T_ideal {3} s | T_plan/T_critical {4} (goal <= 1.25) | T_plan/T_serial {5} | T_plan/T_ideal {6}" -f
        $tPlan, $tCritical, $(if ($tSerial) { '{0:n1}' -f $tSerial } else { '-' }), $(if ($tIdeal) { '{0:n1}' -f $tIdeal } else { '-' }),
        $result.PlanOverCritical, $(if ($result.PlanOverSerial) { $result.PlanOverSerial } else { '-' }), $(if ($result.PlanOverIdeal) { $result.PlanOverIdeal } else { '-' }))
    if ($toAzure) { Write-Host ("bytes sent to Azure / changed chunks' bytes in a cycle: {0}" -f $result.BytesSentToChanged) }
}
finally {
    foreach ($jobId in $testJobs) {
        try {
            $job = Get-DRJob -Vault $vault -JobId $jobId
            $cleanup = $job | Stop-TestFailover -Vault $vault -Confirm:$false
            if ("$($cleanup.State)" -ne 'Succeeded') { Write-Warning "Stop-TestFailover $jobId ended $($cleanup.State): $($cleanup.Error)" }
        }
        catch { Write-Warning "Stop-TestFailover $jobId failed: $_" }
    }
    foreach ($stateDir in $protectedLab, $recoveryLab) {
        if (Test-Path (Join-Path $stateDir 'vcsim.pid')) { & bash $lab stop $stateDir | Out-Null }
    }
    if ($azure) { Stop-TestAzureLab $azure }
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}
