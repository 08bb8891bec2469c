using ManagedVmm.Core;
using ManagedVmm.Core.Buses;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Dma;
using ManagedVmm.Core.Memory;
using ManagedVmm.Core.Time;
using ManagedVmm.Pci;

namespace ManagedVmm.Testing;

/// <summary>
/// A device-level bench with no machine and no CPU: test RAM, buses, bus 0 with ECAM at the platform address,
/// CF8/CFC, an MSI recorder, and whichever IOMMUs the test passes as translators. The test places the
/// functions it wants and drives them through configuration space, MMIO and guest memory.
/// </summary>
public sealed class PciTestBed : QtestBase, IDisposable
{
    public PciTestBed(ulong ramSize = 64UL << 20, IEnumerable<IDmaTranslator>? translators = null)
        : this(new Parts(ramSize, translators), new EventScheduler())
    {
    }

    /// <summary>
    /// A bed on a given <paramref name="clock"/> whose bus charges BAR accesses (<see cref="PciFunction.AccessCostNs"/>)
    /// on it — the cost model's tests; devices built before the bed can share the clock.
    /// </summary>
    public PciTestBed(EventScheduler clock, ulong ramSize = 64UL << 20, IEnumerable<IDmaTranslator>? translators = null)
        : this(new Parts(ramSize, translators), clock, chargeAccesses: true)
    {
    }

    private PciTestBed(Parts parts, EventScheduler clock, bool chargeAccesses = false)
        : base(parts.Memory, parts.Ports, clock)
    {
        GuestErrors = parts.GuestErrors;
        Mmio = parts.Mmio;
        Msi = parts.Msi;
        Dma = parts.Dma;
        Pci = chargeAccesses
            ? new PciBus(parts.Mmio, parts.Ports, parts.Dma, parts.Msi, parts.GuestErrors, clock)
            : new PciBus(parts.Mmio, parts.Ports, parts.Dma, parts.Msi, parts.GuestErrors);
        Mmio.Add(EcamBase, 0x1000_0000, new PciEcamWindow(Pci, GuestErrors), "pci-ecam");
        Ports.Add(PciLegacyConfigPorts.AddressPort, PciLegacyConfigPorts.PortCount, new PciLegacyConfigPorts(Pci, GuestErrors), "pci-cf8");
        Alloc = new GuestBufferAllocator(Ram);
    }

    public GuestErrorLog GuestErrors { get; }

    public MmioBus Mmio { get; }

    public RecordingMsiSink Msi { get; }

    public IDmaMemoryProvider Dma { get; }

    public PciBus Pci { get; }

    public GuestBufferAllocator Alloc { get; }

    /// <summary>Places <paramref name="function"/> at 00:<paramref name="device"/>.0 and returns its address.</summary>
    public Bdf Place(PciFunction function, int device)
    {
        Pci.Place(function, device);
        return function.Address;
    }

    public void Dispose() => Ram.Dispose();

    private sealed class Parts
    {
        public Parts(ulong ramSize, IEnumerable<IDmaTranslator>? translators)
        {
            GuestErrors = new GuestErrorLog();
            var ram = GuestRam.CreateFlat(ramSize);
            Mmio = new MmioBus(GuestErrors);
            Ports = new PortIoBus(GuestErrors);
            Memory = new SystemMemory(ram, Mmio, GuestErrors);
            Msi = new RecordingMsiSink();
            Dma = new DmaMemoryProvider(ram, translators ?? []);
        }

        public GuestErrorLog GuestErrors { get; }

        public MmioBus Mmio { get; }

        public PortIoBus Ports { get; }

        public SystemMemory Memory { get; }

        public RecordingMsiSink Msi { get; }

        public IDmaMemoryProvider Dma { get; }
    }
}
