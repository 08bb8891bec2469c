using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Interrupts;
using ManagedVmm.Cpu.X86.Apic;
using Microsoft.Extensions.DependencyInjection;

namespace ManagedVmm.Cpu.X86;

/// <summary>DI registration of the vCPU and its local APIC.</summary>
public static class X86CpuServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="X86Vcpu"/> and <see cref="LocalApic"/> as singletons, the APIC page at 0xFEE00000 as an
    /// <see cref="MmioRegistration"/>, and the APIC as the machine's <see cref="IMsiTarget"/>. Needs the core
    /// services (SystemMemory, PortIoBus, EventScheduler, VmStopSignal, GuestErrorLog) from the machine.
    /// </summary>
    public static IServiceCollection AddX86Vcpu(this IServiceCollection services, Action<X86CpuOptions>? configure = null)
    {
        var options = services.AddOptions<X86CpuOptions>();
        if (configure != null)
        {
            options.Configure(configure);
        }

        services.AddSingleton<LocalApic>();
        services.AddSingleton<IMsiTarget>(sp => sp.GetRequiredService<LocalApic>());
        services.AddSingleton(sp => new MmioRegistration(ApicRegister.DefaultBase, 0x1000, sp.GetRequiredService<LocalApic>(), "lapic"));
        services.AddSingleton<X86Vcpu>();
        return services;
    }
}
