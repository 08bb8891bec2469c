using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Interrupts;
using ManagedVmm.Core.Memory;
using ManagedVmm.Core.Time;
using ManagedVmm.Cpu.X86.Apic;
using Microsoft.Extensions.DependencyInjection;

namespace ManagedVmm.Cpu.X86.Tests;

public sealed class RegistrationTests
{
    [Test]
    public void AddX86Vcpu_RegistersVcpuApicMmioPageAndMsiTarget()
    {
        var services = new ServiceCollection();
        using var ram = GuestRam.CreateFlat(1 << 20);
        services.AddSingleton(ram);
        services.AddSingleton<GuestErrorLog>();
        services.AddSingleton<MmioBus>();
        services.AddSingleton<PortIoBus>();
        services.AddSingleton<SystemMemory>();
        services.AddSingleton<EventScheduler>();
        services.AddSingleton<VmStopSignal>();
        services.AddX86Vcpu(o => o.InstructionTimePs = 250);
        using var sp = services.BuildServiceProvider();
        var cpu = sp.GetRequiredService<X86Vcpu>();
        var apic = sp.GetRequiredService<LocalApic>();
        var mmio = sp.GetServices<MmioRegistration>().Single();
        Assert.Multiple(() =>
        {
            Assert.That(cpu.Apic, Is.SameAs(apic));
            Assert.That(sp.GetServices<IMsiTarget>().Single(), Is.SameAs(apic));
            Assert.That((mmio.Address, mmio.Length, mmio.Device), Is.EqualTo((0xFEE0_0000UL, 0x1000UL, (IMmioDevice)apic)));
            Assert.That(cpu.Options.InstructionTimePs, Is.EqualTo(250));
        });
    }
}
