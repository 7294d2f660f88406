BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
    Import-Module $ModulePath -Force

    # Each node's neighbours as both ends see them: 'n0:n1,n4', 'n1:n0,n2', ...
    function Get-Neighbours($Network) {
        foreach ($node in $Network.Nodes) { "$($node.Name):$(@(Get-P2PPeer -Node $node | ForEach-Object Name | Sort-Object) -join ',')" }
    }
}

Describe 'New-P2PTestNetwork' {
    AfterEach {
        if ($net) { Remove-P2PTestNetwork $net }
        $net = $null
    }

    It 'links <count> nodes as a <topology>, every link listed at both ends when it returns' -ForEach @(
        @{ topology = 'Line'; count = 5; expected = 'n0:n1', 'n1:n0,n2', 'n2:n1,n3', 'n3:n2,n4', 'n4:n3' }
        @{ topology = 'Ring'; count = 5; expected = 'n0:n1,n4', 'n1:n0,n2', 'n2:n1,n3', 'n3:n2,n4', 'n4:n0,n3' }
        @{ topology = 'Mesh'; count = 4; expected = 'n0:n1,n2,n3', 'n1:n0,n2,n3', 'n2:n0,n1,n3', 'n3:n0,n1,n2' }
    ) {
        $net = New-P2PTestNetwork -Count $count -Topology $topology

        $net | Should -BeOfType ([P2PTransfer.Node.P2PTestNetwork])
        $net.Topology | Should -Be $topology
        Get-Neighbours $net | Should -Be $expected
        $net.Nodes.ListenAddress | Should -Be @(1..$count | ForEach-Object { "127.0.0.$_" })
        (Get-P2PNode).Name | Sort-Object | Should -Be $net.Nodes.Name
    }

    It 'draws a connected Random network from its seed, and the same seed gives the same links' {
        $net = New-P2PTestNetwork -Count 6 -Topology Random -Seed 11
        $links = $net.Links | ForEach-Object { "$_" }
        $neighbours = Get-Neighbours $net
        Remove-P2PTestNetwork $net

        $net = New-P2PTestNetwork 6 Random -Seed 11 -FirstAddress 127.0.0.11

        $net.Seed | Should -Be 11
        $net.Links | ForEach-Object { "$_" } | Should -Be $links
        Get-Neighbours $net | Should -Be $neighbours
        $links.Count | Should -Be 9 -Because 'six nodes take about three links each'
        # Connected: a search with the largest TTL finds the generated file of every node.
        (Find-P2PFile -Node $net.Nodes[0] 'n*.txt' -TimeoutSec 3).Name | Sort-Object | Should -Be @(0..5 | ForEach-Object { "n$_.txt" })
    }

    It 'gives each node a generated share that is searchable when it returns, and its nodes go down the pipeline' {
        $net = New-P2PTestNetwork -Count 3 -NamePrefix peer -FirstAddress 127.0.0.21

        $net.Nodes | Get-P2PShare | ForEach-Object Name | Should -Be 'peer0.txt', 'peer1.txt', 'peer2.txt'
        $net['peer0'] | Find-P2PFile -Name 'peer*.txt' -TimeoutSec 2 | Sort-Object Name | ForEach-Object { "$($_.Name) $($_.Hops)" } |
            Should -Be 'peer0.txt 0', 'peer1.txt 1', 'peer2.txt 2'
    }

    It 'shares the folders given with -Share, one per node, an empty one sharing nothing' {
        $music = New-Item -ItemType Directory TestDrive:/music
        Set-Content (Join-Path $music 'song.flac') 'la la la'

        $net = New-P2PTestNetwork -Count 2 -Share $music.FullName, '' -FirstAddress 127.0.0.31

        (Get-P2PShare -Node $net.Nodes[0]).Name | Should -Be 'song.flac'
        Get-P2PShare -Node $net.Nodes[1] | Should -BeNullOrEmpty
    }

    It 'refuses a share list of the wrong length and an address off loopback, starting nothing' {
        { New-P2PTestNetwork -Count 3 -Share TestDrive: } | Should -Throw -ErrorId 'InvalidArgument,*'
        { New-P2PTestNetwork -Count 2 -FirstAddress 192.168.1.10 } | Should -Throw -ErrorId 'InvalidArgument,*'
        Get-P2PNode | Should -BeNullOrEmpty
    }

    It 'starts nothing with -WhatIf' {
        New-P2PTestNetwork -Count 3 -WhatIf | Should -BeNullOrEmpty

        Get-P2PNode | Should -BeNullOrEmpty
    }
}

Describe 'Remove-P2PTestNetwork' {
    It 'stops every node and deletes the state folder, leaving folders given with -Share' {
        $given = New-Item -ItemType Directory TestDrive:/given
        Set-Content (Join-Path $given 'keep.txt') 'keep me'
        $net = New-P2PTestNetwork -Count 3 -Topology Ring -Share $given.FullName, $given.FullName, $given.FullName -FirstAddress 127.0.0.41
        $endpoint = $net.Nodes[1].Endpoint
        Test-Path $net.Root | Should -BeTrue

        $net | Remove-P2PTestNetwork

        $net.Nodes.Status | Should -Be 'Stopped', 'Stopped', 'Stopped'
        Get-P2PNode | Should -BeNullOrEmpty
        Test-Path $net.Root | Should -BeFalse
        Join-Path $given 'keep.txt' | Should -Exist
        { Test-P2PNode $endpoint -TimeoutSec 2 -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionLost*'
        { Remove-P2PTestNetwork $net } | Should -Not -Throw
    }

    It 'removes nothing with -WhatIf' {
        $net = New-P2PTestNetwork -Count 2 -FirstAddress 127.0.0.51
        try {
            Remove-P2PTestNetwork $net -WhatIf

            $net.Nodes.Status | Should -Be 'Running', 'Running'
            Test-Path $net.Root | Should -BeTrue
        }
        finally {
            Remove-P2PTestNetwork $net
        }
    }
}
