# Dot-sourced by build.ps1 and the Pester helpers: one way to start a child pwsh like the running one.

# The pwsh running this script, as a command line for child processes (a dotnet tool runs as 'dotnet pwsh.dll').
function Get-PwshCommandLine {
    $exe = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { return @($exe, (Join-Path $PSHOME 'pwsh.dll')) }
    return @($exe)
}
