using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Dma;
using ManagedVmm.Pci;

namespace ManagedVmm.Machine.Tests;

/// <summary>A register window that reads zeros and ignores writes.</summary>
internal sealed class NullRegisters : IMmioDevice, IPortIoDevice
{
    public void Read(ulong offset, Span<byte> data) => data.Clear();

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
    }

    public void Read(ushort offset, Span<byte> data) => data.Clear();

    public void Write(ushort offset, ReadOnlySpan<byte> data)
    {
    }
}

/// <summary>
/// A stand-in virtio-iommu for the VIOT: a PCI function with the virtio-iommu identity that is also an
/// <see cref="IDmaTranslator"/>, covering every requester except those listed in <see cref="NotCovered"/>.
/// </summary>
internal sealed class FakeIommuFunction : PciFunction, IDmaTranslator
{
    public FakeIommuFunction()
        : base("fake-viommu", new PciIdentity(0x1AF4, 0x1057, 0x088000, 1))
    {
        AddMemoryBar(0, 0x4000, new NullRegisters(), is64Bit: true, prefetchable: true);
    }

    public HashSet<ushort> NotCovered { get; } = [];

    public bool Covers(Bdf requester) => !NotCovered.Contains(requester.RequesterId);

    public DmaTranslation Translate(Bdf requester, ulong iova, ulong length, DmaAccess access) => DmaTranslation.To(iova, length);
}

/// <summary>A device with the BAR shapes firmware must handle: 32-bit memory, 64-bit memory, and I/O.</summary>
internal sealed class BarShapesFunction : PciFunction
{
    public BarShapesFunction(string name)
        : base(name, new PciIdentity(0x1234, 0x0001, 0xFF0000, 1))
    {
        AddMemoryBar(0, 0x1000, new NullRegisters(), is64Bit: false);
        AddMemoryBar(2, 0x10_0000, new NullRegisters(), is64Bit: true);
        AddIoBar(4, 0x20, new NullRegisters());
    }
}
