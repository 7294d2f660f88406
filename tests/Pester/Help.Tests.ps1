BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
    . (Join-Path $PSScriptRoot 'Support/ChildSession.ps1')
    Import-Module $ModulePath -Force
    $commands = Get-Command -Module P2PTransfer -CommandType Cmdlet
    $repository = 'https://github.com/p2ptransfer/P2PTransfer'
}

Describe 'Cmdlet help' {
    It 'gives every cmdlet inputs, outputs and related links' {
        $missing = foreach ($command in $commands) {
            $help = Get-Help $command.Name -Full
            if (-not $help.inputTypes.inputType.type.name) { "$($command.Name): no inputs" }
            if (-not $help.returnValues.returnValue.type.name) { "$($command.Name): no outputs" }
            if (@($help.relatedLinks.navigationLink | Where-Object { $_.linkText -and -not $_.uri }).Count -eq 0) { "$($command.Name): no related commands" }
        }

        $commands.Count | Should -BeGreaterOrEqual 14
        $missing | Should -BeNullOrEmpty
    }

    It 'describes what Receive-P2PFile takes and writes' {
        $help = Get-Help Receive-P2PFile -Full

        $help.inputTypes.inputType.type.name | Should -Be 'P2PTransfer.Search.P2PSearchResult'
        $help.returnValues.returnValue.type.name | Should -Be 'None', 'System.IO.FileInfo', 'P2PTransfer.Module.P2PTransferJob'
        $help.relatedLinks.navigationLink.linkText | Should -Contain 'Find-P2PFile'
    }

    It 'shows a default value for every parameter, as the description states it or as the cmdlet starts' {
        $none = foreach ($command in $commands) {
            (Get-Help $command.Name -Full).parameters.parameter | Where-Object { -not $_.defaultValue } | ForEach-Object { "$($command.Name) -$($_.name)" }
        }
        $none | Should -BeNullOrEmpty

        $defaults = @{}
        foreach ($name in 'Find-P2PFile', 'Start-P2PNode', 'Receive-P2PFile', 'Stop-P2PNode', 'New-P2PTestNetwork') {
            (Get-Help $name -Full).parameters.parameter | ForEach-Object { $defaults["$name -$($_.name)"] = $_.defaultValue }
        }
        $defaults['Find-P2PFile -TTL'] | Should -Be '5'
        $defaults['Find-P2PFile -MaxResults'] | Should -Be 'no limit'
        $defaults['Find-P2PFile -Node'] | Should -Be "the session's only running node"
        $defaults['Start-P2PNode -Port'] | Should -Be '47100'
        $defaults['Start-P2PNode -ListenAddress'] | Should -Be '0.0.0.0'
        $defaults['Start-P2PNode -Wait'] | Should -Be 'False'
        $defaults['Receive-P2PFile -ThrottleLimit'] | Should -Be '16'
        $defaults['Stop-P2PNode -DrainTimeoutSec'] | Should -Be "the node's own drain timeout"
        $defaults['New-P2PTestNetwork -Topology'] | Should -Be 'Line'
        $defaults['New-P2PTestNetwork -Count'] | Should -Be '3'
    }

    It 'links every cmdlet to its page in the repository, first among its related links' {
        foreach ($command in $commands) {
            $page = "$repository/blob/main/docs/cmdlets/$($command.Name).md"
            $command.HelpUri | Should -Be $page
            $first = @((Get-Help $command.Name -Full).relatedLinks.navigationLink)[0]
            $first.linkText | Should -Be 'Online Version:'
            $first.uri | Should -Be $page
        }
    }

    It 'opens that page with Get-Help -Online' -Skip:(-not $IsLinux) {
        # A browser of our own on PATH: xdg-open writes the address it was given into a FIFO, which the session reads
        # (the read waits for the write; the session's time limit bounds it).
        $bin = New-Item -ItemType Directory TestDrive:/bin
        $fifo = Join-Path $bin 'opened'
        & mkfifo $fifo
        Set-Content (Join-Path $bin 'xdg-open') "#!/bin/sh`necho `"`$1`" > '$fifo'"
        & chmod +x (Join-Path $bin 'xdg-open')

        $opened = Invoke-Pwsh -Environment @{ PATH = "$bin$([IO.Path]::PathSeparator)$env:PATH" } -TimeoutSec 60 -Script "
            Import-Module '$ModulePath'
            Get-Help Find-P2PFile -Online
            [IO.File]::ReadAllText('$fifo').Trim()"

        $opened | Should -Be "$repository/blob/main/docs/cmdlets/Find-P2PFile.md"
    }
}

