BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
    Import-Module $ModulePath -Force

    function Complete([string] $Line) {
        @((TabExpansion2 $Line $Line.Length).CompletionMatches.CompletionText)
    }
}

Describe 'Naming a node, completing names, endpoints and extensions' {
    BeforeAll {
        $pub = New-Item -ItemType Directory "TestDrive:/pub"
        [IO.File]::WriteAllBytes((Join-Path $pub 'one.pdf'), [byte[]]::new(1536KB))
        'x' | Set-Content (Join-Path $pub 'two.pdf')
        'x' | Set-Content (Join-Path $pub 'notes.txt')
        $xnode = Start-P2PNode -Share $pub -Name xnode -ListenAddress 127.0.0.1 -Port 0 -StateDirectory 'TestDrive:/state/x'
        $ynode = Start-P2PNode -Name ynode -ListenAddress 127.0.0.2 -Port 0 -StateDirectory 'TestDrive:/state/y'
        Publish-P2PFile -Node $xnode -LiteralPath $pub -Wait | Out-Null
        Connect-P2PPeer -Node $ynode -Address $xnode.Endpoint | Out-Null
    }

    AfterAll {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'takes a node by its name wherever -Node is taken' {
        (Get-P2PPeer -Node ynode).Name | Should -Be 'xnode'
        (Get-P2PPeer ynode).Name | Should -Be 'xnode'
        @(Get-P2PShare -Node XNODE).Count | Should -Be 3
        (Find-P2PFile -Node ynode -Name 'one.pdf' -MaxResults 1).NodeName | Should -Be 'xnode'
    }

    It 'says which names exist when a name matches no running node' {
        { Get-P2PPeer -Node nosuch -ErrorAction Stop } | Should -Throw -ExpectedMessage "*no node named 'nosuch' is running in this session*Get-P2PNode*"
    }

    It 'completes node names for -Node, the session''s own first' {
        # Nodes of other sessions of this user may follow the session's own.
        @(Complete 'Get-P2PPeer -Node x')[0] | Should -Be 'xnode'
        @(Complete 'Get-P2PShare -Node ')[0..1] | Should -Be @('xnode', 'ynode')
        @(Complete 'Stop-P2PNode -Node y')[0] | Should -Be 'ynode'
    }

    It 'completes the endpoints of the session''s nodes and their peers' {
        Complete 'Connect-P2PPeer -Address 127.0.0.1' | Should -Be @($xnode.Endpoint)
        Complete 'Test-P2PNode -Address 127.0.0.' | Should -Be @($xnode.Endpoint, $ynode.Endpoint)
        Complete 'Find-P2PFile -Server 127.0.0.2' | Should -Be @($ynode.Endpoint)
        Complete 'Receive-P2PFile -Source 127.0.0.1' | Should -Be @($xnode.Endpoint)
    }

    It 'completes -Extension with what the node shares, the most common first' {
        Complete 'Find-P2PFile -Node xnode -Extension ' | Should -Be @('pdf', 'txt')
        Complete 'Find-P2PFile -Node xnode -Extension t' | Should -Be @('txt')
        Complete 'Find-P2PFile -Node ynode -Extension ' | Should -BeNullOrEmpty
    }
}

Describe 'Default views' {
    BeforeAll {
        $pub = New-Item -ItemType Directory "TestDrive:/views"
        [IO.File]::WriteAllBytes((Join-Path $pub 'big.bin'), [byte[]]::new(1536KB))
        $server = Start-P2PNode -Share $pub -Name vserver -ListenAddress 127.0.0.1 -Port 0 -StateDirectory 'TestDrive:/state/vs'
        $client = Start-P2PNode -Name vclient -ListenAddress 127.0.0.2 -Port 0 -StateDirectory 'TestDrive:/state/vc'
        Publish-P2PFile -Node $server -LiteralPath $pub -Wait | Out-Null
        Connect-P2PPeer -Node $client -Address $server.Endpoint | Out-Null
    }

    AfterAll {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'shows sizes people read in the share and search tables, while Size stays a number' {
        $share = Get-P2PShare -Node vserver
        $share.Size | Should -BeOfType [long]
        ($share | Out-String -Width 200) | Should -Match '\b1\.5 MiB\b'
        $found = Find-P2PFile -Node vclient -Name big.bin -MaxResults 1
        $found.Size | Should -Be 1572864
        ($found | Out-String -Width 200) | Should -Match '\b1\.5 MiB\b'
    }

    It 'shows each link''s traffic in the peer table' {
        $text = Get-P2PPeer -Node vclient | Out-String -Width 200
        $text | Should -Match 'Sent\s+Received'
        $text | Should -Match '\d+(\.\d)? (B|KiB|MiB)\s+\d+(\.\d)? (B|KiB|MiB)'
    }

    It 'renders -PassThru files like Get-ChildItem does, with mode and size' {
        $dest = New-Item -ItemType Directory 'TestDrive:/views-dest'
        $file = Find-P2PFile -Node vclient -Name big.bin -MaxResults 1 | Receive-P2PFile -Destination $dest -PassThru
        $file | Should -BeOfType [IO.FileInfo]
        $ours = ($file | Out-String -Width 200) -split "`n" | Where-Object { $_ -match 'big\.bin' }
        $theirs = (Get-ChildItem -LiteralPath $file.FullName | Out-String -Width 200) -split "`n" | Where-Object { $_ -match 'big\.bin' }
        $ours | Should -Be $theirs
        $ours | Should -Match '1572864'
    }
}
