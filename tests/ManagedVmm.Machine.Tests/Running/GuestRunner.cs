using ManagedVmm.Devices.Platform.Serial;
using ManagedVmm.Machine.Boot;
using ManagedVmm.Machine.Running;

namespace ManagedVmm.Machine.Tests.Running;

/// <summary>Boots a committed guest image on a machine with the platform devices and the vCPU, and runs it.</summary>
internal static class GuestRunner
{
    /// <summary>Generous limits: every test guest stops by itself long before these.</summary>
    public static readonly MachineRunLimits DefaultLimits = new(MaxVirtualTimeNs: 20_000_000_000, MaxInstructions: 2_000_000_000);

    public static string ImagePath(string relative) =>
        Path.Combine(TestContext.CurrentContext.TestDirectory, "guest-images", relative);

    public static (MachineRunResult Result, BufferConsoleSink Console) Run(
        string relativeImage, string? commandLine = null, ulong memory = 64UL << 20, MachineRunLimits? limits = null)
    {
        var console = new BufferConsoleSink();
        using var machine = new MachineBuilder(o => o.MemorySize = memory).AddPlatform(o => o.Console = console).Build();
        var runner = new MachineRunner(machine);
        runner.Boot(new BootRequest(BootImageSource.FromFile(ImagePath(relativeImage))) { CommandLine = commandLine });
        var result = runner.Run(limits ?? DefaultLimits);
        return (result, console);
    }
}
