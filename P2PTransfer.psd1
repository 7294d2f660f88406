@{
    RootModule           = 'P2PModule.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f0b1c52-4f0e-4a8e-9d55-2b7f3c9e8a10'
    Author               = 'P2PTransfer contributors'
    CompanyName          = 'P2PTransfer'
    Copyright            = '(c) P2PTransfer contributors. MIT License.'
    Description          = 'Peer-to-peer file sharing driven from PowerShell: every node shares folders, routes the network''s searches and downloads directly from the nodes that have a file.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('P2PTransfer.Format.ps1xml')
    CmdletsToExport      = @(
        'Receive-P2PFile'
        'Start-P2PNode'
        'Get-P2PNode'
        'Stop-P2PNode'
        'Connect-P2PPeer'
        'Get-P2PPeer'
        'Disconnect-P2PPeer'
        'Test-P2PNode'
        'Publish-P2PFile'
        'Unpublish-P2PFile'
        'Get-P2PShare'
        'Find-P2PFile'
        'Get-P2PTransfer'
        'Suspend-P2PTransfer'
        'Resume-P2PTransfer'
        'Stop-P2PTransfer'
        'New-P2PTestNetwork'
        'Remove-P2PTestNetwork'
        'New-P2PNetworkKey'
        'Install-P2PService'
        'Uninstall-P2PService'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    # Update-Help reads P2PTransfer_<GUID>_HelpInfo.xml here; build.ps1 writes it and the help archive into out/help.
    HelpInfoURI          = 'https://github.com/p2ptransfer/P2PTransfer/releases/latest/download/'
    PrivateData          = @{
        PSData = @{
            Tags         = @('P2P', 'FileSharing', 'Network', 'Transfer', 'Pester', 'Testing', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS')
            ProjectUri   = 'https://github.com/p2ptransfer/P2PTransfer'
            LicenseUri   = 'https://github.com/p2ptransfer/P2PTransfer/blob/main/LICENSE'
            ReleaseNotes = 'New-P2PTestNetwork and Remove-P2PTestNetwork start and remove whole networks of nodes on loopback for Pester tests. Every cmdlet''s help has inputs, outputs, related links, default values and an online version; about_P2PTransfer explains nodes, shares, search, sources, resume and security; Update-Help installs help from the help package.'
        }
    }
}
