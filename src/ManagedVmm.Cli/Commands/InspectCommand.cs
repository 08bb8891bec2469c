using System.CommandLine;
using System.Text.Json;
using ManagedVmm.Machine.Inspection;

namespace ManagedVmm.Cli.Commands;

/// <summary>
/// <c>managedvmm inspect</c>: builds the machine (no guest runs) and prints every PCI function lspci -vvv style,
/// plus the state devices report; <c>--json</c> prints the same tree as JSON.
/// </summary>
internal static class InspectCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var json = new Option<bool>("--json") { Description = "Print the listing as JSON" };
        var memory = DeviceArguments.Memory();
        var devices = DeviceArguments.Devices();
        var noDefaults = DeviceArguments.NoDefaults();
        var command = new Command("inspect", "Build the machine and list its PCI functions and device state (lspci -vvv style)")
        {
            json,
            memory,
            devices,
            noDefaults,
        };
        command.SetAction(parse =>
        {
            var builder = DeviceArguments.TryCreateBuilder(parse.GetValue(memory)!, parse.GetValue(devices), parse.GetValue(noDefaults), out string? deviceError);
            if (builder == null)
            {
                error.WriteLine($"managedvmm: {deviceError}");
                return CliApplication.UsageError;
            }

            try
            {
                using var machine = builder.Build();
                var capture = MachineInspector.Capture(machine);
                output.Write(parse.GetValue(json)
                    ? capture.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + Environment.NewLine
                    : MachineInspector.RenderText(capture));
                return 0;
            }
            catch (Exception ex)
            {
                // Building the machine is all configuration (options, device files): a clear line, never a trace.
                error.WriteLine($"managedvmm: {ex.Message.ReplaceLineEndings(" ")}");
                return CliApplication.UsageError;
            }
        });
        return command;
    }
}
