<#
.SYNOPSIS
    Writes the module's MAML help (en-US/P2PModule.dll-Help.xml) from docs/cmdlets/*.md.
.DESCRIPTION
    Syntax, parameter types, positions and pipeline input come from the built cmdlets themselves; synopsis,
    description, parameter descriptions, examples, inputs, outputs and notes come from one markdown file per
    cmdlet. A cmdlet without a file, or a parameter without a description, fails the build, so help never
    falls behind the code.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $SourcePath
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$module = Import-Module $ModulePath -PassThru -Force
# -WhatIf and -Confirm are documented per cmdlet, like any other parameter; the always-present common ones are not.
$common = [System.Management.Automation.Cmdlet]::CommonParameters

# Splits a markdown file into '## ' sections, each holding its '### ' subsections.
function Read-HelpMarkdown([string] $path) {
    $sections = [ordered]@{}
    $section = $null; $sub = $null
    foreach ($line in Get-Content $path) {
        if ($line -match '^## (.+)$') { $section = $Matches[1].Trim(); $sections[$section] = [ordered]@{ '' = [Collections.Generic.List[string]]::new() }; $sub = ''; continue }
        if ($null -eq $section) { continue }
        if ($line -match '^### (.+)$') { $sub = $Matches[1].Trim(); $sections[$section][$sub] = [Collections.Generic.List[string]]::new(); continue }
        $sections[$section][$sub].Add($line)
    }
    return $sections
}

function Get-Paragraphs([string[]] $lines) {
    (($lines -join "`n").Trim() -split "\n\s*\n") | Where-Object { $_.Trim() } | ForEach-Object { ($_ -split "\n" | ForEach-Object Trim) -join ' ' }
}

$maml = 'http://schemas.microsoft.com/maml/2004/10'
$cmd = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'

$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [Text.UTF8Encoding]::new($false) }
$outDir = Join-Path $ModulePath 'en-US'
New-Item -ItemType Directory -Force $outDir | Out-Null
$outFile = Join-Path $outDir 'P2PModule.dll-Help.xml'
$w = [System.Xml.XmlWriter]::Create($outFile, $settings)

function Write-Paras([string] $element, [string[]] $paragraphs) {
    $w.WriteStartElement('maml', $element, $maml)
    foreach ($p in @($paragraphs)) { $w.WriteElementString('maml', 'para', $maml, $p) }
    $w.WriteEndElement()
}

function Write-Type([string] $name) {
    $w.WriteStartElement('dev', 'type', $dev); $w.WriteElementString('maml', 'name', $maml, $name); $w.WriteEndElement()
}

