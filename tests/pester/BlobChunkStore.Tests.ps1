BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $capacity = 8MB
    $azuriteScript = Join-Path $PSScriptRoot '../lab/azurite/azurite.sh'
    $azuriteDir = Join-Path ([IO.Path]::GetTempPath()) "azsr-dr-azurite-$([guid]::NewGuid().ToString('n'))"
    # A fresh account key for this run, so finding it anywhere means we leaked it.
    $storage = [pscustomobject]@{
        StorageAccount = 'drchunks'; StorageKey = [Convert]::ToBase64String([Security.Cryptography.RandomNumberGenerator]::GetBytes(64)); BlobEndpoint = $null; Port = 0
    }

    # Starts Azurite with the account drchunks; -Port keeps the endpoint of an earlier start (a restart after an outage).
    function Start-Azurite([int] $Port = 0) {
        $saved = $env:AZURITE_ACCOUNTS, $env:AZURITE_BLOB_PORT
        try {
            $env:AZURITE_ACCOUNTS = "$($storage.StorageAccount):$($storage.StorageKey)"
            $env:AZURITE_BLOB_PORT = "$Port"
            $url = & bash $azuriteScript start $azuriteDir
            if ($LASTEXITCODE -ne 0) { throw "azurite.sh start failed ($LASTEXITCODE): $url" }
        }
        finally { $env:AZURITE_ACCOUNTS, $env:AZURITE_BLOB_PORT = $saved }
        $authority = ([uri]"$(@($url)[-1])".Trim())
        $storage.Port = $authority.Port
        $storage.BlobEndpoint = $authority.GetLeftPart('Authority') + "/$($storage.StorageAccount)"
    }
    function Stop-Azurite { & bash $azuriteScript stop $azuriteDir *> $null }
    function Get-LocalFiles([string] $Folder) { if (Test-Path $Folder) { @(Get-ChildItem $Folder -Recurse -File | Where-Object Name -NotLike '*.tmp') } else { @() } }
}

