using System.Buffers.Binary;
using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;

namespace ManagedVmm.Pci;

/// <summary>
/// Configuration mechanism #1 (PCI 3.0 §3.2.2.3.2): a DWORD address register at port <c>0xCF8</c>
/// (bit 31 enable, bus 23..16, device 15..11, function 10..8, register 7..2) and data at <c>0xCFC–0xCFF</c>.
/// It reaches the first 256 bytes of each function, the same bytes ECAM shows. Only DWORD accesses reach the
/// address register; others are guest errors (chipsets route them elsewhere).
/// </summary>
public sealed class PciLegacyConfigPorts : IPortIoDevice
{
    public const ushort AddressPort = 0xCF8;
    public const ushort DataPort = 0xCFC;
    public const ushort PortCount = 8;
    private const uint Enable = 0x8000_0000;

    private readonly PciBus _bus;
    private readonly GuestErrorLog _guestErrors;
    private uint _address;

    public PciLegacyConfigPorts(PciBus bus, GuestErrorLog guestErrors)
    {
        _bus = bus;
        _guestErrors = guestErrors;
    }

    public void Read(ushort offset, Span<byte> data)
    {
        if (offset < 4)
        {
            if (offset == 0 && data.Length == 4)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(data, _address);
            }
            else
            {
                data.Fill(0xFF);
                _guestErrors.Report("pci-cf8", $"{data.Length}-byte read of port 0x{AddressPort + offset:x}");
            }

            return;
        }

        if (!TryDecode(offset, data.Length, out var bdf, out int register))
        {
            data.Fill(0xFF);
            return;
        }

        _bus.ConfigRead(bdf, register, data);
    }

    public void Write(ushort offset, ReadOnlySpan<byte> data)
    {
        if (offset < 4)
        {
            if (offset == 0 && data.Length == 4)
            {
                _address = BinaryPrimitives.ReadUInt32LittleEndian(data) & 0x80FF_FFFC;
            }
            else
            {
                _guestErrors.Report("pci-cf8", $"{data.Length}-byte write of port 0x{AddressPort + offset:x} ignored");
            }

            return;
        }

        if (TryDecode(offset, data.Length, out var bdf, out int register))
        {
            _bus.ConfigWrite(bdf, register, data);
        }
    }

    private bool TryDecode(ushort offset, int width, out Bdf bdf, out int register)
    {
        int dataByte = offset - 4;
        bdf = Bdf.FromRequesterId((ushort)((_address >> 8) & 0xFFFF));
        register = (int)(_address & 0xFC) + dataByte;
        if ((_address & Enable) == 0)
        {
            return false;
        }

        if (dataByte + width > 4)
        {
            _guestErrors.Report("pci-cf8", $"{width}-byte access at port 0x{DataPort + dataByte:x} crosses the data register");
            return false;
        }

        return true;
    }
}
