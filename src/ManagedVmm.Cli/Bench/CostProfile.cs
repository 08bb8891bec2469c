using ManagedVmm.Devices.Nvme;
using ManagedVmm.Devices.VirtioIommu;
using ManagedVmm.Machine;
using ManagedVmm.Pci;
using Microsoft.Extensions.DependencyInjection;

namespace ManagedVmm.Cli.Bench;

/// <summary>
/// A named set of cost-model figures (ARCHITECTURE §6; sources in docs/bench.md). <c>seed</c>: the NVMe passed
/// through to a KVM guest (its doorbells plain MMIO), the virtio-iommu emulated (each notify an exit, each MAP/UNMAP
/// a VFIO map/unmap). <c>emulated-nvme</c>: the same with the NVMe emulated too (doorbells exit). <c>zero</c>: no
/// costs at all (media latency included), the functional baseline.
/// </summary>
public sealed record CostProfile(
    string Name,
    long InstructionTimePs,
    long ExitNs,
    long PassthroughMmioNs,
    bool NvmePassedThrough,
    long InterruptDeliveryNs,
    long MapRequestNs,
    long MapPageNs,
    long UnmapRequestNs,
    long UnmapPageNs,
    long OtherRequestNs,
    bool NvmeMediaLatency)
{
    public static CostProfile Seed { get; } = new("seed", InstructionTimePs: 333, ExitNs: 4_000, PassthroughMmioNs: 150,
        NvmePassedThrough: true, InterruptDeliveryNs: 2_000, MapRequestNs: 3_000, MapPageNs: 1_000, UnmapRequestNs: 5_000,
        UnmapPageNs: 500, OtherRequestNs: 1_000, NvmeMediaLatency: true);

    public static CostProfile EmulatedNvme { get; } = Seed with { Name = "emulated-nvme", NvmePassedThrough = false };

    public static CostProfile Zero { get; } = new("zero", 1000, 0, 0, false, 0, 0, 0, 0, 0, 0, false);

    public static IReadOnlyList<CostProfile> All { get; } = [Seed, EmulatedNvme, Zero];

    public static CostProfile? Find(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Registers the machine-level and virtio-iommu costs; the NVMe latency is set by <see cref="ApplyTo(NvmeOptions)"/>.</summary>
    public void ApplyTo(IServiceCollection services)
    {
        var passthrough = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (NvmePassedThrough)
        {
            passthrough.Add("nvme");
        }

        services.AddMachineCosts(new PciAccessCosts { EmulatedNs = ExitNs, PassthroughNs = PassthroughMmioNs, PassthroughFunctions = passthrough }, InterruptDeliveryNs);
        services.AddVirtioIommuCosts(o =>
        {
            o.MapRequestNs = MapRequestNs;
            o.MapPageNs = MapPageNs;
            o.UnmapRequestNs = UnmapRequestNs;
            o.UnmapPageNs = UnmapPageNs;
            o.OtherRequestNs = OtherRequestNs;
        });
    }

    /// <summary>Media latency: the NVMe model's defaults (reference nvme.md §11.1), or none for <c>zero</c>.</summary>
    public void ApplyTo(NvmeOptions nvme)
    {
        if (!NvmeMediaLatency)
        {
            nvme.Latency = NvmeLatencyOptions.Zero;
        }
    }
}
