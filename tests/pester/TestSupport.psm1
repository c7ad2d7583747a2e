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

# The disk bytes of a lab VM, written the way a guest would: straight into its flat file.
function Get-FlatFile([string] $StateDir, [string] $Vm) {
    Get-ChildItem (Join-Path $StateDir 'tmp') -Recurse -Filter 'disk1-flat.vmdk' | Where-Object { $_.Directory.Name -eq $Vm } | Select-Object -First 1 -ExpandProperty FullName
}
function Write-DiskBytes([string] $Path, [long] $Offset, [long] $Length, [int] $Seed) {
    $rng = [Random]::new($Seed)
    $stream = [IO.File]::Open($Path, 'Open', 'Write')
    try {
        [void]$stream.Seek($Offset, 'Begin')
        $block = [byte[]]::new(4MB)
        for ($done = 0L; $done -lt $Length; $done += $block.Length) {
            $rng.NextBytes($block)
            $stream.Write($block, 0, [Math]::Min($block.Length, $Length - $done))
        }
    }
    finally { $stream.Dispose() }
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

Export-ModuleMember -Function Get-FlatFile, Write-DiskBytes, Get-DiskHash, Start-TestVcsim, Stop-TestVcsim, Add-TestProtectedVm, New-TestVaultPath, Remove-TestVault, Get-ChildPwshCommand, Invoke-ChildPwsh, Start-ChildPwsh, New-TestCredential
