BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
    Import-Module $ModulePath -Force

    # Every file below a folder, as '/'-separated paths relative to it, sorted.
    function Get-Tree([string] $Folder) {
        if (-not (Test-Path -LiteralPath $Folder)) { return @() }
        $root = (Resolve-Path -LiteralPath $Folder).ProviderPath.TrimEnd('/', '\')
        @(Get-ChildItem -LiteralPath $root -Recurse -File | ForEach-Object { $_.FullName.Substring($root.Length + 1).Replace('\', '/') } | Sort-Object)
    }
}

Describe 'Folder trees: searching by path and downloading with the folders' {
    BeforeAll {
        # y shares share1 (two different a.txt, one at the top and one in sub), x shares nothing and links to y.
        $share = Join-Path $TestDrive 'share1'
        $files = [ordered]@{
            'a.txt'              = 'a at the top'
            'sub/one.txt'        = 'one'
            'sub/a.txt'          = 'a in sub'
            'sub/deeper/two.txt' = 'two'
            'subway/three.txt'   = 'three'
        }
        foreach ($file in $files.Keys) {
            $path = Join-Path $share $file
            New-Item -ItemType Directory -Force -Path (Split-Path $path) | Out-Null
            Set-Content -LiteralPath $path -Value $files[$file] -NoNewline
        }
        $y = Start-P2PNode -Name y -ListenAddress 127.0.0.71 -Port 0 -StateDirectory (Join-Path $TestDrive 'state/y') -Share $share
        Publish-P2PFile -Node $y -LiteralPath $share -Wait | Out-Null
        $x = Start-P2PNode -Name x -ListenAddress 127.0.0.72 -Port 0 -StateDirectory (Join-Path $TestDrive 'state/x')
        Connect-P2PPeer -Node $x -Address $y.Endpoint | Out-Null
        Wait-Until { (Get-P2PPeer -Node $y).NodeId -contains $x.Id } | Should -BeTrue
        $sub = 'share1/sub/a.txt', 'share1/sub/deeper/two.txt', 'share1/sub/one.txt'
    }
    AfterAll {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'finds every file below a folder with -Path, subfolders included, from the local index' {
        (Find-P2PFile -Node $y -LocalOnly -Path 'share1/sub/*').RelativePath | Sort-Object | Should -Be $sub
        (Find-P2PFile -Node $y -LocalOnly -Path 'SHARE1/Sub').RelativePath | Sort-Object | Should -Be $sub
    }

    It 'keeps * within one folder and lets ** span folders' {
        (Find-P2PFile -Node $y -LocalOnly -Path 'share1/sub/*.txt').RelativePath | Sort-Object | Should -Be 'share1/sub/a.txt', 'share1/sub/one.txt'
        (Find-P2PFile -Node $y -LocalOnly -Path 'share1/**/a.txt').RelativePath | Sort-Object | Should -Be 'share1/a.txt', 'share1/sub/a.txt'
        Find-P2PFile -Node $y -LocalOnly -Path 'sub/*' | Should -BeNullOrEmpty -Because 'a path starts with the shared folder'
    }

    It 'finds the files below a folder over the network, at the node one link away' {
        $found = Find-P2PFile -Node $x -Path 'share1/sub/*' -TimeoutSec 3

        $found.RelativePath | Sort-Object | Should -Be $sub
        $found | ForEach-Object { $_.NodeName | Should -Be 'y'; $_.Hops | Should -Be 1 }
    }

    It 'finds the files below a folder through a remote node as a plain client' {
        (Find-P2PFile -Server $y.Endpoint -Path 'share1/sub/deeper' -LocalOnly).RelativePath | Should -Be 'share1/sub/deeper/two.txt'
    }

    It 'refuses a path that names no folder or file, saying so' {
        { Find-P2PFile -Node $y -LocalOnly -Path '/' } | Should -Throw -ErrorId 'InvalidArgument*' -ExpectedMessage '*names no folder or file*'
    }

    It 'refuses a name with a folder in it, pointing to -Path' {
        { Find-P2PFile -Node $y -LocalOnly 'sub/*' } | Should -Throw -ErrorId 'InvalidArgument*' -ExpectedMessage "*a file name has no folders*use -Path 'sub/*'*"
    }

    It 'fetches a whole shared folder as a tree with -Path and -Recurse' {
        $destination = Join-Path $TestDrive 'tree'

        Find-P2PFile -Node $x -Path 'share1/sub/*' -TimeoutSec 3 | Receive-P2PFile -Destination $destination -Recurse

        Get-Tree $destination | Should -Be $sub
        Get-Content -LiteralPath (Join-Path $destination 'share1/sub/deeper/two.txt') -Raw | Should -Be 'two'
        Get-Content -LiteralPath (Join-Path $destination 'share1/sub/a.txt') -Raw | Should -Be 'a in sub'
    }

    It 'saves same names in different folders as different files with -Recurse, and without it refuses the second one pointing to -Recurse' {
        $flat = Join-Path $TestDrive 'flat'
        $found = Find-P2PFile -Node $y -LocalOnly -Name a.txt
        $found.RelativePath | Sort-Object | Should -Be 'share1/a.txt', 'share1/sub/a.txt'

        $found | Receive-P2PFile -Destination $flat -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument*'
        "$($failures[0])" | Should -BeLike '*would both be saved as*-Recurse*'
        Get-Tree $flat | Should -Be 'a.txt'

        $tree = Join-Path $TestDrive 'both'
        $found | Receive-P2PFile -Destination $tree -Recurse
        Get-Tree $tree | Should -Be 'share1/a.txt', 'share1/sub/a.txt'
        Get-Content -LiteralPath (Join-Path $tree 'share1/a.txt') -Raw | Should -Be 'a at the top'
        Get-Content -LiteralPath (Join-Path $tree 'share1/sub/a.txt') -Raw | Should -Be 'a in sub'
    }

    It 'refuses a hostile RelativePath (<relativePath>) and writes nothing, inside or outside the destination' -ForEach @(
        @{ relativePath = '../x.txt' }
        @{ relativePath = 'a/../../x.txt' }
        @{ relativePath = 'a/./x.txt' }
        @{ relativePath = '/x.txt' }
        @{ relativePath = 'ABSOLUTE' }
        @{ relativePath = 'a\..\..\x.txt' }
        @{ relativePath = 'a//x.txt' }
        @{ relativePath = 'C:/x.txt' }
    ) {
        # A search result as a hostile node could send it: a real content of y, under a path meant to escape.
        $sandbox = Join-Path $TestDrive "hostile-$([guid]::NewGuid().ToString('N'))"
        $destination = Join-Path $sandbox 'in/dl'
        New-Item -ItemType Directory -Force -Path $destination | Out-Null
        $path = if ($relativePath -eq 'ABSOLUTE') { (Join-Path $sandbox 'x.txt').Replace('\', '/') } else { $relativePath }
        $real = Find-P2PFile -Node $y -LocalOnly -Path 'share1/sub/one.txt'
        $hostile = [pscustomobject]@{ Hash = $real.Hash; Endpoint = $real.Endpoint; Name = 'x.txt'; RelativePath = $path; Size = $real.Size }
        $servedBefore = $y.TransferCounters.PiecesServed

        { $hostile | Receive-P2PFile -Destination $destination -Recurse -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidArgument*' -ExpectedMessage "*is not a safe relative path*"

        Get-Tree $sandbox | Should -BeNullOrEmpty
        @(Get-ChildItem -LiteralPath $sandbox -Recurse -Directory).Count | Should -Be 2 -Because 'only in/ and in/dl, made by the test'
        $y.TransferCounters.PiecesServed | Should -Be $servedBefore
    }
}
