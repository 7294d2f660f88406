using System.Management.Automation;
using P2PTransfer.Node;

namespace P2PTransfer.Module.Commands;

/// <summary>
/// What Publish- and Unpublish-P2PFile share: -Path (wildcards) or -LiteralPath, gathered over the whole pipeline
/// and applied in one change. Through the pipeline, -LiteralPath binds a file from Get-ChildItem by its PSPath and a
/// shared file from Get-P2PShare by its FullName (the path on this machine; its RelativePath is what other nodes see,
/// not a path here).
/// </summary>
public abstract class ShareCmdlet : NodeCmdlet
{
    protected const string PathSet = "Path";
    protected const string LiteralPathSet = "LiteralPath";

    private readonly List<string> _paths = [];

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "LP", "FullName")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = [];

    protected abstract string Action { get; }

    /// <summary>False when a path need not exist any more (unpublishing a deleted folder).</summary>
    protected virtual bool MustExist => true;

    protected override void ProcessRecord()
    {
        if (ParameterSetName == LiteralPathSet)
        {
            _paths.AddRange(LiteralPath.Select(GetUnresolvedProviderPathFromPSPath));
            return;
        }

        foreach (var path in Path)
        {
            if (!WildcardPattern.ContainsWildcardCharacters(path))
            {
                _paths.Add(GetUnresolvedProviderPathFromPSPath(path));
                continue;
            }

            try
            {
                _paths.AddRange(GetResolvedProviderPathFromPSPath(path, out _));
            }
            catch (ItemNotFoundException ex)
            {
                WriteError(new ErrorRecord(ex, "PathNotFound", ErrorCategory.ObjectNotFound, path));
            }
        }
    }

    /// <summary>The node and the paths to act on, after -WhatIf/-Confirm; false when there is nothing to do.</summary>
    protected bool TryGetPaths(out IManagedNode node, out List<string> paths)
    {
        paths = [];
        if (!TryGetTargetNode(out node))
        {
            return false;
        }

        foreach (var path in _paths.Distinct())
        {
            if (MustExist && !File.Exists(path) && !Directory.Exists(path))
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"cannot find path '{path}' because it does not exist"), "PathNotFound", ErrorCategory.ObjectNotFound, path));
            }
            else if (ShouldProcess($"{path} on node {node.Name}", Action))
            {
                paths.Add(path);
            }
        }

        return paths.Count > 0;
    }
}
