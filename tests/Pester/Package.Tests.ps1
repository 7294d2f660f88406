BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
    . (Join-Path $PSScriptRoot 'Support/ChildSession.ps1')
    $root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $version = (Import-PowerShellDataFile (Join-Path $ModulePath 'P2PTransfer.psd1')).ModuleVersion
}

Describe "build.ps1's Package task" {
    It 'makes a package that installs from a PSResource repository and imports by name in a new session' {
        $repo = New-Item -ItemType Directory TestDrive:/repository
        $installed = New-Item -ItemType Directory TestDrive:/modules
        $name = "p2ptransfer-test-$([guid]::NewGuid().ToString('N').Substring(0, 8))"

        # The task as a user runs it, on the module the suite tests (-NoBuild: not laid out again under the suite's feet).
        $pwsh = Get-PwshCommandLine
        & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $root 'build.ps1') Package -NoBuild -PackagePath $repo.FullName | Out-Host
        $LASTEXITCODE | Should -Be 0
        Join-Path $repo "P2PTransfer.$version.nupkg" | Should -Exist
        Get-PSResourceRepository -Name 'p2ptransfer-local-*' -ErrorAction Ignore | Should -BeNullOrEmpty -Because 'the task unregisters the repository it registered'

        Register-PSResourceRepository -Name $name -Uri $repo.FullName -Trusted
        try {
            Save-PSResource -Name P2PTransfer -Repository $name -Path $installed.FullName -TrustRepository -SkipDependencyCheck
        }
        finally {
            Unregister-PSResourceRepository -Name $name
        }
        Get-PSResourceRepository -Name $name -ErrorAction Ignore | Should -BeNullOrEmpty

        $state = Join-Path $TestDrive 'state'
        $session = Invoke-Pwsh -Environment @{ PSModulePath = $installed.FullName } -Script "
            Import-Module P2PTransfer
            `$node = Start-P2PNode -Name packaged -ListenAddress 127.0.0.1 -Port 0 -StateDirectory '$state' -Share @()
            `$running = `$node.Status
            Stop-P2PNode `$node
            [pscustomobject]@{
                ModuleBase = (Get-Module P2PTransfer).ModuleBase
                Version = [string](Get-Module P2PTransfer).Version
                Running = [string]`$running
                Stopped = [string]`$node.Status
                Synopsis = (Get-Help Start-P2PNode).Synopsis
                Commands = @(Get-Command -Module P2PTransfer).Count
            }"

        $session.ModuleBase | Should -BeLike "$($installed.FullName)*"
        $session.Version | Should -Be $version
        $session.Running | Should -Be 'Running'
        $session.Stopped | Should -Be 'Stopped'
        $session.Synopsis | Should -BeLike 'Starts a P2PTransfer node*'
        $session.Commands | Should -Be @((Import-PowerShellDataFile (Join-Path $ModulePath 'P2PTransfer.psd1')).CmdletsToExport).Count
    }
}
