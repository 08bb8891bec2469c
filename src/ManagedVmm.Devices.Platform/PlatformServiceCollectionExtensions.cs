using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Devices.Platform.DebugExit;
using ManagedVmm.Devices.Platform.Serial;
using ManagedVmm.Devices.Platform.Serial.Spec;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Devices.Platform;

/// <summary>Plugs the small platform devices into a machine's service collection.</summary>
public static class PlatformServiceCollectionExtensions
{
    /// <summary>
    /// The 16550 UART at <see cref="SerialConsoleOptions.Port"/> (COM1 by default) with its console sink
    /// (stdout unless <see cref="SerialConsoleOptions.Sink"/> is set). Also registers the sink as
    /// <see cref="ISerialConsoleSink"/> so the run loop can flush it.
    /// </summary>
    public static IServiceCollection AddSerialConsole(this IServiceCollection services, Action<SerialConsoleOptions>? configure = null)
    {
        services.AddOptions<SerialConsoleOptions>().Configure(o => configure?.Invoke(o));
        services.TryAddSingleton<ISerialConsoleSink>(sp =>
            sp.GetRequiredService<IOptions<SerialConsoleOptions>>().Value.Sink ?? StreamConsoleSink.StandardOutput());
        services.TryAddSingleton(sp => new SerialPort16550(sp.GetRequiredService<ISerialConsoleSink>()));
        services.AddSingleton<IResettable>(sp => sp.GetRequiredService<SerialPort16550>());
        services.AddSingleton(sp => new PortIoRegistration(
            sp.GetRequiredService<IOptions<SerialConsoleOptions>>().Value.Port,
            Uart16550Register.PortCount,
            sp.GetRequiredService<SerialPort16550>(),
            "serial-16550"));
        return services;
    }

    /// <summary>The isa-debug-exit device at ports 0xF4–0xF7.</summary>
    public static IServiceCollection AddDebugExit(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new DebugExitDevice(sp.GetRequiredService<VmStopSignal>()));
        services.AddSingleton(sp => new PortIoRegistration(
            DebugExitPorts.Base, DebugExitPorts.Count, sp.GetRequiredService<DebugExitDevice>(), "isa-debug-exit"));
        return services;
    }
}
