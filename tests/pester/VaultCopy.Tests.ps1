# Copy-DRVault: a vault file with points of the vcsim lab copied to a Table vault and a Blob container on Azurite,
# used there (a delta cycle), and copied back into a new vault file; every copy verified.
# The copy reads only the vault and the chunk store, never a disk: the lab runs one way (vcsim as vSphere) here;
# the disks matter only to the replication cycles before and after, which their own suites run both ways.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $azuriteScript = Join-Path $PSScriptRoot '../lab/azurite/azurite.sh'
    # Azurite's published development account key (not a secret); it still must never be shown.
    $azuriteKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
    $capacity = 8MB
}

Describe 'Copy-DRVault: a vault file to Azure Tables and a Blob container (Azurite), and back' {
    BeforeAll {
        $stateDir = Join-Path ([IO.Path]::GetTempPath()) "azsr-dr-vaultcopy-$([guid]::NewGuid().ToString('n'))"
        $blobUrl = & bash $azuriteScript start $stateDir
        if ($LASTEXITCODE -ne 0) { throw "azurite.sh start failed ($LASTEXITCODE): $blobUrl" }
        $tableUrl = & bash $azuriteScript start-table $stateDir
        if ($LASTEXITCODE -ne 0) { throw "azurite.sh start-table failed ($LASTEXITCODE): $tableUrl" }
        $storage = [pscustomobject]@{ StorageAccount = 'devstoreaccount1'; StorageKey = $azuriteKey; BlobEndpoint = "$(@($blobUrl)[-1])".Trim() }
        $tableEndpoint = "$(@($tableUrl)[-1])".Trim()
        $secure = ConvertTo-SecureString $azuriteKey -AsPlainText -Force
        $prefix = "copy$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        # Whatever does not name its vault lands in a scratch vault, never in the user's default one.
        $savedVault = $env:AZSR_DR_VAULT
        $env:AZSR_DR_VAULT = New-TestVaultPath

        $lab = New-FailoverLab -Vms DC0_H0_VM0, DC0_H0_VM1
        $sourceKeyFile = "$($lab.Vault).key"
        $disks = @{}
        foreach ($vm in 'DC0_H0_VM0', 'DC0_H0_VM1') { $disks[$vm] = Get-FlatFile $lab.Protected.StateDir $vm }
        $first = @(Sync-VmReplication -Vault $lab.Vault -ProtectionGroup erp)
        Write-DiskBytes $disks.DC0_H0_VM0 4MB 1MB 11
        Write-DiskBytes $disks.DC0_H0_VM1 6MB 512KB 12
        $second = @(Sync-VmReplication -Vault $lab.Vault -ProtectionGroup erp)
        $sourcePoints = @(Get-ProtectedVm -Vault $lab.Vault | Get-RecoveryPoint -Vault $lab.Vault)

        $toAzure = @{
            Vault = $lab.Vault; Destination = $tableEndpoint; TablePrefix = $prefix; AccountKey = $secure; KeyFile = $sourceKeyFile
            DestinationChunkStore = "$($storage.BlobEndpoint)/drchunks"; ChunkStoreAccountKey = $secure; Confirm = $false
        }
    }
    AfterAll {
        Disconnect-DRVault
        Remove-FailoverLab $lab
        Remove-TestVault $env:AZSR_DR_VAULT
        $env:AZSR_DR_VAULT = $savedVault
        & bash $azuriteScript stop-table $stateDir *> $null
        & bash $azuriteScript stop $stateDir *> $null
        Remove-Item $stateDir -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'starts from two VMs with points made by a full and a delta cycle' {
        $first.Count | Should -Be 2
        $second.Count | Should -Be 2
        $second.Mode | Should -Not -Contain 'Full'
        $sourcePoints.Count | Should -BeGreaterOrEqual 4
    }

    It 'lists with -WhatIf what it would copy, and writes nothing' {
        $run = Invoke-ChildPwsh -Script @"
`$key = ConvertTo-SecureString '$azuriteKey' -AsPlainText -Force
Copy-DRVault -Vault '$($lab.Vault)' -Destination '$tableEndpoint' -TablePrefix $prefix -AccountKey `$key -KeyFile '$sourceKeyFile' ``
    -DestinationChunkStore '$($storage.BlobEndpoint)/drchunks' -ChunkStoreAccountKey `$key -WhatIf
"@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Text | Should -Match "2 sites, 1 replication policy, 1 protection group, 2 protected VMs, $($sourcePoints.Count) recovery points, 0 recovery plans, \d+ jobs and \d+ chunk store objects"
        $run.Text | Should -Match ([regex]::Escape("$tableEndpoint (tables $prefix*, SharedKey) and the chunk store $($storage.BlobEndpoint)/drchunks"))
        Get-TestAzureBlob $storage drchunks | Should -BeNullOrEmpty
    }

    It 'copies the vault and its chunks, and verifies every record and every point' {
        $result = Copy-DRVault @toAzure
        $result.Source | Should -Be $lab.Vault
        $result.Destination | Should -Be $tableEndpoint
        $result.DestinationChunkStore | Should -Be "$($storage.BlobEndpoint)/drchunks"
        $result.ObjectsCopied | Should -BeGreaterThan 4
        $result.ObjectsAlreadyThere | Should -Be 0
        $result.BytesCopied | Should -BeGreaterThan 0
        # 2 sites, 1 policy, 1 group, 2 VMs, 4 points at least (jobs too).
        $result.RecordsCopied | Should -BeGreaterOrEqual 10
        $result.RecordsVerified | Should -BeGreaterOrEqual 10
        $result.PointsVerified | Should -Be $sourcePoints.Count
        $result.ChunksVerified | Should -BeGreaterThan 0
        $blobs = @(Get-TestAzureBlob $storage drchunks).Name
        foreach ($point in $sourcePoints) { $blobs | Should -Contain "points/$($point.VmId)/$($point.RecoveryPointId)" }
        ($result | Out-String) | Should -Match "Verified\s*:\s*\d+ records, $($sourcePoints.Count) recovery points, \d+ chunks"
    }

    It 'copies nothing new when run again, and still verifies' {
        $again = Copy-DRVault @toAzure
        $again.ObjectsCopied | Should -Be 0
        $again.ObjectsAlreadyThere | Should -BeGreaterThan 4
        $again.RecordsCopied | Should -Be 0
        $again.RecordsAlreadyThere | Should -BeGreaterOrEqual 10
        $again.PointsVerified | Should -Be $sourcePoints.Count
    }

    It 'leaves a Table vault that works as it is: VMs, points, tests, its Blob chunk store' {
        Connect-DRVault $tableEndpoint -TablePrefix $prefix -AccountKey $secure -KeyFile $sourceKeyFile
        (Get-DRChunkStore).Kind | Should -Be 'AzureBlob'
        (Get-DRChunkStore).Location | Should -Be "$($storage.BlobEndpoint)/drchunks"
        (Get-ProtectedVm).Name | Sort-Object | Should -Be @('DC0_H0_VM0', 'DC0_H0_VM1')
        $points = @(Get-ProtectedVm | Get-RecoveryPoint)
        ($points.RecoveryPointId | Sort-Object) | Should -Be ($sourcePoints.RecoveryPointId | Sort-Object)
        $checks = @($points | Test-RecoveryPoint)
        $checks.Count | Should -Be $sourcePoints.Count
        $checks.Intact | Should -Not -Contain $false
    }

    It 'replicates on from the Table vault with a delta cycle, not a full copy' {
        Write-DiskBytes $disks.DC0_H0_VM0 2MB 1MB 21
        Write-DiskBytes $disks.DC0_H0_VM1 7MB 256KB 22
        $script:hashes = @{ DC0_H0_VM0 = Get-DiskHash $disks.DC0_H0_VM0 $capacity; DC0_H0_VM1 = Get-DiskHash $disks.DC0_H0_VM1 $capacity }
        $cycles = @(Sync-VmReplication -ProtectionGroup erp)
        $cycles.Count | Should -Be 2
        foreach ($cycle in $cycles) {
            $cycle.Point | Should -Not -BeNullOrEmpty
            $cycle.Mode | Should -Be 'ChangedBlockTracking' -Because 'the change ids came over with the VMs'
            $cycle.BytesRead | Should -Be 4MB -Because "only the changed 4 MiB chunk of the $($capacity / 1MB) MiB disk is read"
        }
        $script:azurePoints = $cycles.Point
        (Get-TestAzureBlob $storage drchunks).Name | Should -Contain "points/$($azurePoints[0].VmId)/$($azurePoints[0].RecoveryPointId)"
        # The source vault file is untouched by all of this.
        @(Get-ProtectedVm -Vault $lab.Vault | Get-RecoveryPoint -Vault $lab.Vault).Count | Should -Be $sourcePoints.Count
    }

    It 'copies the Table vault back into a new vault file, keyed by a new key file holding the same key, and every point tests intact there' {
        $restored = Join-Path (Split-Path $lab.Vault) 'restored/vault.db'
        $back = Copy-DRVault -Destination $restored -Confirm:$false
        $back.Source | Should -Be $tableEndpoint
        $back.PointsVerified | Should -Be ($sourcePoints.Count + 2)
        $back.DestinationChunkStore | Should -Be (Join-Path (Split-Path $restored) 'vault.store')
        "$restored.key" | Should -Exist
        if (-not $IsWindows) { (Get-Item "$restored.key").UnixFileMode | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite') }
        (Get-DRChunkStore -Vault $restored).Kind | Should -Be 'LocalFolder'
        $points = @(Get-ProtectedVm -Vault $restored | Get-RecoveryPoint -Vault $restored)
        $points.Count | Should -Be ($sourcePoints.Count + 2)
        foreach ($point in $azurePoints) { $points.RecoveryPointId | Should -Contain $point.RecoveryPointId }
        $checks = @($points | Test-RecoveryPoint -Vault $restored)
        $checks.Intact | Should -Not -Contain $false
        # The point made in Azure exports byte for byte as the disk was.
        $made = $points | Where-Object RecoveryPointId -eq $azurePoints[0].RecoveryPointId
        $image = $made | Export-RecoveryPoint -Vault $restored -Destination (Join-Path (Split-Path $restored) 'export')
        (Get-FileHash $image.FullName -Algorithm SHA256).Hash | Should -Be $hashes[$made.VmName]
    }

    It 'refuses to copy the vault file over the Table vault again now that it has moved on, writing nothing' {
        $before = @(Get-ProtectedVm | Get-RecoveryPoint).Count
        $thrown = { Copy-DRVault @toAzure } | Should -Throw -ErrorId 'VaultCopyDestinationAhead,AzureSiteRecovery.DR.Vault.CopyDRVaultCommand' -PassThru
        $thrown.Exception.Message | Should -Match "'DC0_H0_VM0' \(1 point\(s\)\)"
        $thrown.Exception.Message | Should -Match 'Copy the other way'
        @(Get-ProtectedVm | Get-RecoveryPoint).Count | Should -Be $before
        (Get-ProtectedVm -Name DC0_H0_VM0).LastRecoveryPointId | Should -Be ($azurePoints | Where-Object VmName -eq DC0_H0_VM0).RecoveryPointId
    }

    It 'refuses a destination keyed otherwise before it writes anything, naming the fix' {
        # A vault file with a site (so a key of its own) that the copy must not touch.
        $other = Join-Path (Split-Path $lab.Vault) 'other/vault.db'
        New-DRSite -Vault $other -Name elsewhere -VSphere -Server https://vc09.example.test/sdk -Credential (New-TestCredential -Password 'Oth3r!pass') -Role Protected -SkipConnectionTest -WarningAction SilentlyContinue | Out-Null
        $before = (Get-FileHash $other).Hash
        $thrown = { Copy-DRVault -Vault $lab.Vault -Destination $other -Confirm:$false } | Should -Throw -ErrorId 'VaultCopyKeyMismatch,AzureSiteRecovery.DR.Vault.CopyDRVaultCommand' -PassThru
        $message = $thrown.Exception.Message
        $message | Should -Match ([regex]::Escape("-KeyFile '$sourceKeyFile'"))
        $message | Should -Match ([regex]::Escape("[Convert]::ToBase64String([IO.File]::ReadAllBytes('$sourceKeyFile'))"))
        $message | Should -Match 'Set-AzKeyVaultSecret'
        $message | Should -Match 'nothing was copied'
        (Get-FileHash $other).Hash | Should -Be $before
        Join-Path (Split-Path $other) 'vault.store' | Should -Not -Exist

        # A Table vault given another key: refused before its tables or its container are made.
        $wrong = [Convert]::ToBase64String([Security.Cryptography.RandomNumberGenerator]::GetBytes(32))
        $thrown = { Copy-DRVault -Vault $lab.Vault -Destination $tableEndpoint -TablePrefix "$($prefix)x" -AccountKey $secure -Key $wrong `
                -DestinationChunkStore "$($storage.BlobEndpoint)/otherchunks" -ChunkStoreAccountKey $secure -Confirm:$false } |
            Should -Throw -ErrorId 'VaultCopyKeyMismatch,AzureSiteRecovery.DR.Vault.CopyDRVaultCommand' -PassThru
        $thrown.Exception.Message | Should -Match 'a key given as a value'
        $thrown.Exception.Message | Should -Not -Match ([regex]::Escape($wrong))
        Get-TestAzureBlob $storage otherchunks | Should -BeNullOrEmpty
    }

    It 'refuses a Table vault destination without a Blob chunk store' {
        { Copy-DRVault -Vault $lab.Vault -Destination $tableEndpoint -TablePrefix "$($prefix)y" -AccountKey $secure -KeyFile $sourceKeyFile -Confirm:$false } |
            Should -Throw -ErrorId 'VaultCopyChunkStoreRequired,AzureSiteRecovery.DR.Vault.CopyDRVaultCommand'
    }

    It 'never shows a secret: not the site password, the account key or the vault key, even verbose' {
        $restored = Join-Path (Split-Path $lab.Vault) 'verbose/vault.db'
        $run = Invoke-ChildPwsh -Script @"
`$key = ConvertTo-SecureString '$azuriteKey' -AsPlainText -Force
Connect-DRVault '$tableEndpoint' -TablePrefix $prefix -AccountKey `$key -KeyFile '$sourceKeyFile'
Copy-DRVault -Destination '$restored' -Confirm:`$false -Verbose 4>&1 | Format-List *
Get-DRVault | Format-List *
"@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Text | Should -Match "PointsVerified\s*:\s*$($sourcePoints.Count + 2)"
        $run.Text | Should -Not -Match ([regex]::Escape('S3cret!pass'))
        # The account key was in the script itself; the output must not repeat it.
        $run.Text | Should -Not -Match ([regex]::Escape($azuriteKey))
        $vaultKey = [Convert]::ToBase64String([IO.File]::ReadAllBytes($sourceKeyFile))
        $run.Text | Should -Not -Match ([regex]::Escape($vaultKey))
    }
}
