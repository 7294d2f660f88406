BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
    Import-Module $ModulePath -Force

    # Starts node nI on 127.0.0.(I+1) sharing one file of its own, file-nI.txt, and waits until it is searchable.
    function Start-SharingNode([int] $Index) {
        $share = New-Item -ItemType Directory -Force -Path (Join-Path $TestDrive "share-n$Index")
        Set-Content -LiteralPath (Join-Path $share "file-n$Index.txt") -Value "the file of node n$Index"
        $node = Start-P2PNode -Name "n$Index" -ListenAddress "127.0.0.$($Index + 1)" -Port 0 -StateDirectory (Join-Path $TestDrive "state/n$Index") -Share $share
        Publish-P2PFile -Node $node -LiteralPath $share -Wait | Out-Null
        $node
    }

    function Connect-Nodes($Nodes, [int[][]] $Edges) {
        foreach ($edge in $Edges) {
            Connect-P2PPeer -Node $Nodes[$edge[0]] -Address $Nodes[$edge[1]].Endpoint | Out-Null
        }
        foreach ($edge in $Edges) {
            $to = $Nodes[$edge[1]]
            Wait-Until { (Get-P2PPeer -Node $to).NodeId -contains $Nodes[$edge[0]].Id } | Should -BeTrue
        }
    }

    function Get-SearchCounter($Nodes, [string] $Name) {
        ($Nodes | ForEach-Object { $_.SearchCounters.$Name } | Measure-Object -Sum).Sum
    }
}

Describe 'Searching a line of six nodes' {
    BeforeAll {
        # n0 - n1 - ... - n5, each sharing nI.txt, all of it searchable when this returns.
        $net = New-P2PTestNetwork -Count 6 -Topology Line
        $line = $net.Nodes
    }
    AfterAll {
        Remove-P2PTestNetwork $net
    }

    It 'with TTL <ttl> finds exactly the files within <ttl> hops of the end it starts from' -ForEach @(
        @{ ttl = 0 }, @{ ttl = 1 }, @{ ttl = 2 }, @{ ttl = 3 }, @{ ttl = 4 }
    ) {
        $found = Find-P2PFile -Node $line[0] 'n*.txt' -TTL $ttl -TimeoutSec 3

        $found.Name | Sort-Object | Should -Be @(0..$ttl | ForEach-Object { "n$_.txt" })
        $found | ForEach-Object { $_.Hops | Should -Be ([int]$_.NodeName.Substring(1)) }
    }

    It 'with the maximum TTL finds every file, each from the node that has it, and streams them as they come' {
        $arrivals = [Collections.Generic.List[double]]::new()
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $found = Find-P2PFile -Node $line[0] 'n*.txt' -TTL 7 -TimeoutSec 4 | ForEach-Object { $arrivals.Add($clock.Elapsed.TotalSeconds); $_ }

        $found.Name | Sort-Object | Should -Be @(0..5 | ForEach-Object { "n$_.txt" })
        ($found | Where-Object Name -EQ 'n5.txt').Endpoint | Should -Be $line[5].Endpoint
        $found | Should -BeOfType ([P2PTransfer.Search.P2PSearchResult])
        $arrivals[0] | Should -BeLessThan 2.5 -Because 'results stream before the search ends'
        $clock.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 3.9
    }

    It 'refuses a TTL above the maximum with a clear error' {
        { Find-P2PFile -Node $line[0] -TTL 8 } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }

    It 'traces the route of each response with -Verbose' {
        $verbose = Find-P2PFile -Node $line[0] 'n3.txt' -TimeoutSec 3 -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }

        $route = ($line[0..3] | ForEach-Object Endpoint) -join ' > '
        $verbose.Message | Should -Contain "1 file(s) from n3 ($($line[3].Endpoint)), 3 hop(s), route $route"
        ($verbose.Message | Where-Object { $_ -like 'search * ended (Timeout)*: 1 result(s) from 1 source(s)' }).Count | Should -Be 1
    }
}

