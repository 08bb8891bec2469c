using ManagedVmm.Core;
using ManagedVmm.Pci;
using ManagedVmm.Pci.Spec;

namespace ManagedVmm.Testing;

/// <summary>One function as enumeration found it, with the BAR addresses it was given.</summary>
public sealed record EnumeratedFunction(Bdf Address, ushort VendorId, ushort DeviceId, uint ClassCode, ulong[] BarAddresses, ulong[] BarSizes);

/// <summary>
/// Enumerates bus 0 the way firmware does, through configuration accesses only: probe each slot's vendor
/// ID, size each BAR by writing all-ones, assign addresses from the 32-bit MMIO window (and from port 0xC000
/// for I/O BARs), then enable memory and I/O decode and bus mastering.
/// </summary>
public static class PciProbe
{
    public static IReadOnlyList<EnumeratedFunction> Enumerate(IQtest q, ulong mmioBase = 0xC000_0000, ushort ioBase = 0xC000)
    {
        var found = new List<EnumeratedFunction>();
        ulong nextMmio = mmioBase;
        ulong nextIo = ioBase;
        for (int dev = 0; dev < 32; dev++)
        {
            for (int fn = 0; fn < 8; fn++)
            {
                var bdf = new Bdf(0, dev, fn);
                uint id = q.ConfigRead32(bdf, PciConfig.VendorId);
                if ((id & 0xFFFF) == 0xFFFF)
                {
                    if (fn == 0)
                    {
                        break;
                    }

                    continue;
                }

                var addresses = new ulong[6];
                var sizes = new ulong[6];
                for (int bar = 0; bar < 6; bar++)
                {
                    int reg = PciConfig.BarOffset(bar);
                    uint original = q.ConfigRead32(bdf, reg);
                    q.ConfigWrite32(bdf, reg, 0xFFFF_FFFF);
                    uint low = q.ConfigRead32(bdf, reg);
                    if (low == 0)
                    {
                        q.ConfigWrite32(bdf, reg, original);
                        continue;
                    }

                    bool io = (low & PciBarBits.IoSpace) != 0;
                    bool is64 = !io && (low & 0x6) == PciBarBits.Memory64;
                    ulong mask = io ? (low & PciBarBits.IoAddressMask) | 0xFFFF_0000 : low & PciBarBits.MemoryAddressMask;
                    if (is64)
                    {
                        q.ConfigWrite32(bdf, reg + 4, 0xFFFF_FFFF);
                        mask |= (ulong)q.ConfigRead32(bdf, reg + 4) << 32;
                    }
                    else
                    {
                        mask |= 0xFFFF_FFFF_0000_0000;
                    }

                    ulong size = ~mask + 1;
                    ulong address;
                    if (io)
                    {
                        address = (nextIo + size - 1) & ~(size - 1);
                        nextIo = address + size;
                    }
                    else
                    {
                        address = (nextMmio + size - 1) & ~(size - 1);
                        nextMmio = address + size;
                    }

                    q.ConfigWrite32(bdf, reg, (uint)address);
                    if (is64)
                    {
                        q.ConfigWrite32(bdf, reg + 4, (uint)(address >> 32));
                    }

                    addresses[bar] = address;
                    sizes[bar] = size;
                    if (is64)
                    {
                        bar++;
                    }
                }

                ushort command = (ushort)(PciCommand.MemorySpace | PciCommand.IoSpace | PciCommand.BusMaster);
                q.ConfigWrite16(bdf, PciConfig.Command, command);
                uint classCode = q.ConfigRead32(bdf, PciConfig.RevisionId) >> 8;
                found.Add(new EnumeratedFunction(bdf, (ushort)id, (ushort)(id >> 16), classCode, addresses, sizes));
            }
        }

        return found;
    }
}
