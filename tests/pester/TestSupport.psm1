# Shared by the Pester suites: fresh vaults and child pwsh processes running the built module.

function New-TestVaultPath {
    Join-Path ([IO.Path]::GetTempPath()) "azsr-dr-test-$([guid]::NewGuid().ToString('n'))/vault.db"
}

function Remove-TestVault([string] $VaultPath) {
    if ($VaultPath) { Remove-Item (Split-Path $VaultPath) -Recurse -Force -ErrorAction SilentlyContinue }
}

# The command line that starts a pwsh like the one running the tests (set by build.ps1).
function Get-ChildPwshCommand {
    if (-not $env:AZSR_DR_PWSH) { throw 'AZSR_DR_PWSH is not set: run the suites through build.ps1 -Task Test.' }
    @(ConvertFrom-Json $env:AZSR_DR_PWSH)
}

# The arguments that make a new pwsh run a script, with the built module imported unless -NoImport.
function Get-ChildPwshArguments {
    param([Parameter(Mandatory)][string] $Script, [string] $VaultPath, [switch] $NoImport)
    # Plain text: the tests read what a user reads, without terminal colour codes.
    $prelude = "`$PSStyle.OutputRendering = 'PlainText'`n"
    if (-not $NoImport) { $prelude += "Import-Module '$env:AZSR_DR_TEST_MODULE'`n" }
    if ($VaultPath) { $prelude = "`$env:AZSR_DR_VAULT = '$VaultPath'`n" + $prelude }
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($prelude + $Script))
    @(Get-ChildPwshCommand | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)
}

# Runs a script in a new pwsh and waits; returns every stream as text lines and the exit code.
function Invoke-ChildPwsh {
    param([Parameter(Mandatory)][string] $Script, [string] $VaultPath, [switch] $NoImport)
    $arguments = Get-ChildPwshArguments -Script $Script -VaultPath $VaultPath -NoImport:$NoImport
    $output = & (Get-ChildPwshCommand)[0] @arguments 2>&1 | ForEach-Object { "$_" }
    [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = @($output); Text = ($output -join "`n") }
}

# Starts a script in a new pwsh without waiting; the caller waits on the returned process.
function Start-ChildPwsh {
    param([Parameter(Mandatory)][string] $Script, [string] $VaultPath, [Parameter(Mandatory)][string] $OutputPath)
    $arguments = Get-ChildPwshArguments -Script $Script -VaultPath $VaultPath
    Start-Process -FilePath (Get-ChildPwshCommand)[0] -ArgumentList $arguments -PassThru -RedirectStandardOutput $OutputPath -RedirectStandardError "$OutputPath.err"
}

# Starts a script in a new pwsh, waits until $Until returns something (the moment to kill), then kills it with SIGKILL.
# Fails when the child ended by itself first: the kill must land while it runs.
function Invoke-ChildPwshKilled {
    param([Parameter(Mandatory)][string] $Script, [string] $VaultPath, [Parameter(Mandatory)][string] $OutputPath,
        [Parameter(Mandatory)][scriptblock] $Until, [int] $TimeoutSeconds = 60)
    $child = Start-ChildPwsh -Script $Script -VaultPath $VaultPath -OutputPath $OutputPath
    try {
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
        while (-not $child.HasExited -and [DateTime]::UtcNow -lt $deadline -and -not (& $Until)) { Start-Sleep -Milliseconds 50 }
        $child.HasExited | Should -BeFalse -Because "it must still run when it is killed: $(Get-Content "$OutputPath.err" -Raw)"
    }
    finally {
        if (-not $child.HasExited) { & kill -9 $child.Id }
        $child.WaitForExit()
    }
}

function New-TestCredential([string] $UserName = 'administrator@vsphere.local', [string] $Password = 'S3cret!pass') {
    [pscredential]::new($UserName, (ConvertTo-SecureString $Password -AsPlainText -Force))
}

