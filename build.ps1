#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, runs and packages P2PTransfer.
.DESCRIPTION
    Tasks (run in the order given):
      Build    compile and lay out the module in out/P2PTransfer (with its help and, in host/, the service host
               that Install-P2PService registers), and the help package that
               Update-Help installs from in out/help (Update-Help -Module P2PTransfer -SourcePath out/help)
      Test     Build, then the xunit suites and the Pester suite; prints 'N passed, M failed'
               (installs tmux for the console tests and tcpdump for the wire test with apt-get when they are
               missing and this runs as root)
      Run      Build, then start a node sharing a folder (./samples by default) until Ctrl+C
      Package  Build, then write out/repository/P2PTransfer.<version>.nupkg (-PackagePath: another folder;
               -NoBuild: package the module already laid out in out/P2PTransfer)
      Clean    remove out/ and the bin/obj folders
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Run
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Test
.EXAMPLE
    dotnet pwsh ./build.ps1 Run -Share ~/pub -Port 47100 -Name laptop
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Run', 'Package', 'Clean')]
    [string[]] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Run: folders to share (default: ./samples).
    [string[]] $Share = @(Join-Path $PSScriptRoot 'samples'),
    # Run: port to listen on (default: the node's default port, 47100).
    [int] $Port = 47100,
    # Run: address to listen on (default: all IPv4 interfaces).
    [string] $ListenAddress = '0.0.0.0',
    # Run: node name (default: this machine's name).
    [string] $Name,
    # Run: peers to link to at start.
    [string[]] $Peer = @(),

    # Test: run only the Pester suite, or only xunit.
    [ValidateSet('All', 'Xunit', 'Pester')]
    [string] $Suite = 'All',

    # Package: the folder (a local PSResource repository) the .nupkg is written to (default: out/repository).
    [string] $PackagePath,
    # Package: use the module already laid out in out/P2PTransfer instead of building it again.
    [switch] $NoBuild
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$env:DOTNET_NOLOGO = '1'
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'

$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$ModuleDir = Join-Path $Out 'P2PTransfer'
$ResultsDir = Join-Path $Out 'test-results'
$HelpDir = Join-Path $Out 'help'

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

. (Join-Path $PSScriptRoot 'tools/PwshCommandLine.ps1')

function Invoke-Build {
    Write-Host "==> Build ($Configuration)"
    if (Test-Path $ModuleDir) { Remove-Item $ModuleDir -Recurse -Force }
    Invoke-Dotnet publish (Join-Path $Root 'src/P2PModule/P2PModule.csproj') -c $Configuration -o $ModuleDir --nologo -v quiet
    Remove-Item (Join-Path $ModuleDir '*.pdb'), (Join-Path $ModuleDir '*.deps.json') -ErrorAction Ignore
    Copy-Item (Join-Path $Root 'LICENSE') $ModuleDir
    # The service host (Install-P2PService runs it) in a folder of its own: its hosting libraries never meet pwsh's,
    # and its deps.json stays, since the host finds SQLite's native library through it.
    $hostDir = Join-Path $ModuleDir 'host'
    Invoke-Dotnet publish (Join-Path $Root 'src/P2PHost/P2PHost.csproj') -c $Configuration -o $hostDir --nologo -v quiet
    Remove-Item (Join-Path $hostDir '*.pdb') -ErrorAction Ignore
    $pwsh = Get-PwshCommandLine
    & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $Root 'tools/Build-Help.ps1') -ModulePath $ModuleDir -SourcePath (Join-Path $Root 'docs/cmdlets') -AboutPath (Join-Path $Root 'docs/about_P2PTransfer.md') | Out-Host
    if ($LASTEXITCODE -ne 0) { throw 'help generation failed' }
    Write-Host "    module laid out in $ModuleDir"
    Invoke-HelpPackage
}

