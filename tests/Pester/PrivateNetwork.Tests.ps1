BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Helpers.ps1')
    Import-Module $ModulePath -Force
}

Describe 'A private network (-NetworkKey)' {
    BeforeAll {
        New-Item -ItemType Directory -Path TestDrive:/pub-a, TestDrive:/pub-b | Out-Null
        Set-Content TestDrive:/pub-a/alpha-minutes.txt 'minutes of the members'
        Set-Content TestDrive:/pub-b/beta-plan.txt 'the plan of the members'
        $keyFile = New-P2PNetworkKey -Path TestDrive:/team.p2pkey
        $a = Start-P2PNode -Name a -ListenAddress 127.0.0.1 -Port 0 -StateDirectory TestDrive:/state/a -Share TestDrive:/pub-a -NetworkKey $keyFile.FullName
        $b = Start-P2PNode -Name b -ListenAddress 127.0.0.2 -Port 0 -StateDirectory TestDrive:/state/b -Share TestDrive:/pub-b -NetworkKey (Get-Content -Raw $keyFile.FullName | ConvertTo-SecureString -AsPlainText -Force)
        Wait-Until { $a.IndexProgress.IsComplete -and $b.IndexProgress.IsComplete } | Should -BeTrue
    }
    AfterAll {
        Stop-P2PNode -All -DrainTimeoutSec 0
    }

    It 'writes the key to a file only its owner may read, and will not overwrite it without -Force' {
        $keyFile.Name | Should -Be 'team.p2pkey'
        (Get-Content $keyFile.FullName) | Should -Match '^p2p-network-key-v1:[A-Za-z0-9_-]{43}$'
        if (-not $IsWindows) { [IO.File]::GetUnixFileMode($keyFile.FullName) | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite') }
        { New-P2PNetworkKey -Path $keyFile.FullName -ErrorAction Stop } | Should -Throw -ErrorId 'NetworkKeyFileExists*'
        New-P2PNetworkKey | Should -BeOfType [securestring]
    }

    It 'lets two members link and find each other''s files, and tells an outsider it needs the key' {
        Connect-P2PPeer -Node $b -Address $a.Endpoint | Out-Null
        # On a private network the dialer's link is up once it has sent its proof; a's side once it has read it.
        Wait-Until { $a.PeerCount -eq 1 } | Should -BeTrue

        (Find-P2PFile beta-* -Node $a -TimeoutSec 2).NodeId | Should -Be $b.Id
        (Find-P2PFile alpha-* -Node $b -TimeoutSec 2).NodeId | Should -Be $a.Id

        # A pure client with the key searches and downloads; without it, it is told what it lacks.
        $found = Find-P2PFile -Server $a.Endpoint -Name beta-* -TimeoutSec 2 -NetworkKey $keyFile.FullName
        $found.Name | Should -Be 'beta-plan.txt'
        $file = $found | Receive-P2PFile -Destination TestDrive:/downloads -NetworkKey $keyFile.FullName -PassThru
        Get-Content $file.FullName | Should -Be 'the plan of the members'
        { $found | Receive-P2PFile -Destination TestDrive:/outside -ErrorAction Stop } | Should -Throw

        $outsider = Start-P2PNode -Name outsider -ListenAddress 127.0.0.3 -Port 0 -StateDirectory TestDrive:/state/outsider
        { Connect-P2PPeer -Node $outsider -Address $a.Endpoint -ErrorAction Stop } | Should -Throw -ErrorId 'NotMember*'
        $failure = { Find-P2PFile -Server $a.Endpoint -Name alpha-* -ErrorAction Stop } | Should -Throw -PassThru
        $failure.FullyQualifiedErrorId | Should -BeLike 'NotMember*'
        $failure.CategoryInfo.Category | Should -Be 'SecurityError'
        $failure.Exception.Message | Should -Be "node a ($($a.Endpoint)) belongs to a private network: connecting to it needs the network's key (-NetworkKey)"
        $outsider.PeerCount | Should -Be 0
    }

    It 'shows the node id in the display form, which -TrustedNode takes' {
        $a.IdText | Should -Match '^[A-Z2-7]{7}(-[A-Z2-7]{7}){3}$'
        (Get-P2PNode a | Format-Table | Out-String -Width 200) | Should -Match ([regex]::Escape($a.IdText))
        $guarded = Start-P2PNode -Name guarded -ListenAddress 127.0.0.4 -Port 0 -StateDirectory TestDrive:/state/guarded -NetworkKey $keyFile.FullName -TrustedNode $a.IdText.ToLowerInvariant(), $b.Id.ToString()
        Connect-P2PPeer -Node $a -Address $guarded.Endpoint | Out-Null
        { Start-P2PNode -Name bad -ListenAddress 127.0.0.5 -Port 0 -StateDirectory TestDrive:/state/bad -TrustedNode 'not-an-id' } | Should -Throw -ErrorId 'InvalidArgument*'
        Wait-Until { $guarded.PeerCount -eq 1 } | Should -BeTrue
    }
}
