using ManagedVmm.Devices.Platform;
using ManagedVmm.Devices.Platform.Serial;
using ManagedVmm.Machine.Boot;
using ManagedVmm.Pci;
using ManagedVmm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ManagedVmm.Machine.Tests;

/// <summary>A machine with the platform devices and optional PCI functions, ready to boot an image.</summary>
internal static class BootHarness
{
    public static MachineHarness Create(ulong memory = 64UL << 20, Action<IServiceCollection>? devices = null, BufferConsoleSink? console = null) =>
        MachineHarness.Create(
            s =>
            {
                s.AddSerialConsole(o => o.Sink = console ?? new BufferConsoleSink());
                s.AddDebugExit();
                devices?.Invoke(s);
            },
            o => o.MemorySize = memory);

    public static BootResult Boot(MachineHarness h, byte[] payload, string? commandLine = null) =>
        h.Machine.GetRequiredService<MachineBootLoader>().Boot(new BootRequest(new BootImageSource("payload", payload)) { CommandLine = commandLine });

    public static IServiceCollection AddFakeIommu(this IServiceCollection s)
    {
        s.AddPciFunction<FakeIommuFunction>();
        s.AddSingleton<Core.Dma.IDmaTranslator>(sp => sp.GetRequiredService<FakeIommuFunction>());
        return s;
    }
}
