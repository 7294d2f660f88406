# Shared by the Pester suites: dot-source inside BeforeAll.

# A test's topology is the links it makes: nodes make no links of their own (peer exchange, reconnects to nodes
# they learned of) unless a test asks for them with -TargetPeers.
$PSDefaultParameterValues['Start-P2PNode:TargetPeers'] = 0

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
# With -Share, the node shares that folder and the endpoint is written once it is indexed. With -DieAfterPieces,
# the process kills itself (no goodbye, like a crash or a pulled cable) once it has uploaded that many pieces; with
# -FreezeAfterPieces it stops itself instead (SIGSTOP: connections stay open but nothing moves, like a hung machine).
function Start-ExternalNode([string] $Name, [string] $Address, [string] $StateRoot, [string] $Share, [int] $DieAfterPieces = 0, [int] $FreezeAfterPieces = 0) {
    $endpointFile = Join-Path $StateRoot "$Name.endpoint"
    $shareArgument = if ($Share) { "-Share '$Share'" } else { '' }
    $script = @"
Import-Module '$script:ModulePath'
`$node = Start-P2PNode -Name '$Name' -ListenAddress '$Address' -Port 0 -TargetPeers 0 -StateDirectory '$(Join-Path $StateRoot $Name)' $shareArgument
if ('$Share') { Publish-P2PFile -Node `$node -LiteralPath '$Share' -Wait | Out-Null }
Set-Content -Path '$endpointFile' -Value `$node.Endpoint
`$deadline = [DateTime]::UtcNow.AddSeconds(120)   # bounded: the test kills it long before
if ($DieAfterPieces -le 0 -and $FreezeAfterPieces -le 0) { Start-Sleep -Seconds 120 }
while ([DateTime]::UtcNow -lt `$deadline) {
    `$served = `$node.TransferCounters.PiecesServed
    if ($DieAfterPieces -gt 0 -and `$served -ge $DieAfterPieces) { Stop-Process -Id `$PID -Force }
    if ($FreezeAfterPieces -gt 0 -and `$served -ge $FreezeAfterPieces) { & kill -STOP `$PID; break }
    Start-Sleep -Milliseconds 2
}
Start-Sleep -Seconds 120

"@
    $pwsh = Get-PwshCommandLine
    $arguments = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $script)
    $process = Start-Process -FilePath $pwsh[0] -ArgumentList $arguments -PassThru
    # The file exists a moment before its text is in it: wait for the endpoint itself.
    if (-not (Wait-Until { (Test-Path $endpointFile) -and (Get-Content $endpointFile -Raw -ErrorAction SilentlyContinue) -match ':\d+' } -TimeoutSec 30)) {
        $process.Kill()
        throw "external node $Name did not start"
    }
    [pscustomobject]@{ Process = $process; Endpoint = (Get-Content $endpointFile -Raw).Trim() }
}

# Runs a script in a separate pwsh process (a session of its own) and returns what it wrote, parsed from JSON.
function Invoke-InNewSession([string] $Script, [double] $TimeoutSec = 60) {
    $out = Join-Path ([IO.Path]::GetTempPath()) "p2pt-session-$([guid]::NewGuid().ToString('N')).json"
    $wrapped = "Import-Module '$script:ModulePath'; & { $Script } | ConvertTo-Json -Depth 3 -AsArray | Set-Content -LiteralPath '$out'"
    $pwsh = Get-PwshCommandLine
    $arguments = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $wrapped)
    $process = Start-Process -FilePath $pwsh[0] -ArgumentList $arguments -PassThru -RedirectStandardError "$out.err"
    try {
        if (-not $process.WaitForExit([int]($TimeoutSec * 1000))) { throw "the session did not finish within $TimeoutSec s" }
        if (-not (Test-Path $out)) { throw "the session failed: $(Get-Content "$out.err" -Raw)" }
        Get-Content -LiteralPath $out -Raw | ConvertFrom-Json
    }
    finally {
        if (-not $process.HasExited) { $process.Kill() }
        Remove-Item -LiteralPath $out, "$out.err" -ErrorAction SilentlyContinue
    }
}

# A pwsh at an interactive prompt ('P2P> ') in a real terminal: a private tmux server (its own socket, no user
# configuration), so nothing touches the user's sessions. Runs $Setup (a script file) first and returns once it has
# printed 'SETUP DONE' and the prompt is back. Needs tmux (build.ps1 Test installs it when it can).
function Start-TmuxConsole([string] $Setup, [int] $Width = 200) {
    if (-not (Get-Command tmux -CommandType Application -ErrorAction Ignore)) {
        throw 'tmux is not installed: the console tests need a real terminal (Debian: apt-get install tmux; build.ps1 Test installs it when run as root)'
    }

    $console = [pscustomobject]@{ Socket = "p2p-console-$PID-$([guid]::NewGuid().ToString('N').Substring(0, 8))"; SocketPath = $null }
    $pwsh = Get-PwshCommandLine
    Invoke-TmuxConsole $console new-session -d -s console -x $Width -y 50 -- env NO_COLOR=1 @pwsh -NoProfile -NoExit -Command ". '$Setup'" | Out-Null
    $console.SocketPath = Invoke-TmuxConsole $console display-message -p '#{socket_path}'
    $ready = { $screen = @(Get-TmuxScreen $console | Where-Object { $_.Trim() }); $screen -contains 'SETUP DONE' -and $screen[-1] -like 'P2P>*' }
    if (-not (Wait-Until $ready -TimeoutSec 60)) {
        throw "the pwsh in tmux did not finish its setup; its screen:`n$((Get-TmuxScreen $console) -join "`n")"
    }
    $console
}

function Invoke-TmuxConsole($Console) {
    $output = & tmux -f /dev/null -L $Console.Socket @args 2>&1
    if ($LASTEXITCODE -ne 0) { throw "tmux $($args -join ' ') failed: $output" }
    $output
}

function Stop-TmuxConsole($Console) {
    if (-not $Console) { return }
    & tmux -L $Console.Socket kill-server 2>$null
    if ($Console.SocketPath) { Remove-Item -LiteralPath $Console.SocketPath -ErrorAction Ignore }
}

# The whole pane, history included, with wrapped lines joined.
function Get-TmuxScreen($Console) { @(Invoke-TmuxConsole $Console capture-pane -p -J -S - -t console) }

# What the screen shows after the last line that starts with the prompt and $Command, as the prompt echoed it.
function Get-TmuxScreenAfter($Console, [string] $Command) {
    $screen = Get-TmuxScreen $Console
    $at = -1
    for ($i = 0; $i -lt $screen.Count; $i++) { if ($screen[$i] -like "P2P> $Command*") { $at = $i } }
    if ($at -lt 0) { return @() }
    @($screen | Select-Object -Skip ($at + 1))
}
