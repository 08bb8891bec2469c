using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Memory;
using ManagedVmm.Core.Time;
using ManagedVmm.Pci;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Machine;

/// <summary>
/// A built machine: the service provider and the handful of core objects everyone needs. Building it
/// registers every fixed bus range, then places the PCI functions on bus 0 — the host bridge at 00:00.0,
/// functions that ask for a slot in it, the others at the next free slot, in registration order.
/// </summary>
public sealed class Machine : IDisposable
{
    private readonly ServiceProvider _services;

    internal Machine(ServiceProvider services)
    {
        _services = services;
        Options = services.GetRequiredService<IOptions<MachineOptions>>().Value;
        GuestErrors = services.GetRequiredService<GuestErrorLog>();
        Ram = services.GetRequiredService<GuestRam>();
        Memory = services.GetRequiredService<SystemMemory>();
        Mmio = services.GetRequiredService<MmioBus>();
        Ports = services.GetRequiredService<PortIoBus>();
        Scheduler = services.GetRequiredService<EventScheduler>();
        Msi = services.GetRequiredService<MsiRouter>();
        Pci = services.GetRequiredService<PciBus>();

        Memory.AddReadOnlyRange(PlatformLayout.FirmwareAreaBase, PlatformLayout.FirmwareAreaSize);
        foreach (var r in services.GetServices<MmioRegistration>())
        {
            Mmio.Add(r.Address, r.Length, r.Device, r.Name);
        }

        foreach (var r in services.GetServices<PortIoRegistration>())
        {
            Ports.Add(r.Port, r.Count, r.Device, r.Name);
        }

        foreach (var target in services.GetServices<Core.Interrupts.IMsiTarget>())
        {
            Msi.Connect(target);
        }

        Stop = services.GetRequiredService<VmStopSignal>();
        PlaceFunctions(services.GetServices<PciFunction>());
    }

    /// <summary>Set when something asks the machine to stop (debug exit, triple fault, limits).</summary>
    public VmStopSignal Stop { get; }

    public IServiceProvider Services => _services;

    public MachineOptions Options { get; }

    public GuestErrorLog GuestErrors { get; }

    public GuestRam Ram { get; }

    /// <summary>The CPU's view of guest-physical memory (RAM, MMIO, read-only firmware area).</summary>
    public SystemMemory Memory { get; }

    public MmioBus Mmio { get; }

    public PortIoBus Ports { get; }

    public EventScheduler Scheduler { get; }

    public MsiRouter Msi { get; }

    public PciBus Pci { get; }

    /// <summary>Services other than PCI functions that report state for inspect and state dumps.</summary>
    public IEnumerable<Core.Diagnostics.IStateReporter> StateReporters() =>
        _services.GetServices<Core.Diagnostics.IStateReporter>().Where(r => r is not PciFunction).Distinct();

    public T GetRequiredService<T>()
        where T : notnull => _services.GetRequiredService<T>();

    /// <summary>
    /// A system reset: every PCI function back to its power-on configuration and every other resettable
    /// service told, in registration order. RAM is left as it is, as on real hardware.
    /// </summary>
    public void Reset()
    {
        Pci.Reset(ResetKind.System);
        foreach (var r in _services.GetServices<IResettable>())
        {
            r.Reset(ResetKind.System);
        }
    }

    public void Dispose()
    {
        _services.Dispose();
    }

    private void PlaceFunctions(IEnumerable<PciFunction> functions)
    {
        var all = functions.Distinct().ToList();
        foreach (var f in all.Where(f => f.PreferredDevice is not null))
        {
            int device = f.PreferredDevice!.Value;
            if ((uint)device >= PciBus.DevicesPerBus)
            {
                throw new MachineConfigurationException($"{f.Name}: PCI slot {device} does not exist (0-31)");
            }

            Pci.Place(f, device);
        }

        foreach (var f in all.Where(f => f.PreferredDevice is null))
        {
            int device = Pci.NextFreeDevice();
            if (device < 0)
            {
                throw new MachineConfigurationException($"{f.Name}: PCI bus 0 is full");
            }

            Pci.Place(f, device);
        }
    }
}
