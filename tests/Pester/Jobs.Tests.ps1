BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
    Import-Module $ModulePath -Force

    function New-RandomFile([string] $Path, [long] $Size) {
        $bytes = [byte[]]::new($Size)
        [Security.Cryptography.RandomNumberGenerator]::Fill($bytes)
        New-Item -ItemType Directory -Force -Path (Split-Path $Path) | Out-Null
        [IO.File]::WriteAllBytes($Path, $bytes)
        Get-Item -LiteralPath $Path
    }

    # The progress records of a download that show bytes of the file arrived (more than none).
    function Test-BytesShown($Records, [string] $Total) {
        [bool]($Records | Where-Object { $_.ActivityId -gt 0 -and $_.RecordType -eq 'Processing' -and $_.StatusDescription -match "^(\d+\.\d) MiB of $([regex]::Escape($Total))" -and [double]$Matches[1] -gt 0 })
    }
}

# A large file from a source paced at 2 MB/s (64 MiB take more than 30 s) is surely still in flight while a test
# acts on it; the small one arrives at once.
Describe 'Downloads as jobs, and the transfer cmdlets' {
    BeforeAll {
        $big = New-RandomFile (Join-Path $TestDrive 'share/big.bin') 64MB
        $small = New-RandomFile (Join-Path $TestDrive 'share/small.bin') 3MB
        $bigHash = (Get-FileHash -LiteralPath $big.FullName).Hash
        $smallHash = (Get-FileHash -LiteralPath $small.FullName).Hash
        $a = Start-P2PNode -Name ja -ListenAddress 127.0.0.81 -Port 0 -StateDirectory (Join-Path $TestDrive 'state/a') -Share (Split-Path $big.FullName)
        Publish-P2PFile -Node $a -LiteralPath (Split-Path $big.FullName) -Wait | Out-Null
        $slow = 2MB
    }
    AfterAll {
        Get-Job | Where-Object PSJobTypeName -eq P2PTransferJob | Remove-Job -Force
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'Receive-P2PFile -AsJob returns a job that Get-Job knows and Wait-Job, Receive-Job and Remove-Job finish' {
        $destination = Join-Path $TestDrive 'job-small'

        $job = Receive-P2PFile -Hash $smallHash -Source $a.Endpoint -Name small.bin -Destination $destination -AsJob

        $job | Should -BeOfType ([P2PTransfer.Module.P2PTransferJob])
        $job.PSJobTypeName | Should -Be 'P2PTransferJob'
        (Get-Job -Id $job.Id) | Should -Be $job
        $job | Wait-Job -Timeout 60 | Should -Be $job
        $job.State | Should -Be 'Completed'
        $job.HasMoreData | Should -BeTrue
        # Read before Receive-Job, which takes the records it returns off the job.
        $job.Progress | Where-Object { $_.ActivityId -eq 0 -and $_.RecordType -eq 'Completed' } | Should -Not -BeNullOrEmpty -Because 'the job closes its bars'
        $files = @(Receive-Job $job)
        $files.Count | Should -Be 1
        $files[0] | Should -BeOfType ([IO.FileInfo])
        $files[0].FullName | Should -Be (Join-Path $destination 'small.bin')
        (Get-FileHash -LiteralPath $files[0].FullName).Hash | Should -Be $smallHash
        @(Get-P2PTransfer | Where-Object Hash -eq $smallHash).State | Should -Be 'Completed' -Because 'a job lists its files until it is removed'

        $job | Remove-Job

        Get-Job -Id $job.Id -ErrorAction Ignore | Should -BeNullOrEmpty
        Get-P2PTransfer | Where-Object Hash -eq $smallHash | Should -BeNullOrEmpty
    }

    It 'a job shows progress in $job.Progress while it runs; Stop-Job cancels it and keeps the partial file, with the command that resumes it' {
        $destination = Join-Path $TestDrive 'job-big'
        $job = Receive-P2PFile -Hash $bigHash -Source $a.Endpoint -Name big.bin -Destination $destination -AsJob -MaxBytesPerSecond $slow

        Wait-Until { Test-BytesShown $job.Progress '64.0 MiB' } -TimeoutSec 20 | Should -BeTrue -Because "the job reports bytes as they arrive; its progress: $($job.Progress.StatusDescription -join '; ')"
        $job.State | Should -Be 'Running'
        $job.StatusMessage | Should -Match '^0 of 1 file\(s\) done, .* of 64\.0 MiB$'
        $transfer = Get-P2PTransfer | Where-Object Hash -eq $bigHash
        $transfer.State | Should -Be 'Transferring'
        $transfer.Destination | Should -Be (Join-Path $destination 'big.bin')

        $job | Stop-Job

        $job.State | Should -Be 'Stopped'
        $transfer.State | Should -Be 'Stopped'
        Join-Path $destination 'big.bin' | Should -Not -Exist
        Join-Path $destination 'big.bin.p2ppart' | Should -Exist
        $warnings = Receive-Job $job 3>&1 | Where-Object { $_ -is [Management.Automation.WarningRecord] }
        ($warnings | Out-String) | Should -Match ([regex]::Escape("To resume it: Resume-P2PTransfer -Path '$(Join-Path $destination 'big.bin')' -Source '$($a.Endpoint)'"))

        $job | Remove-Job
        Get-P2PTransfer | Where-Object Hash -eq $bigHash | Should -BeNullOrEmpty
    }

    It 'lists a download that an earlier run left and resumes it from its record, with no search and no node of its own' {
        # The partial file the stopped job left.
        $destination = Join-Path $TestDrive 'job-big'
        $left = @(Get-P2PTransfer -Destination $destination)
        $left.Count | Should -Be 1
        $left[0].State | Should -Be 'Stopped'
        $left[0].Id | Should -Be 0
        $left[0].Hash | Should -Be $bigHash
        $left[0].Size | Should -Be 64MB
        $left[0].BytesDone | Should -BeGreaterThan 0
        (Get-P2PTransfer -Path (Join-Path $destination 'big.bin.p2ppart')).BytesDone | Should -Be $left[0].BytesDone
        $verified = [int]($left[0].BytesDone / 1MB)

        $output = $left | Resume-P2PTransfer -Source $a.Endpoint -PassThru -Verbose 4>&1
        $file = $output | Where-Object { $_ -is [IO.FileInfo] }

        $file.FullName | Should -Be (Join-Path $destination 'big.bin')
        (Get-FileHash -LiteralPath $file.FullName).Hash | Should -Be $bigHash
        ($output | Out-String) | Should -Match "resuming, $verified of 64 piece\(s\) verified already" -Because 'the verified pieces are not fetched again'
        Get-ChildItem $destination -Filter '*.p2ppart*' | Should -BeNullOrEmpty
        Get-P2PTransfer -Destination $destination | Should -BeNullOrEmpty
    }

    It 'Suspend-, Resume- and Stop-P2PTransfer control a download that another runspace runs in the foreground' {
        $destination = Join-Path $TestDrive 'other-runspace'
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$ModulePath'; Receive-P2PFile -Hash $bigHash -Source $($a.Endpoint) -Name big.bin -Destination '$destination' -MaxBytesPerSecond $slow")
            $async = $ps.BeginInvoke()
            Wait-Until { Test-BytesShown $ps.Streams.Progress '64.0 MiB' } -TimeoutSec 20 | Should -BeTrue -Because 'the foreground command shows bytes as they arrive'
            $transfer = Get-P2PTransfer | Where-Object Hash -eq $bigHash
            $transfer.State | Should -Be 'Transferring'

            $suspended = Suspend-P2PTransfer -Id $transfer.Id -PassThru

            $suspended | Should -Be $transfer
            $transfer.State | Should -Be 'Suspended'
            (Get-P2PTransfer -Destination $destination).Id | Should -Be $transfer.Id -Because 'a download of the session is listed as itself, not as a partial file'
            $async.IsCompleted | Should -BeFalse -Because 'a suspended download waits in its command'

            $transfer | Resume-P2PTransfer
            $transfer.State | Should -Be 'Transferring'
            $transfer | Stop-P2PTransfer

            $transfer.State | Should -Be 'Stopped'
            Wait-Until { $async.IsCompleted } -TimeoutSec 20 | Should -BeTrue -Because 'the command ends once its only file stopped'
            $ps.Streams.Error | Should -BeNullOrEmpty
            ($ps.Streams.Warning | Out-String) | Should -Match 'big\.bin: stopped with .* To resume it: Resume-P2PTransfer'
            Join-Path $destination 'big.bin.p2ppart' | Should -Exist
        }
        finally { $ps.Dispose() }

        { Stop-P2PTransfer -Path (Join-Path $destination 'big.bin') -ErrorAction Stop } | Should -Throw -ErrorId 'TransferNotRunning*'
        Stop-P2PTransfer -Path (Join-Path $destination 'big.bin') -Discard
        Get-ChildItem $destination -Filter '*.p2ppart*' | Should -BeNullOrEmpty
        { Suspend-P2PTransfer -Id 99999 -ErrorAction Stop } | Should -Throw -ErrorId 'TransferNotFound*'
    }
}

