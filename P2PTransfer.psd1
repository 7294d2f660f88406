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
        'New-P2PNetworkKey'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('P2P', 'FileSharing', 'Network', 'Transfer', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS')
        }
    }
}
