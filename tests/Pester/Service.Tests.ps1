BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
    Import-Module $ModulePath -Force

    # The command line Install-P2PService writes into a unit: the host, run by the .NET that runs this session.
    $dotnetRoot = [IO.Path]::GetFullPath((Join-Path ([Runtime.InteropServices.RuntimeEnvironment]::GetRuntimeDirectory()) '../../..'))
    $script:HostCommand = @((Join-Path $dotnetRoot ($IsWindows ? 'dotnet.exe' : 'dotnet')), (Join-Path $ModulePath 'host/P2PHost.dll'))

    # Starts the host as a process of its own, its output read line by line.
    function Start-NodeHost([string] $StateDirectory) {
        $start = [Diagnostics.ProcessStartInfo]::new($HostCommand[0])
        foreach ($argument in @($HostCommand | Select-Object -Skip 1) + @('--state-directory', $StateDirectory)) { $start.ArgumentList.Add($argument) }
        $start.RedirectStandardOutput = $true
        $start.RedirectStandardError = $true
        $start.Environment['NO_COLOR'] = '1'
        $process = [Diagnostics.Process]::Start($start)
        [pscustomobject]@{ Process = $process; Pending = $null; Lines = [Collections.Generic.List[string]]::new(); Errors = $process.StandardError.ReadToEndAsync() }
    }

    # Reads the host's output until a line matches (the host says so when it happens), bounded by -TimeoutSec.
    function Wait-HostLine($NodeHost, [string] $Pattern, [double] $TimeoutSec = 60) {
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
        while ([DateTime]::UtcNow -lt $deadline) {
            if (-not $NodeHost.Pending) { $NodeHost.Pending = $NodeHost.Process.StandardOutput.ReadLineAsync() }
            $left = [Math]::Max(0, ($deadline - [DateTime]::UtcNow).TotalMilliseconds)
            if (-not $NodeHost.Pending.Wait([int]$left)) { break }
            $line = $NodeHost.Pending.Result
            $NodeHost.Pending = $null
            if ($null -eq $line) { break }   # the host ended
            $NodeHost.Lines.Add($line)
            if ($line -match $Pattern) { return $Matches }
        }
        throw "the host did not write a line matching '$Pattern' within $TimeoutSec s; it wrote:`n$($NodeHost.Lines -join "`n")`n$(if ($NodeHost.Process.HasExited) { $NodeHost.Errors.Result })"
    }
}

