# Timed part of bench/transfer.sh. Runs in ONE long-lived pwsh process with the module imported (a user at a prompt),
# so only the Receive-P2PFile command itself is timed, never pwsh start-up. The reference commands (curl, aria2c) are
# started from this same process and timed the same way (Stopwatch around the command, process start included).
#
# For each phase: one warm-up run of every method, then -Runs rounds; each round runs every method once, in an order
# rotated from round to round. Before every run what earlier runs downloaded is deleted (with any *.p2ppart* files),
# a new empty folder is made for this run and `sync` is run, the same for every method. The output of the last round is compared with the source (cmp).
#
# Writes one TSV line per run to -ResultFile:
#   phase  method  run(0 = warm-up)  seconds  ok(1/0)  client_cpu_s  server_cpu_s  per_server_cpu_s(comma list)
#   client_user_s  client_sys_s  other_cpu_s (CPU used meanwhile by every other process on the machine: other load)
#   kernel_cpu_s (kernel threads + irq/softirq meanwhile: loopback TCP, writeback)
# client CPU: this process for ours, the reaped child (curl/aria2c) for the references; server CPU: the node
# processes for ours, the nginx master and workers for the references (utime+stime from /proc/<pid>/stat).
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [int] $Runs,
    [Parameter(Mandatory)] [string] $DownloadDir,
    [Parameter(Mandatory)] [string] $ResultFile,
    [Parameter(Mandatory)] [string] $BigPath,
    [Parameter(Mandatory)] [string] $BigHash,
    [Parameter(Mandatory)] [long] $BigSize,
    [Parameter(Mandatory)] [string[]] $Endpoints,       # the 4 nodes, 'host:port'; the first also shares the small files
    [Parameter(Mandatory)] [string[]] $BigUrls,         # the big file on the 4 nginx ports
    [Parameter(Mandatory)] [string] $SmallUrlBase,      # http://127.0.0.1:port/small
    [Parameter(Mandatory)] [string] $SmallDir,          # the source folder of the small files (for the comparison)
    [Parameter(Mandatory)] [int] $SmallCount,
    [Parameter(Mandatory)] [string[]] $NodePids,        # lists may also come as one comma-separated argument (pwsh -File)
    [Parameter(Mandatory)] [string[]] $NginxPids,
    [Parameter(Mandatory)] [string] $AccessLog,         # nginx access log (big-file requests only)
    [Parameter(Mandatory)] [string] $ResultsDir,
    [string[]] $Phases = @('single', 'multi', 'small'),
    [int] $ClockTicks = 100
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$ProgressPreference = 'SilentlyContinue'   # no progress bars: nothing is drawn while timing
Import-Module $ModulePath

function Split-List([string[]] $List) { , @($List | ForEach-Object { $_ -split ',' } | Where-Object { $_ }) }
$Endpoints = Split-List $Endpoints
$BigUrls = Split-List $BigUrls
$Phases = Split-List $Phases
$NodePids = [int[]](Split-List $NodePids)
$NginxPids = [int[]](Split-List $NginxPids)

$name = Split-Path -Leaf $BigPath
# no '*' anywhere: pwsh on Unix expands wildcards in bare arguments of native commands
$curl = @('-q', '--noproxy', '127.0.0.1', '-sSf', '--no-progress-meter')
$aria = @('--no-conf', '-q', '--allow-overwrite=true', '--auto-file-renaming=false', '--file-allocation=falloc',
          '--max-tries=1', '--disable-ipv6=true', '--console-log-level=error')

function Log([string] $Text) { [Console]::Error.WriteLine(('[{0:HH:mm:ss}] {1}' -f (Get-Date), $Text)) }

