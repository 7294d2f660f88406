BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
    Import-Module $ModulePath -Force
}

Describe 'Start-P2PNode, Get-P2PNode and Stop-P2PNode' {
    AfterEach {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'starts a node that shares a folder and returns it with its endpoint' {
        New-Item -ItemType Directory TestDrive:/pub | Out-Null
        $node = Start-P2PNode -Share TestDrive:/pub -Name solo -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/solo

        $node | Should -BeOfType 'P2PTransfer.Node.P2PNode'
        $node.Status | Should -Be 'Running'
        $node.Name | Should -Be 'solo'
        $node.Port | Should -BeGreaterThan 0
        $node.Endpoint | Should -Be "127.0.0.1:$($node.Port)"
        $node.Shares | Should -Be @((Resolve-Path TestDrive:/pub).ProviderPath)
        $node.Id | Should -Not -Be ([guid]::Empty)
        (Get-P2PNode).Id | Should -Be $node.Id
    }

    It 'listens on the default port 47100 when no -Port is given' {
        $node = Start-P2PNode -Name defaultport -ListenAddress 127.0.0.5 -StateDirectory TestDrive:/state/defaultport

        $node.Port | Should -Be 47100
        $node.Endpoint | Should -Be '127.0.0.5:47100'
    }

    It 'stops every node of the session with -All' {
        $nodes = 1..3 | ForEach-Object { Start-P2PNode -Name "all$_" -ListenAddress 127.0.0.1 -Port 0 -StateDirectory "TestDrive:/state/all$_" }

        Stop-P2PNode -All

        $nodes.Status | Should -Be @('Stopped', 'Stopped', 'Stopped')
        Get-P2PNode | Should -BeNullOrEmpty
    }

    It 'keeps the node id across restarts from the same state directory' {
        $first = Start-P2PNode -Name keeper -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/keeper
        $id = $first.Id
        $first | Stop-P2PNode
        $first.Status | Should -Be 'Stopped'

        $again = Start-P2PNode -Name keeper -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/keeper
        $again.Id | Should -Be $id
    }

    It 'runs several nodes in one session and finds them by name' {
        1..3 | ForEach-Object { Start-P2PNode -Name "multi$_" -ListenAddress "127.0.0.$_" -Port 0 -StateDirectory "TestDrive:/state/multi$_" } | Out-Null

        (Get-P2PNode).Count | Should -Be 3
        (Get-P2PNode -Name multi2).ListenAddress | Should -Be '127.0.0.2'
        (Get-P2PNode -Name 'multi*').Count | Should -Be 3
        { Get-P2PNode -Name nosuch -ErrorAction Stop } | Should -Throw -ErrorId 'NodeNotFound*'
    }

    It 'stops the nodes from the pipeline and releases their ports' {
        $nodes = 1..2 | ForEach-Object { Start-P2PNode -Name "stop$_" -ListenAddress '127.0.0.1' -Port 0 -StateDirectory "TestDrive:/state/stop$_" }
        $port = $nodes[0].Port

        $stopped = $nodes | Stop-P2PNode -PassThru

        $stopped.Status | Should -Be @('Stopped', 'Stopped')
        Get-P2PNode | Should -BeNullOrEmpty
        $reused = Start-P2PNode -Name reuse -ListenAddress 127.0.0.1 -Port $port -StateDirectory TestDrive:/state/reuse
        $reused.Port | Should -Be $port
    }

    It 'needs -Node when several nodes run, and a node when none does' {
        { Get-P2PPeer -ErrorAction Stop } | Should -Throw -ErrorId 'NoNodeRunning*'
        1..2 | ForEach-Object { Start-P2PNode -Name "amb$_" -ListenAddress 127.0.0.1 -Port 0 -StateDirectory "TestDrive:/state/amb$_" } | Out-Null
        { Get-P2PPeer -ErrorAction Stop } | Should -Throw -ErrorId 'NodeNotSpecified*'
        { Stop-P2PNode -ErrorAction Stop } | Should -Throw -ErrorId 'NodeNotSpecified*'
    }

    It 'refuses a share that does not exist' {
        { Start-P2PNode -Share TestDrive:/missing -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/x -ErrorAction Stop } |
            Should -Throw -ErrorId 'PathNotFound*'
        Get-P2PNode | Should -BeNullOrEmpty
    }

    It 'refuses a share or state directory that is not a file-system path, naming it' {
        $failure = { Start-P2PNode -Share Env:\PATH -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/x -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidArgument*' -ExpectedMessage "*-Share 'Env:\PATH' is not a path of the file system*" -PassThru
        $failure.TargetObject | Should -Be 'Env:\PATH'
        { Start-P2PNode -StateDirectory Variable:\state -ListenAddress 127.0.0.1 -Port 0 -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidArgument*' -ExpectedMessage '*-StateDirectory*Variable provider*'
        Get-P2PNode | Should -BeNullOrEmpty
    }

    It 'refuses a second node on the same state directory' {
        Start-P2PNode -Name one -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/same | Out-Null
        { Start-P2PNode -Name two -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/same -ErrorAction Stop } |
            Should -Throw -ErrorId 'StateDirectoryInUse*'
    }

    It 'starts and stops nothing with -WhatIf' {
        Start-P2PNode -Name dry -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/dry -WhatIf | Should -BeNullOrEmpty
        Get-P2PNode | Should -BeNullOrEmpty
        Test-Path TestDrive:/state/dry | Should -BeFalse

        $node = Start-P2PNode -Name wet -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/wet
        $node | Stop-P2PNode -WhatIf
        $node.Status | Should -Be 'Running'
    }

    It 'links to -Peer addresses at start and reports the ones it cannot reach' {
        $hub = Start-P2PNode -Name hub -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/hub
        $unreachable = "127.0.0.1:1"
        $spoke = Start-P2PNode -Name spoke -ListenAddress 127.0.0.2 -Port 0 -StateDirectory TestDrive:/state/spoke -Peer $hub.Endpoint, $unreachable -ErrorVariable failures -ErrorAction SilentlyContinue

        $spoke.Status | Should -Be 'Running'
        (Get-P2PPeer -Node $spoke).Name | Should -Be 'hub'
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionLost*'
    }

    It 'with -Wait stays in the foreground until stopped, then stops the node gracefully' {
        $job = Start-ThreadJob -ScriptBlock {
            Import-Module $using:ModulePath
            Start-P2PNode -Name waiter -ListenAddress 127.0.0.1 -Port 0 -StateDirectory (Join-Path $using:TestDrive 'state/waiter') -Wait
        }
        try {
            Wait-Until { Get-P2PNode -Name waiter -ErrorAction Ignore } | Should -BeTrue
            $node = Get-P2PNode -Name waiter
            Start-Sleep -Milliseconds 300
            $job.State | Should -Be 'Running'

            $job | Stop-Job
            $node.Status | Should -Be 'Stopped'
            Get-P2PNode -Name waiter -ErrorAction Ignore | Should -BeNullOrEmpty
        }
        finally {
            $job | Remove-Job -Force
        }
    }

    It 'imports by name once the out folder is on PSModulePath' {
        $out = Split-Path (Resolve-Path $ModulePath).ProviderPath -Parent
        $pwsh = Get-PwshCommandLine
        $script = "`$env:PSModulePath = '$out' + [IO.Path]::PathSeparator + `$env:PSModulePath; Import-Module P2PTransfer -ErrorAction Stop; (Get-Module P2PTransfer).ModuleBase"
        $base = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $script

        $LASTEXITCODE | Should -Be 0
        $base | Should -Be (Resolve-Path $ModulePath).ProviderPath
    }

    It 'completes node names for Get-P2PNode -Name' {
        1..2 | ForEach-Object { Start-P2PNode -Name "complete$_" -ListenAddress 127.0.0.1 -Port 0 -StateDirectory "TestDrive:/state/complete$_" } | Out-Null
        $line = 'Get-P2PNode -Name comp'
        $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $completions | Should -Be @('complete1', 'complete2')
    }

    It 'has help with examples for every cmdlet' {
        foreach ($command in Get-Command -Module P2PTransfer) {
            $help = Get-Help $command.Name -Full
            $help.Synopsis | Should -Not -BeNullOrEmpty -Because "$($command.Name) needs a synopsis"
            @($help.Examples.Example).Count | Should -BeGreaterThan 0 -Because "$($command.Name) needs examples"
            $command.OutputType | Should -Not -BeNullOrEmpty -Because "$($command.Name) declares its output"
        }
    }
}
