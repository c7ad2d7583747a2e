# The fuzz cases of issue 9 as a corpus (corpus/plans/*.yaml, corpus/calls.psd1, and the large
# plans generated below): each is run in a child pwsh and must give a clear error with our id,
# leave the vault unchanged and the process alive. Durations are printed, never asserted.

BeforeDiscovery {
    $corpus = Join-Path $PSScriptRoot 'corpus'
    # Each committed plan names the place and the words of its error on its first line: "# expect: 8:19 words".
    $committedPlans = foreach ($file in Get-ChildItem (Join-Path $corpus 'plans') -Filter *.yaml) {
        $location, $words = ((Get-Content $file.FullName -TotalCount 1) -replace '^# expect: ', '') -split ' ', 2
        @{ Name = $file.Name; Path = $file.FullName; Location = $location; Words = $words }
    }
    # Too large to commit (or not files at all): made by New-FuzzPlan in a temporary folder.
    $generatedPlans = @(
        @{ Name = 'deep-flow-lists.yaml'; Location = '4:40'; Words = 'nest more than 32 levels' }
        @{ Name = 'deep-flow-mappings.yaml'; Location = '4:133'; Words = 'nest more than 32 levels' }
        @{ Name = 'deep-block-lists.yaml'; Location = '5:63'; Words = 'nest more than 32 levels' }
        @{ Name = 'alias-bomb.yaml'; Location = '6:18'; Words = 'once its aliases (*name) are expanded' }
        @{ Name = 'validations-2m.yaml'; Location = '90:34'; Words = 'once its aliases (*name) are expanded' }
        @{ Name = 'huge.yaml'; Location = '4:1048527'; Words = 'at most 1,048,576 are read' }
        @{ Name = 'groups-1001.yaml'; Location = '5:3'; Words = "'groups' lists 1,001 items" }
        @{ Name = 'validations-101.yaml'; Location = '8:22'; Words = "'validations' lists 101 items" }
        @{ Name = 'fifo.yaml'; Location = '1:1'; Words = 'named pipe (FIFO)' }
        @{ Name = 'script-fifo.yaml'; Location = '7:9'; Words = 'named pipe (FIFO)' }
    )
    $calls = (Import-PowerShellDataFile (Join-Path $corpus 'calls.psd1')).Calls
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force

    $head = "name: fuzz`nprotectedSite: onprem`nrecoverySite: dr`n"
    function New-FuzzPlan([string] $Name, [string] $Folder) {
        $path = Join-Path $Folder $Name
        $text = switch ($Name) {
            'deep-flow-lists.yaml' { $head + 'groups: ' + ('[' * 50000) + (']' * 50000) + "`n" }
            'deep-flow-mappings.yaml' { $head + 'groups: ' + ('{a: ' * 50000) + 'x' + ('}' * 50000) + "`n" }
            'deep-block-lists.yaml' { $head + "groups:`n" + ('- ' * 50000) + "x`n" }
            'alias-bomb.yaml' {
                # The "billion laughs": 13 levels of 9 aliases over 8,000 values, padded to the 484 KB of the fuzz run.
                $sb = [Text.StringBuilder]::new($head)
                [void]$sb.Append('a0: &a0 [' + ((1..8000 | ForEach-Object { 'lol' }) -join ',') + "]`n")
                for ($i = 1; $i -le 12; $i++) { [void]$sb.Append("a${i}: &a$i [" + ((1..9 | ForEach-Object { "*a$($i - 1)" }) -join ',') + "]`n") }
                while ($sb.Length -lt 484KB) { [void]$sb.Append("# padding padding padding padding padding padding padding padding padding`n") }
                [void]$sb.Append("groups: *a12`n")
                $sb.ToString()
            }
            'validations-2m.yaml' {
                # 2,000 VMs sharing one list of 1,000 validations: 2 million validations in about 96 KB.
                $sb = [Text.StringBuilder]::new($head + "groups:`n  - name: web`n    vms:`n")
                [void]$sb.Append('      - {name: w0, validations: &v [' + ((1..1000 | ForEach-Object { '{tcpPort: 80}' }) -join ',') + "]}`n")
                for ($i = 1; $i -lt 2000; $i++) { [void]$sb.Append("      - {name: w$i, validations: *v}`n") }
                $sb.ToString()
            }
            'huge.yaml' { $head + 'description: ' + ('x' * 2MB) + "`ngroups: [{name: db, vms: [a]}]`n" }
            'groups-1001.yaml' { $head + "groups:`n" + (-join (0..1000 | ForEach-Object { "  - {name: g$_, vms: [vm$_]}`n" })) }
            'validations-101.yaml' { $head + "groups:`n  - name: web`n    vms:`n      - name: w`n        validations: [" + ((1..101 | ForEach-Object { '{tcpPort: 80}' }) -join ',') + "]`n" }
            'fifo.yaml' { & mkfifo $path; return $path }
            'script-fifo.yaml' {
                & mkfifo (Join-Path $Folder 'check.ps1')
                $head + "groups:`n  - name: db`n    preActions:`n      - script:`n          path: check.ps1`n    vms: [db01]`n"
            }
        }
        [IO.File]::WriteAllText($path, $text)
        $path
    }

    # Every row of every table, in a stable order, and the key file: what "the vault is unchanged" means.
    function Get-VaultDigest([string] $VaultPath) {
        $sqlite = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Microsoft.Data.Sqlite' } | Select-Object -First 1
        $connection = [Activator]::CreateInstance($sqlite.GetType('Microsoft.Data.Sqlite.SqliteConnection'), @("Data Source=$VaultPath;Mode=ReadOnly;Pooling=False"))
        try {
            $connection.Open()
            $command = $connection.CreateCommand()
            $command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            $reader = $command.ExecuteReader(); $tables = @(while ($reader.Read()) { $reader.GetString(0) }); $reader.Dispose()
            $dump = [Text.StringBuilder]::new()
            foreach ($table in $tables) {
                $command.CommandText = "SELECT * FROM [$table]"
                $reader = $command.ExecuteReader()
                $rows = @(while ($reader.Read()) { (0..($reader.FieldCount - 1) | ForEach-Object { "$($reader.GetValue($_))" }) -join "`u{1f}" })
                $reader.Dispose()
                [void]$dump.Append("[$table]`n").Append((($rows | Sort-Object) -join "`n")).Append("`n")
            }
            if (Test-Path "$VaultPath.key") { [void]$dump.Append((Get-FileHash "$VaultPath.key" -Algorithm SHA256).Hash) }
            [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($dump.ToString())))
        }
        finally { $connection.Dispose() }
    }

    # Runs one command in a child pwsh; returns its error id, message (one line), milliseconds, and whether it lived to the end.
    function Invoke-BadInput([string] $Command, [string] $Prelude = '') {
        $run = Invoke-ChildPwsh -Script @"
$Prelude
`$ErrorActionPreference = 'Stop'
`$watch = [Diagnostics.Stopwatch]::StartNew()
try { `$null = & { $Command }; 'ID none' }
catch { 'ID ' + `$_.FullyQualifiedErrorId; 'MESSAGE ' + (`$_.Exception.Message -replace '\r?\n', ' | ') }
'MS ' + `$watch.ElapsedMilliseconds
'ALIVE'
"@
        $line = { param($prefix) ($run.Output | Where-Object { $_.StartsWith("$prefix ") } | Select-Object -First 1) -replace "^$prefix ", '' }
        [pscustomobject]@{ ExitCode = $run.ExitCode; Alive = $run.Output -contains 'ALIVE'; Id = & $line 'ID'; Message = & $line 'MESSAGE'; Ms = & $line 'MS'; Text = $run.Text }
    }

    $root = Join-Path ([IO.Path]::GetTempPath()) "azsr-dr-badinput-$([guid]::NewGuid().ToString('n'))"
    $generated = Join-Path $root 'generated'
    New-Item -ItemType Directory $generated -Force | Out-Null
    $vault = Join-Path $root 'vault/vault.db'
    $cred = New-TestCredential
    $with = @{ Vault = $vault; WarningAction = 'SilentlyContinue' }
    New-DRSite @with -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest | Out-Null
    New-DRSite @with -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
    New-ReplicationPolicy @with -Name gold | Out-Null
    New-ProtectionGroup @with -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
    [IO.File]::WriteAllText((Join-Path $root 'fuzz.yaml'), $head + "groups:`n  - name: db`n    vms: [erp-db01]`n")
    Import-RecoveryPlan @with -Path (Join-Path $root 'fuzz.yaml') | Out-Null
    $digest = Get-VaultDigest $vault
}

AfterAll {
    Remove-Item $root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Fuzzed plans' {
    It '<Name> is RecoveryPlanInvalid at <Location>, the vault unchanged, the process alive' -ForEach ($committedPlans + $generatedPlans) {
        $file = if ($Path) { $Path } else { New-FuzzPlan $Name $generated }

        $result = Invoke-BadInput "Import-RecoveryPlan -Vault '$vault' -Path '$file'"

        Write-Host "      $Name ($('{0:N0}' -f (Get-Item $file).Length) bytes): $($result.Ms) ms in the child"
        $result.Alive | Should -BeTrue -Because "the child must survive the plan (exit code $($result.ExitCode)): $($result.Text)"
        $result.ExitCode | Should -Be 0
        $result.Id | Should -Be 'RecoveryPlanInvalid,AzureSiteRecovery.DR.Plans.ImportRecoveryPlanCommand'
        $result.Message | Should -BeLike "$(Split-Path $file -Leaf):$($Location): *"
        $result.Message | Should -BeLike "*$Words*"
        Get-VaultDigest $vault | Should -Be $digest
    }

    It 'Import-RecoveryPlan of /dev/zero is RecoveryPlanInvalid at 1:1' {
        $result = Invoke-BadInput "Import-RecoveryPlan -Vault '$vault' -Path /dev/zero"
        Write-Host "      /dev/zero: $($result.Ms) ms in the child"
        $result.Alive | Should -BeTrue
        $result.Id | Should -Be 'RecoveryPlanInvalid,AzureSiteRecovery.DR.Plans.ImportRecoveryPlanCommand'
        $result.Message | Should -BeLike "zero:1:1: '/dev/zero' is a character device*"
        Get-VaultDigest $vault | Should -Be $digest
    }
}

Describe 'Script files replaced after import' {
    It 'a device or a FIFO is refused when the script runs, without being read' -Skip:$IsWindows {
        $fifo = Join-Path $generated 'run-fifo.ps1'
        & mkfifo $fifo
        $output = Join-Path $generated 'run-fifo.txt'
        # The recovery engine's script host, as a job calls it once the plan's checks passed long ago.
        $child = Start-ChildPwsh -OutputPath $output -Script @"
Get-DRSite -Vault '$vault' | Out-Null
`$assemblies = [AppDomain]::CurrentDomain.GetAssemblies()
`$cmdlets = `$assemblies | Where-Object { `$_.GetName().Name -eq 'AzureSiteRecovery.DR' } | Select-Object -First 1
`$core = `$assemblies | Where-Object { `$_.GetName().Name -eq 'AzureSiteRecovery.DR.Core' } | Select-Object -First 1
`$scriptHost = [Activator]::CreateInstance(`$cmdlets.GetType('AzureSiteRecovery.DR.Common.RunspaceScriptHost', `$true))
foreach (`$path in '/dev/zero', '$fifo') {
    `$request = `$core.GetType('AzureSiteRecovery.DR.Core.Orchestration.Recovery.Checks.ScriptRequest')::ForFile(`$path, 'check', [TimeSpan]::FromSeconds(30), `$null)
    `$result = `$scriptHost.RunAsync(`$request, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
    "`$(`$result.Succeeded) `$(`$result.Error)"
}
"@
        $ended = $child.WaitForExit(60000)
        if (-not $ended) { & kill -9 $child.Id }

        $ended | Should -BeTrue -Because 'reading a device or a FIFO never ends'
        $lines = @(Get-Content $output)
        $lines | Should -HaveCount 2 -Because (Get-Content "$output.err" -Raw)
        $lines[0] | Should -Be "False The script cannot be run: '/dev/zero' is a character device, not a script file."
        $lines[1] | Should -Be "False The script cannot be run: '$fifo' is a named pipe (FIFO), not a script file."
    }
}

