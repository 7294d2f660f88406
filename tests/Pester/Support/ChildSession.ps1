# Dot-sourced by the Pester suites that need a pwsh process with an environment of its own (after Helpers.ps1).

# Runs a script in a new pwsh process, with the environment variables given set (PSModulePath, HOME...), without
# importing the module, and returns what the script wrote to the pipeline, parsed from JSON; a script that fails
# throws its error output. Bounded: the process is killed after -TimeoutSec.
function Invoke-Pwsh([string] $Script, [hashtable] $Environment = @{}, [double] $TimeoutSec = 120) {
    $out = Join-Path ([IO.Path]::GetTempPath()) "p2pt-child-$([guid]::NewGuid().ToString('N')).json"
    $pwsh = Get-PwshCommandLine
    $start = [Diagnostics.ProcessStartInfo]::new($pwsh[0])
    foreach ($argument in @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', "`$ErrorActionPreference = 'Stop'; & { $Script } | ConvertTo-Json -Depth 3 -AsArray | Set-Content -LiteralPath '$out'")) {
        $start.ArgumentList.Add($argument)
    }
    foreach ($name in $Environment.Keys) { $start.Environment[$name] = $Environment[$name] }
    $start.Environment['NO_COLOR'] = '1'
    $start.RedirectStandardError = $true
    $start.RedirectStandardOutput = $true
    $process = [Diagnostics.Process]::Start($start)
    try {
        $stdout = $process.StandardOutput.ReadToEndAsync()
        $stderr = $process.StandardError.ReadToEndAsync()
        if (-not $process.WaitForExit([int]($TimeoutSec * 1000))) { throw "the child pwsh did not finish within $TimeoutSec s" }
        if ($process.ExitCode -ne 0 -or -not (Test-Path $out)) { throw "the child pwsh failed (exit code $($process.ExitCode)): $($stderr.Result) $($stdout.Result)" }
        Get-Content -LiteralPath $out -Raw | ConvertFrom-Json
    }
    finally {
        if (-not $process.HasExited) { $process.Kill($true) }
        Remove-Item -LiteralPath $out -ErrorAction SilentlyContinue
    }
}
