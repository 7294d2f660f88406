BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
}

Describe 'The default table views' {
    BeforeAll {
        Import-Module $ModulePath -Force
    }

    # Without a width on its first column, a table makes the console hold its rows to size the columns from them,
    # and lets them go only when another object comes or the command ends.
    It 'give <type> fixed column widths, so the console writes each row as it comes' -ForEach @(
        @{ type = 'P2PTransfer.Node.P2PNode' }
        @{ type = 'P2PTransfer.Peers.P2PPeer' }
        @{ type = 'P2PTransfer.Client.PingReply' }
        @{ type = 'P2PTransfer.Index.SharedFile' }
        @{ type = 'P2PTransfer.Search.P2PSearchResult' }
        @{ type = 'P2PTransfer.Transfer.DownloadItem' }
    ) {
        $table = (Get-FormatData -TypeName $type).FormatViewDefinition.Control | Where-Object { $_ -is [System.Management.Automation.TableControl] }
        $table | Should -Not -BeNullOrEmpty
        $table.AutoSize | Should -BeFalse
        $headers = @($table.Headers)
        $headers | Select-Object -SkipLast 1 | ForEach-Object { $_.Width | Should -BeGreaterThan 0 -Because "column $($_.Label) of $type needs a width" }
    }

    It 'shows the traffic of each link' {
        $table = (Get-FormatData -TypeName P2PTransfer.Peers.P2PPeer).FormatViewDefinition.Control
        $columns = $table.Rows[0].Columns.DisplayEntry.Value -join ' '
        $columns | Should -Match 'BytesSent'
        $columns | Should -Match 'BytesReceived'
    }
}

Describe 'Find-P2PFile at an interactive prompt' {
    BeforeAll {
        # build.ps1 Test installs tmux when it can; without it these tests cannot run, and they fail saying so.
        if (-not (Get-Command tmux -CommandType Application -ErrorAction Ignore)) {
            throw 'tmux is not installed: the console tests need a real terminal (Debian: apt-get install tmux; build.ps1 Test installs it when run as root)'
        }

        # A private tmux server (its own socket, no user configuration), so nothing here touches the user's sessions.
        $script:Socket = "p2p-console-$PID-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        function Invoke-Tmux {
            $output = & tmux -f /dev/null -L $script:Socket @args 2>&1
            if ($LASTEXITCODE -ne 0) { throw "tmux $($args -join ' ') failed: $output" }
            $output
        }

        # The whole pane, history included, with wrapped lines joined.
        function Get-Screen { @(Invoke-Tmux capture-pane -p -J -S - -t console) }

        # What the screen shows after the last line that starts with $Command, the command as the prompt echoed it.
        function Get-ScreenAfter([string] $Command) {
            $screen = Get-Screen
            $at = -1
            for ($i = 0; $i -lt $screen.Count; $i++) { if ($screen[$i] -like "P2P> $Command*") { $at = $i } }
            if ($at -lt 0) { return @() }
            @($screen | Select-Object -Skip ($at + 1))
        }

        function Test-PromptBack([string[]] $Lines) { [bool]($Lines -like 'P2P>*') }
        function Test-RowsShown([string[]] $Lines) {
            [bool]($Lines -match '^alpha\.txt\s') -and [bool]($Lines -match '^beta\.txt\s')
        }

        # Node a (127.0.0.1) shares two files; b (127.0.0.2) is linked to a and shares nothing. A search entered at b
        # finds a's files at once and, since b has a link, runs until its timeout: nothing tells b that no one else will answer.
        $share = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'share')
        Set-Content -LiteralPath (Join-Path $share 'alpha.txt') -Value 'the first file'
        Set-Content -LiteralPath (Join-Path $share 'beta.txt') -Value 'the second file'
        $setup = Join-Path $TestDrive 'setup.ps1'
        Set-Content -LiteralPath $setup -Value @"