Describe 'Bad cmdlet calls' {
    It '<Name>: <Expect>' -ForEach $calls {
        $absent = Join-Path $root "missing-$([guid]::NewGuid().ToString('n'))/vault.db"
        $prelude = "`$Vault = '$vault'; `$Missing = '$absent'; `$Credential = [pscredential]::new('u', (ConvertTo-SecureString 'p' -AsPlainText -Force))"

        $result = Invoke-BadInput $Command -Prelude $prelude

        Write-Host "      $($result.Ms) ms in the child"
        $result.Alive | Should -BeTrue -Because $result.Text
        $result.Id | Should -Be $Expect -Because $result.Message
        $result.Id | Should -Not -Match 'System\.|Exception'
        if ($Missing) {
            $result.Message | Should -BeLike "*'$absent'*"
            Test-Path (Split-Path $absent) | Should -BeFalse -Because 'a read-only cmdlet creates no vault'
        }
        if ($Printable) {
            $result.Message | Should -Not -Match '\p{Cc}' -Because 'a message never echoes a control character to the console'
            $result.Message | Should -Match '\\u00(00|1B)'
        }
        Get-VaultDigest $vault | Should -Be $digest
    }

    It 'a -Vault that does not exist is still created by New-* commands' {
        $new = Join-Path $root "new-$([guid]::NewGuid().ToString('n'))/vault.db"
        New-ReplicationPolicy -Vault $new -Name gold | Out-Null
        (Get-ReplicationPolicy -Vault $new).Name | Should -Be 'gold'
    }
}

