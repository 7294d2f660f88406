<#
.SYNOPSIS
One host tries to hold every slot of a node: it opens many client connections from one local address, and a
bystander from another address then checks that it is still served.

.DESCRIPTION
Each connection says a client Hello (protocol version 1, plain TCP) and keeps the socket open (-Mode Idle: the node's
keep-alive pings are answered by the kernel's buffers until they fill, which is enough to look alive for a while), or
says nothing at all (-Mode Silent). The script counts the node's answers: Welcome(Available), Welcome(Busy),
Error(210 TooManyConnections) and other errors, and connections closed without a frame (a banned address). Then a
bystander connects from the system's choice of address with Test-P2PNode (the module must be loaded) and the sockets
are closed. Loopback only: -From and the node's address must be 127.0.0.x.

.EXAMPLE
$n = Start-P2PNode -Name target -ListenAddress 127.0.0.1 -Port 0
bench/attacks/connection-flood.ps1 -Endpoint $n.Endpoint -From 127.0.0.9 -Count 1500 -Mode Silent
#>
param(
    [Parameter(Mandatory)] [string] $Endpoint,
    [string] $From = '127.0.0.9',
    [int] $Count = 600,
    [ValidateSet('Idle', 'Silent')] [string] $Mode = 'Idle'
)

$ErrorActionPreference = 'Stop'
$hostPart, $port = $Endpoint -split ':'
$target = [Net.IPAddress]::Parse($hostPart)
$source = [Net.IPAddress]::Parse($From)
if (-not [Net.IPAddress]::IsLoopback($target) -or -not [Net.IPAddress]::IsLoopback($source)) {
    throw 'this script only targets loopback addresses (127.0.0.x)'
}

# Hello: magic "P2PT", version 1, role 1 (client), zero node id, empty endpoint, empty name.
$payload = [byte[]](0x50, 0x32, 0x50, 0x54, 0, 1, 1) + [byte[]]::new(16) + [byte[]](0, 0, 0, 0)
$hello = [byte[]](0x01, 0, 0, 0, 0, $payload.Length) + $payload

function Read-Exactly([Net.Sockets.Socket] $Socket, [int] $Length) {
    $buffer = [byte[]]::new($Length)
    $read = 0
    while ($read -lt $Length) {
        $n = $Socket.Receive($buffer, $read, $Length - $read, 'None')
        if ($n -eq 0) { return $null }
        $read += $n
    }
    , $buffer
}

$tally = [ordered]@{ Available = 0; Busy = 0; Closing = 0; TooManyConnections = 0; OtherError = 0; ClosedWithoutFrame = 0; NoAnswer = 0; ConnectFailed = 0 }
$sockets = [Collections.Generic.List[Net.Sockets.Socket]]::new()
$watch = [Diagnostics.Stopwatch]::StartNew()
try {
    for ($i = 0; $i -lt $Count; $i++) {
        $socket = [Net.Sockets.Socket]::new('InterNetwork', 'Stream', 'Tcp')
        $sockets.Add($socket)
        try {
            $socket.Bind([Net.IPEndPoint]::new($source, 0))
            $socket.Connect($target, [int] $port)
        }
        catch { $tally.ConnectFailed++; continue }
        if ($Mode -eq 'Silent') { continue }

        $null = $socket.Send($hello)
        $socket.ReceiveTimeout = 3000
        try {
            $header = Read-Exactly $socket 6
            if ($null -eq $header) { $tally.ClosedWithoutFrame++; continue }
            $length = ([int] $header[2] -shl 24) -bor ([int] $header[3] -shl 16) -bor ([int] $header[4] -shl 8) -bor $header[5]
            $body = Read-Exactly $socket $length
            if ($header[0] -eq 0x02) {
                switch ($body[2]) { 0 { $tally.Available++ } 1 { $tally.Closing++ } default { $tally.Busy++ } }
            }
            elseif ($header[0] -eq 0x07 -and (([int] $body[0] -shl 8) -bor $body[1]) -eq 210) { $tally.TooManyConnections++ }
            else { $tally.OtherError++ }
        }
        catch [Net.Sockets.SocketException] {
            if ($_.Exception.SocketErrorCode -eq 'TimedOut') { $tally.NoAnswer++ } else { $tally.ClosedWithoutFrame++ }
        }
    }

    "{0} connections from {1} to {2} ({3}) in {4:0.0} s" -f $Count, $From, $Endpoint, $Mode, $watch.Elapsed.TotalSeconds
    [pscustomobject] $tally | Format-List | Out-String | Write-Output
    $bystander = Test-P2PNode $Endpoint -Count 1 -ErrorAction Continue
    "bystander: {0}" -f ($(if ($bystander) { "served, round trip $($bystander.RoundTripMs) ms" } else { 'NOT served' }))
}
finally {
    foreach ($s in $sockets) { $s.Dispose() }
}
