using System.Text.Json;
using System.Text.Json.Nodes;
using ManagedVmm.Core;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Core.Dma;
using ManagedVmm.Pci;
using ManagedVmm.Virtio.Transport;
using Microsoft.Extensions.Options;

namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>
/// The virtio-iommu-pci function (1af4:1057, class 08:80:00): the virtio-pci transport carrying
/// <see cref="VirtioIommuDevice"/>, plus what only the PCI function can be —
/// <list type="bullet">
/// <item>the DMA seam's <see cref="IDmaTranslator"/> (so the machine describes it as an IOMMU in the ACPI VIOT and
/// every other function's DMA view is translated by it);</item>
/// <item>the place where the engine learns its own address and the bus topology (<see cref="OnPlacing"/>, before
/// any DMA view is made, so the IOMMU's own queues are never put behind itself);</item>
/// <item>an <see cref="IStateReporter"/> for <c>managedvmm inspect</c>.</item>
/// </list>
/// </summary>
public sealed class VirtioIommuPciFunction : VirtioPciFunction, IDmaTranslator, IStateReporter
{
    /// <summary>Mappings listed per domain by <see cref="CaptureState"/> (a guest can create a million).</summary>
    public const int MaxMappingsShownPerDomain = 64;

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false };

    private readonly VirtioIommuDevice _device;
    private readonly VirtioIommuTranslator _translator;

    public VirtioIommuPciFunction(VirtioIommuDevice device, IOptionsMonitor<VirtioPciOptions> options)
        : this(device, options.Get(VirtioPciOptions.NameFor<VirtioIommuDevice>()))
    {
    }

    private VirtioIommuPciFunction(VirtioIommuDevice device, VirtioPciOptions options)
        : base(device, options)
    {
        _device = device;
        _translator = device.Iommu.Translator;
    }

    /// <summary>Builds the function without DI (device-level tests, benchmarks).</summary>
    public static VirtioIommuPciFunction Create(VirtioIommuDevice device, VirtioPciOptions? options = null) =>
        new(device, options ?? new VirtioPciOptions());

    public VirtioIommu Iommu => _device.Iommu;

    public VirtioIommuDevice IommuDevice => _device;

    public string StateName => "virtio-iommu";

    public bool Covers(Bdf requester) => _translator.Covers(requester);

    public DmaTranslation Translate(Bdf requester, ulong iova, ulong length, DmaAccess access) =>
        _translator.Translate(requester, iova, length, access);

    public JsonObject CaptureState()
    {
        var state = new JsonObject
        {
            ["deviceStatus"] = Status.ToString(),
            ["driverFeatures"] = $"0x{DriverFeatures:x}",
            ["configGeneration"] = (int)ConfigGeneration,
        };
        var queues = new JsonArray();
        foreach (var q in Queues)
        {
            queues.Add(new JsonObject
            {
                ["index"] = q.Index,
                ["name"] = q.Index == Spec.VirtioIommuIds.RequestQueue ? "requestq" : "eventq",
                ["enabled"] = q.Enabled,
                ["size"] = (int)q.Size,
                ["lastAvailIdx"] = (int)q.LastAvailIdx,
                ["usedIdx"] = (int)q.UsedIdx,
                ["kicks"] = q.Kicks,
                ["msixVector"] = (int)QueueMsixVector(q.Index),
            });
        }

        state["queues"] = queues;
        state["rejectedEventBuffers"] = _device.RejectedEventBuffers;
        state["iommu"] = JsonSerializer.SerializeToNode(Iommu.Snapshot(MaxMappingsShownPerDomain), JsonOptions);
        return state;
    }

    protected override void OnPlacing(PciPlatform platform) => Iommu.Place(Address, platform.Topology);
}
