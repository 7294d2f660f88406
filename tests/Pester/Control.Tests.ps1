# A node started in its own pwsh process (Start-P2PNode -Wait) is managed from this one through its control channel.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
    Import-Module $ModulePath -Force

    # Both processes find the control folder through XDG_RUNTIME_DIR: a folder of this test, owner-only as a runtime folder is.
    $script:savedRuntime = $env:XDG_RUNTIME_DIR
    $runtime = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "p2pt-rt-$([guid]::NewGuid().ToString('N').Substring(0, 8))")
    [IO.File]::SetUnixFileMode($runtime.FullName, [IO.UnixFileMode]'UserRead, UserWrite, UserExecute')
    $env:XDG_RUNTIME_DIR = $runtime.FullName
    $script:runtime = $runtime.FullName

    $state = (New-Item -ItemType Directory TestDrive:/state).FullName
    $script:published = (New-Item -ItemType Directory TestDrive:/published).FullName
    Set-Content -LiteralPath (Join-Path $published 'from-afar.txt') -Value 'published from another session'
    $elsewhere = (New-Item -ItemType Directory TestDrive:/elsewhere).FullName
    Set-Content -LiteralPath (Join-Path $elsewhere 'on-the-peer.txt') -Value 'shared by a peer'

    $script:peer = Start-P2PNode -Name ctlpeer -ListenAddress 127.0.0.1 -Port 0 -StateDirectory (Join-Path $state 'ctlpeer') -Share $elsewhere -NoDiscovery
    Publish-P2PFile -Node $peer -LiteralPath $elsewhere -Wait | Out-Null

    $pwsh = Get-PwshCommandLine
    $script = "Import-Module '$ModulePath'; Start-P2PNode -Name ctlnode -ListenAddress 127.0.0.1 -Port 0 -StateDirectory '$(Join-Path $state 'ctlnode')' -NoDiscovery -Wait | Out-Null"
    $script:process = Start-Process -FilePath $pwsh[0] -ArgumentList (@($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $script)) -PassThru
    # The node's end state: it answers on its control channel.
    if (-not (Wait-Until { Get-P2PNode -All -Name ctlnode -ErrorAction SilentlyContinue } -TimeoutSec 60)) {
        throw 'the node in the other process did not come up'
    }
}

AfterAll {
    if ($process -and -not $process.HasExited) { $process.Kill($true) }
    Stop-P2PNode -All -DrainTimeoutSec 0
    $env:XDG_RUNTIME_DIR = $savedRuntime
    Remove-Item -LiteralPath $runtime -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'A node of another session' {
    It 'is listed by Get-P2PNode -All with the default view, and not without -All' {
        $node = Get-P2PNode -All -Name ctlnode

        $node | Should -BeOfType 'P2PTransfer.Node.RemoteNode'
        $node.Status | Should -Be 'Running'
        $node.ProcessId | Should -Be $process.Id
        $node.Endpoint | Should -Match '^127\.0\.0\.1:\d+$'
        (Get-P2PNode).Name | Should -Be @('ctlpeer')
        $table = Get-P2PNode -All | Format-Table | Out-String -Width 200
        $table | Should -Match 'ctlnode\s+Running\s+127\.0\.0\.1:\d+'
    }

    It 'publishes a folder, and Get-P2PShare shows it' {
        $files = Publish-P2PFile -Node ctlnode -LiteralPath $published -PassThru

        $files.Name | Should -Be 'from-afar.txt'
        $share = Get-P2PShare -Node ctlnode
        $share | Should -BeOfType 'P2PTransfer.Index.SharedFile'
        $share.State | Should -Be 'Ready'
        $share.Hash | Should -Be (Get-FileHash -LiteralPath (Join-Path $published 'from-afar.txt') -Algorithm SHA256).Hash
    }

    It 'links to a peer, and Get-P2PPeer shows the link' {
        $link = Connect-P2PPeer -Node ctlnode -Address $peer.Endpoint

        $link.NodeId | Should -Be $peer.Id
        $peers = Get-P2PNode -All -Name ctlnode | Get-P2PPeer
        $peers.Name | Should -Be 'ctlpeer'
        $peers.LocalNode.Name | Should -Be 'ctlnode'
    }

    It 'is where Find-P2PFile enters a search, and finds its files and its peer''s' {
        $found = Find-P2PFile -Node ctlnode -Extension txt -TimeoutSec 10 -MaxResults 2

        $found | Should -BeOfType 'P2PTransfer.Search.P2PSearchResult'
        ($found.Name | Sort-Object) | Should -Be @('from-afar.txt', 'on-the-peer.txt')
    }

    It 'drops the link with Disconnect-P2PPeer from Get-P2PPeer''s objects, and unpublishes the folder' {
        Get-P2PPeer -Node ctlnode | Disconnect-P2PPeer -Confirm:$false
        Unpublish-P2PFile -Node ctlnode -LiteralPath $published -Confirm:$false

        Get-P2PPeer -Node ctlnode | Should -BeNullOrEmpty
        Get-P2PShare -Node ctlnode | Should -BeNullOrEmpty
    }

    It 'stops with Stop-P2PNode, and its process ends' {
        $stopped = Stop-P2PNode -Node ctlnode -DrainTimeoutSec 0 -PassThru

        $stopped.Status | Should -Be 'Stopped'
        $process.WaitForExit(30000) | Should -BeTrue
        Get-P2PNode -All -Name ctlnode -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}
