# Syncthing reference of bench/tls.sh: two Syncthing instances on loopback already share one folder (A sends, B
# receives). Each run hard-links the test file into A's folder, triggers A's rescan through its REST API and times
# until B reports the file done (an ItemFinished event for it, without error); the copy is then compared with the
# source, deleted on A, and the deletion is waited for at B, so that B has no block of the file for the next run.
# Runs -From to -Runs (run 0 is the warm-up); tls.sh calls it once per run, between downloads of ours, so that each
# Syncthing run has one of ours beside it. Writes one line per run: "RUN SECONDS ok|fail MESSAGE". Every wait is
# bounded (-TimeoutSec).
param(
    [Parameter(Mandatory)] [string] $ApiA, [Parameter(Mandatory)] [string] $KeyA,
    [Parameter(Mandatory)] [string] $ApiB, [Parameter(Mandatory)] [string] $KeyB,
    [Parameter(Mandatory)] [string] $Folder,
    [Parameter(Mandatory)] [string] $Source,      # the 1 GiB file
    [Parameter(Mandatory)] [string] $DirA, [Parameter(Mandatory)] [string] $DirB,
    [int] $From = 0, [int] $Runs = 3, [int] $TimeoutSec = 600
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$ProgressPreference = 'SilentlyContinue'
$name = Split-Path -Leaf $Source
function Api([string] $Base, [string] $Key, [string] $Path, [string] $Method = 'Get', [int] $Timeout = 70) {
    Invoke-RestMethod -Method $Method -Uri "$Base$Path" -Headers @{ 'X-API-Key' = $Key } -TimeoutSec $Timeout -NoProxy
}
# The id of the last ItemFinished event so far (0 for none). Event ids count per subscription, and a filter makes a
# subscription of its own (from its first request on): every request here uses the same filter.
function Last-EventId([string] $Base, [string] $Key) {
    $e = @(Api $Base $Key '/rest/events?events=ItemFinished&since=0&limit=1&timeout=1' | Where-Object { $_ })
    if ($e.Count) { [long]$e[-1].id } else { 0L }
}
$null = Last-EventId $ApiB $KeyB   # the subscription starts before the first run
# Waits for B's ItemFinished event on the file with the given action; returns the event's error (null = success).
function Wait-Finished([long] $Since, [string] $Action, [Diagnostics.Stopwatch] $Clock) {
    while ($Clock.Elapsed.TotalSeconds -lt $TimeoutSec) {
        $events = @(Api $ApiB $KeyB "/rest/events?events=ItemFinished&since=$Since&timeout=60" | Where-Object { $_ })
        foreach ($e in $events) {
            $Since = [Math]::Max($Since, [long]$e.id)
            if ($e.data.folder -eq $Folder -and $e.data.item -eq $name -and $e.data.action -eq $Action) { return @{ Done = $true; Error = $e.data.error } }
        }
    }
    return @{ Done = $false; Error = "no ItemFinished ($Action) for $name within $TimeoutSec s" }
}
for ($run = $From; $run -le $Runs; $run++) {
    $since = Last-EventId $ApiB $KeyB
    $clock = [Diagnostics.Stopwatch]::StartNew()
    & ln -- $Source (Join-Path $DirA $name)
    Api $ApiA $KeyA "/rest/db/scan?folder=$Folder" 'Post' | Out-Null
    $r = Wait-Finished $since 'update' $clock
    $seconds = $clock.Elapsed.TotalSeconds
    $status = if ($r.Done -and -not $r.Error) { 'ok' } else { "fail $($r.Error)" }
    if ($status -eq 'ok') {
        & cmp -s -- $Source (Join-Path $DirB $name)
        if ($LASTEXITCODE -ne 0) { $status = 'fail the copy at B differs from the source' }
    }
    [Console]::Out.WriteLine(('{0} {1:0.000000} {2}' -f $run, $seconds, $status))
    # Remove it on both sides before the next run.
    $since = Last-EventId $ApiB $KeyB
    $clock = [Diagnostics.Stopwatch]::StartNew()
    Remove-Item -LiteralPath (Join-Path $DirA $name) -Force
    Api $ApiA $KeyA "/rest/db/scan?folder=$Folder" 'Post' | Out-Null
    $d = Wait-Finished $since 'delete' $clock
    if (-not $d.Done) { [Console]::Error.WriteLine("deletion not seen at B: $($d.Error)"); break }
    & sync
}