# Puts a protected VM row straight into the vault, through the module's own SQLite library:
# Enable-VmProtection arrives with replication; until then this is how a group gets a member.
function Add-TestProtectedVm {
    param([Parameter(Mandatory)][string] $VaultPath, [Parameter(Mandatory)][string] $Group, [Parameter(Mandatory)][string] $Name)
    $sqlite = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Microsoft.Data.Sqlite' } | Select-Object -First 1
    if (-not $sqlite) { throw 'Microsoft.Data.Sqlite is not loaded yet: use the vault through a cmdlet first.' }
    $connection = [Activator]::CreateInstance($sqlite.GetType('Microsoft.Data.Sqlite.SqliteConnection'), @("Data Source=$VaultPath"))
    try {
        $connection.Open()
        $command = $connection.CreateCommand()
        $command.CommandText = "INSERT INTO protected_vms (id, name, group_name, site, moref, created_unix_ms, modified_unix_ms)
            SELECT '$([guid]::NewGuid())', '$Name', name, protected_site, 'moref-$Name', 0, 0 FROM protection_groups WHERE name = '$Group'"
        if ($command.ExecuteNonQuery() -ne 1) { throw "No protection group '$Group'." }
    }
    finally { $connection.Dispose() }
}

# Gives protected VMs of the vault a recovery point, as a finished replication cycle would.
function Add-TestRecoveryPoint([string] $VaultPath, [string[]] $Name) {
    foreach ($vm in $Name) {
        $now = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
        Invoke-VaultSql $VaultPath "INSERT INTO recovery_points (id, vm_id, time_unix_ms, consistency, size_bytes, changed_bytes, stored_bytes, chunk_count, manifest_key)
            SELECT 'rp-' || id, id, $now, 'CrashConsistent', 0, 0, 0, 0, 'manifests/' || id FROM protected_vms WHERE name = '$vm';
            UPDATE protected_vms SET state = 'Protected', last_point_id = 'rp-' || id, last_point_unix_ms = $now WHERE name = '$vm';" | Out-Null
    }
}

# Runs one SQL statement on the vault file through the module's own SQLite library (to play a changed
# world, e.g. another instanceUuid recorded); returns the first column of the first row, or the rows changed.
function Invoke-VaultSql {
    param([Parameter(Mandatory)][string] $VaultPath, [Parameter(Mandatory)][string] $Sql, [switch] $Scalar, [hashtable] $Parameters = @{})
    $sqlite = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Microsoft.Data.Sqlite' } | Select-Object -First 1
    if (-not $sqlite) { throw 'Microsoft.Data.Sqlite is not loaded yet: use the vault through a cmdlet first.' }
    $connection = [Activator]::CreateInstance($sqlite.GetType('Microsoft.Data.Sqlite.SqliteConnection'), @("Data Source=$VaultPath;Pooling=False"))
    try {
        $connection.Open()
        $command = $connection.CreateCommand()
        $command.CommandText = $Sql
        foreach ($name in $Parameters.Keys) { [void]$command.Parameters.AddWithValue($name, $Parameters[$name]) }
        if ($Scalar) { $command.ExecuteScalar() } else { $command.ExecuteNonQuery() }
    }
    finally { $connection.Dispose() }
}

# The disk bytes of a lab VM, written the way a guest would: straight into its flat file.
function Get-FlatFile([string] $StateDir, [string] $Vm) {
    Get-ChildItem (Join-Path $StateDir 'tmp') -Recurse -Filter 'disk1-flat.vmdk' | Where-Object { $_.Directory.Name -eq $Vm } | Select-Object -First 1 -ExpandProperty FullName
}
function Write-DiskBytes([string] $Path, [long] $Offset, [long] $Length, [int] $Seed) {
    $rng = [Random]::new($Seed)
    $stream = [IO.File]::Open($Path, 'Open', 'Write')
    try {
        [void]$stream.Seek($Offset, 'Begin')
        # At most 4 MiB at a time; no more than asked for (random bytes cost CPU: a guest writer calls this every few seconds).
        $block = [byte[]]::new([Math]::Min(4MB, [Math]::Max(1, $Length)))
        for ($done = 0L; $done -lt $Length; $done += $block.Length) {
            $rng.NextBytes($block)
            $stream.Write($block, 0, [Math]::Min($block.Length, $Length - $done))
        }
    }
    finally { $stream.Dispose() }
}
# What a guest does between cycles: $Count extents of 64 KiB-1 MiB at random 4 KiB-aligned offsets of the disk rewritten ($Rng: the same seed, the same writes).
function Write-GuestChanges([string] $Disk, [long] $Capacity, [int] $Count, [Random] $Rng) {
    for ($i = 0; $i -lt $Count; $i++) {
        $length = (1 + $Rng.Next(16)) * 64KB
        $offset = [long]($Rng.NextDouble() * ($Capacity - $length)) -band -4096
        Write-DiskBytes $Disk $offset $length ($Rng.Next())
    }
}
# SHA-256 of the disk as the VM sees it: the flat file, zero-filled up to the capacity.
function Get-DiskHash([string] $Path, [long] $Capacity) {
    $sha = [Security.Cryptography.IncrementalHash]::CreateHash('SHA256')
    $data = [IO.File]::ReadAllBytes($Path)
    $sha.AppendData($data, 0, [Math]::Min($data.Length, $Capacity))
    if ($data.Length -lt $Capacity) { $sha.AppendData([byte[]]::new($Capacity - $data.Length)) }
    [Convert]::ToHexString($sha.GetHashAndReset())
}

