namespace ManagedVmm.Core.Memory;

/// <summary>
/// A device's or the CPU's view of guest-physical memory (rust-vmm <c>GuestMemory</c>, consumer side only).
/// Accesses are bounds-checked and report failure as <c>false</c>: an address outside RAM, or, in a DMA view,
/// an IOVA the IOMMU refuses. On failure no byte of <paramref name="destination"/> is meaningful and, for a
/// write, views guarantee that nothing was written.
/// </summary>
public interface IGuestMemory
{
    bool TryRead(ulong address, Span<byte> destination);

    bool TryWrite(ulong address, ReadOnlySpan<byte> source);
}