# utime, stime, cutime, cstime of a process in clock ticks (fields 14-17 of /proc/<pid>/stat; the name may hold spaces).
function Get-Ticks([int] $Id) {
    try { $stat = [IO.File]::ReadAllText("/proc/$Id/stat") } catch { return @(0, 0, 0, 0) }
    $fields = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
    return @([long]$fields[11], [long]$fields[12], [long]$fields[13], [long]$fields[14])
}
# Busy ticks of the whole machine (user nice system irq softirq steal) and of that irq + softirq alone, to see CPU
# used by anything else meanwhile.
function Get-MachineTicks {
    $f = ([IO.File]::ReadAllLines('/proc/stat')[0] -split '\s+')
    return @(([long]$f[1] + [long]$f[2] + [long]$f[3] + [long]$f[6] + [long]$f[7] + [long]$f[8]), ([long]$f[6] + [long]$f[7]))
}
# CPU ticks (utime+stime) of every process now: pid -> @(ticks, name, kernel thread?). Kernel threads are kthreadd
# and its children (ksoftirqd, kworker writeback, jbd2, ...).
function Get-AllTicks {
    $all = @{}
    foreach ($dir in [IO.Directory]::GetDirectories('/proc')) {
        $id = [IO.Path]::GetFileName($dir)
        if ($id -notmatch '^\d+$') { continue }
        try { $stat = [IO.File]::ReadAllText("$dir/stat") } catch { continue }
        $open = $stat.IndexOf('(')
        $close = $stat.LastIndexOf(')')
        $fields = $stat.Substring($close + 2).Split(' ')
        $all[[int]$id] = @(([long]$fields[11] + [long]$fields[12]), $stat.Substring($open + 1, $close - $open - 1), ($id -eq '2' -or $fields[1] -eq '2'))
    }
    return $all
}
function Get-ServerTicks([int[]] $Ids) { , @($Ids | ForEach-Object { $t = Get-Ticks $_; $t[0] + $t[1] }) }

# Every run downloads into a new folder under -DownloadDir; what earlier runs downloaded is deleted first. (On ext4 the
# bench marks -DownloadDir as a "top directory" (chattr +T) so that each new folder gets a block group of its own:
# ext4 skips inodes deleted less than a minute ago when it allocates new ones, and thousands of fresh deletions in one
# group made every file creation of the next run slower, run after run, for ours and curl alike.)
$script:runNumber = 0
function Reset-Downloads {
    $null = New-Item -ItemType Directory -Path $DownloadDir -Force
    Get-ChildItem -LiteralPath $DownloadDir -Force | Remove-Item -Recurse -Force
    $script:runNumber++
    $script:dl = Join-Path $DownloadDir ('run{0:000}' -f $script:runNumber)
    $null = New-Item -ItemType Directory -Path $script:dl
    & sync
}

