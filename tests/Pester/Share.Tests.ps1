BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
    Import-Module $ModulePath -Force

    function Wait-Indexed([Parameter(ValueFromPipeline)] $Node) {
        process { Wait-Until { $Node.IndexProgress.IsComplete } -TimeoutSec 20 | Should -BeTrue -Because "node $($Node.Name) finishes indexing" }
    }

    function Get-Listing($Node) {
        Get-P2PShare -Node $Node | ForEach-Object { '{0}={1}' -f $_.RelativePath, $_.Hash } | Sort-Object
    }

    function Get-Expected([string] $Folder) {
        $root = (Resolve-Path $Folder).ProviderPath
        $leaf = Split-Path $root -Leaf
        Get-ChildItem $root -Recurse -File | ForEach-Object {
            $relative = [IO.Path]::GetRelativePath($root, $_.FullName).Replace('\', '/')
            '{0}/{1}={2}' -f $leaf, $relative, (Get-FileHash $_.FullName -Algorithm SHA256).Hash
        } | Sort-Object
    }
}

Describe 'Sharing folders' {
    BeforeEach {
        $pub = New-Item -ItemType Directory "TestDrive:/pub-$(New-Guid)"
        'alpha' | Set-Content (Join-Path $pub 'alpha.txt')
        New-Item -ItemType Directory (Join-Path $pub 'docs') | Out-Null
        [IO.File]::WriteAllBytes((Join-Path $pub 'docs/big.bin'), [byte[]]::new(3MB))
        'report' | Set-Content (Join-Path $pub 'docs/Report-2024.PDF')
    }

    AfterEach {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'lists every shared file with the hash Get-FileHash prints' {
        $node = Start-P2PNode -Share $pub -Name lister -ListenAddress 127.0.0.1 -Port 0 -StateDirectory "TestDrive:/state/$(New-Guid)"
        $node | Wait-Indexed

        Get-Listing $node | Should -Be (Get-Expected $pub)
        $files = Get-P2PShare -Node $node
        $files.State | Should -Be @('Ready', 'Ready', 'Ready')
        ($files | Where-Object Name -EQ 'big.bin').Size | Should -Be 3MB
        $node.IndexProgress.FilesTotal | Should -Be 3
        $node.IndexProgress.BytesDone | Should -Be ($files | Measure-Object Size -Sum).Sum
        ($files | Where-Object Name -EQ 'alpha.txt').LastWriteTime | Should -Be (Get-Item (Join-Path $pub 'alpha.txt')).LastWriteTime
    }

    It 'follows files added, changed, renamed and deleted while it runs' {
        $node = Start-P2PNode -Share $pub -Name follower -ListenAddress 127.0.0.1 -Port 0 -StateDirectory "TestDrive:/state/$(New-Guid)"
        $node | Wait-Indexed

        'new file' | Set-Content (Join-Path $pub 'added.txt')
        'changed content' | Set-Content (Join-Path $pub 'alpha.txt')
        Rename-Item (Join-Path $pub 'docs/Report-2024.PDF') 'Report-2025.pdf'
        Remove-Item (Join-Path $pub 'docs/big.bin')

        Wait-Until { "$(Get-Listing $node)" -eq "$(Get-Expected $pub)" } -TimeoutSec 15 | Should -BeTrue
        Get-Listing $node | Should -Be (Get-Expected $pub)
        (Get-P2PShare -Node $node).RelativePath | Should -Contain "$(Split-Path $pub -Leaf)/docs/Report-2025.pdf"
    }

    It 'restarts without reading unchanged files again, as its own counters show' {
        $state = "TestDrive:/state/$(New-Guid)"
        $first = Start-P2PNode -Share $pub -Name restarter -ListenAddress 127.0.0.1 -Port 0 -StateDirectory $state
        $first | Wait-Indexed
        $first.Index.Counters.FilesHashed | Should -Be 3
        $first | Stop-P2PNode

        $again = Start-P2PNode -Name restarter -ListenAddress 127.0.0.1 -Port 0 -StateDirectory $state
        $again | Wait-Indexed

        $again.Shares | Should -Be @((Resolve-Path $pub).ProviderPath)
        $again.Index.Counters.FilesHashed | Should -Be 0
        $again.Index.Counters.FilesUnchanged | Should -Be 3
        Get-Listing $again | Should -Be (Get-Expected $pub)
    }

    It 'does not list a link that points outside the share' {
        $outside = New-Item -ItemType Directory "TestDrive:/outside-$(New-Guid)"
        'secret' | Set-Content (Join-Path $outside 'secret.txt')
        New-Item -ItemType SymbolicLink -Path (Join-Path $pub 'escape.txt') -Target (Join-Path $outside 'secret.txt') | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $pub 'escape-folder') -Target $outside.FullName | Out-Null

        $node = Start-P2PNode -Share $pub -Name linker -ListenAddress 127.0.0.1 -Port 0 -StateDirectory "TestDrive:/state/$(New-Guid)"
        $node | Wait-Indexed

        (Get-P2PShare -Node $node).Name | Sort-Object | Should -Be @('alpha.txt', 'big.bin', 'Report-2024.PDF')
        (Get-P2PShare -Node $node).Name | Should -Not -Contain 'escape.txt'
        (Get-P2PShare -Node $node).Name | Should -Not -Contain 'secret.txt'
        Find-P2PFile secret* -Node $node -LocalOnly | Should -BeNullOrEmpty
        $node.Index.Counters.LinksSkipped | Should -Be 2
    }

    It 'leaves out names matching -Exclude' {
        'tmp' | Set-Content (Join-Path $pub 'scratch.tmp')
        $node = Start-P2PNode -Share $pub -Exclude '*.tmp', 'docs' -Name excluder -ListenAddress 127.0.0.1 -Port 0 -StateDirectory "TestDrive:/state/$(New-Guid)"
        $node | Wait-Indexed

        (Get-P2PShare -Node $node).Name | Should -Be @('alpha.txt')
    }

    It 'refuses a state directory inside a shared folder, since nothing is written into a share' {
        { Start-P2PNode -Share $pub -Name inside -ListenAddress 127.0.0.1 -Port 0 -StateDirectory (Join-Path $pub 'state') -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidArgument*'
        Get-ChildItem $pub -Recurse -Filter 'index.db*' | Should -BeNullOrEmpty
        Test-Path (Join-Path $pub 'state') | Should -BeFalse -Because 'not even the lock and the node id are written into the share'
    }
}

Describe 'Publish-P2PFile, Unpublish-P2PFile and Get-P2PShare' {
    BeforeAll {
        $root = New-Item -ItemType Directory "TestDrive:/publish"
        $node = Start-P2PNode -Share @() -Name publisher -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/publisher
        1..3 | ForEach-Object { "file $_" | Set-Content (Join-Path $root "f$_.txt") }
        New-Item -ItemType Directory (Join-Path $root 'private') | Out-Null
        'diary' | Set-Content (Join-Path $root 'private/diary.txt')
    }

    AfterAll {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'publishes files piped from Get-ChildItem and returns them with -PassThru' {
        $published = Get-ChildItem $root -Filter 'f*.txt' | Publish-P2PFile -PassThru

        $published.Name | Sort-Object | Should -Be @('f1.txt', 'f2.txt', 'f3.txt')
        $published.State | Should -Be @('Ready', 'Ready', 'Ready')
        $published.RelativePath | Sort-Object | Should -Be @('f1.txt', 'f2.txt', 'f3.txt')
        ($published | Where-Object Name -EQ 'f1.txt').Hash | Should -Be (Get-FileHash (Join-Path $root 'f1.txt')).Hash
    }

    It 'publishes a folder that holds files shared one by one, and they stay shared' {
        Publish-P2PFile $root -Wait

        $node.Shares | Should -Be @((Resolve-Path $root).ProviderPath)
        (Get-P2PShare).RelativePath | Sort-Object | Should -Be @('publish/f1.txt', 'publish/f2.txt', 'publish/f3.txt', 'publish/private/diary.txt')
    }

    It 'unpublishes a folder inside a share, and publishes it again' {
        Unpublish-P2PFile (Join-Path $root 'private')
        (Get-P2PShare).Name | Should -Not -Contain 'diary.txt'

        Publish-P2PFile (Join-Path $root 'private') -Wait
        (Get-P2PShare).Name | Should -Contain 'diary.txt'
    }

    It 'filters the listing by name and state' {
        (Get-P2PShare -Name 'F?.TXT').Count | Should -Be 3
        (Get-P2PShare -State Hashing) | Should -BeNullOrEmpty
        (Get-P2PShare -State Ready).Count | Should -Be 4
    }

    It 'unpublishes a single file piped from Get-ChildItem, and publishes it again' {
        Get-ChildItem $root -Filter 'f3.txt' | Unpublish-P2PFile
        (Get-P2PShare).Name | Should -Not -Contain 'f3.txt'

        Get-ChildItem $root -Filter 'f3.txt' | Publish-P2PFile -Wait
        (Get-P2PShare).Name | Should -Contain 'f3.txt'
    }

    It 'shares an unreadable file only once it can be read, with a warning meanwhile' {
        $locked = Join-Path (New-Item -ItemType Directory 'TestDrive:/locked').FullName 'locked.txt'
        'locked' | Set-Content $locked
        $handle = [IO.File]::Open($locked, 'Open', 'Read', 'None')
        try {
            Publish-P2PFile $locked -Wait -WarningVariable warnings -WarningAction SilentlyContinue
            "$warnings" | Should -Match 'cannot read'
            (Get-P2PShare -Name locked.txt).State | Should -Be 'Unreadable'
            Find-P2PFile locked.txt -LocalOnly | Should -BeNullOrEmpty
        }
        finally {
            $handle.Dispose()
        }

        # Any change to the file (here its time stamp) has it read again.
        (Get-Item $locked).LastWriteTime = (Get-Date).AddMinutes(-1)
        Wait-Until { (Get-P2PShare -Name locked.txt).State -eq 'Ready' } | Should -BeTrue
        (Find-P2PFile locked.txt -LocalOnly).Hash | Should -Be (Get-FileHash $locked).Hash
        Unpublish-P2PFile $locked
    }

    It 'unpublishes the files piped from Get-P2PShare, whatever the current folder, and publishes them again' {
        $elsewhere = New-Item -ItemType Directory "TestDrive:/elsewhere-$(New-Guid)"
        Push-Location $elsewhere
        try {
            Get-P2PShare -Name 'f2.txt' | Unpublish-P2PFile -ErrorAction Stop
            (Get-P2PShare).Name | Should -Not -Contain 'f2.txt'

            Get-ChildItem $root -Filter 'f2.txt' | Publish-P2PFile -Wait
            (Get-P2PShare).Name | Should -Contain 'f2.txt'
        }
        finally {
            Pop-Location
        }
    }

    It 'names the shared file itself with -WhatIf for a file piped from Get-P2PShare, and changes nothing' {
        $shared = Get-P2PShare -Name 'f1.txt'
        $transcript = Join-Path (Resolve-Path 'TestDrive:/').ProviderPath "whatif-$(New-Guid).txt"
        Start-Transcript -LiteralPath $transcript -UseMinimalHeader | Out-Null
        try {
            $shared | Unpublish-P2PFile -WhatIf
        }
        finally {
            Stop-Transcript | Out-Null
        }

        $said = Get-Content -LiteralPath $transcript | Where-Object { $_ -like 'What if:*' }
        $said | Should -Be "What if: Performing the operation `"Unpublish`" on target `"$($shared.FullName) on node publisher`"."
        (Get-P2PShare).Name | Should -Contain 'f1.txt'
    }

    It 'does nothing with -WhatIf' {
        Unpublish-P2PFile $root -WhatIf
        (Get-P2PShare).Count | Should -Be 4
    }

    It 'reports paths that do not exist or are not shared, as errors' {
        { Publish-P2PFile (Join-Path $root 'missing.txt') -ErrorAction Stop } | Should -Throw -ErrorId 'PathNotFound*'
        $outside = New-Item -ItemType File "TestDrive:/not-shared.txt"
        { Unpublish-P2PFile $outside.FullName -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument*'
    }

    It 'stops sharing a whole folder' {
        Unpublish-P2PFile $root
        Get-P2PShare | Should -BeNullOrEmpty
        $node.Shares | Should -BeNullOrEmpty
    }
}

Describe 'Find-P2PFile -LocalOnly' {
    BeforeAll {
        $pub = New-Item -ItemType Directory "TestDrive:/library"
        'a' * 100 | Set-Content (Join-Path $pub 'Annual-Report.pdf') -NoNewline
        'b' * 5000 | Set-Content (Join-Path $pub 'budget-2024.xlsx') -NoNewline
        'c' * 20 | Set-Content (Join-Path $pub 'notes.txt') -NoNewline
        $node = Start-P2PNode -Share $pub -Name finder -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/finder
        $node | Wait-Indexed
    }

    AfterAll {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'returns search results that name the source node and its endpoint' {
        $hit = Find-P2PFile *.PDF -LocalOnly

        $hit | Should -BeOfType 'P2PTransfer.Search.P2PSearchResult'
        $hit.Name | Should -Be 'Annual-Report.pdf'
        $hit.RelativePath | Should -Be 'library/Annual-Report.pdf'
        $hit.Size | Should -Be 100
        $hit.Hash | Should -Be (Get-FileHash (Join-Path $pub 'Annual-Report.pdf')).Hash
        $hit.NodeId | Should -Be $node.Id
        $hit.NodeName | Should -Be 'finder'
        $hit.Endpoint | Should -Be $node.Endpoint
        $hit.Hops | Should -Be 0
    }

    It 'combines name, pattern, extension, size and hash criteria' {
        (Find-P2PFile -LocalOnly).Count | Should -Be 3
        (Find-P2PFile -LocalOnly -Extension pdf, .txt).Name | Sort-Object | Should -Be @('Annual-Report.pdf', 'notes.txt')
        (Find-P2PFile -LocalOnly -Pattern '\d{4}').Name | Should -Be 'budget-2024.xlsx'
        (Find-P2PFile -LocalOnly -MinSize 50 -MaxSize 1KB).Name | Should -Be 'Annual-Report.pdf'
        (Find-P2PFile '*e*' -LocalOnly -MaxSize 20).Name | Should -Be 'notes.txt'
        $hash = (Get-FileHash (Join-Path $pub 'notes.txt')).Hash
        (Find-P2PFile -LocalOnly -Hash $hash.ToLower()).Name | Should -Be 'notes.txt'
        (Find-P2PFile -LocalOnly -MaxResults 2).Count | Should -Be 2
    }

    It 'rejects a malformed hash and a bad regular expression with clear errors' {
        { Find-P2PFile -LocalOnly -Hash 'xyz' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument*'
        { Find-P2PFile -LocalOnly -Pattern '([a-' -ErrorAction Stop } | Should -Throw '*not a valid regular expression*'
    }
}

Describe 'Nodes from the pipeline' {
    AfterAll {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'lists and searches the shares of the nodes piped from Get-P2PNode' {
        $one = New-Item -ItemType Directory 'TestDrive:/one'
        $two = New-Item -ItemType Directory 'TestDrive:/two'
        'x' | Set-Content (Join-Path $one 'one.txt')
        'y' | Set-Content (Join-Path $two 'two.txt')
        $nodes = @(
            Start-P2PNode -Share $one -Name pipe-one -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/pipe-one
            Start-P2PNode -Share $two -Name pipe-two -ListenAddress 127.0.0.2 -Port 0 -StateDirectory TestDrive:/state/pipe-two
        )
        $nodes | Wait-Indexed

        (Get-P2PNode pipe-* | Get-P2PShare).Name | Sort-Object | Should -Be @('one.txt', 'two.txt')
        (Get-P2PNode pipe-two | Find-P2PFile *.txt -LocalOnly).NodeName | Should -Be 'pipe-two'
    }
}