# Updatable help: P2PTransfer_<GUID>_HelpInfo.xml, which says which help version each culture has and where to get
# it, and P2PTransfer_<GUID>_en-US_HelpContent.zip holding the module's en-US files. Update-Help takes them from a
# folder (-SourcePath) or from the manifest's HelpInfoURI, where a release publishes both. PowerShell 7 reads the
# zip; a cab, which only Windows PowerShell needs, is not made (the module runs on PowerShell 7.4 and later only).
function Invoke-HelpPackage {
    $manifest = Import-PowerShellDataFile (Join-Path $Root 'P2PTransfer.psd1')
    $prefix = "P2PTransfer_$($manifest.GUID)"
    $version = [version]$manifest.ModuleVersion
    if (Test-Path $HelpDir) { Remove-Item $HelpDir -Recurse -Force }
    New-Item -ItemType Directory -Force $HelpDir | Out-Null
    Compress-Archive -Path (Join-Path $ModuleDir 'en-US/*') -DestinationPath (Join-Path $HelpDir "${prefix}_en-US_HelpContent.zip")
    @"
<?xml version="1.0" encoding="utf-8"?>
<HelpInfo xmlns="http://schemas.microsoft.com/powershell/help/2010/05">
  <HelpContentURI>$($manifest.HelpInfoURI)</HelpContentURI>
  <SupportedUICultures>
    <UICulture>
      <UICultureName>en-US</UICultureName>
      <UICultureVersion>$($version.Major).$($version.Minor).$([Math]::Max(0, $version.Build)).$([Math]::Max(0, $version.Revision))</UICultureVersion>
    </UICulture>
  </SupportedUICultures>
</HelpInfo>
"@ | Set-Content -LiteralPath (Join-Path $HelpDir "${prefix}_HelpInfo.xml") -Encoding utf8NoBOM
    Write-Host "    help package in $HelpDir"
}

