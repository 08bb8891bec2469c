using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;

namespace ManagedVmm.Core.Memory;

/// <summary>
/// Guest-physical address space as the CPU sees it: RAM where there is RAM, the MMIO bus everywhere else,
/// and read-only ranges (the firmware area) where writes are dropped and reported. Devices never use this
/// view: their DMA reaches RAM only, through <see cref="Dma.IDmaMemoryProvider"/>.
/// </summary>
public sealed class SystemMemory : IGuestMemory
{
    private readonly List<RamRegion> _readOnly = [];
    private readonly GuestErrorLog _guestErrors;

    public SystemMemory(GuestRam ram, MmioBus mmio, GuestErrorLog guestErrors)
    {
        Ram = ram;
        Mmio = mmio;
        _guestErrors = guestErrors;
    }

    public GuestRam Ram { get; }

    public MmioBus Mmio { get; }

    /// <summary>Makes a RAM range read-only to the CPU (the loader writes it through <see cref="Ram"/>).</summary>
    public void AddReadOnlyRange(ulong start, ulong length) => _readOnly.Add(new RamRegion(start, length));

    public bool IsReadOnly(ulong address, ulong length)
    {
        foreach (var r in _readOnly)
        {
            if (address < r.End && r.GuestBase < address + length)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads RAM, or dispatches to MMIO (which answers all-ones where nobody is). Always succeeds.</summary>
    public bool TryRead(ulong address, Span<byte> destination)
    {
        if (!Ram.TryRead(address, destination))
        {
            Mmio.Read(address, destination);
        }

        return true;
    }

    /// <summary>Writes RAM (unless read-only) or dispatches to MMIO. Always succeeds from the CPU's point of view.</summary>
    public bool TryWrite(ulong address, ReadOnlySpan<byte> source)
    {
        if (Ram.Contains(address))
        {
            if (_readOnly.Count != 0 && IsReadOnly(address, (ulong)source.Length))
            {
                _guestErrors.Report("memory", $"{source.Length}-byte write to read-only 0x{address:x} dropped");
                return true;
            }

            if (Ram.TryWrite(address, source))
            {
                return true;
            }
        }

        Mmio.Write(address, source);
        return true;
    }
}
