using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;

namespace ManagedVmm.Pci;

/// <summary>
/// The PCIe enhanced configuration access mechanism (PCIe Base 4.0 §7.2.2): a memory window in which
/// <c>offset = bus &lt;&lt; 20 | device &lt;&lt; 15 | function &lt;&lt; 12 | register</c>. The platform places it at
/// <c>0xB000_0000</c> for buses 0–255. An access that crosses the end of a function's 4 KiB is a guest error
/// (reads all-ones).
/// </summary>
public sealed class PciEcamWindow : IMmioDevice
{
    public const ulong SizeFor256Buses = 256UL << 20;

    private readonly PciBus _bus;
    private readonly GuestErrorLog _guestErrors;

    public PciEcamWindow(PciBus bus, GuestErrorLog guestErrors)
    {
        _bus = bus;
        _guestErrors = guestErrors;
    }

    public void Read(ulong offset, Span<byte> data)
    {
        if (Decode(offset, data.Length, out var bdf, out int register))
        {
            _bus.ConfigRead(bdf, register, data);
        }
        else
        {
            data.Fill(0xFF);
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (Decode(offset, data.Length, out var bdf, out int register))
        {
            _bus.ConfigWrite(bdf, register, data);
        }
    }

    private bool Decode(ulong offset, int width, out Bdf bdf, out int register)
    {
        register = (int)(offset & 0xFFF);
        bdf = Bdf.FromRequesterId((ushort)((offset >> 12) & 0xFFFF));
        if (register + width > Spec.PciConfig.Size)
        {
            _guestErrors.Report("ecam", $"{width}-byte access at 0x{offset:x} crosses the end of {bdf}'s configuration space");
            return false;
        }

        return true;
    }
}
