BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
    Import-Module $ModulePath -Force

    # A file of random bytes (content nobody else has), written once per test file.
    function New-RandomFile([string] $Path, [long] $Size) {
        $bytes = [byte[]]::new($Size)
        [Security.Cryptography.RandomNumberGenerator]::Fill($bytes)
        New-Item -ItemType Directory -Force -Path (Split-Path $Path) | Out-Null
        [IO.File]::WriteAllBytes($Path, $bytes)
        Get-Item -LiteralPath $Path
    }

    # Starts a node on 127.0.0.<Octet> sharing $Share and waits until everything in it is hashed.
    function Start-SharingNode([string] $Name, [int] $Octet, [string] $Share, [int] $MaxUploads = 16) {
        $node = Start-P2PNode -Name $Name -ListenAddress "127.0.0.$Octet" -Port 0 -StateDirectory (Join-Path $TestDrive "state/$Name") -Share $Share -MaxUploads $MaxUploads
        Publish-P2PFile -Node $node -LiteralPath $Share -Wait | Out-Null
        $node
    }

    function Copy-Share([string] $From, [string] $To) {
        New-Item -ItemType Directory -Force -Path $To | Out-Null
        Copy-Item -Path (Join-Path $From '*') -Destination $To
        $To
    }
}

Describe 'Downloading a 64 MiB file that three nodes share' {
    BeforeAll {
        $original = New-RandomFile (Join-Path $TestDrive 'share-a/big.bin') 64MB
        $hash = (Get-FileHash -LiteralPath $original.FullName -Algorithm SHA256).Hash
        $shares = @((Split-Path $original.FullName), (Copy-Share (Split-Path $original.FullName) (Join-Path $TestDrive 'share-b')), (Copy-Share (Split-Path $original.FullName) (Join-Path $TestDrive 'share-c')))
        $nodes = 0..2 | ForEach-Object { Start-SharingNode "t$_" (31 + $_) $shares[$_] }
        Connect-P2PPeer -Node $nodes[0] -Address $nodes[1].Endpoint | Out-Null
        Connect-P2PPeer -Node $nodes[1] -Address $nodes[2].Endpoint | Out-Null
    }
    AfterAll {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'fetches pieces from every source at once and the file matches Get-FileHash' {
        $results = Find-P2PFile -Node $nodes[0] big.bin -TimeoutSec 3
        $results.Count | Should -Be 3
        $before = $nodes | ForEach-Object { $_.TransferCounters.PiecesServed }

        # Paced (2 s for the file), so no source can take it all before the others have connected.
        $file = $results | Receive-P2PFile -Destination (Join-Path $TestDrive 'dl-multi') -PassThru -MaxBytesPerSecond 32MB

        $file | Should -BeOfType ([IO.FileInfo])
        $file.Name | Should -Be 'big.bin'
        (Get-FileHash -LiteralPath $file.FullName).Hash | Should -Be $hash
        for ($i = 0; $i -lt 3; $i++) { $nodes[$i].TransferCounters.PiecesServed - $before[$i] | Should -BeGreaterThan 0 -Because "source t$i must serve pieces" }
        Get-ChildItem (Join-Path $TestDrive 'dl-multi') -Filter '*.p2ppart*' | Should -BeNullOrEmpty
    }

    It 'detects a source whose copy is corrupted, excludes it, and still writes the right file' {
        $bad = Join-Path $shares[2] 'big.bin'
        $stamp = (Get-Item -LiteralPath $bad).LastWriteTimeUtc
        $stream = [IO.File]::OpenWrite($bad)
        try {
            # Damage every piece this source could be asked for, keeping size and last-write time, so its index still announces the old hashes.
            for ($piece = 0; $piece -lt 64; $piece++) { $stream.Position = $piece * 1MB + 100; $stream.Write([byte[]](1..64), 0, 64) }
        }
        finally { $stream.Dispose() }
        (Get-Item -LiteralPath $bad).LastWriteTimeUtc = $stamp
        $before = $nodes[2].TransferCounters.PiecesServed

        $verbose = Receive-P2PFile -Hash $hash -Name big.bin -Size 64MB -Source $nodes[2].Endpoint, $nodes[0].Endpoint, $nodes[1].Endpoint -Destination (Join-Path $TestDrive 'dl-corrupt') -Verbose 4>&1

        (Get-FileHash -LiteralPath (Join-Path $TestDrive 'dl-corrupt/big.bin')).Hash | Should -Be $hash
        $nodes[2].TransferCounters.PiecesServed - $before | Should -BeGreaterThan 0 -Because 'the corrupted source was asked'
        $nodes[2].TransferCounters.PiecesServed - $before | Should -BeLessOrEqual 8 -Because 'after its first bad piece it is asked for nothing more (8 were requested ahead)'
        ($verbose | Out-String) | Should -Match ([regex]::Escape("dropped source $($nodes[2].Endpoint)") + '.*bad data for piece')
    }

    It 'names the source when every source sends bad data, and never gives the file its name' {
        $destination = Join-Path $TestDrive 'dl-all-bad'

        { Receive-P2PFile -Hash $hash -Name big.bin -Size 64MB -Source $nodes[2].Endpoint -Destination $destination -ErrorAction Stop } |
            Should -Throw -ErrorId 'VerificationFailed*' -ExpectedMessage "*$($nodes[2].Endpoint)*bad data*"
        Join-Path $destination 'big.bin' | Should -Not -Exist
    }
}

Describe 'A source that dies in the middle of a download' {
    BeforeAll {
        $original = New-RandomFile (Join-Path $TestDrive 'share-x/big.bin') 64MB
        $hash = (Get-FileHash -LiteralPath $original.FullName).Hash
        $shareY = Copy-Share (Split-Path $original.FullName) (Join-Path $TestDrive 'share-y')
        # Killed (no goodbye) right after it has sent 6 pieces, while the others are still being fetched.
        $doomed = Start-ExternalNode -Name 'doomed' -Address '127.0.0.41' -StateRoot (Join-Path $TestDrive 'ext') -Share (Split-Path $original.FullName) -DieAfterPieces 6
        $survivor = Start-SharingNode 'survivor' 42 $shareY
    }
    AfterAll {
        if (-not $doomed.Process.HasExited) { $doomed.Process.Kill() }
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'completes from the other source and says which source it dropped' {
        # Paced (64 MiB take 4 s), so the source surely dies mid-download and not after it.
        $verbose = Receive-P2PFile -Hash $hash -Name big.bin -Size 64MB -Source $doomed.Endpoint, $survivor.Endpoint -Destination (Join-Path $TestDrive 'dl') -MaxBytesPerSecond 16MB -Verbose 4>&1

        (Get-FileHash -LiteralPath (Join-Path $TestDrive 'dl/big.bin')).Hash | Should -Be $hash
        $doomed.Process.WaitForExit(5000) | Should -BeTrue -Because 'the source was killed during the download'
        ($verbose | Out-String) | Should -Match ([regex]::Escape("dropped source $($doomed.Endpoint)"))
        $survivor.TransferCounters.PiecesServed | Should -BeLessThan 64 -Because 'the dead source delivered some pieces before it died'
    }
}

Describe 'Resuming an interrupted download' {
    BeforeAll {
        $original = New-RandomFile (Join-Path $TestDrive 'share-r/big.bin') 32MB
        $hash = (Get-FileHash -LiteralPath $original.FullName).Hash
        $only = Start-ExternalNode -Name 'only' -Address '127.0.0.51' -StateRoot (Join-Path $TestDrive 'ext') -Share (Split-Path $original.FullName) -DieAfterPieces 10
        $destination = Join-Path $TestDrive 'dl'
    }
    AfterAll {
        if (-not $only.Process.HasExited) { $only.Process.Kill() }
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'leaves a partial file when its only source dies, then fetches only the missing pieces' {
        # Paced (32 MiB take 4 s), so the source surely dies mid-download and not after it.
        { Receive-P2PFile -Hash $hash -Name big.bin -Source $only.Endpoint -Destination $destination -MaxBytesPerSecond 8MB -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionLost*'
        Join-Path $destination 'big.bin' | Should -Not -Exist
        Join-Path $destination 'big.bin.p2ppart' | Should -Exist
        Join-Path $destination 'big.bin.p2ppart.pieces' | Should -Exist

        $again = Start-SharingNode 'again' 52 (Split-Path $original.FullName)
        $verbose = Receive-P2PFile -Hash $hash -Name big.bin -Source $again.Endpoint -Destination $destination -Verbose 4>&1 | Out-String

        $verbose | Should -Match 'resuming, (\d+) of 32 piece\(s\) verified already'
        $resumed = [int]([regex]::Match($verbose, 'resuming, (\d+) of 32').Groups[1].Value)
        $resumed | Should -BeGreaterThan 0
        $again.TransferCounters.PiecesServed | Should -Be (32 - $resumed) -Because 'verified pieces are not fetched again'
        (Get-FileHash -LiteralPath (Join-Path $destination 'big.bin')).Hash | Should -Be $hash
        Get-ChildItem $destination -Filter '*.p2ppart*' | Should -BeNullOrEmpty
    }
}

Describe 'Resuming a partial file damaged on this disk' {
    BeforeAll {
        $original = New-RandomFile (Join-Path $TestDrive 'share-d/big.bin') 16MB
        $hash = (Get-FileHash -LiteralPath $original.FullName).Hash
        $dying = Start-ExternalNode -Name 'dying' -Address '127.0.0.57' -StateRoot (Join-Path $TestDrive 'ext') -Share (Split-Path $original.FullName) -DieAfterPieces 6
        $destination = Join-Path $TestDrive 'dl-damaged'
    }
    AfterAll {
        if (-not $dying.Process.HasExited) { $dying.Process.Kill() }
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'fetches again a verified piece whose bytes changed on disk, and blames no source' {
        { Receive-P2PFile -Hash $hash -Name big.bin -Source $dying.Endpoint -Destination $destination -MaxBytesPerSecond 4MB -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionLost*'
        $partial = Join-Path $destination 'big.bin.p2ppart'
        $partial | Should -Exist
        # One byte of piece 0 (the first piece fetched, so surely verified), as a failing disk would leave it.
        $stream = [IO.File]::Open($partial, 'Open', 'ReadWrite')
        try { $stream.Position = 100; $byte = $stream.ReadByte(); $stream.Position = 100; $stream.WriteByte(255 - $byte) } finally { $stream.Dispose() }

        $again = Start-SharingNode 'again-d' 58 (Split-Path $original.FullName)
        $verbose = Receive-P2PFile -Hash $hash -Name big.bin -Source $again.Endpoint -Destination $destination -ErrorAction Stop -Verbose 4>&1 | Out-String

        $verbose | Should -Match '1 piece\(s\) of the partial file from an earlier run no longer match their hash \(damaged on this disk, not by a source\); fetching them again'
        $verbose | Should -Not -Match 'sent bad data'
        $resumed = [int]([regex]::Match($verbose, 'resuming, (\d+) of 16').Groups[1].Value)
        $again.TransferCounters.PiecesServed | Should -Be (16 - $resumed) -Because 'the damaged piece is fetched again with the missing ones'
        (Get-FileHash -LiteralPath (Join-Path $destination 'big.bin')).Hash | Should -Be $hash
    }
}

Describe 'Ctrl+C in the middle of a download' -Skip:$IsWindows {
    BeforeAll {
        $original = New-RandomFile (Join-Path $TestDrive 'share-h/big.bin') 32MB
        $hash = (Get-FileHash -LiteralPath $original.FullName).Hash
        # Hangs (SIGSTOP) after sending 12 pieces: the download (paced, 32 MiB take 4 s) waits on it until Ctrl+C.
        $hung = Start-ExternalNode -Name 'hung' -Address '127.0.0.55' -StateRoot (Join-Path $TestDrive 'ext') -Share (Split-Path $original.FullName) -FreezeAfterPieces 12
        $destination = Join-Path $TestDrive 'dl'
    }
    AfterAll {
        if (-not $hung.Process.HasExited) { & kill -CONT $hung.Process.Id; $hung.Process.Kill() }
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'stops promptly without an error and leaves a partial file that the same command resumes' {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$ModulePath'; Receive-P2PFile -Hash $hash -Name big.bin -Source $($hung.Endpoint) -Destination '$destination' -MaxBytesPerSecond 8MB")
            $async = $ps.BeginInvoke()
            Wait-Until { $ps.Streams.Progress | Where-Object { $_.ActivityId -eq 1 -and $_.RecordType -eq 'Processing' } } -TimeoutSec 20 | Should -BeTrue
            Wait-Until { $hung.Process.Refresh(); (Get-Content "/proc/$($hung.Process.Id)/stat" -Raw).Split(' ')[2] -eq 'T' } -TimeoutSec 20 | Should -BeTrue -Because 'the source hangs mid-download'

            $clock = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            # Promptly: well before the 10 s a stalled source would take (closing the frozen source's connection takes up to 2 s).
            Wait-Until { $async.IsCompleted } -TimeoutSec 6 | Should -BeTrue
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 6
            $ps.Streams.Error | Should -BeNullOrEmpty
            # Some record (the first may come before the source is counted) shows bytes of the total, the rate and the sources.
            $ps.Streams.Progress | Where-Object { $_.ActivityId -eq 1 -and $_.RecordType -eq 'Processing' -and $_.StatusDescription -match 'of 32.0 MiB at .*/s from 1 source\(s\)' } | Should -Not -BeNullOrEmpty
        }
        finally { $ps.Dispose() }
        Join-Path $destination 'big.bin' | Should -Not -Exist
        Join-Path $destination 'big.bin.p2ppart' | Should -Exist

        $again = Start-SharingNode 'again-h' 56 (Split-Path $original.FullName)
        $verbose = Receive-P2PFile -Hash $hash -Name big.bin -Source $again.Endpoint -Destination $destination -Verbose 4>&1 | Out-String
        $resumed = [int]([regex]::Match($verbose, 'resuming, (\d+) of 32').Groups[1].Value)
        $resumed | Should -BeGreaterThan 0
        $again.TransferCounters.PiecesServed | Should -Be (32 - $resumed)
        (Get-FileHash -LiteralPath (Join-Path $destination 'big.bin')).Hash | Should -Be $hash
    }
}

Describe 'What a node refuses to serve' {
    BeforeAll {
        $shared = New-RandomFile (Join-Path $TestDrive 'share/inside.bin') 3MB
        $outside = New-RandomFile (Join-Path $TestDrive 'private/outside.bin') 1000
        $node = Start-SharingNode 'guard' 61 (Split-Path $shared.FullName)
        $sharedHash = (Get-FileHash -LiteralPath $shared.FullName).Hash
    }
    AfterAll {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'refuses a file outside its shares (it is not found by its hash)' {
        $hash = (Get-FileHash -LiteralPath $outside.FullName).Hash
        { Receive-P2PFile -Hash $hash -Name outside.bin -Source $node.Endpoint -Destination (Join-Path $TestDrive 'dl') -ErrorAction Stop } |
            Should -Throw -ErrorId 'UnknownFile*' -ExpectedMessage "*shares no file with hash $hash*"
        Join-Path $TestDrive 'dl/outside.bin' | Should -Not -Exist
    }

    # That the fourth downloader of a node with three slots is refused NodeBusy, through a pure client's piece
    # requests, is pinned by NodeClientTransferTests (the piece requests are not public).
    It 'serves as many downloaders at once as -MaxUploads says' {
        $small = Start-SharingNode 'small-slots' 62 (Split-Path $shared.FullName) -MaxUploads 3
        $small.MaxUploads | Should -Be 3
        $node.MaxUploads | Should -Be 16
    }

    It 'refuses an unknown hash with a clear error' {
        $unknown = 'AB' * 32
        $refusedBefore = $node.TransferCounters.RequestsRefused
        { Receive-P2PFile -Hash $unknown -Source $node.Endpoint -Destination (Join-Path $TestDrive 'dl') -ErrorAction Stop } |
            Should -Throw -ErrorId 'UnknownFile*' -ExpectedMessage "*guard shares no file with hash $unknown*"
        $node.TransferCounters.RequestsRefused | Should -Be ($refusedBefore + 1)
    }

    It 'never writes outside the destination, whatever name the network gives' {
        { Receive-P2PFile -Hash $sharedHash -Name '../escaped.bin' -Source $node.Endpoint -Destination (Join-Path $TestDrive 'dl') -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidArgument*' -ExpectedMessage '*not a safe file name*'
        Join-Path $TestDrive 'escaped.bin' | Should -Not -Exist
    }

    It 'refuses a name that would show as another (a right-to-left override), naming the character, and writes nothing' {
        $name = [char] 0x202E + 'gnp.exe'
        { Receive-P2PFile -Hash $sharedHash -Name $name -Source $node.Endpoint -Destination (Join-Path $TestDrive 'dl-rlo') -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidArgument*' -ExpectedMessage "*'\u202egnp.exe' is not a safe file name*U+202E*"
        Join-Path $TestDrive 'dl-rlo' | Should -Not -Exist
    }

    It 'refuses a destination that is not a file-system folder, and writes nothing' {
        $servedBefore = $node.TransferCounters.PiecesServed
        { Receive-P2PFile -Hash $sharedHash -Name shared.bin -Source $node.Endpoint -Destination Variable:\dl -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidArgument*' -ExpectedMessage '*-Destination*is not a path of the file system*'
        $node.TransferCounters.PiecesServed | Should -Be $servedBefore
        Test-Path Variable:\dl | Should -BeFalse
    }
}

Describe 'Copying a folder that holds empty files' {
    BeforeAll {
        $share = Join-Path $TestDrive 'project'
        New-Item -ItemType Directory -Path (Join-Path $share 'pkg'), (Join-Path $share 'logs') | Out-Null
        New-Item -ItemType File -Path (Join-Path $share 'pkg/__init__.py'), (Join-Path $share 'logs/.gitkeep') | Out-Null
        'print("hello")' | Set-Content (Join-Path $share 'pkg/main.py')
        $node = Start-SharingNode 'project' 75 $share
        $nothing = (Get-FileHash -InputStream ([IO.MemoryStream]::new())).Hash
    }
    AfterAll {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'finds the empty files with the hash of nothing and downloads them as empty files of their names' {
        $destination = Join-Path $TestDrive 'dl-project'
        $found = Find-P2PFile -Server $node.Endpoint -TimeoutSec 10
        $found.Name | Sort-Object | Should -Be (@('.gitkeep', '__init__.py', 'main.py') | Sort-Object)
        $empty = $found | Where-Object Size -EQ 0
        $empty.Name | Sort-Object | Should -Be (@('.gitkeep', '__init__.py') | Sort-Object)
        $empty.Hash | Should -Be @($nothing, $nothing)

        $found | Receive-P2PFile -Destination $destination -ErrorAction Stop

        $got = Get-ChildItem -LiteralPath $destination -Force
        $got.Name | Sort-Object | Should -Be (@('.gitkeep', '__init__.py', 'main.py') | Sort-Object)
        $got | Where-Object Name -NE 'main.py' | ForEach-Object Length | Should -Be @(0, 0)
        (Get-FileHash (Join-Path $destination 'main.py')).Hash | Should -Be (Get-FileHash (Join-Path $share 'pkg/main.py')).Hash
        $node.TransferCounters.PiecesServed | Should -Be 1 -Because 'an empty file has no piece to fetch'
    }

    It 'skips an empty file the destination already holds, and replaces other content only with -Force' {
        $destination = Join-Path $TestDrive 'dl-marker'
        $marker = Find-P2PFile -Server $node.Endpoint '.gitkeep' -TimeoutSec 10
        $marker | Receive-P2PFile -Destination $destination
        $lists = $node.TransferCounters.PieceListsServed

        $same = $marker | Receive-P2PFile -Destination $destination -PassThru -ErrorAction Stop
        $same.Length | Should -Be 0
        $node.TransferCounters.PieceListsServed | Should -Be $lists -Because 'the same content is not downloaded again'

        Set-Content -LiteralPath (Join-Path $destination '.gitkeep') -Value 'not empty'
        { $marker | Receive-P2PFile -Destination $destination -ErrorAction Stop } | Should -Throw -ErrorId 'DestinationExists*'
        $marker | Receive-P2PFile -Destination $destination -Force -ErrorAction Stop
        (Get-Item -LiteralPath (Join-Path $destination '.gitkeep') -Force).Length | Should -Be 0
    }
}

Describe 'Receive-P2PFile as a user drives it' {
    BeforeAll {
        $share = Join-Path $TestDrive 'many'
        New-Item -ItemType Directory -Path $share | Out-Null
        1..1000 | ForEach-Object { [IO.File]::WriteAllText((Join-Path $share ('small-{0:d4}.txt' -f $_)), "small file number $_ " + ('x' * ($_ % 97))) }
        $node = Start-SharingNode 'many' 71 $share
    }
    AfterAll {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'downloads a batch of 1,000 small files found by one search, with one command' {
        $destination = Join-Path $TestDrive 'dl-many'

        Find-P2PFile -Server $node.Endpoint 'small-*' -TimeoutSec 10 | Receive-P2PFile -Destination $destination

        $got = Get-ChildItem -LiteralPath $destination
        $got.Count | Should -Be 1000
        $expected = Get-ChildItem -LiteralPath $share | Get-FileHash | Select-Object -ExpandProperty Hash | Sort-Object
        $got | Get-FileHash | Select-Object -ExpandProperty Hash | Sort-Object | Should -Be $expected
    }

    It 'downloads nothing with -WhatIf' {
        $destination = Join-Path $TestDrive 'dl-whatif'
        $found = Find-P2PFile -Server $node.Endpoint 'small-000*' -TimeoutSec 5
        $found.Count | Should -Be 9
        $servedBefore = $node.TransferCounters.PiecesServed
        $found | Receive-P2PFile -Destination $destination -WhatIf
        $destination | Should -Not -Exist -Because '-WhatIf makes no folder either'
        $node.TransferCounters.PiecesServed | Should -Be $servedBefore -Because 'nothing was downloaded'
    }

    It 'skips a file the destination already holds, refuses other content without -Force and replaces it with -Force' {
        $destination = Join-Path $TestDrive 'dl-names'
        $result = Find-P2PFile -Server $node.Endpoint 'small-0001.txt' -TimeoutSec 5
        $result | Receive-P2PFile -Destination $destination
        $served = $node.TransferCounters.PiecesServed

        $same = $result | Receive-P2PFile -Destination $destination -PassThru
        $same.FullName | Should -Be (Join-Path $destination 'small-0001.txt')
        $node.TransferCounters.PiecesServed | Should -Be $served -Because 'the same content is not downloaded again'

        Set-Content -LiteralPath (Join-Path $destination 'small-0001.txt') -Value 'something else'
        { $result | Receive-P2PFile -Destination $destination -ErrorAction Stop } | Should -Throw -ErrorId 'DestinationExists*' -ExpectedMessage '*-Force*'
        $result | Receive-P2PFile -Destination $destination -Force
        (Get-FileHash (Join-Path $destination 'small-0001.txt')).Hash | Should -Be $result.Hash
    }

    It 'writes with -PassThru each file as Get-Item gives it, so its default view shows mode and size' {
        $destination = Join-Path $TestDrive 'dl-passthru'
        $file = Find-P2PFile -Server $node.Endpoint 'small-0003.txt' -TimeoutSec 5 | Receive-P2PFile -Destination $destination -PassThru

        $file | Should -BeOfType ([IO.FileInfo])
        $item = Get-Item -LiteralPath (Join-Path $destination 'small-0003.txt')
        $file.PSPath | Should -Be $item.PSPath
        ($file | Out-String) | Should -Be ($item | Out-String)
    }

    It 'shows progress for the batch and each file, and completes every bar when files succeed or fail' {
        $ps = [powershell]::Create()
        try {
            $good = Find-P2PFile -Server $node.Endpoint 'small-000*' -TimeoutSec 5
            $bad = [pscustomobject]@{ Hash = 'EF' * 32; Name = 'gone.txt'; Endpoint = $node.Endpoint; Size = 5MB }
            $null = $ps.AddScript("Import-Module '$ModulePath'; `$input | Receive-P2PFile -Destination '$(Join-Path $TestDrive 'dl-progress')'")
            $ps.Invoke(@($good) + $bad) | Out-Null
            $batch = @($ps.Streams.Progress | Where-Object ActivityId -EQ 0)
            $batch.StatusDescription | Should -Contain 'Done'
            # Files may be done before the first record (a busy machine), so only the form is fixed.
            $batch[0].StatusDescription | Should -Match '^\d+ of \d+ file\(s\) done, .+ of .+'
            $batch[-1].RecordType | Should -Be 'Completed'
            $ps.Streams.Error.Count | Should -Be 1
        }
        finally { $ps.Dispose() }
    }

    It 'writes a non-terminating error for a file moved away before it is written out, and writes out the other' {
        $destination = Join-Path $TestDrive 'dl-moved'
        $names = 'small-0004.txt', 'small-0005.txt'
        $found = Find-P2PFile -Server $node.Endpoint -Name $names -TimeoutSec 5
        $found.Count | Should -Be 2

        # The first file written out waits here until the other has arrived and deletes it: the command writes out
        # nothing while this block runs, so it meets the other file gone.
        $out = $found | Receive-P2PFile -Destination $destination -PassThru -ErrorVariable failures -ErrorAction SilentlyContinue |
            ForEach-Object -Begin { $first = $true } -Process {
                if ($first) {
                    $first = $false
                    $other = Join-Path $destination @($names -ne $_.Name)[0]
                    $deadline = [DateTime]::UtcNow.AddSeconds(30)
                    while (-not (Test-Path -LiteralPath $other) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
                    Remove-Item -LiteralPath $other -ErrorAction Stop
                    $script:removed = Split-Path -Leaf $other
                }
                $_
            }

        @($out).Count | Should -Be 1
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'PathNotFound*'
        $failures[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failures[0].TargetObject | Should -Be $script:removed
        $failures[0].Exception.Message | Should -BeLike "*$script:removed*moved or deleted*"
    }

    It 'writes nothing to the pipeline without -PassThru, and a failed file does not stop the others' {
        $good = Find-P2PFile -Server $node.Endpoint 'small-0002.txt' -TimeoutSec 5
        $bad = [pscustomobject]@{ Hash = 'CD' * 32; Name = 'missing.txt'; Endpoint = $node.Endpoint }
        $out = @($bad, $good) | Receive-P2PFile -Destination (Join-Path $TestDrive 'dl-mixed') -ErrorVariable failures -ErrorAction SilentlyContinue

        $out | Should -BeNullOrEmpty
        $failures.Count | Should -Be 1
        $failures[0].TargetObject | Should -Be 'missing.txt'
        Join-Path $TestDrive 'dl-mixed/small-0002.txt' | Should -Exist
    }
}

Describe 'Receive-P2PFile -WhatIf and names that differ only in case' {
    It 'asks about each name that is a file of its own on this system and once about names that are one file' {
        $destination = Join-Path $TestDrive 'dl-case'
        $transcript = Join-Path $TestDrive 'whatif-case.txt'
        $inputs = 'Report.txt', 'report.txt' | ForEach-Object { [pscustomobject]@{ Hash = 'AB' * 32; Name = $_; Source = '127.0.0.1:9' } }

        Start-Transcript -LiteralPath $transcript | Out-Null
        try { $inputs | Receive-P2PFile -Destination $destination -WhatIf }
        finally { Stop-Transcript | Out-Null }

        # A declined (or -WhatIf) name skips its other sources, not another file: on Linux case makes two files.
        $asked = @(Select-String -LiteralPath $transcript -Pattern 'What if:.*[Rr]eport\.txt' -AllMatches)
        $asked.Count | Should -Be ($IsLinux ? 2 : 1)
        $destination | Should -Not -Exist
    }
}
