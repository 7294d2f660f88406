# An example of testing a network of your own with Pester 5 and the module's test kit: copy it, change the
# topology and what the nodes share, and run it with Invoke-Pester. The repository's test suite runs it too.
#
#   Invoke-Pester ./MyNetwork.Tests.ps1 -Output Detailed

BeforeAll {
    # The suite points P2P_MODULE_PATH at the module it has just built; elsewhere, the installed module is used.
    Import-Module $(if ($env:P2P_MODULE_PATH) { $env:P2P_MODULE_PATH } else { 'P2PTransfer' })

    # Five nodes n0..n4 in a ring on 127.0.0.1-5, each sharing one file of its own (n0.txt ... n4.txt). It returns
    # once every link is up and every file is searchable, so the tests need no waiting of their own.
    $net = New-P2PTestNetwork -Count 5 -Topology Ring
}

AfterAll {
    # Stops the nodes and deletes their state, even when a test failed.
    Remove-P2PTestNetwork $net
}

Describe 'A ring of five nodes' {
    It 'has two links at every node' {
        $net.Nodes | ForEach-Object { (Get-P2PPeer -Node $_).Count | Should -Be 2 -Because "$($_.Name) is in a ring" }
    }

    It 'finds every file with a TTL of 2, the farthest two links away' {
        $found = Find-P2PFile -Node $net['n0'] '*.txt' -TTL 2 -TimeoutSec 3

        $found.Name | Sort-Object | Should -Be 'n0.txt', 'n1.txt', 'n2.txt', 'n3.txt', 'n4.txt'
        ($found | Measure-Object Hops -Maximum).Maximum | Should -Be 2
    }

    It 'downloads a file found two links away and it is the same file' {
        $downloads = Join-Path $TestDrive 'downloads'

        $file = Find-P2PFile -Node $net['n0'] 'n2.txt' -TimeoutSec 3 | Receive-P2PFile -Destination $downloads -PassThru

        $file.Name | Should -Be 'n2.txt'
        (Get-FileHash $file).Hash | Should -Be (Get-P2PShare -Node $net['n2']).Hash
    }

    It 'still finds the far side when a node stops: the ring becomes a line' {
        Stop-P2PNode $net['n1'] -DrainTimeoutSec 0

        (Find-P2PFile -Node $net['n0'] 'n2.txt' -TimeoutSec 3).Hops | Should -Be 3 -Because 'n0 - n4 - n3 - n2 is the way left'
    }
}
