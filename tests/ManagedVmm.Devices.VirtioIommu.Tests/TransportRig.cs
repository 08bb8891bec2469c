using ManagedVmm.Core;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Memory;
using ManagedVmm.Pci;
using ManagedVmm.Testing;
using ManagedVmm.Testing.Virtio;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace ManagedVmm.Devices.VirtioIommu.Tests;

/// <summary>An endpoint that can DMA on demand through its own (translated) view.</summary>
internal sealed class DmaEndpoint() : PciFunction("endpoint", new PciIdentity(0x1234, 0x0001, 0x0B_40_00, 1, 0x1234, 1))
{
    public IGuestMemoryView Memory => Dma;
}

/// <summary>
/// The virtio-iommu-pci function on a device-level bed, as QEMU's qtest places it: the host bridge at 00:00.0
/// (endpoint 0), a DMA-capable endpoint at 00:03.0 (0x18), the IOMMU at 00:04.0. The bed is enumerated like
/// firmware would (BARs, decode and bus mastering) and <see cref="Driver"/> talks to the IOMMU through its BAR.
/// </summary>
internal sealed class TransportRig : IDisposable
{
    public const ushort EndpointId = 0x18;
    public const ushort IommuId = 0x20;

    public TransportRig(Action<VirtioIommuOptions>? configure = null, VirtioIommuCostOptions? costs = null)
    {
        var clock = new Core.Time.EventScheduler();
        var options = new VirtioIommuOptions();
        configure?.Invoke(options);
        EngineErrors = new GuestErrorLog();
        Iommu = new VirtioIommu(MsOptions.Create(options), EngineErrors);
        Device = costs == null ? new VirtioIommuDevice(Iommu) : new VirtioIommuDevice(Iommu, clock, MsOptions.Create(costs));
        Function = VirtioIommuPciFunction.Create(Device);
        Bed = costs == null ? new PciTestBed(translators: [Function]) : new PciTestBed(clock, translators: [Function]);
        Bed.Place(new PciHostBridge(), 0);
        Endpoint = new DmaEndpoint();
        Bed.Place(Endpoint, 3);
        Bed.Place(Function, 4);
        Functions = Bed.PciEnumerate();
        Driver = ViommuTestDriver.Find(Bed, Bed.Alloc, Functions);
    }

    public PciTestBed Bed { get; }

    public GuestErrorLog EngineErrors { get; }

    public VirtioIommu Iommu { get; }

    public VirtioIommuDevice Device { get; }

    public VirtioIommuPciFunction Function { get; }

    public DmaEndpoint Endpoint { get; }

    public IReadOnlyList<EnumeratedFunction> Functions { get; }

    public ViommuTestDriver Driver { get; }

    public VirtioIommuStatistics Stats => Iommu.Statistics;

    /// <summary>The endpoint reads 4 bytes at <paramref name="iova"/>; false when the IOMMU refused.</summary>
    public bool EndpointRead(ulong iova) => Endpoint.Memory.TryRead(iova, new byte[4]);

    public bool EndpointWrite(ulong iova) => Endpoint.Memory.TryWrite(iova, new byte[] { 1, 2, 3, 4 });

    public void Dispose() => Bed.Dispose();
}
