BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force

    # Records a finished recovery job through the Core API with the steps and details a drill
    # records (kinds, recovery points, up times), as if it had run: db01 is up 2 minutes after the
    # start from a point 5 minutes older than the start; a VM named with markup checks the encoding.
    function New-TestDrillJob {
        param([string] $VaultPath, [string] $Operation = 'Drill', [string] $Target = 'erp', [switch] $FailValidation, [int] $AgeMinutes = 10)
        # Creates the vault (read-only commands do not) and loads the Core assembly.
        if (-not (Test-Path $VaultPath)) { New-ReplicationPolicy -Vault $VaultPath -Name gold | Out-Null }
        $core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'AzureSiteRecovery.DR.Core' } | Select-Object -First 1
        $stepType = $core.GetType('AzureSiteRecovery.DR.Core.Model.JobStep')
        $t0 = [DateTimeOffset]::FromUnixTimeSeconds([DateTimeOffset]::UtcNow.ToUnixTimeSeconds() - 60 * $AgeMinutes)
        $steps = [Activator]::CreateInstance([Collections.Generic.List`1].MakeGenericType($stepType))
        $add = {
            param([string] $Name, [string] $Kind, [string] $Group, [string] $Vm, [double] $Start, [double] $End, [string] $State = 'Succeeded', [string] $ErrorText, [hashtable] $Details = @{})
            $step = [Activator]::CreateInstance($stepType)
            $step.Index = $steps.Count
            $step.Name = $Name
            if ($Group) { $step.Group = $Group }
            if ($Vm) { $step.Vm = $Vm }
            $step.IsFinally = $Kind -eq 'cleanup'
            $step.State = $State
            if ($State -ne 'Skipped') {
                $step.Started = $t0.AddSeconds($Start)
                $step.Ended = $t0.AddSeconds($End)
            }
            if ($ErrorText) { $step.Error = $ErrorText }
            $map = [Collections.Generic.Dictionary[string, string]]::new()
            $map['kind'] = $Kind
            foreach ($key in $Details.Keys) { $map[$key] = $Details[$key] }
            $step.Details = $map
            $steps.Add($step)
        }
        # Targets as a drill records them: the policy's RPO threshold (15 min) and the plan's RTO targets (group 5 min, plan 10 min).
        $recovered = {
            param([string] $Vm, [double] $Up, [string] $Ip)
            @{ vmId = "id-$Vm"; recoveryPointId = "rp-$Vm"; recoveryPointTime = $t0.AddMinutes(-5).ToString('o'); consistency = 'CrashConsistent'
                recoveredSite = 'dr'; recoveredMoRef = 'vm-42'; recoveredName = "$Vm-drill"; ipAddress = $Ip; upAt = $t0.AddSeconds($Up).ToString('o')
                rpoThreshold = '00:15:00'; rtoTarget = '00:05:00' }
        }
        & $add 'Choose recovery points' prepare $null $null 0 5 -Details @{ planRtoTarget = '00:10:00' }
        & $add 'Recover db01' recoverVm db db01 5 120 -Details (& $recovered db01 120 '10.0.0.11')
        if ($FailValidation) {
            & $add 'Validate db01: tcp 1433' validate db db01 120 180 -State Failed -ErrorText 'db01 did not answer on TCP 1433 within 60s.' -Details @{ validation = 'tcp 1433' }
            & $add 'Recover web<script>01' recoverVm web 'web<script>01' 0 0 -State Skipped
        }
        else {
            & $add 'Validate db01: tcp 1433' validate db db01 120 121 -Details @{ validation = 'tcp 1433' }
            & $add 'Recover web<script>01' recoverVm web 'web<script>01' 121 200 -Details (& $recovered 'web<script>01' 200 '10.0.0.12')
            & $add 'Validate web<script>01: tcp 443' validate web 'web<script>01' 200 201 -Details @{ validation = 'tcp 443' }
        }
        & $add 'Delete the test VMs' cleanup $null $null 201 210

        $job = [Activator]::CreateInstance($core.GetType('AzureSiteRecovery.DR.Core.Model.DRJob'))
        $job.JobId = [guid]::NewGuid().ToString('n')
        $job.Operation = $Operation
        $job.Target = $Target
        $job.State = if ($FailValidation) { 'Failed' } else { 'Succeeded' }
        if ($FailValidation) { $job.Error = "Step 'Validate db01: tcp 1433' failed: db01 did not answer on TCP 1433 within 60s." }
        $job.Created = $t0
        $job.Started = $t0
        $job.Ended = $t0.AddSeconds(210)
        $job.Steps = $steps
        $vault = $core.GetType('AzureSiteRecovery.DR.Core.Vault.SqliteVault')::Open($VaultPath)
        try { $vault.AddJobAsync($job, [Threading.CancellationToken]::None).GetAwaiter().GetResult() }
        finally { $vault.Dispose() }
    }
}

Describe 'Export-DrillReport' {
    BeforeEach {
        $vault = New-TestVaultPath
        $dir = Split-Path $vault
        New-Item -ItemType Directory $dir | Out-Null
        $PSDefaultParameterValues = @{ '*-DrillReport:Vault' = $vault; '*-DRJob:Vault' = $vault }
    }
    AfterEach { Remove-TestVault $vault }

    It 'writes a self-contained HTML page with every VM encoded as text' {
        $job = New-TestDrillJob $vault
        $file = Export-DrillReport -JobId $job.JobId -Path (Join-Path $dir 'reports/drill.html')

        $file | Should -BeOfType System.IO.FileInfo
        $file.FullName | Should -Be (Join-Path $dir 'reports/drill.html')
        $html = Get-Content $file.FullName -Raw
        $html | Should -Match '<span class="verdict">PASSED</span>'
        $html | Should -Match ([regex]::Escape($job.JobId))
        $html | Should -Match 'db01'
        $html | Should -Match 'web&lt;script&gt;01'
        $html | Should -Not -Match '<script'
        $html | Should -Not -Match '(src|href)\s*='
        $html | Should -Not -Match 'https?://'
        $html | Should -Match '<td class="num">2m 00s<div class="target pass">target 5m 00s: met</div></td><td class="num">5m 00s<div class="target pass">target 15m 00s: met</div></td>'
        $html | Should -Match '<dt>Targets</dt><dd>met: RTO 3m 20s \(target 10m 00s, met\); 2 of 2 VM\(s\) up within their RTO target; 2 of 2 VM\(s\) within their policy&#39;s RPO threshold</dd>'
        (Get-ChildItem (Join-Path $dir 'reports') -Force).Name | Should -Be 'drill.html'
    }

    It 'writes JSON with RTO and RPO in seconds' {
        $job = New-TestDrillJob $vault
        Export-DrillReport -JobId $job.JobId -Path (Join-Path $dir 'drill.json') | Out-Null

        $json = Get-Content (Join-Path $dir 'drill.json') -Raw | ConvertFrom-Json
        $json.plan | Should -Be 'erp'
        $json.jobId | Should -Be $job.JobId
        $json.operation | Should -Be 'Drill'
        $json.passed | Should -BeTrue
        $json.durationSeconds | Should -Be 210
        $json.vms.name | Should -Be @('db01', 'web<script>01')
        $json.vms[0].rtoSeconds | Should -Be 120
        $json.vms[0].rpoSeconds | Should -Be 300
        $json.vms[0].rto | Should -Be '00:02:00'
        $json.vms[0].rtoTargetSeconds | Should -Be 300
        $json.vms[0].rtoMet | Should -BeTrue
        $json.vms[0].rpoTargetSeconds | Should -Be 900
        $json.vms[0].rpoMet | Should -BeTrue
        $json.rtoTargetSeconds | Should -Be 600
        $json.rtoSeconds | Should -Be 200
        $json.rtoMet | Should -BeTrue
        $json.rpoMet | Should -BeTrue
        $json.vms[0].consistency | Should -Be 'CrashConsistent'
        $json.vms[1].ipAddress | Should -Be '10.0.0.12'
        $json.steps.Count | Should -Be 6
    }

    It 'writes JUnit XML a CI server reads: a suite per group and for cleanup' {
        $job = New-TestDrillJob $vault -FailValidation
        Export-DrillReport -JobId $job.JobId -Path (Join-Path $dir 'drill.xml') | Out-Null

        $xml = [xml](Get-Content (Join-Path $dir 'drill.xml') -Raw)
        $xml.testsuites.testsuite.name | Should -Be @('prepare', 'db', 'web', 'cleanup')
        $xml.testsuites.tests | Should -Be '5'
        $xml.testsuites.failures | Should -Be '1'
        $xml.testsuites.skipped | Should -Be '1'
        $db = $xml.testsuites.testsuite | Where-Object name -eq 'db'
        $db.testcase.classname | Should -Be @('erp.db', 'erp.db')
        $db.testcase[1].failure.message | Should -Be 'db01 did not answer on TCP 1433 within 60s.'
        $db.testcase[1].time | Should -Be '60'
        ($xml.testsuites.testsuite | Where-Object name -eq 'web').testcase.name | Should -Be 'Recover web<script>01'
    }

    It 'shows a failed drill as failed' {
        $job = New-TestDrillJob $vault -FailValidation
        $report = Export-DrillReport -JobId $job.JobId -Path (Join-Path $dir 'drill.html') -PassThru

        $report.Passed | Should -BeFalse
        $report.Vms[0].Validations[0].Error | Should -Be 'db01 did not answer on TCP 1433 within 60s.'
        $html = Get-Content (Join-Path $dir 'drill.html') -Raw
        $html | Should -Match '<span class="verdict">FAILED</span>'
        # web01 never came up (its recovery was skipped): the plan's RTO target is not met.
        $report.RtoMet | Should -BeFalse
        $report.Vms[0].RtoMet | Should -BeTrue
        $html | Should -Match '<td class="num">not up</td>'
        $html | Should -Match '<dt>Targets</dt><dd>NOT MET: RTO not reached: 1 of 2 VM\(s\) not up \(target 10m 00s, not met\); 1 of 1 VM\(s\) up within their RTO target'
    }

    It 'returns the report with -PassThru, in a table a user can read' {
        $job = New-TestDrillJob $vault -FailValidation
        $report = Export-DrillReport -JobId $job.JobId -Path (Join-Path $dir 'drill.html') -PassThru

        $report.GetType().FullName | Should -Be 'AzureSiteRecovery.DR.Core.Orchestration.Reports.DrillReport'
        $table = $report | Out-String -Width 250
        $table | Should -Match 'Plan\s+JobId\s+Operation\s+Passed\s+Started\s+Duration\s+VMs\s+FailedSteps\s+Error'
        $table | Should -Match "erp\s+$($job.JobId)\s+Drill\s+False\s+\S+ \S+\s+00:03:30\s+0/2\s+1\s+Step 'Validate db01"
        $vms = $report.Vms | Out-String -Width 250
        $vms | Should -Match 'db\s+db01\s+False\s+00:02:00\s+00:05:00\s+\S+ \S+\s+10\.0\.0\.11\s+0/1\s+db01 did not answer'
    }

    It 'takes the job from Get-DRJob and from a drill report through the pipeline' {
        $job = New-TestDrillJob $vault
        $report = Get-DRJob -JobId $job.JobId | Export-DrillReport -Path (Join-Path $dir 'a.json') -PassThru
        $report.JobId | Should -Be $job.JobId

        $file = $report | Export-DrillReport -Path (Join-Path $dir 'b.xml')
        $file.Name | Should -Be 'b.xml'
        ([xml](Get-Content $file.FullName -Raw)).testsuites.name | Should -Be 'erp'
    }

    It 'reports the newest drill or test failover without -JobId' {
        $drill = New-TestDrillJob $vault -Target older -AgeMinutes 30
        $test = New-TestDrillJob $vault -Operation TestFailover -Target newer -AgeMinutes 20
        New-TestDrillJob $vault -Operation Failover -Target failover -AgeMinutes 10 | Out-Null

        (Export-DrillReport -Path (Join-Path $dir 'r.json') -PassThru).JobId | Should -Be $test.JobId
        $drill.JobId | Should -Not -Be $test.JobId
    }

    It 'writes in the format -Format names, whatever the extension' {
        $job = New-TestDrillJob $vault
        $file = Export-DrillReport -JobId $job.JobId -Path (Join-Path $dir 'drill.txt') -Format JUnit
        ([xml](Get-Content $file.FullName -Raw)).testsuites.testsuite.Count | Should -Be 4
    }

    It 'resolves a relative path against the current location and replaces an old report' {
        $job = New-TestDrillJob $vault
        Push-Location $dir
        try {
            Set-Content -Path (Join-Path $dir 'drill.json') -Value 'old'
            $file = Export-DrillReport -JobId $job.JobId -Path ./drill.json
        }
        finally { Pop-Location }
        $file.FullName | Should -Be (Join-Path $dir 'drill.json')
        (Get-Content $file.FullName -Raw | ConvertFrom-Json).plan | Should -Be 'erp'
    }

    It 'replaces a read-only report only with -Force' {
        $job = New-TestDrillJob $vault
        $path = Join-Path $dir 'drill.json'
        Set-Content -Path $path -Value 'old'
        (Get-Item $path).IsReadOnly = $true

        Export-DrillReport -JobId $job.JobId -Path $path -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'DrillReportFileReadOnly,AzureSiteRecovery.DR.Reports.ExportDrillReportCommand'
        (Get-Content $path -Raw).Trim() | Should -Be 'old'

        Export-DrillReport -JobId $job.JobId -Path $path -Force | Out-Null
        (Get-Content $path -Raw | ConvertFrom-Json).jobId | Should -Be $job.JobId
    }

    It 'writes nothing with -WhatIf' {
        $job = New-TestDrillJob $vault
        Export-DrillReport -JobId $job.JobId -Path (Join-Path $dir 'new/drill.html') -WhatIf | Should -BeNullOrEmpty
        Join-Path $dir 'new' | Should -Not -Exist
    }

    It 'refuses an extension that names no format, naming the path and the extensions' {
        $job = New-TestDrillJob $vault
        $path = Join-Path $dir 'drill.txt'
        Export-DrillReport -JobId $job.JobId -Path $path -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty

        $err[0].FullyQualifiedErrorId | Should -Be 'DrillReportFormatUnknown,AzureSiteRecovery.DR.Reports.ExportDrillReportCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].Exception.Message | Should -Match ([regex]::Escape($path))
        $err[0].Exception.Message | Should -Match '\.html.*\.json.*\.xml'
        $path | Should -Not -Exist
    }

    It 'reports an unknown job id' {
        New-TestDrillJob $vault | Out-Null
        Export-DrillReport -JobId nope -Path (Join-Path $dir 'drill.html') -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty

        $err[0].FullyQualifiedErrorId | Should -Be 'DRJobNotFound,AzureSiteRecovery.DR.Reports.ExportDrillReportCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].Exception.Message | Should -Match "Job 'nope' was not found"
        Join-Path $dir 'drill.html' | Should -Not -Exist
    }

    It 'reports a vault without drills' {
        New-ReplicationPolicy -Vault $vault -Name gold | Out-Null
        Export-DrillReport -Path (Join-Path $dir 'drill.html') -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'DrillJobNotFound,AzureSiteRecovery.DR.Reports.ExportDrillReportCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'works in a new session on the vault AZSR_DR_VAULT names' {
        $job = New-TestDrillJob $vault
        $path = Join-Path $dir 'child/drill.html'
        $result = Invoke-ChildPwsh -VaultPath $vault -Script "(Export-DrillReport -Path '$path').Name; (Export-DrillReport -Path '$dir/x.doc' 2>&1).FullyQualifiedErrorId"

        $result.ExitCode | Should -Be 0
        $result.Output | Should -Be @('drill.html', 'DrillReportFormatUnknown,AzureSiteRecovery.DR.Reports.ExportDrillReportCommand')
        Get-Content $path -Raw | Should -Match ([regex]::Escape($job.JobId))
    }
}

# The page as a person sees it: rendered by headless Chromium (tests/lab/chromium/chromium.sh installs
# the Debian package when missing). Screenshots stay in out/test-results/drill-report/ to look at.
Describe 'The drill report in a browser' {
    BeforeAll {
        $repo = Resolve-Path (Join-Path $PSScriptRoot '../..')
        $chromiumScript = Join-Path $repo 'tests/lab/chromium/chromium.sh'
        $shots = Join-Path $repo 'out/test-results/drill-report'
        New-Item -ItemType Directory -Force $shots | Out-Null

        function Invoke-Chromium([string[]] $Arguments) {
            $profileDir = Join-Path ([IO.Path]::GetTempPath()) ("chromium-" + [guid]::NewGuid().ToString('n'))
            $errors = "$profileDir.err"
            try {
                $output = & bash $chromiumScript run --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run `
                    "--user-data-dir=$profileDir" --window-size=1280,900 @Arguments 2>$errors
                if ($LASTEXITCODE -ne 0) { throw "chromium (tests/lab/chromium/chromium.sh) exited with ${LASTEXITCODE}: $(Get-Content -Raw $errors)" }
                $output -join "`n"
            }
            finally { Remove-Item -Recurse -Force $profileDir, $errors -ErrorAction SilentlyContinue }
        }

        # The WCAG 2 contrast ratio of two CSS colours as getComputedStyle gives them (rgb(...) / rgba(...)).
        function Get-ContrastRatio([string] $Foreground, [string] $Background) {
            $luminance = {
                param([string] $Css)
                if ($Css -notmatch 'rgba?\((\d+),\s*(\d+),\s*(\d+)') { throw "Not an rgb colour: '$Css'" }
                $channels = 1..3 | ForEach-Object {
                    $c = [double]$Matches[$_] / 255
                    if ($c -le 0.03928) { $c / 12.92 } else { [math]::Pow(($c + 0.055) / 1.055, 2.4) }
                }
                0.2126 * $channels[0] + 0.7152 * $channels[1] + 0.0722 * $channels[2]
            }
            $l1 = & $luminance $Foreground
            $l2 = & $luminance $Background
            ([math]::Max($l1, $l2) + 0.05) / ([math]::Min($l1, $l2) + 0.05)
        }

        # Chromium's own reading of the page: the computed colours of the header and of each of its text
        # elements (background: the nearest ancestor's that is not transparent), and every word of a
        # table cell that the layout broke across two lines. A copy of the report gets the probe script;
        # the report itself has none.
        function Get-RenderedReport([string] $HtmlPath) {
            $probe = @'
<script>
(() => {
  const background = e => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor; if (!/rgba\(\d+, \d+, \d+, 0\)|transparent/.test(c)) return c; } return 'rgb(255, 255, 255)'; };
  const header = document.querySelector('header');
  const texts = [header, ...header.querySelectorAll('h1, h1 .verdict, dt, dd')].map(e => ({
    tag: e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''), text: e.textContent.trim().slice(0, 80),
    color: getComputedStyle(e).color, background: background(e) }));
  const broken = [];
  for (const cell of document.querySelectorAll('td, th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node; (node = walker.nextNode());) {
      for (const m of node.data.matchAll(/\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(m[0]);
      }
    }
  }
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({ texts, broken });
  document.body.appendChild(pre);
})();
</script>
'@
            $copy = Join-Path ([IO.Path]::GetTempPath()) ("probe-" + [guid]::NewGuid().ToString('n') + '.html')
            try {
                (Get-Content $HtmlPath -Raw).Replace('</body>', "$probe</body>") | Set-Content -NoNewline $copy
                $dom = Invoke-Chromium @('--dump-dom', "file://$copy")
            }
            finally { Remove-Item $copy -ErrorAction SilentlyContinue }
            if ($dom -notmatch '<pre id="probe">(.*?)</pre>') { throw "The probe wrote nothing; Chromium's DOM: $dom" }
            [System.Net.WebUtility]::HtmlDecode($Matches[1]) | ConvertFrom-Json
        }
    }
    BeforeEach {
        $vault = New-TestVaultPath
        $dir = Split-Path $vault
        New-Item -ItemType Directory $dir | Out-Null
        $PSDefaultParameterValues = @{ '*-DrillReport:Vault' = $vault; '*-DRJob:Vault' = $vault }
    }
    AfterEach { Remove-TestVault $vault }

    It 'renders a <Name> drill with header text readable on its background (WCAG contrast >= 4.5) and no word broken in a table' -TestCases @(
        @{ Name = 'passed'; Fail = $false; Verdict = 'PASSED'; Background = 'rgb(26, 127, 55)' }
        @{ Name = 'failed'; Fail = $true; Verdict = 'FAILED'; Background = 'rgb(207, 34, 46)' }
    ) {
        param($Name, $Fail, $Verdict, $Background)
        $job = New-TestDrillJob $vault -FailValidation:$Fail
        $html = (Export-DrillReport -JobId $job.JobId -Path (Join-Path $dir "$Name.html")).FullName

        $png = Join-Path $shots "$Name.png"
        Remove-Item $png -ErrorAction SilentlyContinue
        Invoke-Chromium @("--screenshot=$png", "file://$html") | Out-Null
        $png | Should -Exist
        $bytes = [IO.File]::ReadAllBytes($png)
        [Text.Encoding]::ASCII.GetString($bytes, 1, 3) | Should -Be 'PNG'
        # IHDR: width and height, big-endian, at bytes 16 and 20.
        [Net.IPAddress]::NetworkToHostOrder([BitConverter]::ToInt32($bytes, 16)) | Should -Be 1280
        [Net.IPAddress]::NetworkToHostOrder([BitConverter]::ToInt32($bytes, 20)) | Should -Be 900

        $page = Get-RenderedReport $html
        $header = $page.texts[0]
        $header.background | Should -Be $Background
        $header.text | Should -Match "^$Verdict"
        $header.text | Should -Match $job.JobId
        ($page.texts | Where-Object tag -eq 'dt').text | Should -Contain 'Targets'
        $page.texts.Count | Should -BeGreaterThan 10
        foreach ($text in $page.texts) {
            $ratio = Get-ContrastRatio $text.color $text.background
            $ratio | Should -BeGreaterOrEqual 4.5 -Because "header text '$($text.text)' ($($text.tag)) is $($text.color) on $($text.background)"
        }
        $page.broken | Should -BeNullOrEmpty -Because 'table columns are as wide as their longest word'
    }
}
