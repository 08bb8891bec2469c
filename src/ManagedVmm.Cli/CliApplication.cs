using System.CommandLine;
using ManagedVmm.Cli.Commands;
using ManagedVmm.Cli.Diagnostics;
using ManagedVmm.Devices.Platform.Serial;

namespace ManagedVmm.Cli;

/// <summary>
/// The <c>managedvmm</c> command: <c>run</c> and <c>inspect</c>; <c>bench</c> arrives with the experiment. Output
/// goes to the writers passed in so tests can read it.
/// </summary>
public static class CliApplication
{
    /// <summary>Exit status for a usage or configuration error (bad option, missing file, bad image, unknown device).</summary>
    public const int UsageError = 2;

    /// <summary>Runs the CLI; the guest's serial console goes to <paramref name="output"/>.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) =>
        Run(args, output, error, () => new WriterConsoleSink(output));

    /// <summary>Runs the CLI with the serial console going to <paramref name="console"/> (raw bytes; the process's stdout).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, Stream console) =>
        Run(args, output, error, () => new StreamConsoleSink(console));

    private static int Run(string[] args, TextWriter output, TextWriter error, Func<ISerialConsoleSink> consoleFactory)
    {
        var root = new RootCommand("ManagedVmm: a managed machine emulator for measuring the DMA path through virtio-iommu");
        root.Subcommands.Add(RunCommand.Create(output, error, consoleFactory));
        root.Subcommands.Add(InspectCommand.Create(output, error));
        root.Subcommands.Add(BenchCommand.Create(output, error));
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One clear line per problem and the usage status; no help dump, no stack trace.
            foreach (var e in parse.Errors)
            {
                error.WriteLine($"managedvmm: {e.Message}");
            }

            return UsageError;
        }

        var config = new InvocationConfiguration { Output = output, Error = error };
        return parse.Invoke(config);
    }
}