# The Pester version pinned in tests/Pester/Pester.proj, restored into the NuGet cache.
function Get-PesterPath {
    $project = Join-Path $Root 'tests/Pester/Pester.proj'
    $version = ([xml](Get-Content $project -Raw)).Project.ItemGroup.PackageDownload.Version.Trim('[', ']')
    Invoke-Dotnet restore $project -v quiet
    $cache = ((& dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()
    $manifest = Join-Path $cache "pester/$version/tools/Pester.psd1"
    if (-not (Test-Path $manifest)) { throw "Pester $version was not restored into $cache" }
    return $manifest
}

function Invoke-Xunit {
    Write-Host '==> xunit'
    New-Item -ItemType Directory -Force $ResultsDir | Out-Null
    Get-ChildItem $ResultsDir -Filter '*.trx' | Remove-Item
    # Console output goes to the host: only the counts are this function's output.
    & dotnet test (Join-Path $Root 'P2P.sln') -c $Configuration --nologo --logger 'trx' --logger 'console;verbosity=minimal' --results-directory $ResultsDir | Out-Host
    $passed = 0; $failed = 0
    foreach ($trx in Get-ChildItem $ResultsDir -Filter '*.trx') {
        $counters = ([xml](Get-Content $trx.FullName -Raw)).TestRun.ResultSummary.Counters
        $passed += [int]$counters.passed
        $failed += [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
    }
    if ($LASTEXITCODE -ne 0 -and $failed -eq 0) { $failed = 1 }   # the run itself broke (build error, crash)
    return [pscustomobject]@{ Passed = $passed; Failed = $failed }
}

# The console tests read a real terminal through tmux, and the wire test captures loopback with tcpdump. A clean
# machine has only what this script installs: when a tool is missing, install it with apt-get as root (refreshing
# the package lists if the first try fails). Where it cannot be had, say so; the tests that need it then fail with
# the same message rather than pass unseen.
function Install-Tool([string] $Tool, [string] $NeededBy) {
    if (Get-Command $Tool -CommandType Application -ErrorAction Ignore) { return }
    $canInstall = $IsLinux -and (Get-Command apt-get -CommandType Application -ErrorAction Ignore) -and (& id -u) -eq '0'
    if (-not $canInstall) {
        Write-Warning "$Tool is not installed and cannot be installed here (it needs apt-get as root): $NeededBy will fail"
        return
    }
    Write-Host "==> Installing $Tool (apt-get)"
    $apt = @('DEBIAN_FRONTEND=noninteractive', 'apt-get', '-q', '-o', 'DPkg::Lock::Timeout=120')
    & env @apt install -y $Tool | Out-Host
    if ($LASTEXITCODE -ne 0) {
        & env @apt update | Out-Host
        & env @apt install -y $Tool | Out-Host
    }
    if (-not (Get-Command $Tool -CommandType Application -ErrorAction Ignore)) {
        Write-Warning "apt-get could not install ${Tool}: $NeededBy will fail"
    }
}

function Install-Tmux { Install-Tool tmux 'the console tests' }

function Invoke-PesterSuite {
    Write-Host '==> Pester'
    Install-Tmux
    $pester = Get-PesterPath
    $resultFile = Join-Path $ResultsDir 'pester.json'
    New-Item -ItemType Directory -Force $ResultsDir | Out-Null
    Remove-Item $resultFile -ErrorAction Ignore
    # A fresh process, so the module under test is the one just laid out (binary modules cannot be reloaded).
    $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$pester'
`$env:P2P_MODULE_PATH = '$ModuleDir'
`$c = New-PesterConfiguration
`$c.Run.Path = '$(Join-Path $Root 'tests/Pester')', '$(Join-Path $Root 'docs/examples')'
`$c.Run.PassThru = `$true
`$c.Output.Verbosity = 'Detailed'
`$c.Output.RenderMode = 'Plaintext'
`$r = Invoke-Pester -Configuration `$c
@{ Passed = `$r.PassedCount; Failed = `$r.FailedCount + `$r.FailedBlocksCount + `$r.FailedContainersCount } | ConvertTo-Json | Set-Content '$resultFile'
"@
    $pwsh = Get-PwshCommandLine
    & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $script | Out-Host
    if (-not (Test-Path $resultFile)) { return [pscustomobject]@{ Passed = 0; Failed = 1 } }
    return Get-Content $resultFile -Raw | ConvertFrom-Json
}

function Invoke-Test {
    $env:NO_COLOR = '1'
    $total = [pscustomobject]@{ Passed = 0; Failed = 0 }
    if ($Suite -in 'All', 'Xunit') { Install-Tool tcpdump 'the test that nothing crosses the wire in the clear'; $x = Invoke-Xunit; $total.Passed += $x.Passed; $total.Failed += $x.Failed; Write-Host "    xunit: $($x.Passed) passed, $($x.Failed) failed" }
    if ($Suite -in 'All', 'Pester') { $p = Invoke-PesterSuite; $total.Passed += $p.Passed; $total.Failed += $p.Failed; Write-Host "    Pester: $($p.Passed) passed, $($p.Failed) failed" }
    Write-Host "$($total.Passed) passed, $($total.Failed) failed"
    if ($total.Failed -gt 0 -or $total.Passed -eq 0) { exit 1 }
}

function Invoke-Run {
    Import-Module $ModuleDir -Force
    $parameters = @{ Share = $Share; Port = $Port; ListenAddress = $ListenAddress; Wait = $true; Verbose = $true }
    if ($Peer) { $parameters.Peer = $Peer }
    if ($Name) { $parameters.Name = $Name }
    Write-Host "==> Starting a node sharing $($Share -join ', ') (Ctrl+C stops it gracefully)"
    # A list, not a table: a table waits for more rows, and -Wait sends only one.
    Start-P2PNode @parameters | Format-List Name, Id, Endpoint, Shares, StateDirectory | Out-Host
}

function Invoke-Package {
    $version = (Import-PowerShellDataFile (Join-Path $Root 'P2PTransfer.psd1')).ModuleVersion
    $repo = if ($PackagePath) { $PackagePath } else { Join-Path $Out 'repository' }
    New-Item -ItemType Directory -Force $repo | Out-Null
    # Publishing a version the repository already holds fails: a package of the same version is replaced.
    Remove-Item (Join-Path $repo "P2PTransfer.$version.nupkg") -ErrorAction Ignore
    $name = "p2ptransfer-local-$PID"
    Register-PSResourceRepository -Name $name -Uri $repo -Trusted
    try { Publish-PSResource -Path $ModuleDir -Repository $name -SkipDependenciesCheck }
    finally { Unregister-PSResourceRepository -Name $name }
    Write-Host "    package: $(Join-Path $repo "P2PTransfer.$version.nupkg")"
}

foreach ($t in $Task) {
    switch ($t) {
        'Clean' {
            Remove-Item $Out -Recurse -Force -ErrorAction Ignore
            Get-ChildItem $Root -Directory -Recurse -Include bin, obj | Remove-Item -Recurse -Force
        }
        'Build' { Invoke-Build }
        'Test' { Invoke-Build; Invoke-Test }
        'Run' { Invoke-Build; Invoke-Run }
        'Package' { if (-not $NoBuild) { Invoke-Build }; Invoke-Package }
    }
}