Describe 'about_P2PTransfer' {
    It 'is found once the module is imported and explains nodes, shares, search and TTL, sources, resume and security' {
        $text = Invoke-Pwsh -Script "Import-Module '$ModulePath'; Get-Help about_P2PTransfer | Out-String"

        $text | Should -Match 'TOPIC\s+about_P2PTransfer'
        foreach ($heading in 'NODES', 'SHARES', 'SEARCH AND TTL', 'SOURCES', 'RESUME', 'SECURITY', 'TEST NETWORKS') {
            $text | Should -Match "(?m)^$heading\r?$"
        }
        $text | Should -Match 'encrypted\s+and\s+authenticated'
    }

    It 'is a related link of every cmdlet' {
        foreach ($command in $commands) {
            (Get-Help $command.Name -Full).relatedLinks.navigationLink.linkText | Should -Contain 'about_P2PTransfer' -Because $command.Name
        }
    }
}

Describe 'Updatable help' {
    It 'installs the help package from build.ps1 with Update-Help -SourcePath into a module that has no help' {
        $package = Join-Path (Split-Path $ModulePath) 'help'
        $guid = (Import-PowerShellDataFile (Join-Path $ModulePath 'P2PTransfer.psd1')).GUID
        "$package/P2PTransfer_${guid}_HelpInfo.xml" | Should -Exist
        "$package/P2PTransfer_${guid}_en-US_HelpContent.zip" | Should -Exist
        $modules = New-Item -ItemType Directory TestDrive:/modules
        Copy-Item $ModulePath -Destination $modules -Recurse
        Remove-Item (Join-Path $modules 'P2PTransfer/en-US') -Recurse
        $home_ = New-Item -ItemType Directory TestDrive:/home

        $result = Invoke-Pwsh -Environment @{ PSModulePath = $modules.FullName; HOME = $home_.FullName; XDG_DATA_HOME = "$home_/data"; XDG_CACHE_HOME = "$home_/cache"; XDG_CONFIG_HOME = "$home_/config" } -Script "
            `$before = (Get-Help Start-P2PNode).Synopsis
            Update-Help -Module P2PTransfer -SourcePath '$package' -UICulture en-US -Scope AllUsers -Force
            [pscustomobject]@{ Before = `$before; After = (Get-Help Start-P2PNode).Synopsis; About = (Get-Help about_P2PTransfer | Out-String) }"

        $result.Before.Trim() | Should -BeLike 'Start-P2PNode `[*' -Because 'without help, Get-Help shows the syntax only'
        $result.After | Should -BeLike 'Starts a P2PTransfer node*'
        $result.About | Should -Match 'SEARCH AND TTL'
        Join-Path $modules 'P2PTransfer/en-US/P2PModule.dll-Help.xml' | Should -Exist
    }
}

Describe 'The module manifest' {
    It 'names the project, its licence, tags, release notes and where Update-Help finds help' {
        $manifest = Test-ModuleManifest (Join-Path $ModulePath 'P2PTransfer.psd1')

        $manifest.ProjectUri | Should -Be $repository
        $manifest.LicenseUri | Should -Be "$repository/blob/main/LICENSE"
        $manifest.Tags | Should -Contain 'P2P'
        $manifest.Tags | Should -Contain 'Pester'
        $manifest.ReleaseNotes | Should -Match 'New-P2PTestNetwork'
        $manifest.HelpInfoUri | Should -Be "$repository/releases/latest/download/"
    }

    It 'exports exactly the cmdlets the module has' {
        $manifest = Import-PowerShellDataFile (Join-Path $ModulePath 'P2PTransfer.psd1')
        $cmdlets = [P2PTransfer.Module.P2PCmdlet].Assembly.GetExportedTypes() |
            ForEach-Object { $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false) } |
            ForEach-Object { "$($_.VerbName)-$($_.NounName)" }

        $manifest.CmdletsToExport | Sort-Object | Should -Be ($cmdlets | Sort-Object)
    }
}