function Write-Parameter($parameter, $setParameter, [string[]] $description) {
    $pipeline = @()
    if ($setParameter.ValueFromPipeline) { $pipeline += 'ByValue' }
    if ($setParameter.ValueFromPipelineByPropertyName) { $pipeline += 'ByPropertyName' }
    $w.WriteStartElement('command', 'parameter', $cmd)
    $w.WriteAttributeString('required', ([string]$setParameter.IsMandatory).ToLower())
    $w.WriteAttributeString('variableLength', ([string]$parameter.ParameterType.IsArray).ToLower())
    $w.WriteAttributeString('globbing', 'false')
    $w.WriteAttributeString('pipelineInput', $(if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' }))
    $w.WriteAttributeString('position', $(if ($setParameter.Position -ge 0) { [string]$setParameter.Position } else { 'named' }))
    $w.WriteAttributeString('aliases', $(if ($parameter.Aliases.Count) { $parameter.Aliases -join ', ' } else { 'none' }))
    $w.WriteElementString('maml', 'name', $maml, $parameter.Name)
    if ($null -ne $description) { Write-Paras 'description' $description }
    # An optional value (long?) reads as its value type, as PowerShell users know it (Int64, not Nullable`1).
    $type = $parameter.ParameterType
    $typeName = if ($type.IsGenericType -and $type.GetGenericTypeDefinition() -eq [Nullable`1]) { $type.GetGenericArguments()[0].Name } else { $type.Name }
    if ($parameter.SwitchParameter) { $typeName = 'SwitchParameter' }
    else {
        $w.WriteStartElement('command', 'parameterValue', $cmd); $w.WriteAttributeString('required', 'true'); $w.WriteString($typeName); $w.WriteEndElement()
    }
    Write-Type $typeName
    $w.WriteEndElement()
}

$w.WriteStartElement('helpItems', 'http://msh'); $w.WriteAttributeString('schema', 'maml')
$problems = [Collections.Generic.List[string]]::new()
foreach ($command in Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name) {
    $file = Join-Path $SourcePath "$($command.Name).md"
    if (-not (Test-Path $file)) { $problems.Add("$($command.Name): no help file $file"); continue }
    $doc = Read-HelpMarkdown $file
    foreach ($required in 'SYNOPSIS', 'DESCRIPTION', 'EXAMPLES', 'PARAMETERS') {
        if (-not $doc.Contains($required)) { $problems.Add("$($command.Name): missing '## $required'") }
    }
    if ($problems.Count) { continue }

    $w.WriteStartElement('command', 'command', $cmd)
    $w.WriteAttributeString('xmlns', 'maml', $null, $maml); $w.WriteAttributeString('xmlns', 'dev', $null, $dev)
    $w.WriteStartElement('command', 'details', $cmd)
    $w.WriteElementString('command', 'name', $cmd, $command.Name)
    $w.WriteElementString('command', 'verb', $cmd, $command.Verb)
    $w.WriteElementString('command', 'noun', $cmd, $command.Noun)
    Write-Paras 'description' (Get-Paragraphs $doc['SYNOPSIS'][''])
    $w.WriteEndElement()
    Write-Paras 'description' (Get-Paragraphs $doc['DESCRIPTION'][''])

    $parameterDocs = $doc['PARAMETERS']
    $w.WriteStartElement('command', 'syntax', $cmd)
    foreach ($set in $command.ParameterSets) {
        $w.WriteStartElement('command', 'syntaxItem', $cmd)
        $w.WriteElementString('maml', 'name', $maml, $command.Name)
        foreach ($p in $set.Parameters | Where-Object Name -notin $common) {
            Write-Parameter $command.Parameters[$p.Name] $p $null
        }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'parameters', $cmd)
    foreach ($parameter in $command.Parameters.Values | Where-Object Name -notin $common) {
        $key = "-$($parameter.Name)"
        if (-not $parameterDocs.Contains($key)) { $problems.Add("$($command.Name): parameter $key has no description"); continue }
        $setParameter = $command.ParameterSets.Parameters | Where-Object Name -eq $parameter.Name | Select-Object -First 1
        Write-Parameter $parameter $setParameter (Get-Paragraphs $parameterDocs[$key])
    }
    $w.WriteEndElement()

    foreach ($pair in @(@('INPUTS', 'inputTypes', 'inputType'), @('OUTPUTS', 'returnValues', 'returnValue'))) {
        if (-not $doc.Contains($pair[0])) { continue }
        $w.WriteStartElement('command', $pair[1], $cmd)
        foreach ($typeName in @($doc[$pair[0]].Keys) | Where-Object { $_ }) {
            $w.WriteStartElement('command', $pair[2], $cmd)
            Write-Type $typeName
            Write-Paras 'description' (Get-Paragraphs $doc[$pair[0]][$typeName])
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
    }

    if ($doc.Contains('NOTES')) {
        $w.WriteStartElement('maml', 'alertSet', $maml)
        $w.WriteStartElement('maml', 'alert', $maml)
        foreach ($p in Get-Paragraphs $doc['NOTES']['']) { $w.WriteElementString('maml', 'para', $maml, $p) }
        $w.WriteEndElement(); $w.WriteEndElement()
    }

    $w.WriteStartElement('command', 'examples', $cmd)
    foreach ($title in @($doc['EXAMPLES'].Keys) | Where-Object { $_ }) {
        $text = ($doc['EXAMPLES'][$title] -join "`n")
        if ($text -notmatch '(?s)```(?:powershell)?\n(.*?)\n```(.*)') { $problems.Add("$($command.Name): example '$title' has no code block"); continue }
        $w.WriteStartElement('command', 'example', $cmd)
        $w.WriteElementString('maml', 'title', $maml, "--------- $title ---------")
        $w.WriteElementString('dev', 'code', $dev, $Matches[1])
        $w.WriteStartElement('dev', 'remarks', $dev)
        foreach ($p in Get-Paragraphs ($Matches[2] -split "`n")) { $w.WriteElementString('maml', 'para', $maml, $p) }
        $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    if ($doc.Contains('RELATED LINKS')) {
        $w.WriteStartElement('command', 'relatedLinks', $cmd)
        foreach ($link in $doc['RELATED LINKS'][''] | Where-Object { $_ -match '^\s*-\s*(.+)$' } | ForEach-Object { $Matches[1].Trim() }) {
            $w.WriteStartElement('maml', 'navigationLink', $maml)
            $w.WriteElementString('maml', 'linkText', $maml, $link)
            $w.WriteElementString('maml', 'uri', $maml, '')
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.Dispose()

if ($problems.Count) {
    $problems | ForEach-Object { Write-Host "help: $_" -ForegroundColor Red }
    Remove-Item $outFile
    exit 1
}