Describe 'Searching networks with loops' {
    AfterEach {
        Remove-P2PTestNetwork $net
    }

    It 'in a <topology> of eight nodes finds every file exactly once, and copies that arrive twice are dropped unprocessed' -ForEach @(
        @{ topology = 'Ring' }
        @{ topology = 'Mesh' }
    ) {
        $net = New-P2PTestNetwork -Count 8 -Topology $topology
        $nodes = $net.Nodes

        $found = Find-P2PFile -Node $nodes[0] 'n*.txt' -TimeoutSec 3

        $found.Name | Sort-Object | Should -Be @(0..7 | ForEach-Object { "n$_.txt" })
        ($found | Group-Object NodeId | Where-Object Count -GT 1) | Should -BeNullOrEmpty
        $nodes | ForEach-Object { $_.SearchCounters.RequestsProcessed | Should -Be 1 -Because "$($_.Name) answers once" }
        Get-SearchCounter $nodes DuplicateRequests | Should -BeGreaterThan 0
        # Flooding: at most one copy each way per link; a copy that came a shorter way after a longer one (widened) may go out again.
        Get-SearchCounter $nodes RequestsCascaded | Should -BeLessOrEqual ((2 * $net.Links.Count) + 7 * (Get-SearchCounter $nodes RequestsWidened))
        (Get-P2PNode n0).SearchCounters.SearchesStarted | Should -Be 1
    }
}

Describe 'Searching when nodes fail or close' {
    AfterEach {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'still brings back the hits of a node behind an intermediate node that is killed while responses travel' {
        $a = Start-SharingNode 0
        $c = Start-SharingNode 2
        $middleShare = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'share-n1')
        Set-Content -LiteralPath (Join-Path $middleShare 'file-n1.txt') -Value 'the file of node n1'
        $b = Start-ExternalNode -Name n1 -Address 127.0.0.2 -StateRoot (Join-Path $TestDrive 'ext') -Share $middleShare
        try {
            Connect-P2PPeer -Node $a -Address $b.Endpoint | Out-Null
            Connect-P2PPeer -Node $c -Address $b.Endpoint | Out-Null

            $found = Find-P2PFile -Node $a 'file-*' -TimeoutSec 4 | ForEach-Object {
                if ($_.NodeName -eq 'n1') { $b.Process.Kill() }
                $_
            }
        }
        finally {
            if (-not $b.Process.HasExited) { $b.Process.Kill() }
        }

        $found.Name | Sort-Object | Should -Be @('file-n0.txt', 'file-n1.txt', 'file-n2.txt')
        $c.SearchCounters.DirectDeliveries | Should -BeGreaterOrEqual 1
        $a.SearchCounters.DirectDeliveries | Should -Be 0
    }

    It 'skips a node that is closing without waiting beyond the timeout' {
        $nodes = 0..2 | ForEach-Object { Start-SharingNode $_ }
        Connect-Nodes $nodes @(@(0, 1), @(0, 2))
        # A search under way at n1 (60 s) is work that closing waits for: it keeps n1 closing (draining) for the length of the test.
        $held = [powershell]::Create()
        $null = $held.AddScript("param(`$node) Import-Module '$ModulePath'; Find-P2PFile -Node `$node 'held-*' -TimeoutSec 60").AddArgument($nodes[1])
        $null = $held.BeginInvoke()
        $stopping = $null
        try {
            Wait-Until { $nodes[1].ActiveSearches -eq 1 } | Should -BeTrue
            $stopping = $nodes[1].StopAsync([timespan]::FromSeconds(20))
            Wait-Until { (Get-P2PPeer -Node $nodes[0] | Where-Object Name -EQ 'n1').State -eq 'RemoteClosing' } | Should -BeTrue

            $elapsed = Measure-Command { $found = Find-P2PFile -Node $nodes[0] 'file-*' -TimeoutSec 1.5 }

            $found.Name | Sort-Object | Should -Be @('file-n0.txt', 'file-n2.txt')
            $elapsed.TotalSeconds | Should -BeLessThan 5 -Because 'it ends at its timeout, not when the closing n1 does (20 s)'
            $nodes[1].SearchCounters.RequestsReceived | Should -Be 0 -Because "peers do not send requests to a node that announced it is closing"

            # Piped in with others, the closing node is an error for itself alone.
            $piped = $nodes[1], $nodes[0], $nodes[0] | Find-P2PFile 'file-*' -TimeoutSec 3 -ErrorVariable failed -ErrorAction SilentlyContinue
            $failed.Count | Should -Be 1
            $failed[0].FullyQualifiedErrorId | Should -BeLike 'NodeClosing*'
            $piped.Name | Sort-Object | Should -Be @('file-n0.txt', 'file-n2.txt')
        }
        finally {
            $held.Stop()
            $held.Dispose()
            if ($stopping) { $stopping.Wait(10000) | Out-Null }
        }
    }
}

