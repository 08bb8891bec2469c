namespace ManagedVmm.Core.Buses;

/// <summary>
/// A fixed MMIO range a platform device asks for (the ECAM window, the local APIC page). Registered in the
/// service collection; the machine adds every one to the MMIO bus when it is built, refusing overlaps.
/// </summary>
public sealed record MmioRegistration(ulong Address, ulong Length, IMmioDevice Device, string Name);

/// <summary>A fixed port range a platform device asks for (COM1, the debug exit, CF8/CFC).</summary>
public sealed record PortIoRegistration(ushort Port, ushort Count, IPortIoDevice Device, string Name);
