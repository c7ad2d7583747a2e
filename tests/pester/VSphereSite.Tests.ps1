BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module $env:AZSR_DR_TEST_MODULE -Force
    $cred = New-TestCredential
}

# The same cmdlets against our vcsim with changed block tracking and against a plain one.
Describe 'A vSphere site on <Flavor>' -ForEach @(
    @{ Flavor = 'the lab vcsim with CBT'; Arguments = @() }
    @{ Flavor = 'a plain vcsim'; Arguments = @('-cbt=false', '-paging=false') }
) {
    BeforeAll {
        # The default model: 1 datacenter, a cluster of 3 hosts and a standalone host, 2 VMs per resource pool.
        $lab = Start-TestVcsim -Arguments $Arguments
        $vault = New-TestVaultPath
        $PSDefaultParameterValues = @{ '*-DRSite:Vault' = $vault; 'Get-DRVm:Vault' = $vault }
        $inventory = @(Get-ChildItem (Join-Path $lab.StateDir 'tmp') -Recurse -Filter '*.vmx' | ForEach-Object BaseName | Sort-Object -Unique)
    }
    AfterAll {
        $lab | Stop-TestVcsim
        Remove-TestVault $vault
    }

    It 'registers the site after connecting to it' {
        $site = New-DRSite -Name onprem -VSphere -Server $lab.Url -Credential $cred -Role Protected -SkipCertificateCheck -WarningAction SilentlyContinue -Verbose 4>&1
        $verbose = $site | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose -join "`n") | Should -Match 'Connected: .*API'
        Get-DRSite onprem | Should -Not -BeNullOrEmpty
    }

    It 'tests the site: reachable, with the API version' {
        $result = Test-DRSite onprem
        $result.Succeeded | Should -BeTrue
        $result.ApiVersion | Should -Match '^\d+\.\d+'
        $result.Product | Should -Not -BeNullOrEmpty
        (Test-DRSite onprem | Out-String) | Should -Match 'onprem\s+True'
    }

    It 'lists every VM of the inventory' {
        $vms = @(Get-DRVm -Site onprem)
        $vms.Count | Should -BeGreaterThan 0
        # Independently of the API: the VM folders vcsim made on its datastore.
        $inventory.Count | Should -Be 4
        ($vms.Name | Sort-Object) | Should -Be $inventory
        $vms | Should -BeOfType 'AzureSiteRecovery.DR.Core.Model.DiscoveredVm'
        $vms.Site | Select-Object -Unique | Should -Be 'onprem'
    }

    It 'filters by wildcard and shows disks, networks and CBT state' {
        $vms = @(Get-DRVm -Site onprem -Name 'DC0_H0_VM*')
        $vms.Count | Should -BeGreaterThan 0
        $vms.Name | ForEach-Object { $_ | Should -BeLike 'DC0_H0_VM*' }
        $vm = $vms[0]
        $vm.MoRef | Should -Match '^vm-'
        $vm.Disks.Count | Should -BeGreaterThan 0
        $vm.Disks[0].Key | Should -BeGreaterThan 0
        $vm.Disks[0].FileName | Should -Match '^\[.+\] .+\.vmdk$'
        $vm.Networks.Count | Should -BeGreaterThan 0
        $vm.Host | Should -Not -BeNullOrEmpty
        $list = $vm | Format-List | Out-String
        $list | Should -Match 'Disks\s*:.*key \d+'
        $list | Should -Match 'Networks\s*:'
        $list | Should -Match 'CBT\s*:\s*disabled'
    }

    It 'pipes a site into Get-DRVm by property name' {
        (Get-DRSite onprem | Get-DRVm -Name 'DC0_H0_VM0').Name | Should -Be 'DC0_H0_VM0'
    }

    It 'reports a VM name that matches nothing' {
        Get-DRVm -Site onprem -Name 'no-such-vm' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'VmNotFound,AzureSiteRecovery.DR.Inventory.GetDRVmCommand'
    }

    It 'refuses an untrusted certificate, showing the thumbprint to pin' {
        New-DRSite -Name nope -VSphere -Server $lab.Url -Credential $cred -Role Protected -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'VSphereCertificateUntrusted,AzureSiteRecovery.DR.Sites.NewDRSiteCommand'
        $err[0].Exception.Message | Should -Match '([0-9A-F]{2}:){31}[0-9A-F]{2}'
        $err[0].Exception.Message | Should -Match '-Thumbprint'
        Get-DRSite nope -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $script:thumbprint = [regex]::Match($err[0].Exception.Message, '([0-9A-F]{2}:){31}[0-9A-F]{2}').Value
    }

    It 'trusts the certificate once its thumbprint is pinned' {
        $site = New-DRSite -Name pinned -VSphere -Server $lab.Url -Credential $cred -Role Recovery -Thumbprint $thumbprint
        $site.CertificateThumbprint | Should -Be ($thumbprint -replace ':')
        (Test-DRSite pinned).Succeeded | Should -BeTrue
    }

    It 'fails early on an unreachable URL' {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
        New-DRSite -Name gone -VSphere -Server "https://127.0.0.1:$port/sdk" -Credential $cred -Role Protected -SkipCertificateCheck -WarningAction SilentlyContinue -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'VSphereUnreachable,AzureSiteRecovery.DR.Sites.NewDRSiteCommand'
        $err[0].Exception.Message | Should -Match "127\.0\.0\.1:$port"
    }
}

