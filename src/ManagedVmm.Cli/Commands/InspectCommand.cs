using System.CommandLine;
using System.Text.Json;
using ManagedVmm.Core.Buses;
using ManagedVmm.Machine;
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
        var memory = new Option<string>("-m", "--memory") { Description = "Guest RAM size (QEMU style: 512, 512M, 4G)", DefaultValueFactory = _ => "512M" };
        var command = new Command("inspect", "Build the machine and list its PCI functions and device state (lspci -vvv style)")
        {
            json,
            memory,
        };
        command.SetAction(parse =>
        {
            string memoryText = parse.GetValue(memory)!;
            if (!MachineOptionParsing.TryParseMemory(memoryText, out ulong memorySize))
            {
                error.WriteLine($"managedvmm: invalid memory size '{memoryText}' (examples: 512, 512M, 4G)");
                return CliApplication.UsageError;
            }

            try
            {
                using var machine = DefaultMachine.CreateBuilder(memorySize).Build();
                var capture = MachineInspector.Capture(machine);
                output.Write(parse.GetValue(json)
                    ? capture.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + Environment.NewLine
                    : MachineInspector.RenderText(capture));
                return 0;
            }
            catch (Exception ex) when (ex is MachineConfigurationException or BusRangeConflictException)
            {
                error.WriteLine($"managedvmm: {ex.Message}");
                return CliApplication.UsageError;
            }
        });
        return command;
    }
}