Describe 'A vault whose key is missing, with a point in its store' {
    BeforeAll {
        $lab = Start-TestVcsim -Arguments @('-disk-mb', '16')
        $labVault = Join-Path $root 'lab/vault.db'
        $labWith = @{ Vault = $labVault; WarningAction = 'SilentlyContinue' }
        New-DRSite @labWith -Name onprem -VSphere -Server $lab.Url -Credential $cred -Role Protected -SkipCertificateCheck | Out-Null
        New-DRSite @labWith -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        New-ReplicationPolicy @labWith -Name gold | Out-Null
        New-ProtectionGroup @labWith -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        Write-DiskBytes (Get-FlatFile $lab.StateDir 'DC0_H0_VM0') 1MB 2MB 7
        Get-DRVm @labWith -Site onprem -Name DC0_H0_VM0 | Enable-VmProtection @labWith -ProtectionGroup erp | Out-Null
        $keyPath = "$labVault.key"
    }
    AfterAll { $lab | Stop-TestVcsim }

    It 'creates the vault, its key and its chunk store readable by the owner only' -Skip:$IsWindows {
        $folder = Split-Path $labVault
        $owner0700 = [IO.UnixFileMode]'UserRead, UserWrite, UserExecute'
        $owner0600 = [IO.UnixFileMode]'UserRead, UserWrite'
        (Get-Item $folder).UnixFileMode | Should -Be $owner0700
        # -wal and -shm exist while a connection is open (SQLite removes them with the last one): checked when present.
        foreach ($file in Get-ChildItem $folder -File -Filter 'vault.db*') {
            $file.UnixFileMode | Should -Be $owner0600 -Because $file.Name
        }
        Test-Path $keyPath | Should -BeTrue
        $store = [IO.Path]::ChangeExtension($labVault, '.store')
        $folders = @(Get-Item $store) + @(Get-ChildItem $store -Recurse -Directory -Force)
        $files = @(Get-ChildItem $store -Recurse -File -Force)
        $files.Count | Should -BeGreaterThan 1
        $folders | Where-Object { $_.UnixFileMode -ne $owner0700 } | Should -BeNullOrEmpty
        $files | Where-Object { $_.UnixFileMode -ne $owner0600 } | Should -BeNullOrEmpty
    }

    It '<Command> is VaultKeyMissing and creates no new key' -ForEach @(
        @{ Command = 'Test-RecoveryPoint'; Line = 'Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint | Test-RecoveryPoint' }
        @{ Command = 'Export-RecoveryPoint'; Line = "Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint | Export-RecoveryPoint -Destination '$root/export'" }
        @{ Command = 'Sync-VmReplication'; Line = 'Sync-VmReplication -ProtectionGroup erp'; RecordsFailure = $true }
        @{ Command = 'New-DRSite'; Line = 'New-DRSite -Name dr2 -VSphere -Server https://vc03.example.test/sdk -Credential $Credential -Role Recovery -SkipConnectionTest' }
    ) {
        Move-Item $keyPath "$keyPath.away"
        try {
            $before = Get-VaultDigest $labVault
            $result = Invoke-BadInput $Line -Prelude "`$env:AZSR_DR_VAULT = '$labVault'; `$Credential = [pscredential]::new('u', (ConvertTo-SecureString 'p' -AsPlainText -Force))"

            $result.Alive | Should -BeTrue -Because $result.Text
            $result.Id | Should -BeLike 'VaultKeyMissing,*' -Because $result.Message
            $result.Message | Should -BeLike "*'$keyPath'*"
            Test-Path $keyPath | Should -BeFalse
            if ($RecordsFailure) {
                # A failed cycle is recorded on the VM (Get-ProtectedVm shows it); nothing else changes.
                $vm = Get-ProtectedVm @labWith DC0_H0_VM0
                $vm.LastError | Should -BeLike '*key file*is missing*'
                $vm | Get-RecoveryPoint @labWith | Should -HaveCount 1
            }
            else {
                Get-VaultDigest $labVault | Should -Be $before
            }
        }
        finally { Move-Item "$keyPath.away" $keyPath -Force }
    }

    It 'with the key back, the point is intact' {
        (Get-ProtectedVm @labWith DC0_H0_VM0 | Get-RecoveryPoint @labWith | Test-RecoveryPoint @labWith).Intact | Should -BeTrue
    }
}


