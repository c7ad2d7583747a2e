<#
.SYNOPSIS
    Writes the module's MAML cmdlet help from the cmdlets' XML doc comments and PowerShell's own
    command metadata (platyPS is not available to us).
.DESCRIPTION
    The class <summary> is the synopsis, <remarks> the description, each <example> (<code> and
    <para>) an example, and each parameter property's <summary> its description. Parameter sets,
    positions, pipeline input and types come from Get-Command on the imported module, so the help
    always matches the code. A parameter's default value is the sentence "Default: X." (or
    "Default X.") of its summary, else the value a new instance of the cmdlet holds (New-DRSite
    -Role: Both), else False for a switch and None. -WhatIf and -Confirm are listed where the
    cmdlet supports ShouldProcess; nullable types show as their underlying type. Runs in a child
    pwsh so the build never holds the module loaded.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [Parameter(Mandatory)][string] $DocumentationPath,
    [Parameter(Mandatory)][string] $OutputPath
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$module = Import-Module $ModulePath -PassThru
$docs = [xml](Get-Content $DocumentationPath -Raw)
$members = @{}
foreach ($member in $docs.doc.members.member) { $members[$member.name] = $member }

# -WhatIf and -Confirm are documented like the cmdlet's own parameters (Get-Help shows them in SYNTAX); the rest are <CommonParameters>.
$commonParameters = [System.Management.Automation.Cmdlet]::CommonParameters + @([System.Management.Automation.Cmdlet]::OptionalCommonParameters | Where-Object { $_ -notin 'WhatIf', 'Confirm' })
$shouldProcessDocs = @{
    WhatIf  = 'Shows what the cmdlet would do, without doing it.'
    Confirm = 'Asks for confirmation before each change. -Confirm:$false never asks (for runbooks).'
}

# Doc comment text as one paragraph per <para> (or per blank-line block), whitespace folded.
function Get-Paragraphs([System.Xml.XmlNode] $node) {
    if (-not $node) { return @() }
    $paras = @($node.SelectNodes('para'))
    $texts = if ($paras.Count) { $paras | ForEach-Object InnerText } else { @($node.InnerText -split '\r?\n\s*\r?\n') }
    @($texts | ForEach-Object { ($_ -replace '\s+', ' ').Trim() } | Where-Object { $_ })
}

function Get-Code([System.Xml.XmlNode] $node) {
    $lines = @($node.InnerText -split '\r?\n' | ForEach-Object { $_.Trim() } | Where-Object { $_ })
    $lines -join [Environment]::NewLine
}

function Write-Paragraphs([System.Xml.XmlWriter] $writer, [string[]] $paragraphs) {
    $writer.WriteStartElement('maml', 'description', $ns.maml)
    foreach ($p in $paragraphs) { $writer.WriteElementString('maml', 'para', $ns.maml, $p) }
    $writer.WriteEndElement()
}

function Get-ParameterDoc($command, [string] $parameterName) {
    if ($shouldProcessDocs.ContainsKey($parameterName)) { return $shouldProcessDocs[$parameterName] }
    $property = $command.ImplementingType.GetProperty($parameterName)
    $doc = $members["P:$($property.DeclaringType.FullName).$parameterName"]
    $text = @(Get-Paragraphs $(if ($doc) { $doc.SelectSingleNode('summary') }))
    if (-not $text) { throw "Parameter -$parameterName of $($command.Name) has no <summary> doc comment." }
    $text
}

# The type a user gives: int for Nullable<int>, and the element type's underlying type inside an array.
function Get-ShownType([type] $type) {
    if ($type.IsArray) { return (Get-ShownType $type.GetElementType()).MakeArrayType() }
    $underlying = [Nullable]::GetUnderlyingType($type)
    if ($underlying) { $underlying } else { $type }
}

