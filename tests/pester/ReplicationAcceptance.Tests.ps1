BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
}

# The replication issue's acceptance script, run as written in a fresh pwsh, with the guest's
# writes sent through the datastore HTTP interface (the lab's ranged PUT).
Describe 'The acceptance script of the replication issue on <Flavor>' -ForEach @(
    @{ Flavor = 'the lab vcsim with CBT'; Arguments = @('-disk-mb', '32') }
    @{ Flavor = 'a plain vcsim'; Arguments = @('-disk-mb', '32', '-cbt=false', '-paging=false') }
) {
    BeforeAll {
        $lab = Start-TestVcsim -Arguments $Arguments
        $vault = New-TestVaultPath
        $dir = Join-Path (Split-Path $vault) 'export'
        $run = Invoke-ChildPwsh -VaultPath $vault -Script @"
`$ErrorActionPreference = 'Stop'
`$url = '$($lab.Url)'; `$dir = '$dir'
`$cred = [pscredential]::new('administrator@vsphere.local', (ConvertTo-SecureString 'S3cret!pass' -AsPlainText -Force))
New-DRSite -Name onprem -VSphere -Server `$url -Credential `$cred -Role Protected -SkipCertificateCheck -WarningAction SilentlyContinue | Out-Null
New-DRSite -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential `$cred -Role Recovery -SkipConnectionTest | Out-Null
New-ReplicationPolicy -Name gold | Out-Null
New-ProtectionGroup -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null

Get-DRVm -Site onprem -Name DC0_H0_VM0 | Enable-VmProtection -ProtectionGroup erp | Out-Null

# ... bytes written into the VM's disk file through the datastore HTTP interface ...
`$handler = [Net.Http.HttpClientHandler]::new()
`$handler.ServerCertificateCustomValidationCallback = [Net.Http.HttpClientHandler]::DangerousAcceptAnyServerCertificateValidator
`$http = [Net.Http.HttpClient]::new(`$handler)
`$file = [uri]::new([uri]`$url, '/folder/DC0_H0_VM0/disk1-flat.vmdk?dcPath=DC0&dsName=LocalDS_0')
foreach (`$at in 1MB, 9MB, 30MB) {
    `$bytes = [byte[]]::new(512KB); [Random]::new(`$at).NextBytes(`$bytes)
    `$put = [Net.Http.HttpRequestMessage]::new('PUT', `$file)
    `$put.Content = [Net.Http.ByteArrayContent]::new(`$bytes)
    `$put.Content.Headers.TryAddWithoutValidation('Content-Range', "bytes `$at-`$(`$at + `$bytes.Length - 1)/*") | Out-Null
    `$http.Send(`$put).EnsureSuccessStatusCode() | Out-Null
}

Sync-VmReplication -ProtectionGroup erp | Out-Null
'== protected'
Get-ProtectedVm -ProtectionGroup erp | Format-List Name, State, LastRecoveryPointTime, CurrentRpo, Health
`$p = Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint | Select-Object -Last 1
`$image = `$p | Export-RecoveryPoint -Destination `$dir

# The source disk as the VM sees it: the flat file through the datastore interface, zeros up to the capacity.
`$capacity = (Get-DRVm -Site onprem -Name DC0_H0_VM0).Disks[0].CapacityBytes
`$source = `$http.GetByteArrayAsync(`$file).GetAwaiter().GetResult()
`$sha = [Security.Cryptography.IncrementalHash]::CreateHash('SHA256')
`$sha.AppendData(`$source); `$sha.AppendData([byte[]]::new(`$capacity - `$source.Length))
"== source `$([Convert]::ToHexString(`$sha.GetHashAndReset()))"
"== image `$((Get-FileHash `$image.FullName -Algorithm SHA256).Hash)"
'== check'
Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint | Test-RecoveryPoint | Format-Table VmName, Intact, ChunksChecked -AutoSize
"@
        $text = $run.Text
    }
    AfterAll {
        $lab | Stop-TestVcsim
        Remove-TestVault $vault
    }

    It 'runs without an error' {
        $run.ExitCode | Should -Be 0 -Because $text
    }

    It 'shows the VM protected and healthy, with its last point and RPO' {
        $text | Should -Match 'State\s*:\s*Protected'
        $text | Should -Match 'Health\s*:\s*Healthy'
        $text | Should -Match 'LastRecoveryPointTime\s*:\s*\S+'
        $text | Should -Match 'CurrentRpo\s*:\s*\d'
    }

    It 'exports the newest point with the SHA-256 of the source disk' {
        $source = [regex]::Match($text, '== source ([0-9A-F]{64})').Groups[1].Value
        $image = [regex]::Match($text, '== image ([0-9A-F]{64})').Groups[1].Value
        $source | Should -Not -BeNullOrEmpty
        $image | Should -Be $source
    }

    It 'finds every point intact' {
        $check = ($text -split '== check')[1]
        $check | Should -Match 'DC0_H0_VM0\s+True'
        $check | Should -Not -Match 'False'
    }
}
