BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
}

Describe 'A session that already loaded other versions of our dependencies' -Skip:($PSVersionTable.PSEdition -ne 'Core') {
    BeforeAll {
        $packages = Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages'
        $olderSqlite = Join-Path $packages 'microsoft.data.sqlite.core/8.0.30/lib/net8.0/Microsoft.Data.Sqlite.dll'
        $olderPclRaw = Join-Path $packages 'sqlitepclraw.core/2.0.6/lib/netstandard2.0/SQLitePCLRaw.core.dll'
        $olderYaml = Join-Path $packages 'yamldotnet/13.7.1/lib/netstandard2.0/YamlDotNet.dll'
        $plan = Join-Path (Split-Path $env:AZSR_DR_TEST_MODULE) 'Examples/erp.plan.yaml'
        $vault = New-TestVaultPath
        # The older versions go into the default load context first, as another module (Az.Accounts) would.
        $run = Invoke-ChildPwsh -NoImport -VaultPath $vault -Script @"
`$ErrorActionPreference = 'Stop'
[void][Reflection.Assembly]::LoadFrom('$olderPclRaw')
[void][Reflection.Assembly]::LoadFrom('$olderSqlite')
[void][Reflection.Assembly]::LoadFrom('$olderYaml')
Import-Module '$env:AZSR_DR_TEST_MODULE'
New-ReplicationPolicy -Name gold | Out-Null
(Get-ReplicationPolicy gold).Name
(Import-RecoveryPlan -Path '$plan').Name
[AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -in 'Microsoft.Data.Sqlite', 'SQLitePCLRaw.core', 'YamlDotNet' } |
    ForEach-Object { '{0} {1} {2}' -f `$_.GetName().Name, `$_.GetName().Version, [Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$_).GetType().Name }
"@
    }
    AfterAll { Remove-TestVault $vault }

    It 'had the older versions to load' {
        $olderSqlite | Should -Exist
        $olderPclRaw | Should -Exist
        $olderYaml | Should -Exist
    }

    It 'imports the module and uses the vault' {
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain 'gold'
        $run.Output | Should -Contain 'erp'
    }

    It 'keeps both versions loaded side by side' {
        $run.Text | Should -Match 'Microsoft\.Data\.Sqlite 8\.0\.\d+\.\d+ DefaultAssemblyLoadContext'
        $run.Text | Should -Match 'Microsoft\.Data\.Sqlite 9\.0\.\d+\.\d+ DependencyLoadContext'
        $run.Text | Should -Match 'SQLitePCLRaw\.core 2\.0\.6\.\d+ DefaultAssemblyLoadContext'
        $run.Text | Should -Match 'YamlDotNet 13\.0\.0\.\d+ DefaultAssemblyLoadContext'
        $run.Text | Should -Match 'YamlDotNet 16\.0\.0\.\d+ DependencyLoadContext'
    }
}
