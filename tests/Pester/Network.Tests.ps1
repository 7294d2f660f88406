BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
    Import-Module $ModulePath -Force
}

Describe 'Peer links between nodes of a session' {
    BeforeEach {
        $left = Start-P2PNode -Name left -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/left
        $middle = Start-P2PNode -Name middle -ListenAddress 127.0.0.2 -Port 0 -StateDirectory TestDrive:/state/middle
        $right = Start-P2PNode -Name right -ListenAddress 127.0.0.3 -Port 0 -StateDirectory TestDrive:/state/right
    }
    AfterEach {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'links three nodes in a line, sees the links from both ends, and drops them when the middle node stops while a client holds a connection' {
        $links = Connect-P2PPeer -Node $middle -Address $left.Endpoint, $right.Endpoint
        $links.Name | Should -Be @('left', 'right')
        $links.Direction | Should -Be @('Outbound', 'Outbound')

        (Get-P2PPeer -Node $middle).Name | Sort-Object | Should -Be @('left', 'right')
        Wait-Until { (Get-P2PPeer -Node $left).Count -eq 1 -and (Get-P2PPeer -Node $right).Count -eq 1 } | Should -BeTrue
        (Get-P2PPeer -Node $left).Name | Should -Be 'middle'
        (Get-P2PPeer -Node $left).Direction | Should -Be 'Inbound'
        (Get-P2PPeer -Node $right).Endpoint | Should -Be $middle.Endpoint

        # A client holds one connection to the middle node and keeps pinging over it.
        $middleEndpoint = $middle.Endpoint
        $client = Start-ThreadJob -ScriptBlock {
            Import-Module $using:ModulePath
            Test-P2PNode -Address $using:middleEndpoint -Count 200 -IntervalSec 0.05 -ErrorVariable failed -ErrorAction SilentlyContinue
            $failed
        }
        try {
            Wait-Until { $client.HasMoreData } | Should -BeTrue
            $middle | Stop-P2PNode

            $client | Wait-Job -Timeout 30 | Out-Null
            $client.State | Should -Be 'Completed'
            $output = $client | Receive-Job
        }
        finally {
            $client | Remove-Job -Force
        }

        $replies = $output | Where-Object { $_ -is [P2PTransfer.Client.PingReply] }
        $replies.Count | Should -BeGreaterThan 0
        $replies[0].Name | Should -Be 'middle'
        $replies.Count | Should -BeLessThan 200
        $failure = $output | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }
        $failure.Count | Should -Be 1
        $failure.FullyQualifiedErrorId | Should -BeLike 'NodeClosing*'
        $failure.Exception.Message | Should -Be "node middle ($($middle.Endpoint)) is shutting down"

        Wait-Until { -not (Get-P2PPeer -Node $left) -and -not (Get-P2PPeer -Node $right) } -TimeoutSec 5 | Should -BeTrue
        $left.Counters.PeerLinksClosed | Should -Be 1
        { Test-P2PNode $middle.Endpoint -TimeoutSec 2 -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionLost*'
    }

    It 'refuses a link to the node itself and a second link to the same node' {
        Connect-P2PPeer -Node $left -Address $middle.Endpoint | Out-Null

        { Connect-P2PPeer -Node $left -Address $left.Endpoint -ErrorAction Stop } | Should -Throw -ErrorId 'SelfLink*'
        { Connect-P2PPeer -Node $left -Address $middle.Endpoint -ErrorAction Stop } | Should -Throw -ErrorId 'DuplicateLink*'
        { Connect-P2PPeer -Node $middle -Address $left.Endpoint -ErrorAction Stop } | Should -Throw -ErrorId 'DuplicateLink*'
        (Get-P2PPeer -Node $left).Count | Should -Be 1
    }

    It 'links to several addresses, reporting each failure and linking the rest' {
        $dead = "127.0.0.1:1"
        $made = Connect-P2PPeer -Node $left -Address $dead, $middle.Endpoint, $right.Endpoint -ErrorVariable failures -ErrorAction SilentlyContinue

        $made.Name | Should -Be @('middle', 'right')
        $failures.Count | Should -Be 1
        $failures[0].TargetObject | Should -Be $dead
        $failures[0].CategoryInfo.Category | Should -Be 'ConnectionError'
    }

    It 'disconnects links from the pipeline and both ends drop them' {
        Connect-P2PPeer -Node $middle -Address $left.Endpoint, $right.Endpoint | Out-Null
        Wait-Until { (Get-P2PPeer -Node $left).Count -eq 1 } | Should -BeTrue

        Get-P2PPeer -Node $middle | Where-Object Name -eq 'left' | Disconnect-P2PPeer

        (Get-P2PPeer -Node $middle).Name | Should -Be 'right'
        Wait-Until { -not (Get-P2PPeer -Node $left) } -TimeoutSec 5 | Should -BeTrue
        { Disconnect-P2PPeer -Node $middle -Endpoint $left.Endpoint -ErrorAction Stop } | Should -Throw -ErrorId 'PeerNotFound*'
    }

    It 'links to nodes piped from Get-P2PNode, by their Endpoint' {
        $links = Get-P2PNode -Name middle, right | Connect-P2PPeer -Node $left

        $links.Name | Should -Be @('middle', 'right')
    }

    It 'reports a stopped node in the pipeline as an error for that node and goes on with the rest' {
        Connect-P2PPeer -Node $middle -Address $left.Endpoint | Out-Null
        $right | Stop-P2PNode

        $peers = $right, $middle | Get-P2PPeer -ErrorVariable failures -ErrorAction SilentlyContinue

        $peers.Name | Should -Be 'left'
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'NodeStopped*'
    }

    It 'raises PeerConnected and PeerDisconnected events that scripts can wait for' {
        Register-ObjectEvent -InputObject $left -EventName PeerConnected -SourceIdentifier left.connected
        Register-ObjectEvent -InputObject $left -EventName PeerDisconnected -SourceIdentifier left.disconnected
        try {
            Connect-P2PPeer -Node $middle -Address $left.Endpoint | Out-Null
            $connected = Wait-Event -SourceIdentifier left.connected -Timeout 5
            $connected.SourceEventArgs.Peer.Name | Should -Be 'middle'

            Get-P2PPeer -Node $middle | Disconnect-P2PPeer
            $disconnected = Wait-Event -SourceIdentifier left.disconnected -Timeout 5
            $disconnected.SourceEventArgs.Peer.Endpoint | Should -Be $middle.Endpoint
        }
        finally {
            'left.connected', 'left.disconnected' | ForEach-Object { Unregister-Event -SourceIdentifier $_ -ErrorAction Ignore }
            Get-Event | Remove-Event
        }
    }

    It 'disconnects nothing with -WhatIf' {
        Connect-P2PPeer -Node $middle -Address $left.Endpoint | Out-Null
        Get-P2PPeer -Node $middle | Disconnect-P2PPeer -WhatIf
        (Get-P2PPeer -Node $middle).Count | Should -Be 1
    }

    It 'tests every node of the session from the pipeline' {
        $replies = Get-P2PNode | Test-P2PNode -Count 2 -IntervalSec 0

        $replies.Count | Should -Be 6
        $replies.Name | Sort-Object -Unique | Should -Be @('left', 'middle', 'right')
        $replies | ForEach-Object { $_.Status | Should -Be 'Available'; $_.RoundTripMs | Should -BeGreaterOrEqual 0 }
    }
}

Describe 'A peer in another process' {
    AfterEach {
        Stop-P2PNode -All -DrainTimeoutSec 0
        if ($external -and -not $external.Process.HasExited) { $external.Process.Kill() }
    }

    It 'is dropped within seconds when its process is killed' {
        $local = Start-P2PNode -Name local -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/local
        $external = Start-ExternalNode -Name remote -Address 127.0.0.4 -StateRoot (Join-Path $TestDrive 'ext')

        $link = Connect-P2PPeer -Node $local -Address $external.Endpoint
        $link.Name | Should -Be 'remote'

        $external.Process.Kill()
        Wait-Until { -not (Get-P2PPeer -Node $local) } -TimeoutSec 10 | Should -BeTrue
        { Test-P2PNode $external.Endpoint -TimeoutSec 2 -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionLost*'
    }
}
