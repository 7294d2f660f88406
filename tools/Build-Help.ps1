<#
.SYNOPSIS
    Writes the module's MAML help (en-US/P2PModule.dll-Help.xml) from docs/cmdlets/*.md.
.DESCRIPTION
    Syntax, parameter types, positions and pipeline input come from the built cmdlets themselves; synopsis,
    description, parameter descriptions, examples, inputs, outputs and notes come from one markdown file per
    cmdlet. A cmdlet without a file, a parameter without a description, or a file without inputs, outputs or
    related links fails the build, so help never falls behind the code.

    A parameter's default value is what its description states after 'Default:' (up to the end of that sentence),
    else the value the cmdlet starts with ('None' when it has none; 'False' for a switch). The first related link
    is the cmdlet's online help (its HelpUri), which Get-Help -Online opens.

    With -AboutPath, the about topic written in markdown becomes en-US/about_<Name>.help.txt.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $SourcePath,
    [string] $AboutPath
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

# 'Default: X.' in a description gives X (the sentence ends at a '. ' outside parentheses, or at the end), without
# the asides in parentheses, which the description keeps.
function Get-StatedDefault([string[]] $paragraphs) {
    $text = $paragraphs -join ' '
    $at = $text.IndexOf('Default: ')
    if ($at -lt 0) { return $null }
    $rest = $text.Substring($at + 'Default: '.Length)
    $depth = 0
    :scan for ($i = 0; $i -lt $rest.Length; $i++) {
        switch ($rest[$i]) {
            '(' { $depth++ }
            ')' { $depth-- }
            '.' { if ($depth -le 0 -and ($i -eq $rest.Length - 1 -or $rest[$i + 1] -eq ' ')) { $rest = $rest.Substring(0, $i); break scan } }
        }
    }
    while ($rest -match '\s*\([^()]*\)') { $rest = $rest -replace '\s*\([^()]*\)', '' }
    return $rest.Trim()
}

# The value a parameter has when it is not given, read from a fresh instance of the cmdlet.
function Get-InitialValue($command, $parameter) {
    if ($parameter.SwitchParameter) { return 'False' }
    $value = [Activator]::CreateInstance($command.ImplementingType).($parameter.Name)
    if ($null -eq $value -or ($value -is [Array] -and $value.Count -eq 0) -or ($value -is [string] -and $value -eq '')) { return 'None' }
    return (@($value) | ForEach-Object { [Convert]::ToString($_, [Globalization.CultureInfo]::InvariantCulture) }) -join ', '
}

function Write-Parameter($parameter, $setParameter, [string[]] $description, [string] $default) {
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
    if ($default) { $w.WriteElementString('dev', 'defaultValue', $dev, $default) }
    $w.WriteEndElement()
}