Describe 'Install-P2PService and Uninstall-P2PService' {
    BeforeEach {
        $units = Join-Path $TestDrive "units-$([guid]::NewGuid().ToString('N'))"
        $state = Join-Path $TestDrive "state-$([guid]::NewGuid().ToString('N'))"
        $share = New-Item -ItemType Directory -Force (Join-Path $TestDrive 'pub')
        # The units go to a folder of the test's own; the service manager is never told.
        $env:P2P_SERVICE_DIRECTORY = $units
    }
    AfterEach {
        Remove-Item Env:P2P_SERVICE_DIRECTORY -ErrorAction Ignore
    }

    It 'writes nothing with -WhatIf, and removes nothing with -WhatIf' {
        Install-P2PService -Name svc -StateDirectory $state -Share $share -WhatIf

        Test-Path $units | Should -BeFalse
        Test-Path $state | Should -BeFalse

        $service = Install-P2PService -Name svc -StateDirectory $state -PassThru
        $service | Uninstall-P2PService -WhatIf
        Test-Path $service.UnitPath | Should -BeTrue
    }

    It 'writes a systemd unit that runs the host with the state directory, stops it with SIGTERM and waits longer than the drain' -Skip:(-not $IsLinux) {
        $service = Install-P2PService -Name svc -StateDirectory $state -Share $share -Port 0 -ListenAddress 127.0.0.1 -DrainTimeoutSec 15 -PassThru

        $service.ServiceName | Should -Be 'p2ptransfer-svc'
        $service.Platform | Should -Be 'Systemd'
        $service.Managed | Should -BeFalse
        $service.UnitPath | Should -Be (Join-Path $units 'p2ptransfer-svc.service')
        $service.CommandLine | Should -Be (@($HostCommand) + @('--state-directory', $state))
        $unit = Get-Content $service.UnitPath
        $unit | Should -Contain 'Type=notify'
        $unit | Should -Contain 'Restart=on-failure'
        $unit | Should -Contain 'KillSignal=SIGTERM'
        $unit | Should -Contain 'TimeoutStopSec=45'
        $unit | Should -Contain 'WantedBy=default.target'
        $unit | Should -Contain "ExecStart=`"$($HostCommand[0])`" `"$($HostCommand[1])`" `"--state-directory`" `"$state`""

        $settings = Get-Content (Join-Path $state 'node.json') -Raw | ConvertFrom-Json
        $settings.name | Should -Be 'svc'
        $settings.shares | Should -Be @($share.FullName)
        $settings.port | Should -Be 0
        $settings.drainTimeoutSec | Should -Be 15

        $analyze = Get-Command systemd-analyze -CommandType Application -ErrorAction Ignore | Select-Object -First 1
        if (-not $analyze) {
            Set-ItResult -Inconclusive -Because 'systemd-analyze is missing: the unit text was checked, but not verified by systemd'
            return
        }
        $verdict = & $analyze.Source verify $service.UnitPath 2>&1
        $LASTEXITCODE | Should -Be 0 -Because "systemd-analyze verify says: $verdict"
    }

    It 'writes a system unit, started at boot, with -Scope AllUsers' -Skip:(-not $IsLinux) {
        $service = Install-P2PService -Name svc -Scope AllUsers -StateDirectory $state -PassThru

        $service.Scope | Should -Be 'AllUsers'
        Get-Content $service.UnitPath | Should -Contain 'WantedBy=multi-user.target'
    }

    It 'removes a service given from the pipeline, and says ServiceNotFound for one that is not there' {
        $service = Install-P2PService -Name svc -StateDirectory $state -PassThru

        $service | Uninstall-P2PService
        Test-Path $service.UnitPath | Should -BeFalse
        Test-Path (Join-Path $state 'node.json') | Should -BeTrue

        { Uninstall-P2PService -Name svc -ErrorAction Stop } | Should -Throw -ErrorId 'ServiceNotFound*'
    }

    It 'leaves alone a unit of the same name that it did not write' {
        New-Item -ItemType Directory -Force $units | Out-Null
        $foreign = Join-Path $units ($IsLinux ? 'p2ptransfer-svc.service' : $IsMacOS ? 'p2ptransfer-svc.plist' : 'p2ptransfer-svc.cmd')
        Set-Content $foreign 'another program''s unit'

        { Install-P2PService -Name svc -StateDirectory $state -ErrorAction Stop } | Should -Throw -ErrorId 'ServiceNotOwned*'
        { Uninstall-P2PService -Name svc -ErrorAction Stop } | Should -Throw -ErrorId 'ServiceNotOwned*'
        Get-Content $foreign | Should -Be 'another program''s unit'
    }

    It 'refuses a name that is not a node name' {
        { Install-P2PService -Name 'a b' -StateDirectory $state -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument*'
        Test-Path $units | Should -BeFalse
    }
}

Describe 'The service host' -Skip:$IsWindows {
    # POSIX signals; on Windows the host stops with the service (the Windows service stop), which needs a service manager.
    BeforeAll {
        $pub = New-Item -ItemType Directory -Force (Join-Path $TestDrive 'pub')
        $more = New-Item -ItemType Directory -Force (Join-Path $TestDrive 'more')
        Set-Content (Join-Path $pub 'started.txt') 'shared by Start-P2PNode -Share'
        Set-Content (Join-Path $more 'published.txt') 'published while the node ran'
        $state = Join-Path $TestDrive 'service-state'

        # A node of another session shares one folder, publishes another while it runs, and stops: its state
        # directory now holds node.json (written by Start-P2PNode) and the index with both.
        Invoke-InNewSession @"
`$node = Start-P2PNode -Name svc -StateDirectory '$state' -Share '$pub' -ListenAddress 127.0.0.5 -Port 0 -NoDiscovery -TargetPeers 0 -DrainTimeoutSec 10
Publish-P2PFile -Node `$node -LiteralPath '$more' -Wait | Out-Null
Stop-P2PNode `$node
'stopped'
"@ | Should -Be 'stopped'
    }
    AfterEach {
        if ($nodeHost -and -not $nodeHost.Process.HasExited) { $nodeHost.Process.Kill($true) }
        Stop-P2PNode -All -DrainTimeoutSec 0
        Get-EventSubscriber | Unregister-Event
        Get-Event | Remove-Event
    }

    It 'serves the node of a state directory to another process, and on SIG<Signal> says Bye(Shutdown) to its peer, frees its port and exits 0 within the drain' -ForEach @(
        @{ Signal = 'TERM' }
        @{ Signal = 'INT' }
    ) {
        $nodeHost = Start-NodeHost $state
        $endpoint = (Wait-HostLine $nodeHost 'is serving on (\S+)')[1]
        $endpoint | Should -Match '^127\.0\.0\.5:\d+$'
        Wait-HostLine $nodeHost 'shares indexed' | Out-Null

        # Another process finds the files of both folders: what the host read at start includes the publish.
        $found = Invoke-InNewSession "Find-P2PFile -Server '$endpoint' -Name *.txt -MaxResults 2 -TimeoutSec 30 | Select-Object Name"
        $found.Name | Sort-Object | Should -Be @('published.txt', 'started.txt')

        $peer = Start-P2PNode -Name peer -StateDirectory (Join-Path $TestDrive "peer-$Signal") -ListenAddress 127.0.0.6 -Port 0 -NoDiscovery -TargetPeers 0
        Register-ObjectEvent -InputObject $peer -EventName PeerDisconnected -SourceIdentifier peer.disconnected
        (Connect-P2PPeer -Node $peer -Address $endpoint).Name | Should -Be 'svc'

        & kill -s $Signal $nodeHost.Process.Id
        $nodeHost.Process.WaitForExit(10000) | Should -BeTrue -Because 'the host stops within the drain timeout (10 s)'
        $nodeHost.Process.ExitCode | Should -Be 0
        Wait-HostLine $nodeHost 'stopped; port \d+ is free' -TimeoutSec 5 | Out-Null

        $gone = Wait-Event -SourceIdentifier peer.disconnected -Timeout 10
        $gone.SourceEventArgs.Peer.Name | Should -Be 'svc'
        $gone.SourceEventArgs.Peer.CloseReason | Should -Be 'Shutdown'

        # The port is free: another listener binds it at once.
        $port = [int]($endpoint -split ':')[-1]
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Parse('127.0.0.5'), $port)
        { $listener.Start() } | Should -Not -Throw
        $listener.Stop()

        # Nothing of the host lives on: no process runs from its state directory.
        @(Get-Process | Where-Object { $_.CommandLine -like "*--state-directory $state*" }).Count | Should -Be 0
    }

    It 'is managed from this session through its control channel: listed, publishes a folder, links, searches and stops' {
        $nodeHost = Start-NodeHost $state
        $endpoint = (Wait-HostLine $nodeHost 'is serving on (\S+)')[1]
        Wait-HostLine $nodeHost 'shares indexed' | Out-Null

        (Get-P2PNode -All -Name svc).Endpoint | Should -Be $endpoint
        $later = New-Item -ItemType Directory -Force (Join-Path $TestDrive 'later')
        Set-Content (Join-Path $later 'later.txt') 'published to the service node from another session'
        Publish-P2PFile -Node svc -LiteralPath $later -Wait | Out-Null
        (Get-P2PShare -Node svc).Name | Should -Contain 'later.txt'

        $peer = Start-P2PNode -Name managed-peer -StateDirectory (Join-Path $TestDrive 'managed-peer') -ListenAddress 127.0.0.7 -Port 0 -NoDiscovery -TargetPeers 0
        Connect-P2PPeer -Node svc -Address $peer.Endpoint | Out-Null
        (Get-P2PPeer -Node svc).Name | Should -Contain 'managed-peer'
        (Find-P2PFile -Node svc -Name later.txt -MaxResults 1 -TimeoutSec 10).Name | Should -Be 'later.txt'

        Stop-P2PNode -Node svc
        $nodeHost.Process.WaitForExit(15000) | Should -BeTrue -Because 'a stop through the channel stops the host'
        $nodeHost.Process.ExitCode | Should -Be 0
    }

    It 'exits 3 naming the file when node.json cannot be read, and 2 with its usage for a wrong command line' {
        $damaged = New-Item -ItemType Directory -Force (Join-Path $TestDrive 'damaged')
        Set-Content (Join-Path $damaged 'node.json') '{ "port": '

        $nodeHost = Start-NodeHost $damaged
        $nodeHost.Process.WaitForExit(30000) | Should -BeTrue
        $nodeHost.Process.ExitCode | Should -Be 3
        $nodeHost.Errors.Result | Should -BeLike "*the node settings '$(Join-Path $damaged 'node.json')' cannot be read*"

        $start = [Diagnostics.ProcessStartInfo]::new($HostCommand[0])
        foreach ($argument in @($HostCommand | Select-Object -Skip 1) + @('--share', '/tmp')) { $start.ArgumentList.Add($argument) }
        $start.RedirectStandardError = $true
        $start.RedirectStandardOutput = $true
        $wrong = [Diagnostics.Process]::Start($start)
        $errors = $wrong.StandardError.ReadToEndAsync()
        $wrong.WaitForExit(30000) | Should -BeTrue
        $wrong.ExitCode | Should -Be 2
        $errors.Result | Should -BeLike "*unknown argument '--share'*usage: P2PHost --state-directory <folder>*"
    }
}
