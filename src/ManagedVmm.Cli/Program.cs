using ManagedVmm.Cli;

// The serial console writes raw bytes to stdout; everything else (messages, traces, --stats) goes to stderr.
using var stdout = Console.OpenStandardOutput();
return CliApplication.Run(args, Console.Out, Console.Error, stdout);