# Runs one method once; returns the TSV line. $Method: @{ Name; Servers; Body (scriptblock, throws on failure); Verify }
function Measure-Run([string] $Phase, [hashtable] $Method, [int] $Run, [bool] $Check) {
    Reset-Downloads
    $servers = @($Method.Servers)
    $selfBefore = Get-Ticks $PID
    $serverBefore = Get-ServerTicks $servers
    $allBefore = Get-AllTicks
    $machineBefore = Get-MachineTicks
    $ok = 1
    $clock = [Diagnostics.Stopwatch]::StartNew()
    try { $null = & $Method.Body }   # nothing may reach the result file
    catch { $ok = 0; Log "FAILED $Phase/$($Method.Name) run ${Run}: $($_.Exception.Message)" }
    $seconds = $clock.Elapsed.TotalSeconds
    $selfAfter = Get-Ticks $PID
    $serverAfter = Get-ServerTicks $servers
    $machineAfter = Get-MachineTicks
    $allAfter = Get-AllTicks
    # ours: this process; references: the reaped child (cutime/cstime)
    $k = if ($Method.Ours) { 0 } else { 2 }
    $clientUser = $selfAfter[$k] - $selfBefore[$k]
    $clientSys = $selfAfter[$k + 1] - $selfBefore[$k + 1]
    $client = $clientUser + $clientSys
    $perServer = for ($i = 0; $i -lt $servers.Count; $i++) { ($serverAfter[$i] - $serverBefore[$i]) / $ClockTicks }
    $serverTotal = ($perServer | Measure-Object -Sum).Sum
    $mine = 0; for ($i = 0; $i -lt 4; $i++) { $mine += $selfAfter[$i] - $selfBefore[$i] }
    # kernel: kernel threads + irq/softirq time (loopback TCP, writeback); other: every other process (other load)
    $kernelThreads = 0L
    $others = foreach ($id in $allAfter.Keys) {
        $before = if ($allBefore.ContainsKey($id)) { $allBefore[$id][0] } else { 0L }
        $delta = $allAfter[$id][0] - $before
        if ($delta -le 0) { continue }
        if ($allAfter[$id][2]) { $kernelThreads += $delta }
        elseif ($id -ne $PID -and $id -notin $servers) { [pscustomobject]@{ Id = $id; Name = $allAfter[$id][1]; Ticks = $delta } }
    }
    $kernel = ($kernelThreads + ($machineAfter[1] - $machineBefore[1])) / $ClockTicks
    $other = [Math]::Max(0.0, ($machineAfter[0] - $machineBefore[0] - $mine) / $ClockTicks - $serverTotal - $kernel)
    if ($other -gt 0.3) {
        $top = @($others | Sort-Object Ticks -Descending | Select-Object -First 4 | ForEach-Object { '{0}({1}) {2:0.00} s' -f $_.Name, $_.Id, ($_.Ticks / $ClockTicks) })
        Log "  other load during $Phase/$($Method.Name) run ${Run}: $(if ($top) { $top -join ', ' } else { 'processes that started and ended meanwhile' })"
    }
    if ($ok -and $Check) {
        try { $null = & $Method.Verify } catch { $ok = 0; Log "VERIFY FAILED $Phase/$($Method.Name): $($_.Exception.Message)" }
    }
    Log ("{0,-6} {1,-12} run {2}: {3,7:0.000} s  cpu s: client {4:0.00}  server {5:0.00}  kernel {6:0.00}  other processes {7:0.00}{8}" -f $Phase, $Method.Name, $Run, $seconds, ($client / $ClockTicks), $serverTotal, $kernel, $other, $(if ($ok) { '' } else { '  FAILED' }))
    return @($Phase, $Method.Name, $Run, ('{0:0.000000}' -f $seconds), $ok, ('{0:0.00}' -f ($client / $ClockTicks)),
             ('{0:0.00}' -f $serverTotal), (($perServer | ForEach-Object { '{0:0.00}' -f $_ }) -join ','),
             ('{0:0.00}' -f ($clientUser / $ClockTicks)), ('{0:0.00}' -f ($clientSys / $ClockTicks)), ('{0:0.00}' -f $other), ('{0:0.00}' -f $kernel)) -join "`t"
}

function Invoke-Phase([string] $Phase, [hashtable[]] $Methods) {
    Log "phase ${Phase}: warm-up, then $Runs round(s) of $($Methods.Name -join ', ')"
    foreach ($m in $Methods) { Measure-Run $Phase $m 0 $false | Add-Content -LiteralPath $ResultFile }
    for ($r = 1; $r -le $Runs; $r++) {
        for ($k = 0; $k -lt $Methods.Count; $k++) {
            $m = $Methods[($k + $r - 1) % $Methods.Count]
            Measure-Run $Phase $m $r ($r -eq $Runs) | Add-Content -LiteralPath $ResultFile
        }
    }
    Reset-Downloads
}

function Assert-Exit([string] $What) { if ($LASTEXITCODE -ne 0) { throw "$What exited with $LASTEXITCODE" } }
function Assert-Same([string] $Copy) {
    & cmp -s -- $BigPath $Copy
    if ($LASTEXITCODE -ne 0) { throw "$Copy differs from $BigPath" }
}
function Receive-Big([string[]] $From, [string] $Folder) {
    Receive-P2PFile -Hash $BigHash -Source $From -Name $name -Size $BigSize -Destination $Folder -ErrorAction Stop
}

