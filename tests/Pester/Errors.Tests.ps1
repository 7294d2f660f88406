BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
    Import-Module $ModulePath -Force

    # A loopback server that is not a P2PTransfer node: like a web server given bytes it cannot parse, it reads the
    # request, answers 'HTTP/1.1 400 Bad Request' and closes. It serves at most 20 connections, one at a time.
    function Start-WebLikeServer {
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $job = Start-ThreadJob -ArgumentList $listener -ScriptBlock {
            param($listener)
            $answer = [Text.Encoding]::ASCII.GetBytes("HTTP/1.1 400 Bad Request`r`nContent-Length: 0`r`nConnection: close`r`n`r`n")
            for ($i = 0; $i -lt 20; $i++) {
                try { $socket = $listener.AcceptSocket() } catch { return }
                try {
                    $socket.ReceiveTimeout = 5000
                    $buffer = [byte[]]::new(4096)
                    $null = $socket.Receive($buffer)
                    $null = $socket.Send($answer)
                    $socket.Shutdown([Net.Sockets.SocketShutdown]::Send)
                    # Read until the dialer lets go, so the close does not reset the answer away (bounded by the timeout).
                    while ($socket.Receive($buffer) -gt 0) { }
                }
                catch { }
                finally { $socket.Dispose() }
            }
        }
        [pscustomobject]@{ Listener = $listener; Job = $job; Endpoint = "127.0.0.1:$($listener.LocalEndpoint.Port)" }
    }
}

Describe 'Errors that say what happened' {
    AfterAll {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'refuses a port already in use with AddressInUse, naming the address' {
        $taken = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $taken.Start()
        try {
            $port = $taken.LocalEndpoint.Port
            $failure = { Start-P2PNode -Name late -ListenAddress 127.0.0.1 -Port $port -StateDirectory TestDrive:/state/late } |
                Should -Throw -ErrorId 'AddressInUse*' -ExpectedMessage "*127.0.0.1:$port*already in use*" -PassThru
            $failure.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        }
        finally { $taken.Stop() }
        Get-P2PNode | Where-Object Name -EQ late | Should -BeNullOrEmpty
    }

    It 'reports a host name under .invalid as HostNotFound, naming it, without asking a name server' {
        $node = Start-P2PNode -Name dialer -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/dialer
        # Names under .invalid never resolve (RFC 6761): the node answers itself, without a trip to a name server,
        # and only that answer says so.
        Connect-P2PPeer -Node $node -Address 'no-such-host.invalid:47100' -ErrorVariable failures -ErrorAction SilentlyContinue

        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'HostNotFound*'
        $failures[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failures[0].Exception.Message | Should -BeLike "*no-such-host.invalid*"
        $failures[0].Exception.Message | Should -BeLike '*names under .invalid never exist (RFC 6761)*'
        $failures[0].TargetObject | Should -Be 'no-such-host.invalid:47100'
    }

    Context 'against a server that is not a P2PTransfer node' {
        BeforeAll {
            $web = Start-WebLikeServer
            $dialer = Start-P2PNode -Name web-dialer -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/web-dialer
        }
        AfterAll {
            $web.Listener.Stop()
            $web.Job | Wait-Job -Timeout 10 | Out-Null
            $web.Job | Remove-Job -Force
        }

        It '<command> says so with NotP2PNode and InvalidData' -ForEach @(
            @{ command = 'Connect-P2PPeer'; run = { Connect-P2PPeer -Node $dialer -Address $web.Endpoint -ErrorAction Stop } }
            @{ command = 'Test-P2PNode'; run = { Test-P2PNode -Address $web.Endpoint -ErrorAction Stop } }
            @{ command = 'Find-P2PFile -Server'; run = { Find-P2PFile -Server $web.Endpoint -Name *.txt -ErrorAction Stop } }
            @{ command = 'Receive-P2PFile -Source'; run = { Receive-P2PFile -Hash ('AB' * 32) -Source $web.Endpoint -Destination (Join-Path $TestDrive 'dl-web') -ErrorAction Stop } }
        ) {
            $failure = $run | Should -Throw -ErrorId 'NotP2PNode*' -PassThru
            $failure.CategoryInfo.Category | Should -Be 'InvalidData'
            $failure.Exception.Message | Should -BeLike "*$($web.Endpoint) is not a P2PTransfer node*"
            $failure.Exception.Message | Should -Not -BeLike '*UnknownCode*'
        }
    }

    It 'fails each file it cannot write with PermissionDenied and goes on with the rest of the batch' -Skip:(-not $IsLinux) {
        $share = New-Item -ItemType Directory -Force -Path (Join-Path $TestDrive 'share-rw')
        Set-Content -LiteralPath (Join-Path $share 'one.txt') -Value 'one'
        Set-Content -LiteralPath (Join-Path $share 'two.txt') -Value 'two'
        $node = Start-P2PNode -Name rw -ListenAddress 127.0.0.2 -Port 0 -StateDirectory TestDrive:/state/rw -Share $share
        Publish-P2PFile -Node $node -LiteralPath $share -Wait | Out-Null
        $found = Find-P2PFile -Node $node -LocalOnly -Name one.txt, two.txt
        $found.Count | Should -Be 2
        # A folder no one can make, root included (mode bits do not stop root; /sys refuses every new name).
        $destination = "/sys/p2ptransfer-$([guid]::NewGuid().ToString('N'))/sub"

        $found | Receive-P2PFile -Destination $destination -ErrorVariable failures -ErrorAction SilentlyContinue

        # One error per file: the first does not end the command, the second file is still tried.
        $failures.Count | Should -Be 2
        $failures.TargetObject | Sort-Object | Should -Be @('one.txt', 'two.txt')
        $failures.CategoryInfo.Category | Should -Be @('PermissionDenied', 'PermissionDenied')
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'AccessDenied*'
        $failures[0].Exception.Message | Should -BeLike "*cannot create the destination folder '$destination'*"
    }

    It 'fails each file whose destination folder lies under a regular file with DestinationFolderFailed and goes on with the rest' {
        $share = New-Item -ItemType Directory -Force -Path (Join-Path $TestDrive 'share-file')
        Set-Content -LiteralPath (Join-Path $share 'three.txt') -Value 'three'
        Set-Content -LiteralPath (Join-Path $share 'four.txt') -Value 'four'
        $node = Start-P2PNode -Name under-file -ListenAddress 127.0.0.3 -Port 0 -StateDirectory TestDrive:/state/under-file -Share $share
        Publish-P2PFile -Node $node -LiteralPath $share -Wait | Out-Null
        $found = Find-P2PFile -Node $node -LocalOnly -Name three.txt, four.txt
        $found.Count | Should -Be 2
        # A file where a folder of the path should be: no one can make the folder, root included, on every system.
        $file = Join-Path $TestDrive 'a-file'
        Set-Content -LiteralPath $file -Value 'not a folder'
        $destination = Join-Path $file 'sub'

        $found | Receive-P2PFile -Destination $destination -ErrorVariable failures -ErrorAction SilentlyContinue

        $failures.Count | Should -Be 2
        $failures.TargetObject | Sort-Object | Should -Be @('four.txt', 'three.txt')
        $failures.CategoryInfo.Category | Should -Be @('WriteError', 'WriteError')
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'DestinationFolderFailed*'
        $failures[0].Exception.Message | Should -BeLike "*cannot create the destination folder '$destination'*"
    }
}
