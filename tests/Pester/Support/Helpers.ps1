# Shared by the Pester suites: dot-source inside BeforeAll.

$script:ModulePath = if ($env:P2P_MODULE_PATH) { $env:P2P_MODULE_PATH } else { Join-Path $PSScriptRoot '../../../out/P2PTransfer' }

# Polls until the condition holds; bounded by -TimeoutSec. Returns whether it held.
function Wait-Until([scriptblock] $Condition, [double] $TimeoutSec = 10) {
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
    while ([DateTime]::UtcNow -lt $deadline) {
        if (& $Condition) { return $true }
        Start-Sleep -Milliseconds 50
    }
    return [bool](& $Condition)
}

. (Join-Path $PSScriptRoot '../../../tools/PwshCommandLine.ps1')

# Starts a node in its own pwsh process (so it can be killed) and returns the process and the node's endpoint.
function Start-ExternalNode([string] $Name, [string] $Address, [string] $StateRoot) {
    $endpointFile = Join-Path $StateRoot "$Name.endpoint"
    $script = @"
Import-Module '$script:ModulePath'
`$node = Start-P2PNode -Name '$Name' -ListenAddress '$Address' -Port 0 -StateDirectory '$(Join-Path $StateRoot $Name)'
Set-Content -Path '$endpointFile' -Value `$node.Endpoint
Start-Sleep -Seconds 120   # bounded: the test kills it long before
"@
    $pwsh = Get-PwshCommandLine
    $arguments = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $script)
    $process = Start-Process -FilePath $pwsh[0] -ArgumentList $arguments -PassThru
    if (-not (Wait-Until { Test-Path $endpointFile } -TimeoutSec 30)) {
        $process.Kill()
        throw "external node $Name did not start"
    }
    [pscustomobject]@{ Process = $process; Endpoint = (Get-Content $endpointFile -Raw).Trim() }
}
