BeforeDiscovery {
    $script:manifest = Import-PowerShellDataFile $env:AZSR_DR_TEST_MODULE
    $script:cmdletNames = $manifest.CmdletsToExport
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    $module = Import-Module $env:AZSR_DR_TEST_MODULE -Force -PassThru
    $formats = Get-ChildItem $module.ModuleBase -Filter *.Format.ps1xml | ForEach-Object { [xml](Get-Content $_.FullName -Raw) }
    $formattedTypes = @($formats.Configuration.ViewDefinitions.View.ViewSelectedBy.TypeName)
}

Describe 'The module' {
    It 'exports exactly the cmdlets its manifest lists' {
        $exported = (Get-Command -Module AzureSiteRecovery.DR -CommandType Cmdlet).Name | Sort-Object
        $exported | Should -Be ($manifest.CmdletsToExport | Sort-Object)
    }

    It 'keeps its third-party assemblies out of the module root' {
        (Get-ChildItem $module.ModuleBase -Filter *.dll).Name | Sort-Object | Should -Be @('AzureSiteRecovery.DR.dll', 'AzureSiteRecovery.DR.Loading.dll')
        Join-Path $module.ModuleBase 'dependencies/Microsoft.Data.Sqlite.dll' | Should -Exist
    }

    It 'ships native SQLite for Linux, macOS and Windows' {
        foreach ($path in 'linux-x64/native/libe_sqlite3.so', 'osx-arm64/native/libe_sqlite3.dylib', 'win-x64/native/e_sqlite3.dll') {
            Join-Path $module.ModuleBase "dependencies/runtimes/$path" | Should -Exist
        }
    }

    It 'has an about topic' {
        $about = Get-Help about_AzureSiteRecovery.DR
        "$about" | Should -Match 'AZSR_DR_VAULT'
    }
}

Describe '<_>' -ForEach $cmdletNames {
    BeforeAll {
        $command = Get-Command $_
        $help = Get-Help $_ -Full
    }

    It 'has a synopsis and a description' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match "^\s*$([regex]::Escape($_))"
        ($help.description.Text -join ' ') | Should -Not -BeNullOrEmpty
    }

    It 'has at least one example' {
        @($help.examples.example).Count | Should -BeGreaterThan 0
        $help.examples.example[0].code | Should -Match ([regex]::Escape($command.Noun))
    }

    It 'describes every parameter' {
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
        foreach ($name in $command.Parameters.Keys | Where-Object { $_ -notin $common }) {
            $parameterHelp = $help.parameters.parameter | Where-Object name -eq $name
            ($parameterHelp.description.Text -join ' ') | Should -Not -BeNullOrEmpty -Because "-$name needs a description"
        }
    }

    It 'declares a real output type with a format view, or none' {
        foreach ($type in $command.OutputType) {
            $type.Type | Should -Not -BeNullOrEmpty
            $type.Type | Should -Not -Be ([object])
            $type.Type | Should -Not -Be ([psobject])
            if ($type.Name -like 'AzureSiteRecovery.DR.*') { $type.Name | Should -BeIn $formattedTypes }
        }
    }

    It 'supports -WhatIf when it changes something' {
        if ($command.Verb -in 'New', 'Set', 'Remove') {
            $command.Parameters.Keys | Should -Contain 'WhatIf'
            $command.Parameters.Keys | Should -Contain 'Confirm'
        }
    }

    # Disconnect-DRVault forgets the session's vault (Connect-DRVault's): no vault to name.
    It 'takes -Vault' -Skip:($_ -eq 'Disconnect-DRVault') {
        $command.Parameters.Keys | Should -Contain 'Vault'
    }
}

Describe 'Tab completion' {
    BeforeAll {
        $vault = New-TestVaultPath
        $cred = New-TestCredential
        New-DRSite -Vault $vault -Name onprem -VSphere -Server https://vc01.example.test/sdk -Credential $cred -Role Protected -SkipConnectionTest -WarningAction SilentlyContinue
        New-DRSite -Vault $vault -Name dr -VSphere -Server https://vc02.example.test/sdk -Credential $cred -Role Recovery -SkipConnectionTest -WarningAction SilentlyContinue
        New-ReplicationPolicy -Vault $vault -Name gold
        New-ProtectionGroup -Vault $vault -Name erp -ProtectedSite onprem -RecoverySite dr -Policy gold
    }
    AfterAll { Remove-TestVault $vault }

    It 'completes <Parameter> of <Command> from the vault' -ForEach @(
        @{ Command = 'Get-DRSite'; Parameter = 'Name'; Word = 'on'; Expected = 'onprem' }
        @{ Command = 'Get-ReplicationPolicy'; Parameter = 'Name'; Word = 'g'; Expected = 'gold' }
        @{ Command = 'Get-ProtectionGroup'; Parameter = 'Name'; Word = 'e'; Expected = 'erp' }
        @{ Command = 'New-ProtectionGroup'; Parameter = 'RecoverySite'; Word = 'd'; Expected = 'dr' }
    ) {
        $line = "$Command -Vault '$vault' -$Parameter $Word"
        $result = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $result.CompletionMatches.CompletionText | Should -Be $Expected
    }
}
