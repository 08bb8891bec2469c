using System.Buffers.Binary;
using ManagedVmm.Core;
using ManagedVmm.Pci;
using ManagedVmm.Pci.Spec;

namespace ManagedVmm.Machine.Boot;

/// <summary>One BAR as the VMM assigned it.</summary>
public readonly record struct PciBarAssignment(Bdf Function, int Bar, PciBarKind Kind, ulong Address, ulong Size);

/// <summary>
/// The <c>--no-firmware</c> path's stand-in for firmware enumeration: gives every BAR of every placed function an
/// address — memory BARs (64-bit ones too, upper half 0) inside the 32-bit MMIO window
/// (<see cref="PlatformLayout.PciMmioWindowBase"/>–<see cref="PlatformLayout.PciMmioWindowEnd"/>), I/O BARs from
/// port <see cref="IoBase"/> — each naturally aligned, largest first so alignment wastes nothing, then enables
/// memory and I/O decoding (where the function has such BARs) and bus mastering. It writes configuration space
/// through the bus exactly as firmware would, so the BAR windows are mapped by the usual path.
/// </summary>
public static class PciResourceAssigner
{
    /// <summary>First I/O port handed to I/O BARs (clear of the legacy ports below it).</summary>
    public const ushort IoBase = 0xC000;

    public const uint IoEnd = 0x1_0000;

    public static IReadOnlyList<PciBarAssignment> AssignAll(PciBus bus)
    {
        var bars = new List<(PciFunction Function, PciBar Bar)>();
        foreach (var f in bus.Functions)
        {
            foreach (var bar in f.Bars)
            {
                if (bar != null)
                {
                    bars.Add((f, bar));
                }
            }
        }

        // Largest first; ties in BDF and BAR order, so the result is the same every run.
        var ordered = bars
            .OrderByDescending(b => b.Bar.Size)
            .ThenBy(b => b.Function.Address.RequesterId)
            .ThenBy(b => b.Bar.Index)
            .ToList();
        ulong nextMemory = PlatformLayout.PciMmioWindowBase;
        ulong nextIo = IoBase;
        var result = new List<PciBarAssignment>();
        foreach (var (function, bar) in ordered)
        {
            ulong address;
            if (bar.IsMemory)
            {
                address = AlignUp(nextMemory, bar.Size);
                if (address + bar.Size > PlatformLayout.PciMmioWindowEnd)
                {
                    throw new MachineConfigurationException(
                        $"{function.Address} {function.Name} BAR{bar.Index} (0x{bar.Size:x} bytes) does not fit in the 32-bit PCI MMIO window");
                }

                nextMemory = address + bar.Size;
            }
            else
            {
                address = AlignUp(nextIo, bar.Size);
                if (address + bar.Size > IoEnd)
                {
                    throw new MachineConfigurationException($"{function.Address} {function.Name} BAR{bar.Index}: I/O port space exhausted");
                }

                nextIo = address + bar.Size;
            }

            WriteBar(bus, function, bar, address);
            result.Add(new PciBarAssignment(function.Address, bar.Index, bar.Kind, address, bar.Size));
        }

        Span<byte> b = stackalloc byte[2];
        foreach (var f in bus.Functions)
        {
            var command = f.Command | PciCommand.BusMaster;
            foreach (var bar in f.Bars)
            {
                if (bar != null)
                {
                    command |= bar.IsMemory ? PciCommand.MemorySpace : PciCommand.IoSpace;
                }
            }

            BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)command);
            bus.ConfigWrite(f.Address, PciConfig.Command, b);
        }

        return result;
    }

    private static void WriteBar(PciBus bus, PciFunction function, PciBar bar, ulong address)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)address);
        bus.ConfigWrite(function.Address, PciConfig.BarOffset(bar.Index), b);
        if (bar.Kind == PciBarKind.Memory64)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)(address >> 32));
            bus.ConfigWrite(function.Address, PciConfig.BarOffset(bar.Index + 1), b);
        }
    }

    private static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);
}
