# LAN discovery between two nodes on a bridge in network namespaces (multicast does not work reliably on loopback).
# The rig uses 198.18.0.0/15 addresses, has no route anywhere else, and is removed even when a test fails.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')

    $script:Tag = [guid]::NewGuid().ToString('N').Substring(0, 6)
    $script:Spaces = @{ A = "p2pd-$Tag-a"; B = "p2pd-$Tag-b"; Bridge = "p2pd-$Tag-br" }
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "p2p-discovery-$Tag"
    $script:Children = [Collections.Generic.List[Diagnostics.Process]]::new()
    New-Item -ItemType Directory $Work | Out-Null

    function Invoke-Ip([string] $Line) {
        $Arguments = $Line -split ' '
        $output = & ip @Arguments 2>&1
        if ($LASTEXITCODE -ne 0) { throw "ip $($Arguments -join ' ') failed: $output" }
    }

    # A bridge in a namespace of its own, and one namespace per node plugged into it, like two hosts on one switch.
    function New-Rig {
        if (-not $IsLinux -or (& id -u) -ne '0' -or -not (Get-Command ip -ErrorAction Ignore)) {
            throw 'the discovery tests need Linux, root and iproute2 (ip netns) to build their network namespaces'
        }
        foreach ($space in $Spaces.Values) { Invoke-Ip "netns add $space" }
        Invoke-Ip "-n $($Spaces.Bridge) link add br0 type bridge mcast_snooping 0"
        Invoke-Ip "-n $($Spaces.Bridge) link set br0 up"
        $address = @{ A = '198.18.0.1'; B = '198.18.0.2' }
        foreach ($side in 'A', 'B') {
            $space = $Spaces[$side]
            Invoke-Ip "-n $space link add eth0 type veth peer name p$side netns $($Spaces.Bridge)"
            Invoke-Ip "-n $($Spaces.Bridge) link set p$side master br0"
            Invoke-Ip "-n $($Spaces.Bridge) link set p$side up"
            Invoke-Ip "-n $space addr add $($address[$side])/24 dev eth0"
            Invoke-Ip "-n $space link set eth0 up"
            Invoke-Ip "-n $space link set lo up"
        }
    }

    function Remove-Rig {
        foreach ($child in $Children) { if (-not $child.HasExited) { $child.Kill($true) } }
        foreach ($space in $Spaces.Values) { & ip netns del $space 2>$null }
    }

    # A node in a namespace, with no -Peer: it writes 'ready' once started, waits (bounded) until it has a link,
    # writes the names of its peers, and keeps running until the test says stop (so the other side sees the link too).
    function Start-NamespaceNode([string] $Side, [string] $Address) {
        $ready = Join-Path $Work "$Side.ready"
        $peers = Join-Path $Work "$Side.peers"
        $script = @"
Import-Module '$ModulePath'
`$node = Start-P2PNode -Name 'disc-$Side' -ListenAddress $Address -Port 47100 -StateDirectory '$(Join-Path $Work $Side)'
Set-Content -LiteralPath '$ready' -Value `$node.Endpoint
`$deadline = [DateTime]::UtcNow.AddSeconds(60)
while (-not (Get-P2PPeer -Node `$node) -and [DateTime]::UtcNow -lt `$deadline) { Start-Sleep -Milliseconds 100 }
Set-Content -LiteralPath '$peers' -Value ((Get-P2PPeer -Node `$node).Name -join ',')
`$deadline = [DateTime]::UtcNow.AddSeconds(60)
while (-not (Test-Path -LiteralPath '$(Join-Path $Work 'stop')') -and [DateTime]::UtcNow -lt `$deadline) { Start-Sleep -Milliseconds 100 }
Stop-P2PNode -Node `$node -DrainTimeoutSec 0
"@
        $pwsh = Get-PwshCommandLine
        $arguments = @('netns', 'exec', $Spaces[$Side]) + $pwsh + @('-NoProfile', '-NonInteractive', '-Command', $script)
        $process = Start-Process -FilePath 'ip' -ArgumentList $arguments -PassThru -RedirectStandardError (Join-Path $Work "$Side.err")
        $Children.Add($process)
        if (-not (Wait-Until { Test-Path $ready } -TimeoutSec 60)) { throw "node $Side did not start: $(Get-Content (Join-Path $Work "$Side.err") -Raw)" }
        [pscustomobject]@{ Process = $process; Peers = $peers }
    }
}

AfterAll {
    Remove-Rig
    Remove-Item -Recurse -Force $Work -ErrorAction Ignore
}

Describe 'LAN discovery' {
    It 'links two nodes on one network segment with no -Peer' {
        New-Rig
        # a listens before b starts, so b's first announcement (made as it starts) reaches a, which links to b.
        $a = Start-NamespaceNode A 198.18.0.1
        $b = Start-NamespaceNode B 198.18.0.2
        Wait-Until { ((Get-Content $a.Peers -Raw -ErrorAction Ignore) -match '\S') -and ((Get-Content $b.Peers -Raw -ErrorAction Ignore) -match '\S') } -TimeoutSec 90 | Should -BeTrue -Because 'each node reports once it has a link or its 60 s are up'
        New-Item -ItemType File (Join-Path $Work 'stop') | Out-Null
        foreach ($node in $a, $b) { $node.Process.WaitForExit(90000) | Should -BeTrue }
        Get-Content $a.Peers | Should -Be 'disc-B'
        Get-Content $b.Peers | Should -Be 'disc-A'
    }
}
