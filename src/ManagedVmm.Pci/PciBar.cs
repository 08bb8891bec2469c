using ManagedVmm.Core.Buses;

namespace ManagedVmm.Pci;

/// <summary>What a base address register decodes.</summary>
public enum PciBarKind
{
    Memory32,
    Memory64,
    Io,
}

/// <summary>
/// A BAR a function implements: its kind and power-of-two size, and the register window behind it. A 64-bit
/// BAR also occupies the next BAR slot (the upper half of the address).
/// </summary>
public sealed class PciBar
{
    public PciBar(int index, PciBarKind kind, ulong size, bool prefetchable, IMmioDevice? memoryHandler, IPortIoDevice? ioHandler)
    {
        Index = index;
        Kind = kind;
        Size = size;
        Prefetchable = prefetchable;
        MemoryHandler = memoryHandler;
        IoHandler = ioHandler;
    }

    public int Index { get; }

    public PciBarKind Kind { get; }

    public ulong Size { get; }

    public bool Prefetchable { get; }

    public IMmioDevice? MemoryHandler { get; }

    public IPortIoDevice? IoHandler { get; }

    public bool IsMemory => Kind != PciBarKind.Io;

    /// <summary>The address the bus currently decodes this BAR at, or null when it is not mapped.</summary>
    public ulong? MappedAt { get; internal set; }

    /// <summary>The handler the bus registered for this BAR (the device's, or a cost decorator around it).</summary>
    public IMmioDevice? MappedMemoryHandler { get; internal set; }

    /// <summary>The access cost the BAR was mapped with.</summary>
    public long MappedCostNs { get; internal set; }

    public override string ToString() => $"BAR{Index} {Kind} size 0x{Size:x}";
}
