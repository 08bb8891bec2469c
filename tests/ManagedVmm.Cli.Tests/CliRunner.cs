namespace ManagedVmm.Cli.Tests;

/// <summary>Runs the CLI in process and captures what it prints.</summary>
internal static class CliRunner
{
    public static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = CliApplication.Run(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    public static string RepositoryRoot() => ManagedVmm.Testing.RepositoryPaths.Root();
}
