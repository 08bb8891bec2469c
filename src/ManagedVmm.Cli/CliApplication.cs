using System.CommandLine;
using ManagedVmm.Cli.Commands;

namespace ManagedVmm.Cli;

/// <summary>
/// The <c>managedvmm</c> command: <c>inspect</c> today; <c>run</c> and <c>bench</c> arrive with the vCPU and the
/// experiment. Output goes to the writers passed in so tests can read it.
/// </summary>
public static class CliApplication
{
    /// <summary>Exit status for a usage or configuration error (bad option, missing file).</summary>
    public const int UsageError = 2;

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("ManagedVmm: a managed machine emulator for measuring the DMA path through virtio-iommu");
        root.Subcommands.Add(InspectCommand.Create(output, error));
        var config = new InvocationConfiguration { Output = output, Error = error };
        return root.Parse(args).Invoke(config);
    }
}