if (Get-Module -ListAvailable PSReadLine) { Set-PSReadLineOption -HistorySaveStyle SaveNothing -PredictionSource None }
function global:prompt { 'P2P> ' }
Import-Module '$ModulePath'
`$a = Start-P2PNode -Name a -ListenAddress 127.0.0.1 -Port 0 -StateDirectory '$(Join-Path $TestDrive 'state/a')' -Share '$share'
`$b = Start-P2PNode -Name b -ListenAddress 127.0.0.2 -Port 0 -StateDirectory '$(Join-Path $TestDrive 'state/b')'
Publish-P2PFile -Node `$a -LiteralPath '$share' -Wait | Out-Null
Connect-P2PPeer -Node `$b -Address `$a.Endpoint | Out-Null
'NODES ' + 'READY'
"@

        $pwsh = Get-PwshCommandLine
        Invoke-Tmux new-session -d -s console -x 200 -y 50 -- env NO_COLOR=1 @pwsh -NoProfile -NoExit -Command ". '$setup'" | Out-Null
        $script:SocketPath = Invoke-Tmux display-message -p '#{socket_path}'
        $ready = { $screen = @(Get-Screen | Where-Object { $_.Trim() }); $screen -contains 'NODES READY' -and $screen[-1] -like 'P2P>*' }
        if (-not (Wait-Until $ready -TimeoutSec 60)) {
            throw "the pwsh in tmux did not start its nodes; its screen:`n$((Get-Screen) -join "`n")"
        }
    }

    AfterAll {
        & tmux -L $script:Socket kill-server 2>$null
        if ($script:SocketPath) { Remove-Item -LiteralPath $script:SocketPath -ErrorAction Ignore }
    }

    It 'shows each result on screen as it arrives, long before the search times out' {
        $command = 'Find-P2PFile -Node $b -TimeoutSec 20 *.txt'
        Invoke-Tmux send-keys -t console $command Enter | Out-Null

        # The search runs for 20 s; the rows must be on screen while it still runs, that is before the prompt is back.
        $shown = Wait-Until { $lines = Get-ScreenAfter $command; (Test-RowsShown $lines) -or (Test-PromptBack $lines) } -TimeoutSec 15
        $lines = Get-ScreenAfter $command
        $shown | Should -BeTrue -Because "the rows come within seconds; the screen:`n$((Get-Screen) -join "`n")"
        Test-RowsShown $lines | Should -BeTrue -Because "the results arrived at once; the screen:`n$($lines -join "`n")"
        Test-PromptBack $lines | Should -BeFalse -Because 'the rows must appear while the search still runs, not when it ends'

        # And the search then runs to its timeout, leaving the rows as they were.
        Wait-Until { Test-PromptBack (Get-ScreenAfter $command) } -TimeoutSec 60 | Should -BeTrue
        $lines = Get-ScreenAfter $command
        Test-RowsShown $lines | Should -BeTrue
        @($lines -match '^alpha\.txt\s').Count | Should -Be 1 -Because 'each result is shown once'
    }

    It 'keeps the rows already shown when Ctrl+C stops the search' {
        $command = 'Find-P2PFile -Node $b -TimeoutSec 21 *.txt'
        Invoke-Tmux send-keys -t console $command Enter | Out-Null
        $shown = Wait-Until { $lines = Get-ScreenAfter $command; (Test-RowsShown $lines) -or (Test-PromptBack $lines) } -TimeoutSec 15
        $lines = Get-ScreenAfter $command
        $shown -and (Test-RowsShown $lines) -and -not (Test-PromptBack $lines) | Should -BeTrue -Because "the rows show while the search runs; the screen:`n$((Get-Screen) -join "`n")"

        Invoke-Tmux send-keys -t console C-c | Out-Null

        Wait-Until { Test-PromptBack (Get-ScreenAfter $command) } -TimeoutSec 15 | Should -BeTrue -Because 'Ctrl+C stops the search'
        $lines = Get-ScreenAfter $command
        Test-RowsShown $lines | Should -BeTrue -Because "what was shown stays on screen; the screen:`n$($lines -join "`n")"
    }
}

