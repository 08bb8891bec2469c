using ManagedVmm.Core;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Dma;
using ManagedVmm.Devices.VirtioIommu.Spec;
using ManagedVmm.Pci;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace ManagedVmm.Devices.VirtioIommu.Tests;

/// <summary>Functions that exist: a fixed set of requester IDs.</summary>
internal sealed class FakeTopology(params ushort[] existing) : IPciTopology
{
    private readonly HashSet<ushort> _existing = [.. existing];

    public bool Exists(Bdf bdf) => _existing.Contains(bdf.RequesterId);
}

/// <summary>
/// A virtio-iommu with the device logic only, as the queue glue would drive it: placed at 00:04.0 (like QEMU's
/// qtest), with the host bridge (endpoint 0) and 00:03.0 (endpoint 0x18, an "NVMe") existing, and every offered
/// feature negotiated unless the test says otherwise. Requests are sent the qtest way: the readable part and a
/// 4-byte writable tail; every reply is checked for used length 4 and zeroed <c>tail.reserved</c>.
/// </summary>
internal sealed class IommuTestBench
{
    public const ushort HostBridge = 0x0000;
    public const ushort Nvme = 0x0018;   // 00:03.0
    public const ushort Self = 0x0020;   // 00:04.0

    public IommuTestBench(Action<VirtioIommuOptions>? configure = null, VirtioIommuFeatures? negotiate = null)
    {
        var options = new VirtioIommuOptions();
        configure?.Invoke(options);
        GuestErrors = new GuestErrorLog();
        Iommu = new VirtioIommu(MsOptions.Create(options), GuestErrors);
        Iommu.Place(Bdf.FromRequesterId(Self), new FakeTopology(HostBridge, Nvme, Self));
        Assert.That(Iommu.AcceptFeatures(negotiate ?? Iommu.OfferedFeatures), Is.True);
    }

    public VirtioIommu Iommu { get; }

    public GuestErrorLog GuestErrors { get; }

    public VirtioIommuStatistics Stats => Iommu.Statistics;

    public VirtioIommuStatus Send(byte[] readable)
    {
        var tail = new byte[] { 0xAA, 0xAA, 0xAA, 0xAA };
        uint used = Iommu.Requests.Process(readable, tail);
        Assert.That(used, Is.EqualTo(4u), "used length of a 4-byte tail");
        Assert.That(tail[1..], Is.All.EqualTo(0), "tail.reserved must be zero");
        return (VirtioIommuStatus)tail[0];
    }

    public VirtioIommuStatus Attach(uint domain, uint endpoint, uint flags = 0) => Send(IommuRequests.AttachReq(domain, endpoint, flags));

    public VirtioIommuStatus Detach(uint domain, uint endpoint) => Send(IommuRequests.DetachReq(domain, endpoint));

    public VirtioIommuStatus Map(uint domain, ulong start, ulong end, ulong phys, VirtioIommuMapFlags flags = VirtioIommuMapFlags.Read) =>
        Send(IommuRequests.MapReq(domain, start, end, phys, (uint)flags));

    public VirtioIommuStatus Unmap(uint domain, ulong start, ulong end) => Send(IommuRequests.UnmapReq(domain, start, end));

    public DmaTranslation Translate(ushort requester, ulong iova, ulong length, DmaAccess access) =>
        Iommu.Translator.Translate(Bdf.FromRequesterId(requester), iova, length, access);

    /// <summary>Mappings of a domain, in order (empty when the domain does not exist).</summary>
    public List<IommuMapping> MappingsOf(uint domain)
    {
        var list = new List<IommuMapping>();
        if (Iommu.Domains.TryGetDomain(domain, out var d))
        {
            d.Mappings.CopyTo(list);
        }

        return list;
    }
}