Describe 'Searching as a pure client' {
    AfterAll {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'finds the files of a three-node network from a session with no node, with -Server' {
        $nodes = 0..2 | ForEach-Object { Start-SharingNode $_ }
        Connect-Nodes $nodes @(@(0, 1), @(1, 2))
        $server = $nodes[0].Endpoint

        $found = Invoke-InNewSession @"
if (Get-P2PNode) { throw 'this session should have no node' }
Find-P2PFile -Server '$server' 'file-*' -TimeoutSec 3 | Select-Object Name, NodeName, Hops, Endpoint, Hash
"@

        $found.Name | Sort-Object | Should -Be @('file-n0.txt', 'file-n1.txt', 'file-n2.txt')
        ($found | Sort-Object Hops).Hops | Should -Be @(0, 1, 2)
        ($found | Where-Object Name -EQ 'file-n2.txt').Hash | Should -Be (Get-FileHash (Join-Path $TestDrive 'share-n2/file-n2.txt')).Hash
    }

    It 'gives a clear error when the server cannot be reached' {
        { Find-P2PFile -Server 127.0.0.1:1 -TimeoutSec 1 -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionLost*'
    }

    It 'stops the search on the server when -MaxResults is reached' {
        $node = Get-P2PNode n0
        $found = Find-P2PFile -Server $node.Endpoint 'file-*' -MaxResults 1 -TimeoutSec 60
        @($found).Count | Should -Be 1
        Wait-Until { $node.ActiveSearches -eq 0 } -TimeoutSec 5 | Should -BeTrue
    }
}

Describe 'Stopping a search' {
    BeforeAll {
        $pair = 0..1 | ForEach-Object { Start-SharingNode $_ }
        Connect-Nodes $pair @(, @(0, 1))
    }
    AfterAll {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'with <how>, ends promptly on Ctrl+C with no error, and the node forgets the search' -ForEach @(
        @{ how = '-Node' }, @{ how = '-Server' }
    ) {
        $node = $pair[0]
        $shell = [powershell]::Create()
        try {
            $null = $shell.AddScript("param(`$node, `$how) Import-Module '$ModulePath'; if (`$how -eq '-Node') { Find-P2PFile -Node `$node -TimeoutSec 60 } else { Find-P2PFile -Server `$node.Endpoint -TimeoutSec 60 }").AddArgument($node).AddArgument($how)
            $running = $shell.BeginInvoke()
            Wait-Until { $node.ActiveSearches -eq 1 } | Should -BeTrue

            $elapsed = Measure-Command { $shell.Stop() }

            $elapsed.TotalSeconds | Should -BeLessThan 3
            $shell.Streams.Error | Should -BeNullOrEmpty
            Wait-Until { $node.ActiveSearches -eq 0 } -TimeoutSec 5 | Should -BeTrue
        }
        finally {
            $shell.Dispose()
        }
    }
}