Describe 'Receive-P2PFile at an interactive prompt' {
    BeforeAll {
        Import-Module $ModulePath -Force
        # Node a (127.0.0.88) shares a 64 MiB file; b (127.0.0.89) is linked to a. A search entered at b runs to its
        # timeout, so the download fed by it starts while the search still holds the pipeline; the download is paced
        # at 4 MB/s (64 MiB take 16 s), so it is still running when the screen is read and Ctrl+C is sent.
        $share = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'share')
        $bytes = [byte[]]::new(64MB)
        [Security.Cryptography.RandomNumberGenerator]::Fill($bytes)
        [IO.File]::WriteAllBytes((Join-Path $share 'big.bin'), $bytes)
        $script:Downloads = Join-Path $TestDrive 'dl'
        $setup = Join-Path $TestDrive 'setup.ps1'
        Set-Content -LiteralPath $setup -Value @"
if (Get-Module -ListAvailable PSReadLine) { Set-PSReadLineOption -HistorySaveStyle SaveNothing -PredictionSource None }
function global:prompt { 'P2P> ' }
Import-Module '$ModulePath'
`$a = Start-P2PNode -Name a -ListenAddress 127.0.0.88 -Port 0 -StateDirectory '$(Join-Path $TestDrive 'state/a')' -Share '$share'
`$b = Start-P2PNode -Name b -ListenAddress 127.0.0.89 -Port 0 -StateDirectory '$(Join-Path $TestDrive 'state/b')'
Publish-P2PFile -Node `$a -LiteralPath '$share' -Wait | Out-Null
Connect-P2PPeer -Node `$b -Address `$a.Endpoint | Out-Null
Set-Content -LiteralPath '$(Join-Path $TestDrive 'a.endpoint')' -Value `$a.Endpoint
Set-Content -LiteralPath '$(Join-Path $TestDrive 'a.id')' -Value `$a.Id
'SETUP ' + 'DONE'
"@
        $script:Console = Start-TmuxConsole $setup
        $script:SourceEndpoint = (Get-Content -LiteralPath (Join-Path $TestDrive 'a.endpoint') -Raw).Trim()
        $script:SourceId = (Get-Content -LiteralPath (Join-Path $TestDrive 'a.id') -Raw).Trim()
        $script:Command = "Find-P2PFile -Node `$b big.bin -TimeoutSec 40 | Receive-P2PFile -Destination '$Downloads' -MaxBytesPerSecond 4MB"

        # The MiB the file's bar shows, when it shows more than $AtLeast; else $null.
        function Get-BarMiB([string[]] $Lines, [double] $AtLeast) {
            foreach ($line in $Lines) {
                if ($line -match 'Receiving big\.bin \[(\d+\.\d) MiB of 64\.0 MiB' -and [double]$Matches[1] -gt $AtLeast) { return [double]$Matches[1] }
            }
        }
        function Test-PromptBack([string[]] $Lines) { [bool]($Lines -like 'P2P>*') }
    }

    AfterAll {
        Stop-TmuxConsole $script:Console
    }

    It 'shows the bytes arriving while the search that feeds it still runs, and on Ctrl+C says how to resume' {
        Invoke-TmuxConsole $Console send-keys -t console $Command Enter | Out-Null

        # The search runs 40 s; the bar must move long before it ends (before the prompt is back).
        $moved = Wait-Until { $lines = Get-TmuxScreenAfter $Console $Command; (Get-BarMiB $lines 0) -or (Test-PromptBack $lines) } -TimeoutSec 20
        $lines = Get-TmuxScreenAfter $Console $Command
        $moved -and (Get-BarMiB $lines 0) -and -not (Test-PromptBack $lines) | Should -BeTrue -Because "the bar shows the bytes on disk while the search runs; the screen:`n$($lines -join "`n")"

        Invoke-TmuxConsole $Console send-keys -t console C-c | Out-Null

        Wait-Until { Test-PromptBack (Get-TmuxScreenAfter $Console $Command) } -TimeoutSec 15 | Should -BeTrue -Because 'Ctrl+C stops the download'
        $text = (Get-TmuxScreenAfter $Console $Command) -join "`n"
        $target = Join-Path $Downloads 'big.bin'
        $text | Should -Match ([regex]::Escape("WARNING: big.bin: stopped with ") + '\d+\.\d MiB of 64\.0 MiB verified; ' + [regex]::Escape("the partial file '$target.p2ppart' is kept. To resume it: Resume-P2PTransfer -Path '$target' -Source '$SourceEndpoint' -NodeId '$SourceId'"))
        "$target.p2ppart" | Should -Exist
    }

    It 'shows a resumed download with the bytes verified before from its first bar' {
        $verified = (Get-P2PTransfer -Path (Join-Path $Downloads 'big.bin')).BytesDone / 1MB
        $verified | Should -BeGreaterThan 0

        # The same command again (another timeout, so the screen after it is told from the first's): the file's first
        # bar counts what the earlier run verified.
        $again = $Command -replace '-TimeoutSec 40', '-TimeoutSec 41'
        Invoke-TmuxConsole $Console send-keys -t console $again Enter | Out-Null

        $shown = Wait-Until { $lines = Get-TmuxScreenAfter $Console $again; ($null -ne (Get-BarMiB $lines -1)) -or (Test-PromptBack $lines) } -TimeoutSec 20
        $lines = Get-TmuxScreenAfter $Console $again
        $shown -and -not (Test-PromptBack $lines) | Should -BeTrue -Because "the bar shows while the search runs; the screen:`n$($lines -join "`n")"
        Get-BarMiB $lines -1 | Should -BeGreaterOrEqual ($verified - 0.05) -Because "the first bar counts the $verified MiB verified before; the screen:`n$($lines -join "`n")"

        Invoke-TmuxConsole $Console send-keys -t console C-c | Out-Null
        Wait-Until { Test-PromptBack (Get-TmuxScreenAfter $Console $again) } -TimeoutSec 15 | Should -BeTrue
    }
}
