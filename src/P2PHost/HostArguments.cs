namespace P2PTransfer.Host;

/// <summary>The host's command line: --state-directory FOLDER (also --state-directory=FOLDER), and nothing else.</summary>
internal static class HostArguments
{
    public static bool TryParse(string[] args, out string stateDirectory, out string problem)
    {
        stateDirectory = string.Empty;
        problem = string.Empty;
        for (int i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg.StartsWith("--state-directory=", StringComparison.Ordinal))
            {
                stateDirectory = arg["--state-directory=".Length..];
            }
            else if (arg == "--state-directory" && i + 1 < args.Length)
            {
                stateDirectory = args[++i];
            }
            else
            {
                problem = $"unknown argument '{arg}'";
                return false;
            }
        }

        if (stateDirectory.Length == 0)
        {
            problem = "--state-directory is required";
            return false;
        }

        stateDirectory = Path.GetFullPath(stateDirectory);
        return true;
    }
}
