using System.CommandLine;
using ManagedVmm.Cli.Devices;

namespace ManagedVmm.Cli.Commands;

/// <summary>The options <c>run</c> and <c>inspect</c> share: <c>-m</c> and <c>--device</c>.</summary>
internal static class DeviceArguments
{
    public static Option<string> Memory() =>
        new("-m", "--memory") { Description = "Guest RAM size (QEMU style: 512, 512M, 4G)", DefaultValueFactory = _ => "512M" };

    public static Option<string[]> Devices() =>
        new("--device")
        {
            Description = $"Add a device, QEMU style: DRIVER[,key=value...] (repeatable; drivers: {DeviceCatalog.Names}; e.g. nvme,size=64M,file=disk.img)",
            Arity = ArgumentArity.ZeroOrMore,
            AllowMultipleArgumentsPerToken = false,
        };

    public static Option<bool> NoDefaults() =>
        new("--no-defaults")
        {
            Description = $"Without --device, build the bare machine (host bridge only) instead of the default devices ({string.Join(", ", DefaultMachine.DefaultDevices)})",
        };

    /// <summary>
    /// Builds the machine from -m and --device, or returns a one-line error. With no --device the machine gets the
    /// default devices, unless <paramref name="noDefaults"/> asks for the bare machine.
    /// </summary>
    public static Machine.MachineBuilder? TryCreateBuilder(string memoryText, string[]? devices, bool noDefaults, out string? error)
    {
        if (!MachineOptionParsing.TryParseMemory(memoryText, out ulong memorySize))
        {
            error = $"invalid memory size '{memoryText}' (examples: 512, 512M, 4G)";
            return null;
        }

        var builder = DefaultMachine.CreateBuilder(memorySize);
        IEnumerable<string> specs = devices is { Length: > 0 } ? devices : noDefaults ? [] : DefaultMachine.DefaultDevices;
        return DeviceCatalog.TryAddDevices(builder.Services, specs, out error) ? builder : null;
    }
}