Describe 'A vSphere site with a wrong password' {
    BeforeAll {
        $lab = Start-TestVcsim -Arguments @('-username', 'admin@vsphere.local', '-password', 'right-one')
        $vault = New-TestVaultPath
    }
    AfterAll {
        $lab | Stop-TestVcsim
        Remove-TestVault $vault
    }

    It 'fails early with VSphereInvalidLogin and stores nothing' {
        $wrong = New-TestCredential -UserName 'admin@vsphere.local' -Password 'wrong-one'
        New-DRSite -Vault $vault -Name onprem -VSphere -Server $lab.Url -Credential $wrong -Role Protected -SkipCertificateCheck -WarningAction SilentlyContinue -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'VSphereInvalidLogin,AzureSiteRecovery.DR.Sites.NewDRSiteCommand'
        $err[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        $err[0].Exception.Message | Should -Match 'admin@vsphere.local'
        $err[0].Exception.Message | Should -Not -Match 'wrong-one'
        Test-Path $vault | Should -BeFalse -Because 'nothing is stored, not even a vault'
    }

    It 'reports a password changed later through Test-DRSite, and works again after Set-DRSite' {
        $right = New-TestCredential -UserName 'admin@vsphere.local' -Password 'right-one'
        $wrong = New-TestCredential -UserName 'admin@vsphere.local' -Password 'wrong-one'
        New-DRSite -Vault $vault -Name onprem -VSphere -Server $lab.Url -Credential $wrong -Role Protected -SkipCertificateCheck -SkipConnectionTest -WarningAction SilentlyContinue | Out-Null
        $result = Test-DRSite -Vault $vault onprem
        $result.Succeeded | Should -BeFalse
        $result.ErrorId | Should -Be 'VSphereInvalidLogin'
        Set-DRSite -Vault $vault onprem -Credential $right
        (Test-DRSite -Vault $vault onprem).Succeeded | Should -BeTrue
    }
}

Describe 'The acceptance script of the vSphere issue, run as written in a fresh pwsh' {
    BeforeAll {
        $lab = Start-TestVcsim
        $vault = New-TestVaultPath
        $run = Invoke-ChildPwsh -VaultPath $vault -Script @"
`$url = '$($lab.Url)'
`$cred = [pscredential]::new('administrator@vsphere.local', (ConvertTo-SecureString 'S3cret!pass' -AsPlainText -Force))
New-DRSite -Name onprem -VSphere -Server `$url -Credential `$cred -Role Protected -SkipCertificateCheck | Out-Null
'== test'
Test-DRSite onprem | Format-List Site, Succeeded, ApiVersion
'== count'
(Get-DRVm -Site onprem | Measure-Object).Count
'== list'
Get-DRVm -Site onprem -Name 'DC0_H0_VM*' | Format-List | Out-String -Width 250
'== nope'
New-DRSite -Name nope -VSphere -Server `$url -Credential `$cred
"@
        $text = $run.Text
    }
    AfterAll {
        $lab | Stop-TestVcsim
        Remove-TestVault $vault
    }

    It 'finds the site reachable with its API version' {
        $text | Should -Match 'Succeeded\s*:\s*True'
        $text | Should -Match 'ApiVersion\s*:\s*\d+\.\d+'
    }

    It 'counts the VMs of the inventory' {
        (($text -split '== count')[1].Trim() -split "`n")[0] | Should -Be '4'
    }

    It 'lists disks, networks and CBT state' {
        $list = ($text -split '== list')[1]
        $list | Should -Match 'Name\s*:\s*DC0_H0_VM0'
        $list | Should -Match 'Disks\s*:\s*\S+ key \d+: 1 MiB \[LocalDS_0\] DC0_H0_VM0/disk1\.vmdk'
        $list | Should -Match 'Networks\s*:\s*\S+'
        $list | Should -Match 'CBT\s*:\s*disabled'
    }

    It 'refuses the untrusted certificate without prompting, showing the thumbprint' {
        $text | Should -Not -Match 'Supply values'
        $text | Should -Match 'SHA-256'
        $text | Should -Match '([0-9A-F]{2}:){31}[0-9A-F]{2}'
    }
}
