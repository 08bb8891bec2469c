using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Dma;
using ManagedVmm.Core.Interrupts;
using ManagedVmm.Core.Time;

namespace ManagedVmm.Pci;

/// <summary>
/// PCI bus 0: the functions placed on it, configuration access by <see cref="Bdf"/> (absent functions read
/// all-ones, as a master abort does), and the BAR windows on the MMIO and port buses, re-mapped whenever a
/// function's Command register or a BAR changes. A BAR the guest places over another range is not decoded and
/// is reported as a guest error.
/// </summary>
public sealed class PciBus : IResettable, IPciTopology
{
    public const int DevicesPerBus = 32;
    public const int FunctionsPerDevice = 8;

    private readonly PciFunction?[] _functions = new PciFunction?[DevicesPerBus * FunctionsPerDevice];
    private readonly MmioBus _mmio;
    private readonly PortIoBus _pio;
    private readonly PciPlatform _platform;
    private readonly GuestErrorLog _guestErrors;
    private readonly EventScheduler? _clock;
    private readonly PciAccessCosts? _accessCosts;

    public PciBus(MmioBus mmio, PortIoBus pio, IDmaMemoryProvider dmaMemory, IMsiSink msiSink, GuestErrorLog guestErrors)
        : this(mmio, pio, dmaMemory, msiSink, guestErrors, null, null)
    {
    }

    /// <summary>
    /// A bus that charges BAR accesses on <paramref name="clock"/>: each function placed gets its
    /// <see cref="PciFunction.AccessCostNs"/> from <paramref name="accessCosts"/> (when given).
    /// </summary>
    public PciBus(MmioBus mmio, PortIoBus pio, IDmaMemoryProvider dmaMemory, IMsiSink msiSink, GuestErrorLog guestErrors, EventScheduler? clock, PciAccessCosts? accessCosts = null)
    {
        _mmio = mmio;
        _pio = pio;
        _guestErrors = guestErrors;
        _clock = clock;
        _accessCosts = accessCosts;
        _platform = new PciPlatform(dmaMemory, msiSink, guestErrors, this);
    }

    public bool Exists(Bdf bdf) => Find(bdf) != null;

    /// <summary>Placed functions in BDF order.</summary>
    public IEnumerable<PciFunction> Functions
    {
        get
        {
            foreach (var f in _functions)
            {
                if (f != null)
                {
                    yield return f;
                }
            }
        }
    }

    /// <summary>Places a function at 00:<paramref name="device"/>.<paramref name="function"/>; a taken slot is a host configuration error.</summary>
    public void Place(PciFunction pciFunction, int device, int function = 0)
    {
        var bdf = new Bdf(0, device, function);
        if (_functions[bdf.RequesterId] is { } existing)
        {
            throw new BusRangeConflictException($"PCI {bdf} is taken by {existing.Name}; cannot place {pciFunction.Name}");
        }

        _functions[bdf.RequesterId] = pciFunction;
        if (_accessCosts != null)
        {
            pciFunction.AccessCostNs = _accessCosts.CostOf(pciFunction.Name);
        }

        pciFunction.Place(bdf, _platform);
        pciFunction.DecodeChanged += Remap;
        if (function != 0 && _functions[bdf.RequesterId & ~7] is { } function0)
        {
            // Function 0 announces a multi-function device (PCI 3.0 §6.2.1, Header Type bit 7).
            function0.Config.SetByte(Spec.PciConfig.HeaderType, (byte)(function0.Config.GetByte(Spec.PciConfig.HeaderType) | 0x80));
        }

        Remap(pciFunction);
    }

    /// <summary>The lowest device number on bus 0 with no function 0, or −1 when the bus is full.</summary>
    public int NextFreeDevice()
    {
        for (int d = 0; d < DevicesPerBus; d++)
        {
            if (_functions[d * FunctionsPerDevice] == null)
            {
                return d;
            }
        }

        return -1;
    }

    public PciFunction? Find(Bdf bdf) => bdf.Bus == 0 ? _functions[bdf.RequesterId] : null;

    /// <summary>Configuration read; a function that does not exist reads all-ones.</summary>
    public void ConfigRead(Bdf bdf, int offset, Span<byte> data)
    {
        if (Find(bdf) is { } f)
        {
            f.ReadConfig(offset, data);
        }
        else
        {
            data.Fill(0xFF);
        }
    }

    /// <summary>Configuration write; a function that does not exist ignores it.</summary>
    public void ConfigWrite(Bdf bdf, int offset, ReadOnlySpan<byte> data) => Find(bdf)?.WriteConfig(offset, data);

    public void Reset(ResetKind kind)
    {
        foreach (var f in Functions)
        {
            f.Reset(kind);
        }
    }

    private void Remap(PciFunction function)
    {
        var command = function.Command;
        foreach (var bar in function.Bars)
        {
            if (bar == null)
            {
                continue;
            }

            ulong address = function.BarAddress(bar.Index);
            bool decode = bar.IsMemory ? (command & Spec.PciCommand.MemorySpace) != 0 : (command & Spec.PciCommand.IoSpace) != 0;
            ulong? wanted = decode && address != 0 ? address : null;
            if (bar.MappedAt == wanted && (!bar.IsMemory || bar.MappedCostNs == ChargedCost(function)))
            {
                continue;
            }

            Unmap(bar);
            if (wanted is ulong at)
            {
                Map(function, bar, at);
            }
        }
    }

    private void Map(PciFunction function, PciBar bar, ulong address)
    {
        string name = $"{function.Address} {function.Name} BAR{bar.Index}";
        string? conflict;
        long cost = ChargedCost(function);
        IMmioDevice? memoryHandler = !bar.IsMemory ? null
            : cost > 0 ? new ChargedMmioDevice(bar.MemoryHandler!, _clock!, cost)
            : bar.MemoryHandler!;
        bool ok = bar.IsMemory
            ? _mmio.TryAdd(address, bar.Size, memoryHandler!, name, out conflict)
            : _pio.TryAdd(address, bar.Size, bar.IoHandler!, name, out conflict);
        if (ok)
        {
            bar.MappedAt = address;
            bar.MappedMemoryHandler = memoryHandler;
            bar.MappedCostNs = cost;
        }
        else
        {
            _guestErrors.Report("pci", $"{name} at 0x{address:x} (size 0x{bar.Size:x}) overlaps {conflict}: not decoded");
        }
    }

    private void Unmap(PciBar bar)
    {
        if (bar.MappedAt is ulong at)
        {
            if (bar.IsMemory)
            {
                _mmio.Remove(at, bar.MappedMemoryHandler!);
            }
            else
            {
                _pio.Remove(at, bar.IoHandler!);
            }

            bar.MappedAt = null;
            bar.MappedMemoryHandler = null;
            bar.MappedCostNs = 0;
        }
    }

    /// <summary>The cost charged per access to the function's memory BARs: 0 on a bus without a clock.</summary>
    private long ChargedCost(PciFunction function) => _clock == null ? 0 : function.AccessCostNs;
}