# Starts a vcsim of the lab (tests/lab/lab.sh: our build, 127.0.0.1, a free port); stop it with Stop-TestVcsim.
function Start-TestVcsim {
    param([string[]] $Arguments = @())
    $stateDir = Join-Path ([IO.Path]::GetTempPath()) "azsr-dr-vcsim-$([guid]::NewGuid().ToString('n'))"
    $lab = Join-Path $PSScriptRoot '../lab/lab.sh'
    $url = & bash $lab start-vcsim $stateDir @Arguments
    if ($LASTEXITCODE -ne 0) { throw "lab.sh start-vcsim failed ($LASTEXITCODE): $url" }
    [pscustomobject]@{ Url = "$url".Trim(); StateDir = $stateDir; Pid = [int](Get-Content (Join-Path $stateDir 'vcsim.pid')) }
}

function Stop-TestVcsim {
    param([Parameter(ValueFromPipeline)] $Lab)
    process {
        if ($Lab) {
            & bash (Join-Path $PSScriptRoot '../lab/lab.sh') stop $Lab.StateDir | Out-Null
            Remove-Item $Lab.StateDir -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
}

# Two vcsims (protected, recovery with the test network DC0_DVPG1), a fresh vault with both sites,
# and the given VMs protected in group erp with data written into their disks first. $ProtectedArguments and
# $RecoveryArguments go to the two vcsims (e.g. -ranged-put=false: the protected site's datastore takes no ranged writes, as vSphere).
# $BeforeProtection runs with the vault path before the VMs are protected (e.g. Set-DRChunkStore).
function New-FailoverLab {
    param([string[]] $Vms, [string[]] $RecoveryArguments = @(), [string[]] $ProtectedArguments = @(), [int] $DiskMb = 8, [string] $GuestBoot = '500ms',
        [scriptblock] $BeforeProtection)
    $cred = New-TestCredential
    $lab = [pscustomobject]@{ Protected = $null; Recovery = $null; Vault = New-TestVaultPath }
    $lab.Protected = Start-TestVcsim -Arguments (@('-disk-mb', $DiskMb, '-guest-boot', $GuestBoot) + $ProtectedArguments)
    $lab.Recovery = Start-TestVcsim -Arguments (@('-disk-mb', $DiskMb, '-pg', '2', '-guest-boot', $GuestBoot) + $RecoveryArguments)
    $vault = @{ Vault = $lab.Vault; WarningAction = 'SilentlyContinue' }
    New-DRSite @vault -Name onprem -VSphere -Server $lab.Protected.Url -Credential $cred -Role Protected -SkipCertificateCheck | Out-Null
    New-DRSite @vault -Name dr -VSphere -Server $lab.Recovery.Url -Credential $cred -Role Recovery -SkipCertificateCheck | Out-Null
    New-ReplicationPolicy @vault -Name gold | Out-Null
    New-ProtectionGroup @vault -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold | Out-Null
    $seed = 1
    foreach ($vm in $Vms) { Write-DiskBytes (Get-FlatFile $lab.Protected.StateDir $vm) 1MB 2MB ($seed++) }
    if ($BeforeProtection) { & $BeforeProtection $lab.Vault }
    Get-DRVm @vault -Site onprem -Name $Vms | Enable-VmProtection @vault -ProtectionGroup erp | Out-Null
    $lab
}
function Remove-FailoverLab($Lab) {
    if ($Lab) {
        $Lab.Protected, $Lab.Recovery | Stop-TestVcsim
        Remove-TestVault $Lab.Vault
    }
}

# A plan over the lab's two sites; $Groups is the YAML of its groups (indented by 2). DC0_DVPG0
# fails over to $RecoveryNetwork.
function Import-TestPlan($Lab, [string] $Name, [string] $Groups, [string] $RecoveryNetwork = 'DC0_DVPG0') {
    $path = Join-Path (Split-Path $Lab.Vault) "$Name.yaml"
    @"
name: $Name
protectedSite: onprem
recoverySite: dr
networkMappings:
  - sourceNetwork: VM Network
    recoveryNetwork: VM Network
    testNetwork: DC0_DVPG1
  - sourceNetwork: DC0_DVPG0
    recoveryNetwork: $RecoveryNetwork
    testNetwork: DC0_DVPG1
groups:
$Groups
"@ | Set-Content -LiteralPath $path
    Import-RecoveryPlan -Vault $Lab.Vault -Path $path | Out-Null
}

# What is on the recovery site, seen independently of the job: every VM vCenter lists (with the
# azsr-dr.* extraConfig of each, read VM by VM) and every file and folder of its datastores.
function Get-RecoverySiteState($Lab) {
    $cred = New-TestCredential
    $vms = @(Get-DRVm -Vault $Lab.Vault -Site dr)
    $core = $vms[0].GetType().Assembly
    $endpoint = $core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereEndpoint')::new([uri]$Lab.Recovery.Url, $cred.UserName, $cred.GetNetworkCredential().Password, $null, $true)
    $client = $core.GetType('AzureSiteRecovery.DR.Core.Sites.VSphere.VSphereClient')::ConnectAsync($endpoint, 'dr', [Threading.CancellationToken]::None).GetAwaiter().GetResult()
    try {
        $tagged = foreach ($vm in $vms) {
            $config = $client.GetExtraConfigAsync($vm.MoRef, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
            $keys = @($config.Keys | Where-Object { $_ -like 'azsr-dr.*' } | Sort-Object)
            if ($keys) {
                $tags = [ordered]@{}
                foreach ($key in $keys) { $tags[$key] = $config[$key] }
                [pscustomobject]@{ Name = $vm.Name; MoRef = $vm.MoRef; Tags = @($keys | ForEach-Object { "$_=$($tags[$_])" }) -join ', '; Config = $tags }
            }
        }
    }
    finally { $client.Dispose() }
    $root = Join-Path $Lab.Recovery.StateDir 'tmp'
    [pscustomobject]@{
        VmNames = @($vms.Name | Sort-Object)
        Tagged  = @($tagged)
        Files   = @(Get-ChildItem $root -Recurse | ForEach-Object { [IO.Path]::GetRelativePath($root, $_.FullName) } | Sort-Object)
    }
}
# Nothing of a test is left: the same VMs and datastore files as before it, no VM tagged by us, no *-drtest-* VM, folder or file.
function Assert-NothingLeft($Lab, $Before, [string] $Because) {
    $after = Get-RecoverySiteState $Lab
    $after.Tagged | Should -BeNullOrEmpty -Because $Because
    $after.VmNames -like '*-drtest-*' | Should -BeNullOrEmpty -Because $Because
    $after.Files -like '*-drtest-*' | Should -BeNullOrEmpty -Because $Because
    $after.VmNames.Count | Should -Be $Before.VmNames.Count -Because $Because
    $after.VmNames | Should -Be $Before.VmNames -Because $Because
    $after.Files | Should -Be $Before.Files -Because $Because
}

# The flat file of a VM the recovery vcsim created (named after the VM, unlike the lab's own disk1-flat.vmdk).
function Get-RecoveredFlatFile($Lab, [string] $Name) {
    $files = @(Get-ChildItem (Join-Path $Lab.Recovery.StateDir 'tmp') -Recurse -Filter "$Name-flat.vmdk" | Where-Object { $_.Directory.Name -eq $Name })
    if ($files.Count -ne 1) { throw "$($files.Count) flat files of VM '$Name' on the recovery datastore, not 1: $($files.FullName -join ', ')" }
    $files[0].FullName
}

# Azure as the recovery site, in the lab: Azurite with storage account drreplica (a fresh key), the lab ARM
# over it (tests/lab/arm: subscription, resource group rg-dr, westeurope, the virtual networks $Vnets, the VM
# agent Ready) and its managed-identity endpoint (IDENTITY_ENDPOINT/IDENTITY_HEADER for a child pwsh: the
# default sign-in). All on 127.0.0.1 with ports the OS picks; stop it with Stop-TestAzureLab.
function Start-TestAzureLab {
    param([string[]] $ArmArguments = @(), [string[]] $Vnets = @('dr-vnet:default', 'dr-test:test'),
        [string] $StateDir = (Join-Path ([IO.Path]::GetTempPath()) "azsr-dr-azure-$([guid]::NewGuid().ToString('n'))"))
    $key = [Convert]::ToBase64String([Security.Cryptography.RandomNumberGenerator]::GetBytes(64))
    $lab = [pscustomobject]@{
        StateDir = $stateDir; SubscriptionId = '00000000-0000-0000-0000-0000000000aa'; ResourceGroup = 'rg-dr'; Location = 'westeurope'
        StorageAccount = 'drreplica'; StorageKey = $key; BlobEndpoint = $null; ArmUrl = $null; Thumbprint = $null; IdentityEndpoint = $null; IdentityHeader = $null
    }
    $labRoot = Join-Path $PSScriptRoot '../lab'
    $saved = $env:AZURITE_ACCOUNTS
    try {
        $env:AZURITE_ACCOUNTS = "$($lab.StorageAccount):$key"
        $url = & bash (Join-Path $labRoot 'azurite/azurite.sh') start (Join-Path $stateDir 'azurite')
        if ($LASTEXITCODE -ne 0) { throw "azurite.sh start failed ($LASTEXITCODE): $url" }
        $lab.BlobEndpoint = ([uri]"$(@($url)[-1])".Trim()).GetLeftPart('Authority') + "/$($lab.StorageAccount)"
        $arm = Join-Path $labRoot 'arm/arm.sh'
        $flags = @('--subscription', $lab.SubscriptionId, '--resource-group', $lab.ResourceGroup, '--location', $lab.Location,
            '--storage-account', "$($lab.StorageAccount),$($lab.BlobEndpoint),$key", '--vm-agent', '--boot-delay', '0.3')
        foreach ($vnet in $Vnets) { $flags += '--vnet', $vnet }
        $url = & bash $arm start (Join-Path $stateDir 'arm') @flags @ArmArguments
        if ($LASTEXITCODE -ne 0) { throw "arm.sh start failed ($LASTEXITCODE): $url" }
        $lab.ArmUrl = "$(@($url)[-1])".Trim()
        $lab.Thumbprint = (Get-Content (Join-Path $stateDir 'arm/arm.thumbprint') -Raw).Trim()
        $url = & bash $arm start-identity (Join-Path $stateDir 'arm')
        if ($LASTEXITCODE -ne 0) { throw "arm.sh start-identity failed ($LASTEXITCODE): $url" }
        $lab.IdentityEndpoint = "$(@($url)[-1])".Trim()
        $lab.IdentityHeader = (Get-Content (Join-Path $stateDir 'arm/identity.header') -Raw).Trim()
    }
    catch {
        Stop-TestAzureLab $lab
        throw
    }
    finally { $env:AZURITE_ACCOUNTS = $saved }
    $lab
}

function Stop-TestAzureLab {
    param([Parameter(ValueFromPipeline)] $Lab)
    process {
        if ($Lab) {
            $labRoot = Join-Path $PSScriptRoot '../lab'
            & bash (Join-Path $labRoot 'arm/arm.sh') stop (Join-Path $Lab.StateDir 'arm') *> $null
            & bash (Join-Path $labRoot 'azurite/azurite.sh') stop (Join-Path $Lab.StateDir 'azurite') *> $null
            Remove-Item $Lab.StateDir -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
}

# The lines a child pwsh script starts with to sign in as the lab's managed identity (as Azure Automation sets them).
function Get-TestAzureIdentityPrelude($Lab) {
    "`$env:IDENTITY_ENDPOINT = '$($Lab.IdentityEndpoint)'`n`$env:IDENTITY_HEADER = '$($Lab.IdentityHeader)'`n"
}

# GET /lab/{resources|requests|violations} of the lab ARM (loopback, no secret: its self-signed certificate is not checked here).
function Get-TestAzureLabState($Lab, [ValidateSet('resources', 'requests', 'violations')][string] $What = 'resources') {
    @(Invoke-RestMethod -Uri "$($Lab.ArmUrl.TrimEnd('/'))/lab/$What" -SkipCertificateCheck) | ForEach-Object { $_ }
}

# The lab ARM's resources tagged with a job (azsr-dr.job), or with any azsr-dr tag.
function Get-TestAzureTagged($Lab, [string] $JobId) {
    Get-TestAzureLabState $Lab resources | Where-Object {
        $tags = $_.tags
        $tags -and ($(if ($JobId) { $tags.'azsr-dr.job' -eq $JobId } else { $tags.'azsr-dr.job' }))
    }
}

# A token of the lab's managed identity, for the few ARM calls a test makes itself.
function Get-TestAzureToken($Lab) {
    $uri = "$($Lab.IdentityEndpoint)?api-version=2019-08-01&resource=$([uri]::EscapeDataString('https://management.azure.com/'))"
    (Invoke-RestMethod -Uri $uri -Headers @{ 'X-IDENTITY-HEADER' = $Lab.IdentityHeader }).access_token
}

# The bytes of a managed disk (the whole VHD: disk and footer) through a read SAS. Azure grants none on the disk of a running
# VM (409 Conflict), so, as an admin would: a snapshot of the disk (Copy), beginGetAccess Read on it, download, endGetAccess,
# and the snapshot deleted.
function Read-TestManagedDisk($Lab, [string] $DiskId) {
    $headers = @{ Authorization = "Bearer $(Get-TestAzureToken $Lab)" }
    $arm = $Lab.ArmUrl.TrimEnd('/')
    $snapshot = "/subscriptions/$($Lab.SubscriptionId)/resourceGroups/$($Lab.ResourceGroup)/providers/Microsoft.Compute/snapshots/read-$([guid]::NewGuid().ToString('n').Substring(0, 12))"
    $body = @{ location = $Lab.Location; properties = @{ creationData = @{ createOption = 'Copy'; sourceResourceId = $DiskId } } } | ConvertTo-Json -Depth 4
    Invoke-RestMethod -Method Put -Uri "$arm$snapshot`?api-version=2023-04-02" -Headers $headers -SkipCertificateCheck -ContentType 'application/json' -Body $body | Out-Null
    try {
        $grant = Invoke-RestMethod -Method Post -Uri "$arm$snapshot/beginGetAccess?api-version=2023-04-02" -Headers $headers -SkipCertificateCheck `
            -ContentType 'application/json' -Body '{"access":"Read","durationInSeconds":3600}'
        try {
            $sas = if ($grant.accessSAS) { $grant.accessSAS } else { $grant.properties.output.accessSAS }
            $http = [Net.Http.HttpClient]::new()
            # The comma keeps the bytes one array (not 16 million pipeline objects).
            try { , $http.GetByteArrayAsync($sas).GetAwaiter().GetResult() } finally { $http.Dispose() }
        }
        finally {
            Invoke-RestMethod -Method Post -Uri "$arm$snapshot/endGetAccess?api-version=2023-04-02" -Headers $headers -SkipCertificateCheck | Out-Null
        }
    }
    finally {
        Invoke-RestMethod -Method Delete -Uri "$arm$snapshot`?api-version=2023-04-02" -Headers $headers -SkipCertificateCheck | Out-Null
    }
}

# An account SAS (read, list unless -Permissions says otherwise, e.g. 'rwlc') for the lab's storage account, computed here from its key (sv 2019-12-12).
function Get-TestAzuriteSas($Lab, [string] $Permissions = 'rl') {
    $expiry = [DateTime]::UtcNow.AddHours(1).ToString('yyyy-MM-ddTHH:mm:ssZ')
    $toSign = "$($Lab.StorageAccount)`n$Permissions`nb`nsco`n`n$expiry`n`n`n2019-12-12`n"
    $hmac = [Security.Cryptography.HMACSHA256]::new([Convert]::FromBase64String($Lab.StorageKey))
    try { $signature = [Convert]::ToBase64String($hmac.ComputeHash([Text.Encoding]::UTF8.GetBytes($toSign))) } finally { $hmac.Dispose() }
    "sv=2019-12-12&ss=b&srt=sco&sp=$Permissions&se=$([uri]::EscapeDataString($expiry))&sig=$([uri]::EscapeDataString($signature))"
}

# The blobs of a container of the lab's storage account (snapshots too, with -Snapshots), as Name, Snapshot, Metadata; none when the container is missing.
function Get-TestAzureBlob($Lab, [string] $Container, [switch] $Snapshots) {
    $include = if ($Snapshots) { '&include=snapshots,metadata' } else { '&include=metadata' }
    $response = Invoke-WebRequest -Uri "$($Lab.BlobEndpoint)/$Container`?restype=container&comp=list$include&$(Get-TestAzuriteSas $Lab)" -SkipHttpErrorCheck
    if ($response.StatusCode -eq 404) { return }
    if ($response.StatusCode -ne 200) { throw "Listing container $Container answered $($response.StatusCode): $($response.Content)" }
    $text = $response.Content -replace '^\uFEFF', ''
    foreach ($blob in ([xml]$text).EnumerationResults.Blobs.Blob) {
        $metadata = @{}
        if ($blob.Metadata) { foreach ($m in $blob.Metadata.ChildNodes) { $metadata[$m.Name] = $m.InnerText } }
        [pscustomobject]@{ Name = $blob.Name; Snapshot = $blob.Snapshot; Metadata = $metadata }
    }
}

# The bytes of a blob (or of one of its snapshots) of the lab's storage account.
function Read-TestAzureBlob($Lab, [string] $Container, [string] $Name, [string] $Snapshot) {
    $uri = "$($Lab.BlobEndpoint)/$Container/$Name`?$(Get-TestAzuriteSas $Lab)"
    if ($Snapshot) { $uri += "&snapshot=$([uri]::EscapeDataString($Snapshot))" }
    $http = [Net.Http.HttpClient]::new()
    try { , $http.GetByteArrayAsync($uri).GetAwaiter().GetResult() } finally { $http.Dispose() }
}

# What is wrong with a fixed VHD (disk bytes then the 512-byte footer) of a disk of $Capacity bytes, checked here
# independently of the module (VHD spec: big-endian fields, one's-complement checksum); nothing when it is valid.
function Get-VhdProblem([byte[]] $Vhd, [long] $Capacity) {
    $size = [long]([Math]::Ceiling($Capacity / 1MB)) * 1MB
    if ($Vhd.Length -ne $size + 512) { return "the blob has $($Vhd.Length) bytes, not $($size + 512) (the disk rounded up to a whole MiB plus the footer)" }
    $footer = [byte[]]$Vhd[$size..($size + 511)]
    function BigEndian([int] $Offset, [int] $Count) { $v = [uint64]0; for ($i = 0; $i -lt $Count; $i++) { $v = ($v -shl 8) -bor $footer[$Offset + $i] }; $v }
    if ([Text.Encoding]::ASCII.GetString($footer, 0, 8) -ne 'conectix') { 'cookie is not conectix' }
    if ((BigEndian 60 4) -ne 2) { "disk type $(BigEndian 60 4), not 2 (fixed)" }
    if ((BigEndian 48 8) -ne $size) { "current size $(BigEndian 48 8), not $size" }
    $sum = [uint32]0
    for ($i = 0; $i -lt 512; $i++) { if ($i -lt 64 -or $i -ge 68) { $sum = [uint32](($sum + $footer[$i]) % 4294967296) } }
    if ((BigEndian 64 4) -ne (-bnot $sum -band 0xFFFFFFFF)) { 'checksum does not match' }
}

# SHA-256 of the first $Capacity bytes of a VHD (the disk as the guest sees it), comparable with Get-DiskHash.
function Get-VhdDiskHash([byte[]] $Vhd, [long] $Capacity) {
    $sha = [Security.Cryptography.IncrementalHash]::CreateHash('SHA256')
    $sha.AppendData($Vhd, 0, $Capacity)
    [Convert]::ToHexString($sha.GetHashAndReset())
}

# An HTTP server on 127.0.0.1 (what recovered guests serve: the lab reports their address as 127.0.0.1) answering every
# request with 200, served on its own runspace; .Port is its port. Stop it with Stop-TestHttpServer.
function Start-TestHttpServer {
    $listener = [Net.HttpListener]::new()
    $port = Get-Random -Minimum 20000 -Maximum 60000
    $listener.Prefixes.Add("http://127.0.0.1:$port/"); $listener.Start()
    $shell = [powershell]::Create().AddScript({
        param($listener)
        while ($listener.IsListening) {
            try { $context = $listener.GetContext() } catch { break }
            $context.Response.StatusCode = 200
            $context.Response.Close()
        }
    }).AddArgument($listener)
    [void]$shell.BeginInvoke()
    [pscustomobject]@{ Port = $port; Listener = $listener; Shell = $shell }
}

function Stop-TestHttpServer($Server) {
    if ($Server) {
        $Server.Listener.Stop(); $Server.Listener.Close()
        $Server.Shell.Dispose()
    }
}

# A drfaultproxy of the lab (tests/lab/lab.sh start-proxy: 127.0.0.1, a free port) in front of one upstream server, for
# sites reached over a faulty network; stop it with Stop-TestFaultProxy. -Upstream is host:port or a URL (its host:port is
# taken); -Mode tcp passes TLS through (the server's own certificate: sites use -SkipCertificateCheck), https terminates
# it with the proxy's certificate (.Thumbprint). The object: .Address (host:port), .Url('/sdk') (a URL through the
# proxy), .ControlUrl, .StateDir, .Pid. Faults start off unless -Arguments sets them (e.g. '-cut', '0.1').
function Start-TestFaultProxy {
    param([Parameter(Mandatory)][string] $Upstream, [ValidateSet('tcp', 'http', 'https')][string] $Mode = 'tcp', [string[]] $Arguments = @())
    if ($Upstream -match '://') { $Upstream = ([uri]$Upstream).Authority }
    $stateDir = Join-Path ([IO.Path]::GetTempPath()) "azsr-dr-proxy-$([guid]::NewGuid().ToString('n'))"
    $address = & bash (Join-Path $PSScriptRoot '../lab/lab.sh') start-proxy $stateDir -upstream $Upstream -mode $Mode @Arguments
    if ($LASTEXITCODE -ne 0) { throw "lab.sh start-proxy failed ($LASTEXITCODE) for upstream $Upstream`: $address" }
    $thumbprint = Join-Path $stateDir 'proxy.thumbprint'
    $proxy = [pscustomobject]@{
        Address    = "$address".Trim()
        Upstream   = $Upstream
        Mode       = $Mode
        StateDir   = $stateDir
        ControlUrl = (Get-Content -Raw (Join-Path $stateDir 'proxy.control')).Trim()
        Thumbprint = if (Test-Path $thumbprint) { (Get-Content -Raw $thumbprint).Trim() } else { $null }
        Pid        = [int](Get-Content (Join-Path $stateDir 'proxy.pid'))
    }
    $proxy | Add-Member -MemberType ScriptMethod -Name Url -Value {
        param([string] $Path = '/sdk')
        "$(if ($this.Mode -eq 'http') { 'http' } else { 'https' })://$($this.Address)$Path"
    }
    $proxy
}

# Changes the proxy's faults (PUT /faults): keys as tests/lab/README.md lists them (cut, stall, http503, maxBytes, stallForMs,
# retryAfterSeconds, cutAtTotalBytes); keys left out keep their value. Returns the faults now in force.
function Set-TestFaults {
    param([Parameter(Mandatory, Position = 0)] $Proxy, [Parameter(Mandatory, Position = 1)][hashtable] $Faults)
    Invoke-RestMethod -Method Put -Uri "$($Proxy.ControlUrl)/faults" -Body ($Faults | ConvertTo-Json -Compress) -ContentType 'application/json'
}

# What the proxy did since it started (GET /stats): connections, active, cuts, stalls, answered503, requests, bytesUp, bytesDown.
function Get-TestFaultStats {
    param([Parameter(Mandatory, Position = 0)] $Proxy)
    Invoke-RestMethod -Uri "$($Proxy.ControlUrl)/stats"
}

function Stop-TestFaultProxy {
    param([Parameter(ValueFromPipeline, Position = 0)] $Proxy)
    process {
        if ($Proxy) {
            & bash (Join-Path $PSScriptRoot '../lab/lab.sh') stop $Proxy.StateDir | Out-Null
            Remove-Item $Proxy.StateDir -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
}

Export-ModuleMember -Function Add-TestRecoveryPoint, Invoke-VaultSql, Invoke-ChildPwshKilled, Get-FlatFile, Write-DiskBytes, Write-GuestChanges, Get-DiskHash, Start-TestVcsim, Stop-TestVcsim, Add-TestProtectedVm, New-TestVaultPath, Remove-TestVault, Get-ChildPwshCommand, Invoke-ChildPwsh, Start-ChildPwsh, New-TestCredential,
    New-FailoverLab, Remove-FailoverLab, Import-TestPlan, Get-RecoverySiteState, Assert-NothingLeft, Get-RecoveredFlatFile,
    Start-TestAzureLab, Stop-TestAzureLab, Get-TestAzureIdentityPrelude, Get-TestAzureLabState, Get-TestAzureTagged, Get-TestAzureToken, Read-TestManagedDisk,
    Get-TestAzuriteSas, Get-TestAzureBlob, Read-TestAzureBlob, Get-VhdProblem, Get-VhdDiskHash, Start-TestHttpServer, Stop-TestHttpServer,
    Start-TestFaultProxy, Set-TestFaults, Get-TestFaultStats, Stop-TestFaultProxy
