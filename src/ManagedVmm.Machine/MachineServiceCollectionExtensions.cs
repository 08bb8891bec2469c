using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Dma;
using ManagedVmm.Core.Interrupts;
using ManagedVmm.Core.Memory;
using ManagedVmm.Core.Time;
using ManagedVmm.Pci;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Machine;

/// <summary>
/// The core services of every machine: RAM on the platform map, buses, the clock, MSI routing, the DMA seam,
/// and PCI bus 0 with its host bridge, ECAM window and CF8/CFC ports. Device plugins add themselves with their
/// own <c>AddXxx</c> extension; nothing here knows a device type.
/// </summary>
public static class MachineServiceCollectionExtensions
{
    public static IServiceCollection AddMachineCore(this IServiceCollection services, Action<MachineOptions>? configure = null)
    {
        services.AddOptions<MachineOptions>().Configure(o => configure?.Invoke(o));
        services.AddLogging();
        services.TryAddSingleton(sp => new GuestErrorLog(sp.GetService<ILoggerFactory>()));
        services.TryAddSingleton(sp => new GuestRam(PlatformLayout.RamRegions(sp.GetRequiredService<IOptions<MachineOptions>>().Value.MemorySize)));
        services.TryAddSingleton<EventScheduler>();
        services.TryAddSingleton<Core.VmStopSignal>();
        services.TryAddSingleton<MmioBus>();
        services.TryAddSingleton<PortIoBus>();
        services.TryAddSingleton<SystemMemory>();
        services.TryAddSingleton<MsiRouter>();
        services.TryAddSingleton<IMsiSink>(sp => sp.GetRequiredService<MsiRouter>());
        services.TryAddSingleton<IDmaMemoryProvider>(sp =>
            new DmaMemoryProvider(sp.GetRequiredService<GuestRam>(), sp.GetServices<IDmaTranslator>()));
        services.TryAddSingleton<PciBus>();
        services.TryAddSingleton<IPciTopology>(sp => sp.GetRequiredService<PciBus>());
        services.TryAddSingleton<PciEcamWindow>();
        services.TryAddSingleton<PciLegacyConfigPorts>();
        services.AddSingleton<PciFunction, PciHostBridge>();
        services.TryAddSingleton<Boot.MachineBootLoader>();
        services.AddSingleton(sp => new MmioRegistration(
            PlatformLayout.EcamBase, PlatformLayout.EcamSize, sp.GetRequiredService<PciEcamWindow>(), "pci-ecam"));
        services.AddSingleton(sp => new PortIoRegistration(
            PciLegacyConfigPorts.AddressPort, PciLegacyConfigPorts.PortCount, sp.GetRequiredService<PciLegacyConfigPorts>(), "pci-cf8"));
        return services;
    }
}
