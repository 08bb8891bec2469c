namespace ManagedVmm.Core.Buses;

/// <summary>
/// A register window on the MMIO bus (rust-vmm <c>vm-device</c>'s shape): the bus has already subtracted the
/// region's base, so <paramref name="offset"/> is relative to the window, and <c>data.Length</c> is the access
/// width (1, 2, 4 or 8). The access lies wholly inside the window. A device answers guest mistakes itself
/// (reads of nothing give zeros or all-ones as its spec says, plus a guest-error report); it never throws.
/// </summary>
public interface IMmioDevice
{
    void Read(ulong offset, Span<byte> data);

    void Write(ulong offset, ReadOnlySpan<byte> data);
}

/// <summary>The same contract on the port-I/O bus; widths are 1, 2 or 4.</summary>
public interface IPortIoDevice
{
    void Read(ushort offset, Span<byte> data);

    void Write(ushort offset, ReadOnlySpan<byte> data);
}