Describe 'A vault whose chunk store is an Azure Blob container (Azurite)' {
    BeforeAll {
        Start-Azurite
        $container = "$($storage.BlobEndpoint)/chunks"
        $secureKey = ConvertTo-SecureString $storage.StorageKey -AsPlainText -Force
        $lab = New-FailoverLab -Vms DC0_H0_VM0 -BeforeProtection {
            param($vault)
            Set-DRChunkStore -Vault $vault -BlobContainer $container -AccountKey $secureKey -Confirm:$false
        }
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue' }
        $localStore = Join-Path (Split-Path $lab.Vault) 'vault.store'
        $spool = Join-Path (Split-Path $lab.Vault) 'vault.spool'
        $disk = Get-FlatFile $lab.Protected.StateDir DC0_H0_VM0
        Write-DiskBytes $disk 3MB 1MB 100
        $hashA = Get-DiskHash $disk $capacity
        $pointA = (Sync-VmReplication -ProtectionGroup erp).Point
        Write-DiskBytes $disk 5MB 2MB 101 # the guest writes between the cycles
        $hashB = Get-DiskHash $disk $capacity
        $pointB = (Sync-VmReplication -ProtectionGroup erp).Point
    }
    AfterAll {
        Remove-FailoverLab $lab
        Stop-Azurite
        Remove-Item $azuriteDir -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'shows the container it uses, and that it holds a key, never the key' {
        $setting = Get-DRChunkStore
        $setting.Kind | Should -Be 'AzureBlob'
        $setting.Location | Should -Be $container
        $setting.Authentication | Should -Be 'SharedKey'
        $setting.HasSecret | Should -BeTrue
        ($setting | Format-List * | Out-String) | Should -Not -Match ([regex]::Escape($storage.StorageKey))
        ($setting | Out-String) | Should -Match 'AzureBlob\s+SharedKey\s+True\s+http://127\.0\.0\.1'
    }

    It 'commits both cycles with the chunks in the container and none in the local folder' {
        $pointA | Should -Not -BeNullOrEmpty
        $pointB | Should -Not -BeNullOrEmpty
        $pointA.RecoveryPointId | Should -Not -Be $pointB.RecoveryPointId
        $blobs = @(Get-TestAzureBlob $storage chunks)
        @($blobs | Where-Object Name -like 'chunks/*').Count | Should -BeGreaterThan 0
        $blobs.Name | Should -Contain "points/$($pointB.VmId)/$($pointB.RecoveryPointId)"
        Get-LocalFiles $localStore | Should -BeNullOrEmpty
        Get-LocalFiles $spool | Should -BeNullOrEmpty
    }

    It 'tests every point intact and exports each byte for byte as the disk was' {
        $checks = Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint | Test-RecoveryPoint
        $checks.Count | Should -BeGreaterOrEqual 2
        $checks.Intact | Should -Not -Contain $false
        $expected = @{ $pointA.RecoveryPointId = $hashA; $pointB.RecoveryPointId = $hashB }
        foreach ($point in $pointA, $pointB) {
            $image = $point | Export-RecoveryPoint -Destination (Join-Path (Split-Path $lab.Vault) "export-$($point.RecoveryPointId)")
            (Get-FileHash $image.FullName -Algorithm SHA256).Hash | Should -Be $expected[$point.RecoveryPointId]
        }
    }

    It 'drills to the second vSphere site from the container' {
        Import-TestPlan $lab erp @'
  - name: db
    vms:
      - name: DC0_H0_VM0
'@
        $job = Start-TestFailover -RecoveryPlan erp
        $job.State | Should -Be 'Succeeded' -Because $job.Error
        $step = $job.Steps | Where-Object Name -eq 'Recover DC0_H0_VM0'
        $step.Details['recoveryPointId'] | Should -Be $pointB.RecoveryPointId
        Get-DiskHash (Get-RecoveredFlatFile $lab $step.Details['recoveredName']) $capacity | Should -Be $hashB
        ($job | Stop-TestFailover).State | Should -Be 'Succeeded'
    }

    It 'spools a cycle while the storage is down and commits it with the next cycle after the restart' {
        Stop-Azurite
        Write-DiskBytes $disk 1MB 1MB 102
        $hashC = Get-DiskHash $disk $capacity
        $spooled = Sync-VmReplication -ProtectionGroup erp
        $spooled.Point | Should -BeNullOrEmpty
        $spooled.ChunksSpooled | Should -BeGreaterThan 0
        (Get-LocalFiles $spool).Count | Should -BeGreaterThan 0
        (Get-ProtectedVm DC0_H0_VM0).LastRecoveryPointId | Should -Be $pointB.RecoveryPointId

        Start-Azurite -Port $storage.Port
        $committed = Sync-VmReplication -ProtectionGroup erp
        $committed.Point | Should -Not -BeNullOrEmpty
        Get-LocalFiles $spool | Should -BeNullOrEmpty
        Get-LocalFiles $localStore | Should -BeNullOrEmpty
        $image = $committed.Point | Export-RecoveryPoint -Destination (Join-Path (Split-Path $lab.Vault) 'export-after-outage')
        (Get-FileHash $image.FullName -Algorithm SHA256).Hash | Should -Be $hashC
        ($committed.Point | Test-RecoveryPoint).Intact | Should -BeTrue
    }

    It 'runs a cycle started with -AsJob against the container too' {
        Write-DiskBytes $disk 7MB 512KB 103
        $job = Sync-VmReplication -ProtectionGroup erp -AsJob
        $null = $job | Wait-Job -Timeout 120 | Receive-Job
        $job.State | Should -Be 'Completed'
        $point = (Get-ProtectedVm DC0_H0_VM0).LastRecoveryPointId
        $point | Should -Not -Be $pointB.RecoveryPointId
        (Get-TestAzureBlob $storage chunks).Name | Should -Contain "points/$($pointB.VmId)/$point"
        Get-LocalFiles $localStore | Should -BeNullOrEmpty
        $job | Remove-Job
    }

    It 'never writes the key in plain text: not in the vault files, not in the output of a verbose run' {
        $run = Invoke-ChildPwsh -VaultPath $lab.Vault -Script @"
`$key = ConvertTo-SecureString '$($storage.StorageKey)' -AsPlainText -Force
Set-DRChunkStore -BlobContainer '$container' -AccountKey `$key -PassThru -Verbose -Confirm:`$false 4>&1 | Format-List *
Get-DRChunkStore -Verbose 4>&1 | Format-List *
"@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Text | Should -Match 'HasSecret\s*:\s*True'
        # The key was in the script itself; the output must not repeat it.
        $run.Text | Should -Not -Match ([regex]::Escape($storage.StorageKey))
        foreach ($file in Get-ChildItem (Split-Path $lab.Vault) -File) {
            $bytes = [IO.File]::ReadAllBytes($file.FullName)
            [Text.Encoding]::ASCII.GetString($bytes) | Should -Not -Match ([regex]::Escape($storage.StorageKey)) -Because $file.Name
            [Text.Encoding]::Unicode.GetString($bytes) | Should -Not -Match ([regex]::Escape($storage.StorageKey)) -Because $file.Name
        }
    }

    It 'refuses http to a host that is not loopback, and a URL that names no container, naming -BlobContainer' {
        foreach ($url in 'http://storage.example.com/drchunks/chunks', 'https://drstore.blob.core.windows.net/') {
            $refused = { Set-DRChunkStore -BlobContainer $url -AccountKey $secureKey -Force -Confirm:$false } |
                Should -Throw -ErrorId 'InvalidChunkStoreSetting,AzureSiteRecovery.DR.ChunkStore.SetDRChunkStoreCommand' -PassThru
            $refused.Exception.Setting | Should -Be 'BlobContainer'
            $refused.Exception.Message | Should -Match '-BlobContainer'
        }
        (Get-DRChunkStore).Location | Should -Be $container
    }

    It 'keeps the store of a vault with points unless -Force, and says the data is not moved' {
        $refused = { Set-DRChunkStore -LocalFolder -Confirm:$false } | Should -Throw -ErrorId 'ChunkStoreInUse,AzureSiteRecovery.DR.ChunkStore.SetDRChunkStoreCommand' -PassThru
        $refused.Exception.Message | Should -Match 'Copy-DRVault'
        (Get-DRChunkStore).Kind | Should -Be 'AzureBlob'
        Set-DRChunkStore -LocalFolder -WhatIf
        (Get-DRChunkStore).Kind | Should -Be 'AzureBlob'
    }
}

Describe 'Failover and failback of a VM whose points are in the container' {
    BeforeAll {
        Start-Azurite
        $container = "$($storage.BlobEndpoint)/failback"
        $secureKey = ConvertTo-SecureString $storage.StorageKey -AsPlainText -Force
        $lab = New-FailoverLab -Vms DC0_H0_VM0 -BeforeProtection {
            param($vault)
            Set-DRChunkStore -Vault $vault -BlobContainer $container -AccountKey $secureKey -Confirm:$false
        }
        $PSDefaultParameterValues = @{ '*:Vault' = $lab.Vault; '*:WarningAction' = 'SilentlyContinue'; '*:Confirm' = $false }
        $localStore = Join-Path (Split-Path $lab.Vault) 'vault.store'
        Import-TestPlan $lab erp @'
  - name: db
    vms:
      - name: DC0_H0_VM0
'@
    }
    AfterAll {
        Remove-FailoverLab $lab
        Stop-Azurite
        Remove-Item $azuriteDir -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'fails over, reprotects into the container and writes the recovered VM''s changes back to the original' {
        $job = Start-Failover -RecoveryPlan erp -Planned
        $job.State | Should -Be 'Succeeded' -Because $job.Error
        $source = Get-FlatFile $lab.Protected.StateDir DC0_H0_VM0
        $recovered = Get-RecoveredFlatFile $lab DC0_H0_VM0
        Get-DiskHash $recovered $capacity | Should -Be (Get-DiskHash $source $capacity)
        (Complete-Failover -RecoveryPlan erp).State | Should -Be 'Succeeded'

        Write-DiskBytes $recovered 4MB 1MB 41 # the VM works on the recovery site
        $wanted = Get-DiskHash $recovered $capacity
        $reprotect = Invoke-Reprotect -RecoveryPlan erp
        $reprotect.State | Should -Be 'Succeeded' -Because $reprotect.Error
        $failback = Invoke-Failback -RecoveryPlan erp
        $failback.State | Should -Be 'Succeeded' -Because $failback.Error

        Get-DiskHash $source $capacity | Should -Be $wanted
        (Get-ProtectedVm DC0_H0_VM0).State | Should -Be 'Protected'
        $points = @(Get-ProtectedVm DC0_H0_VM0 | Get-RecoveryPoint)
        $blobs = (Get-TestAzureBlob $storage failback).Name
        foreach ($point in $points) { $blobs | Should -Contain "points/$($point.VmId)/$($point.RecoveryPointId)" }
        Get-LocalFiles $localStore | Should -BeNullOrEmpty
    }
}
