using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Memory;
using ManagedVmm.Pci;
using ManagedVmm.Pci.Msix;

namespace ManagedVmm.Pci.Tests;

/// <summary>
/// A function with one of everything: a 4 KiB 32-bit BAR0 of scratch registers, a 16 KiB 64-bit prefetchable
/// BAR2 holding the MSI-X table (0x2000) and PBA (0x3000), a 32-port I/O BAR4, and 4 MSI-X vectors.
/// </summary>
internal sealed class TestFunction : PciFunction
{
    public TestFunction()
        : base("test", new PciIdentity(0x1234, 0x5678, 0x0B_40_00, 0x02, 0x1234, 0x0001, 1))
    {
        Registers = new Scratch();
        AddMemoryBar(0, 0x1000, Registers, is64Bit: false);
        var bar2 = new MmioRegionRouter();
        AddMemoryBar(2, 0x4000, bar2, is64Bit: true, prefetchable: true);
        AddIoBar(4, 32, Registers);
        var msix = AddMsix(4, 2, 0x2000, 2, 0x3000);
        bar2.Map(0x2000, msix.TableSize, msix.Table, "msix-table").Map(0x3000, msix.PbaSize, msix.PendingBits, "msix-pba");
        Capabilities.Add(Spec.PciCapabilityId.VendorSpecific, [4, 0xAB]);
    }

    public Scratch Registers { get; }

    public bool DmaWrite(ulong address, uint value) => Dma.TryWriteUInt32(address, value);

    public MsixCapability MsixCap => Msix!;

    internal sealed class Scratch : IMmioDevice, IPortIoDevice
    {
        public byte[] Bytes { get; } = new byte[0x1000];

        public void Read(ulong offset, Span<byte> data) => Bytes.AsSpan((int)offset, data.Length).CopyTo(data);

        public void Write(ulong offset, ReadOnlySpan<byte> data) => data.CopyTo(Bytes.AsSpan((int)offset));

        public void Read(ushort offset, Span<byte> data) => Read((ulong)offset, data);

        public void Write(ushort offset, ReadOnlySpan<byte> data) => Write((ulong)offset, data);
    }
}