# The default value help shows: the summary's "Default: X." sentence, else what a new cmdlet instance holds.
function Get-DefaultValue($command, $parameter) {
    if ($parameter.ParameterType -eq [System.Management.Automation.SwitchParameter]) { return 'False' }
    if ($shouldProcessDocs.ContainsKey($parameter.Name)) { return 'None' }
    $doc = (Get-ParameterDoc $command $parameter.Name) -join ' '
    if ($doc -match '(?:^|\s)Default:?\s+(.+?)\.(?:\s|$)') { return $Matches[1] }
    $instance = [Activator]::CreateInstance($command.ImplementingType)
    $value = $command.ImplementingType.GetProperty($parameter.Name).GetValue($instance)
    if ($null -eq $value -or "$value" -eq '' -or ($value -is [Array] -and $value.Count -eq 0)) { return 'None' }
    if ($value -is [Array]) { return $value -join ', ' }
    "$value"
}

function Write-Parameter([System.Xml.XmlWriter] $writer, $command, $parameter, $setParameter, [switch] $InSyntax) {
    $isSwitch = $parameter.ParameterType -eq [System.Management.Automation.SwitchParameter]
    $shownType = Get-ShownType $parameter.ParameterType
    $pipeline = @(
        if ($setParameter.ValueFromPipeline) { 'ByValue' }
        if ($setParameter.ValueFromPipelineByPropertyName) { 'ByPropertyName' }
    )
    $writer.WriteStartElement('command', 'parameter', $ns.command)
    $writer.WriteAttributeString('required', "$($setParameter.IsMandatory)".ToLowerInvariant())
    $writer.WriteAttributeString('variableLength', 'true')
    $writer.WriteAttributeString('globbing', 'false')
    $writer.WriteAttributeString('pipelineInput', $(if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' }))
    $writer.WriteAttributeString('position', $(if ($setParameter.Position -ge 0) { "$($setParameter.Position)" } else { 'named' }))
    $writer.WriteAttributeString('aliases', $(if ($parameter.Aliases.Count) { $parameter.Aliases -join ', ' } else { 'none' }))
    $writer.WriteElementString('maml', 'name', $ns.maml, $parameter.Name)
    Write-Paragraphs $writer (Get-ParameterDoc $command $parameter.Name)
    if (-not $isSwitch) {
        $writer.WriteStartElement('command', 'parameterValue', $ns.command)
        $writer.WriteAttributeString('required', 'true')
        $writer.WriteString($shownType.Name)
        $writer.WriteEndElement()
    }
    $writer.WriteStartElement('dev', 'type', $ns.dev)
    $writer.WriteElementString('maml', 'name', $ns.maml, $shownType.FullName)
    $writer.WriteEndElement()
    if (-not $InSyntax) { $writer.WriteElementString('dev', 'defaultValue', $ns.dev, (Get-DefaultValue $command $parameter)) }
    $writer.WriteEndElement()
}

$ns = @{
    msh     = 'http://msh'
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
}

$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
New-Item -ItemType Directory -Force -Path (Split-Path $OutputPath) | Out-Null
$writer = [System.Xml.XmlWriter]::Create($OutputPath, $settings)
try {
    $writer.WriteStartDocument()
    $writer.WriteStartElement('helpItems', $ns.msh)
    $writer.WriteAttributeString('schema', 'maml')
    foreach ($command in Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name) {
        $typeDoc = $members["T:$($command.ImplementingType.FullName)"]
        if (-not $typeDoc) { throw "$($command.Name) ($($command.ImplementingType.FullName)) has no doc comment." }
        $synopsis = @(Get-Paragraphs $typeDoc.SelectSingleNode('summary'))
        $description = @(Get-Paragraphs $($typeDoc.SelectSingleNode('remarks')))
        $examples = @($typeDoc.SelectNodes('example'))
        if (-not $synopsis -or -not $examples) { throw "$($command.Name) needs a <summary> and at least one <example>." }

        $writer.WriteStartElement('command', 'command', $ns.command)
        $writer.WriteAttributeString('xmlns', 'maml', $null, $ns.maml)
        $writer.WriteAttributeString('xmlns', 'dev', $null, $ns.dev)

        $writer.WriteStartElement('command', 'details', $ns.command)
        $writer.WriteElementString('command', 'name', $ns.command, $command.Name)
        $writer.WriteElementString('command', 'verb', $ns.command, $command.Verb)
        $writer.WriteElementString('command', 'noun', $ns.command, $command.Noun)
        Write-Paragraphs $writer $synopsis
        $writer.WriteEndElement()
        Write-Paragraphs $writer $(if ($description) { $description } else { $synopsis })

        $writer.WriteStartElement('command', 'syntax', $ns.command)
        foreach ($set in $command.ParameterSets) {
            $writer.WriteStartElement('command', 'syntaxItem', $ns.command)
            $writer.WriteElementString('maml', 'name', $ns.maml, $command.Name)
            foreach ($setParameter in $set.Parameters | Where-Object Name -notin $commonParameters) {
                Write-Parameter $writer $command $command.Parameters[$setParameter.Name] $setParameter -InSyntax
            }
            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()

        $writer.WriteStartElement('command', 'parameters', $ns.command)
        foreach ($parameter in $command.Parameters.Values | Where-Object Name -notin $commonParameters | Sort-Object Name) {
            $setParameter = $command.ParameterSets.Parameters | Where-Object Name -eq $parameter.Name | Sort-Object IsMandatory -Descending | Select-Object -First 1
            Write-Parameter $writer $command $parameter $setParameter
        }
        $writer.WriteEndElement()

        $inputTypes = @($command.Parameters.Values | Where-Object { $_.Attributes | Where-Object { $_ -is [Parameter] -and ($_.ValueFromPipeline -or $_.ValueFromPipelineByPropertyName) } } |
            ForEach-Object { (Get-ShownType $_.ParameterType).FullName } | Sort-Object -Unique)
        $writer.WriteStartElement('command', 'inputTypes', $ns.command)
        foreach ($type in $inputTypes) {
            $writer.WriteStartElement('command', 'inputType', $ns.command)
            $writer.WriteStartElement('dev', 'type', $ns.dev)
            $writer.WriteElementString('maml', 'name', $ns.maml, $type)
            $writer.WriteEndElement()
            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()

        $writer.WriteStartElement('command', 'returnValues', $ns.command)
        foreach ($type in $command.OutputType) {
            $writer.WriteStartElement('command', 'returnValue', $ns.command)
            $writer.WriteStartElement('dev', 'type', $ns.dev)
            $writer.WriteElementString('maml', 'name', $ns.maml, $type.Name)
            $writer.WriteEndElement()
            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()

        $writer.WriteStartElement('command', 'examples', $ns.command)
        $number = 0
        foreach ($example in $examples) {
            $number++
            $writer.WriteStartElement('command', 'example', $ns.command)
            $writer.WriteElementString('maml', 'title', $ns.maml, "-------------------------- Example $number --------------------------")
            $writer.WriteElementString('dev', 'code', $ns.dev, (Get-Code $example.SelectSingleNode('code')))
            $writer.WriteStartElement('dev', 'remarks', $ns.dev)
            foreach ($p in Get-Paragraphs $example) { $writer.WriteElementString('maml', 'para', $ns.maml, $p) }
            $writer.WriteEndElement()
            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()

        $writer.WriteStartElement('command', 'relatedLinks', $ns.command)
        $writer.WriteStartElement('maml', 'navigationLink', $ns.maml)
        $writer.WriteElementString('maml', 'linkText', $ns.maml, 'about_AzureSiteRecovery.DR')
        $writer.WriteEndElement()
        $writer.WriteEndElement()

        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()
    $writer.WriteEndDocument()
}
finally {
    $writer.Dispose()
}