$dl = $DownloadDir
if ('single' -in $Phases) {
    Invoke-Phase single @(
        @{ Name = 'ours'; Ours = $true; Servers = @($NodePids[0])
           Body = { Receive-Big $Endpoints[0] $dl }; Verify = { Assert-Same (Join-Path $dl $name) } }
        @{ Name = 'curl'; Ours = $false; Servers = $NginxPids
           Body = { & curl @curl -o (Join-Path $dl $name) $BigUrls[0]; Assert-Exit curl }; Verify = { Assert-Same (Join-Path $dl $name) } }
        @{ Name = 'aria2c-x1'; Ours = $false; Servers = $NginxPids
           Body = { & aria2c @aria -d $dl -o $name -x1 -s1 -k1M $BigUrls[0]; Assert-Exit aria2c }; Verify = { Assert-Same (Join-Path $dl $name) } }
    )
}

if ('multi' -in $Phases) {
    Clear-Content -LiteralPath $AccessLog
    Invoke-Phase multi @(
        @{ Name = 'ours-4src'; Ours = $true; Servers = $NodePids
           Body = { Receive-Big $Endpoints $dl }; Verify = { Assert-Same (Join-Path $dl $name) } }
        @{ Name = 'aria2c-4src'; Ours = $false; Servers = $NginxPids
           Body = { & aria2c @aria -d $dl -o $name -x4 -s4 -k1M @BigUrls; Assert-Exit aria2c }; Verify = { Assert-Same (Join-Path $dl $name) } }
    )
    Copy-Item -LiteralPath $AccessLog -Destination (Join-Path $ResultsDir 'access-multi.log')
}

if ('small' -in $Phases) {
    $sources = @(Get-ChildItem -LiteralPath $SmallDir -File -Filter 'f*' | Sort-Object Name)
    $found = @(Find-P2PFile -Server $Endpoints[0] -Name 'f*' -TimeoutSec 2 -MaxResults $SmallCount)
    Log "search 'f*' on $($Endpoints[0]): $($found.Count) result(s)"
    if ($found.Count -ne $SmallCount -or $sources.Count -ne $SmallCount) {
        throw "expected $SmallCount small files; the search found $($found.Count), the folder holds $($sources.Count)"
    }
    $config = Join-Path $ResultsDir 'curl-small.cfg'
    # 1,000 url/output pairs; the output names are relative to --output-dir (each run has a folder of its own)
    $lines = foreach ($s in $sources) { "url = `"$SmallUrlBase/$($s.Name)`""; "output = `"$($s.Name)`"" }
    Set-Content -LiteralPath $config -Value $lines
    $verifySmall = {
        foreach ($s in $sources) {
            $copy = Join-Path $dl $s.Name
            if (-not (Test-Path -LiteralPath $copy)) { throw "$copy is missing" }
            if (-not [Linq.Enumerable]::SequenceEqual([IO.File]::ReadAllBytes($s.FullName), [IO.File]::ReadAllBytes($copy))) { throw "$copy differs" }
        }
        $extra = @(Get-ChildItem -LiteralPath $dl -Force).Count - $sources.Count
        if ($extra -ne 0) { throw "$extra unexpected file(s) left in $dl" }
    }
    Invoke-Phase small @(
        @{ Name = 'ours-1000'; Ours = $true; Servers = @($NodePids[0])
           Body = { $found | Receive-P2PFile -Destination $dl -ErrorAction Stop }; Verify = $verifySmall }
        @{ Name = 'curl-K-1000'; Ours = $false; Servers = $NginxPids
           Body = { & curl @curl --output-dir $dl -K $config; Assert-Exit curl }; Verify = $verifySmall }
    )
}
Log "timed phases done; peak RSS of this long-lived process: $((Get-Content /proc/$PID/status | Select-String VmHWM).Line -replace '\s+', ' ')"
