# One P2PTransfer node in this pwsh process, for bench/transfer.sh: shares a folder, waits until it is indexed,
# writes its endpoint to a file, then stays up for at most -LifetimeSec (the bench stops it by PID long before).
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $Name,
    [Parameter(Mandatory)] [string] $Address,
    [Parameter(Mandatory)] [string] $StateDirectory,
    [Parameter(Mandatory)] [string] $Share,
    [Parameter(Mandatory)] [string] $EndpointFile,
    [int] $LifetimeSec = 1200
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
$clock = [Diagnostics.Stopwatch]::StartNew()
$node = Start-P2PNode -Name $Name -ListenAddress $Address -Port 0 -StateDirectory $StateDirectory -Share $Share
Publish-P2PFile -Node $node -LiteralPath $Share -Wait | Out-Null
Write-Host ("{0}: {1} indexed in {2:0.0} s, pid {3}" -f $Name, $node.Endpoint, $clock.Elapsed.TotalSeconds, $PID)
Set-Content -LiteralPath "$EndpointFile.tmp" -Value $node.Endpoint
Move-Item -LiteralPath "$EndpointFile.tmp" -Destination $EndpointFile -Force
Start-Sleep -Seconds $LifetimeSec
