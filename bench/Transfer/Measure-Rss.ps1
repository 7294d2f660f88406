# Peak memory of a download, for bench/transfer.sh: a fresh pwsh process imports the module, notes its peak RSS
# (VmHWM: module imported, nothing downloaded), downloads one file with Receive-P2PFile and notes VmHWM again.
# Prints one TSV line: baseline_kib  peak_kib  seconds
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $Hash,
    [Parameter(Mandatory)] [string[]] $Source,
    [Parameter(Mandatory)] [string] $Name,
    [Parameter(Mandatory)] [long] $Size,
    [Parameter(Mandatory)] [string] $Destination
)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module $ModulePath
$Source = @($Source | ForEach-Object { $_ -split "," } | Where-Object { $_ })   # one comma-separated argument under pwsh -File
function Get-PeakKiB { [long](((Get-Content /proc/$PID/status | Select-String VmHWM).Line -split '\s+')[1]) }
$baseline = Get-PeakKiB
$clock = [Diagnostics.Stopwatch]::StartNew()
Receive-P2PFile -Hash $Hash -Source $Source -Name $Name -Size $Size -Destination $Destination -ErrorAction Stop
$seconds = $clock.Elapsed.TotalSeconds
$peak = Get-PeakKiB
"{0}`t{1}`t{2:0.000}" -f $baseline, $peak, $seconds
