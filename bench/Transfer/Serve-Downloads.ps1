# A long-lived pwsh process with one build of the module imported, for bench/tls.sh: it reads commands from stdin,
# one per line, runs them and answers one line each on stdout. Two of these run side by side (the current module and
# the base revision's: one process cannot load two builds of the same assembly), so that their downloads can be timed
# alternately, each inside a warm process with the module already imported (a user at a prompt).
#   download FOLDER HASH SIZE NAME EP[,EP...]   Receive-P2PFile into FOLDER (made empty first)  -> "ok SECONDS" | "fail MESSAGE"
#   curl FOLDER URL CACERT                      curl over HTTPS (TLS 1.3) into FOLDER          -> "ok SECONDS" | "fail MESSAGE"
#   quit
param([Parameter(Mandatory)] [string] $ModulePath)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$ProgressPreference = 'SilentlyContinue'
Import-Module $ModulePath
[Console]::Out.WriteLine("ready $((Get-Module P2PTransfer).Version)")
function Reset-Folder([string] $Folder) {
    if (Test-Path -LiteralPath $Folder) { Remove-Item -LiteralPath $Folder -Recurse -Force }
    $null = New-Item -ItemType Directory -Path $Folder
    & sync
}
while ($null -ne ($line = [Console]::In.ReadLine())) {
    $f = $line -split ' '
    try {
        switch ($f[0]) {
            'download' {
                Reset-Folder $f[1]
                $sources = @($f[5] -split ',')
                $clock = [Diagnostics.Stopwatch]::StartNew()
                Receive-P2PFile -Hash $f[2] -Size ([long]$f[3]) -Name $f[4] -Source $sources -Destination $f[1] -ErrorAction Stop
                [Console]::Out.WriteLine(('ok {0:0.000000}' -f $clock.Elapsed.TotalSeconds))
            }
            'curl' {
                Reset-Folder $f[1]
                $clock = [Diagnostics.Stopwatch]::StartNew()
                & curl -q --noproxy 127.0.0.1 -sSf --no-progress-meter --tlsv1.3 --cacert $f[3] -o (Join-Path $f[1] (Split-Path -Leaf $f[2])) $f[2]
                if ($LASTEXITCODE -ne 0) { throw "curl exited with $LASTEXITCODE" }
                [Console]::Out.WriteLine(('ok {0:0.000000}' -f $clock.Elapsed.TotalSeconds))
            }
            'quit' { exit 0 }
            default { [Console]::Out.WriteLine("fail unknown command '$($f[0])'") }
        }
    }
    catch { [Console]::Out.WriteLine("fail $($_.Exception.Message -replace '\s+', ' ')") }
}