$w.WriteStartElement('helpItems', 'http://msh'); $w.WriteAttributeString('schema', 'maml')
$problems = [Collections.Generic.List[string]]::new()
foreach ($command in Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name) {
    $file = Join-Path $SourcePath "$($command.Name).md"
    if (-not (Test-Path $file)) { $problems.Add("$($command.Name): no help file $file"); continue }
    $doc = Read-HelpMarkdown $file
    foreach ($required in 'SYNOPSIS', 'DESCRIPTION', 'EXAMPLES', 'PARAMETERS', 'INPUTS', 'OUTPUTS', 'RELATED LINKS') {
        if (-not $doc.Contains($required)) { $problems.Add("$($command.Name): missing '## $required'") }
    }
    foreach ($typed in 'INPUTS', 'OUTPUTS') {
        if ($doc.Contains($typed) -and -not (@($doc[$typed].Keys) | Where-Object { $_ })) { $problems.Add("$($command.Name): '## $typed' names no type ('### TypeName', or '### None')") }
    }
    $links = if ($doc.Contains('RELATED LINKS')) { @($doc['RELATED LINKS'][''] | Where-Object { $_ -match '^\s*-\s*(.+)$' } | ForEach-Object { $Matches[1].Trim() }) } else { @() }
    if ($doc.Contains('RELATED LINKS') -and -not $links) { $problems.Add("$($command.Name): '## RELATED LINKS' lists no link ('- Name')") }
    if ($command.HelpUri -notlike "https://*/$($command.Name).md") { $problems.Add("$($command.Name): its HelpUri '$($command.HelpUri)' is not the online page of its help ($($command.Name).md)") }
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
        $description = Get-Paragraphs $parameterDocs[$key]
        $default = Get-StatedDefault $description
        if (-not $default) { $default = Get-InitialValue $command $parameter }
        Write-Parameter $parameter $setParameter $description $default
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

    # The online version first: Get-Help -Online opens the first link that has a URI.
    $w.WriteStartElement('command', 'relatedLinks', $cmd)
    foreach ($link in @(, @('Online Version:', $command.HelpUri)) + @($links | ForEach-Object { , @($_, '') })) {
        $w.WriteStartElement('maml', 'navigationLink', $maml)
        $w.WriteElementString('maml', 'linkText', $maml, $link[0])
        $w.WriteElementString('maml', 'uri', $maml, $link[1])
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.Dispose()

# An about topic: '# about_Name' is the topic, each '## HEADING' a section; paragraphs are wrapped to 80 columns,
# list items and code blocks are kept as written, indented.
function ConvertTo-AboutText([string] $path) {
    $lines = [Collections.Generic.List[string]]::new()
    $paragraph = [Collections.Generic.List[string]]::new()
    function Add-Wrapped([string] $text, [int] $indent, [int] $hanging) {
        $line = ' ' * $indent
        foreach ($word in $text -split '\s+' | Where-Object { $_ }) {
            if ($line.Trim() -and $line.Length + 1 + $word.Length -gt 80) { $lines.Add($line.TrimEnd()); $line = ' ' * ($indent + $hanging) }
            $line += $(if ($line.Trim()) { ' ' } else { '' }) + $word
        }
        if ($line.Trim()) { $lines.Add($line.TrimEnd()) }
    }
    function Close-Paragraph {
        if ($paragraph.Count) {
            if ($paragraph[0] -match '^[-*] ') { foreach ($item in ($paragraph -join "`n") -split "\n(?=[-*] )") { Add-Wrapped ($item -replace '\n', ' ') 4 2 } }
            else { Add-Wrapped ($paragraph -join ' ') 4 0 }
            $lines.Add(''); $paragraph.Clear()
        }
    }
    $inCode = $false
    foreach ($raw in Get-Content $path) {
        if ($raw -match '^```') { Close-Paragraph; $inCode = -not $inCode; if (-not $inCode) { $lines.Add('') }; continue }
        if ($inCode) { $lines.Add((' ' * 8) + $raw); continue }
        if ($raw -match '^# (.+)$') { Close-Paragraph; $lines.Add('TOPIC'); $lines.Add("    $($Matches[1].Trim())"); $lines.Add(''); continue }
        if ($raw -match '^#{2,} (.+)$') { Close-Paragraph; $lines.Add($Matches[1].Trim().ToUpperInvariant()); continue }
        if (-not $raw.Trim()) { Close-Paragraph; continue }
        $paragraph.Add($raw.Trim())
    }
    Close-Paragraph
    return ($lines -join [Environment]::NewLine).TrimEnd() + [Environment]::NewLine
}

if ($AboutPath) {
    $topic = [IO.Path]::GetFileNameWithoutExtension($AboutPath)
    if ((Get-Content $AboutPath -TotalCount 1) -ne "# $topic") { $problems.Add("${AboutPath}: the first line must be '# $topic'") }
    else { Set-Content -LiteralPath (Join-Path $outDir "$topic.help.txt") -Value (ConvertTo-AboutText $AboutPath) -NoNewline -Encoding utf8NoBOM }
}

if ($problems.Count) {
    $problems | ForEach-Object { Write-Host "help: $_" -ForegroundColor Red }
    Remove-Item $outFile
    exit 1
}
