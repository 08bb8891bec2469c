using ManagedVmm.Machine;

namespace ManagedVmm.Cli;

/// <summary>
/// The machine the CLI builds when the user names no devices: the q35-like core (host bridge, ECAM, CF8/CFC)
/// and every device plugin that exists so far with its default options.
/// </summary>
internal static class DefaultMachine
{
    public static MachineBuilder CreateBuilder(ulong memorySize) => new(o => o.MemorySize = memorySize);
}