Describe 'Sync-VmReplication racing Disable-VmProtection -RemoveData' {
    BeforeAll {
        $lab = Start-TestVcsim -Arguments @('-disk-mb', '32', '-cbt=false')
        $raceVault = Join-Path $root 'race/vault.db'
        $raceWith = @{ Vault = $raceVault; WarningAction = 'SilentlyContinue' }
        New-DRSite @raceWith -Name onprem -VSphere -Server $lab.Url -Credential $cred -Role Protected -SkipCertificateCheck | Out-Null
        New-DRSite @raceWith -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest | Out-Null
        New-ReplicationPolicy @raceWith -Name gold | Out-Null
        New-ProtectionGroup @raceWith -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
        Write-DiskBytes (Get-FlatFile $lab.StateDir 'DC0_H0_VM0') 0 4MB 1
        $kept = Get-DRVm @raceWith -Site onprem -Name DC0_H0_VM0 | Enable-VmProtection @raceWith -ProtectionGroup erp
        $disk = Get-FlatFile $lab.StateDir 'DC0_H0_VM1'
        $store = [IO.Path]::ChangeExtension($raceVault, '.store')
        $removedIds = [Collections.Generic.List[string]]::new()
        $go = Join-Path $root 'race/go'

        # Each round: protect VM1, change its disk, then a sync and a Disable -RemoveData start together
        # (both children wait for the go file), the disable a little later each round.
        for ($round = 0; $round -lt 6; $round++) {
            $vm = Get-DRVm @raceWith -Site onprem -Name DC0_H0_VM1 | Enable-VmProtection @raceWith -ProtectionGroup erp
            $removedIds.Add($vm.VmId)
            Write-DiskBytes $disk 0 24MB (100 + $round)
            Remove-Item $go -ErrorAction SilentlyContinue
            $wait = { param($who) "Get-DRSite | Out-Null; New-Item -ItemType File '$go.$who' | Out-Null; while (-not (Test-Path '$go')) { Start-Sleep -Milliseconds 5 }" }
            $sync = Start-ChildPwsh -VaultPath $raceVault -OutputPath (Join-Path $root "race/sync-$round.txt") -Script "$(& $wait sync)`nSync-VmReplication -VmId $($vm.VmId) -ErrorAction Continue"
            $disable = Start-ChildPwsh -VaultPath $raceVault -OutputPath (Join-Path $root "race/disable-$round.txt") -Script "$(& $wait disable)`nStart-Sleep -Milliseconds $(150 * $round)`nDisable-VmProtection -VmId $($vm.VmId) -RemoveData -Confirm:`$false -ErrorAction Continue"
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not ((Test-Path "$go.sync") -and (Test-Path "$go.disable")) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
            Remove-Item "$go.sync", "$go.disable" -ErrorAction SilentlyContinue
            New-Item -ItemType File $go | Out-Null
            $sync.WaitForExit(); $disable.WaitForExit()
            # A disable that lost the race (the VM was still cycling) is run again, as a user would.
            if (Get-ProtectedVm @raceWith -ErrorAction SilentlyContinue | Where-Object VmId -eq $vm.VmId) {
                Disable-VmProtection @raceWith -VmId $vm.VmId -RemoveData -Confirm:$false
            }
        }
        $orphansBefore = @(Get-ChildItem (Join-Path $store 'points') -Recurse -File | Where-Object { $removedIds -contains $_.Directory.Name })
        Write-Host "      manifests of removed VMs before garbage collection: $($orphansBefore.Count) in 6 races"

        # Garbage collection as Sync-VmReplication runs it, with no grace period (the races are over).
        $gc = Invoke-ChildPwsh -Script @"
Get-DRSite -Vault '$raceVault' | Out-Null
`$core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'AzureSiteRecovery.DR.Core' }
`$vault = `$core.GetType('AzureSiteRecovery.DR.Core.Vault.SqliteVault')::Open('$raceVault')
`$store = `$core.GetType('AzureSiteRecovery.DR.Core.Replication.ReplicationStore')::OpenLocal('$raceVault', `$null)
`$result = `$core.GetType('AzureSiteRecovery.DR.Core.Replication.ChunkGarbageCollection')::CollectAsync(`$vault, `$store, [TimeSpan]::Zero, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
`$store.Dispose(); `$vault.Dispose()
`$result | ConvertTo-Json -Compress
"@
        $collected = $gc.Output | Where-Object { $_.StartsWith('{') } | Select-Object -Last 1 | ConvertFrom-Json
    }
    AfterAll { $lab | Stop-TestVcsim }

    It 'ran the garbage collection' {
        $collected | Should -Not -BeNullOrEmpty -Because $gc.Text
        Write-Host "      garbage collection: $($collected.ManifestsDeleted) manifest(s), $($collected.ChunksDeleted) chunk(s) deleted"
    }

    It 'leaves no manifest of a removed VM in the store' {
        $manifests = @(Get-ChildItem (Join-Path $store 'points') -Recurse -File)
        $manifests | Where-Object { $removedIds -contains $_.Directory.Name } | Should -BeNullOrEmpty
        $manifests.Directory.Name | Select-Object -Unique | Should -Be $kept.VmId
    }

    It 'leaves only the chunks the remaining points name' {
        @(Get-ChildItem (Join-Path $store 'chunks') -Recurse -File).Count | Should -Be $collected.ChunksReferenced
    }

    It 'keeps the remaining VM''s points intact' {
        $checks = Get-ProtectedVm @raceWith DC0_H0_VM0 | Get-RecoveryPoint @raceWith | Test-RecoveryPoint @raceWith
        $checks.Intact | Should -Not -Contain $false
        Get-ProtectedVm @raceWith | Should -HaveCount 1
    }
}