Describe 'Resuming a download whose sources must be found again' {
    BeforeAll {
        $big = New-RandomFile (Join-Path $TestDrive 'share/big.bin') 8MB
        $hash = (Get-FileHash -LiteralPath $big.FullName).Hash
        $a = Start-P2PNode -Name sa -ListenAddress 127.0.0.83 -Port 0 -StateDirectory (Join-Path $TestDrive 'state/a') -Share (Split-Path $big.FullName)
        Publish-P2PFile -Node $a -LiteralPath (Split-Path $big.FullName) -Wait | Out-Null
        $b = Start-P2PNode -Name sb -ListenAddress 127.0.0.84 -Port 0 -StateDirectory (Join-Path $TestDrive 'state/b')
        Connect-P2PPeer -Node $b -Address $a.Endpoint | Out-Null
        $destination = Join-Path $TestDrive 'dl'
    }
    AfterAll {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'searches for the hash through the given node and fetches only the missing pieces' {
        # A partial file as an earlier run leaves it: a job stopped once bytes arrived (paced: 8 MiB take 8 s).
        $job = Receive-P2PFile -Hash $hash -Source $a.Endpoint -Name big.bin -Destination $destination -AsJob -MaxBytesPerSecond 1MB
        Wait-Until { (Get-P2PTransfer | Where-Object Hash -eq $hash).BytesDone -gt 0 } -TimeoutSec 20 | Should -BeTrue
        $job | Stop-Job
        $job | Remove-Job
        $left = Get-P2PTransfer -Path (Join-Path $destination 'big.bin')
        $left.Sources | Should -BeNullOrEmpty

        $verbose = Resume-P2PTransfer -Path (Join-Path $destination 'big.bin') -Node $b -Verbose 4>&1 | Out-String

        $verbose | Should -Match "searching for sources of $hash through node sb"
        (Get-FileHash -LiteralPath (Join-Path $destination 'big.bin')).Hash | Should -Be $hash
        $verbose | Should -Match "resuming, $([int]($left.BytesDone / 1MB)) of 8 piece\(s\) verified already"
    }

    It 'says that sources are needed when no node can search and none are known' {
        Stop-P2PNode -All -DrainTimeoutSec 0
        $partial = Join-Path $TestDrive 'none/big.bin'
        New-Item -ItemType Directory -Force (Split-Path $partial) | Out-Null
        # A partial file left by a job stopped once bytes arrived; then no node runs in the session.
        $node = Start-P2PNode -Name sc -ListenAddress 127.0.0.85 -Port 0 -StateDirectory (Join-Path $TestDrive 'state/c') -Share (Split-Path $big.FullName)
        Publish-P2PFile -Node $node -LiteralPath (Split-Path $big.FullName) -Wait | Out-Null
        $job = Receive-P2PFile -Hash $hash -Source $node.Endpoint -Name big.bin -Destination (Split-Path $partial) -AsJob -MaxBytesPerSecond 1MB
        Wait-Until { (Get-P2PTransfer | Where-Object Hash -eq $hash).BytesDone -gt 0 } -TimeoutSec 20 | Should -BeTrue
        $job | Stop-Job
        $job | Remove-Job
        Stop-P2PNode -All -DrainTimeoutSec 0

        { Resume-P2PTransfer -Path $partial -ErrorAction Stop } | Should -Throw -ErrorId 'NoNodeRunning*' -ExpectedMessage '*give its sources with -Source*'
        Join-Path (Split-Path $partial) 'big.bin.p2ppart' | Should -Exist
    }
}

# Node a (127.0.0.86) of a private network shares two 8 MiB files, one in folders; b (127.0.0.87), a member linked to
# a, finds them: the search results name a's id, so each download's sources carry it. Each download is paced
# (8 MiB take 8 s) and stopped once bytes of it are verified, then resumed.
Describe 'Resuming downloads that search results fed, on a private network' {
    BeforeAll {
        $flat = New-RandomFile (Join-Path $TestDrive 'share/flat.bin') 8MB
        $deep = New-RandomFile (Join-Path $TestDrive 'share/sub/dir/deep.bin') 8MB
        $flatHash = (Get-FileHash -LiteralPath $flat.FullName).Hash
        $deepHash = (Get-FileHash -LiteralPath $deep.FullName).Hash
        $key = (New-P2PNetworkKey -Path (Join-Path $TestDrive 'team.p2pkey')).FullName
        $a = Start-P2PNode -Name ra -ListenAddress 127.0.0.86 -Port 0 -StateDirectory (Join-Path $TestDrive 'state/a') -Share (Join-Path $TestDrive 'share') -NetworkKey $key
        Publish-P2PFile -Node $a -LiteralPath (Join-Path $TestDrive 'share') -Wait | Out-Null
        $b = Start-P2PNode -Name rb -ListenAddress 127.0.0.87 -Port 0 -StateDirectory (Join-Path $TestDrive 'state/b') -NetworkKey $key
        Connect-P2PPeer -Node $b -Address $a.Endpoint | Out-Null

        # Starts a job that downloads what a search through b finds for the hash, stops it once bytes are verified,
        # and returns the stopped download and the warnings of the job.
        function Get-StoppedDownload([string] $Hash, [string] $Destination, [switch] $Recurse) {
            $found = @(Find-P2PFile -Node $b -Hash $Hash -TimeoutSec 3)
            $found.Count | Should -Be 1
            $found[0].NodeId | Should -Be $a.Id
            $job = $found | Receive-P2PFile -Destination $Destination -Recurse:$Recurse -NetworkKey $key -AsJob -MaxBytesPerSecond 1MB
            $mine = { Get-P2PTransfer | Where-Object { $_.Hash -eq $Hash -and $_.Id -ne 0 -and $_.Destination.StartsWith($Destination) } }
            Wait-Until { (& $mine).BytesDone -gt 0 } -TimeoutSec 20 | Should -BeTrue
            $job | Stop-Job
            $transfer = & $mine
            $transfer.State | Should -Be 'Stopped'
            $transfer.Sources | Should -Be "$($a.Endpoint) as node $($a.Id)" -Because 'the search result named the node at the source'
            $warnings = Receive-Job $job 3>&1 | Where-Object { $_ -is [Management.Automation.WarningRecord] }
            [pscustomobject]@{ Transfer = $transfer; Job = $job; Warnings = ($warnings | Out-String) }
        }
    }
    AfterAll {
        Get-Job | Where-Object PSJobTypeName -eq P2PTransferJob | Remove-Job -Force
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'resumes it from the sources it had, each with the node its search result named, given the network''s key' {
        $destination = Join-Path $TestDrive 'dl-flat'
        $stopped = Get-StoppedDownload $flatHash $destination

        $output = $stopped.Transfer | Resume-P2PTransfer -NetworkKey $key -PassThru -ErrorAction Stop

        $output.FullName | Should -Be (Join-Path $destination 'flat.bin')
        (Get-FileHash -LiteralPath $output.FullName).Hash | Should -Be $flatHash
        $stopped.Job | Remove-Job
    }

    It 'resumes a download that kept its folders (-Recurse) into the same place' {
        $destination = Join-Path $TestDrive 'dl-tree'
        $stopped = Get-StoppedDownload $deepHash $destination -Recurse
        $target = Join-Path $destination 'share/sub/dir/deep.bin'
        $stopped.Transfer.Destination | Should -Be $target

        $output = $stopped.Transfer | Resume-P2PTransfer -NetworkKey $key -PassThru -ErrorAction Stop

        $output.FullName | Should -Be $target
        (Get-FileHash -LiteralPath $target).Hash | Should -Be $deepHash
        Get-ChildItem $destination -Recurse -Filter '*.p2ppart*' | Should -BeNullOrEmpty
        $stopped.Job | Remove-Job
    }

    It 'says to resume with the sources'' addresses and the node named there, and that command works (with the network''s key)' {
        $destination = Join-Path $TestDrive 'dl-hint'
        $stopped = Get-StoppedDownload $flatHash $destination
        $target = Join-Path $destination 'flat.bin'
        $command = "Resume-P2PTransfer -Path '$target' -Source '$($a.Endpoint)' -NodeId '$($a.Id)'"
        $stopped.Warnings | Should -Match ([regex]::Escape("To resume it: $command"))
        $stopped.Job | Remove-Job

        Invoke-Expression "$command -NetworkKey '$key' -ErrorAction Stop"

        (Get-FileHash -LiteralPath $target).Hash | Should -Be $flatHash
        Get-ChildItem $destination -Filter '*.p2ppart*' | Should -BeNullOrEmpty
    }
}
