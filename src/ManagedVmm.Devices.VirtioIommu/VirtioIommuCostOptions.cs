namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>
/// The cost model's price of virtio-iommu requests (ARCHITECTURE §6): the virtual time the host side spends on a
/// request before its used element becomes visible to the driver. MAP and UNMAP cost what a VMM with VFIO under it
/// pays — an ioctl, pinning or unpinning the pages, programming the host IOMMU, and on UNMAP invalidating its
/// IOTLB — per request and per page of the range. Every figure defaults to 0: the device completes requests
/// during the notify, as without a cost model. The named profiles of <c>managedvmm bench</c> supply figures and
/// their sources (docs/bench.md).
/// </summary>
public sealed class VirtioIommuCostOptions
{
    /// <summary>Largest number of pages one request is charged for (bounds the time a hostile range can cost).</summary>
    public const long MaxChargedPages = 1L << 20;

    /// <summary>Fixed virtual ns per successful MAP (VMM handling + VFIO MAP_DMA ioctl + host page-table edit).</summary>
    public long MapRequestNs { get; set; }

    /// <summary>Virtual ns per 4 KiB page of a successful MAP (pinning and a host IOMMU PTE).</summary>
    public long MapPageNs { get; set; }

    /// <summary>Fixed virtual ns per successful UNMAP (VFIO UNMAP_DMA ioctl + host IOTLB invalidation and sync).</summary>
    public long UnmapRequestNs { get; set; }

    /// <summary>Virtual ns per 4 KiB page of a successful UNMAP (unpinning and clearing a PTE).</summary>
    public long UnmapPageNs { get; set; }

    /// <summary>Virtual ns for every other request, and for MAP/UNMAP that fail (VMM handling only).</summary>
    public long OtherRequestNs { get; set; }

    /// <summary>True when every figure is 0: requests complete during the notify.</summary>
    public bool IsZero => MapRequestNs == 0 && MapPageNs == 0 && UnmapRequestNs == 0 && UnmapPageNs == 0 && OtherRequestNs == 0;

    /// <summary>A problem with the figures, or null.</summary>
    public string? Validate() =>
        MapRequestNs < 0 || MapPageNs < 0 || UnmapRequestNs < 0 || UnmapPageNs < 0 || OtherRequestNs < 0
            ? "virtio-iommu: request costs must not be negative"
            : null;

    /// <summary>The virtual ns one request costs: its kind, whether it succeeded, and the bytes of its range.</summary>
    public long CostOf(Spec.VirtioIommuRequestType type, bool succeeded, ulong rangeBytes)
    {
        long pages = (long)Math.Min((rangeBytes + 4095) / 4096, (ulong)MaxChargedPages);
        return (type, succeeded) switch
        {
            (Spec.VirtioIommuRequestType.Map, true) => MapRequestNs + (pages * MapPageNs),
            (Spec.VirtioIommuRequestType.Unmap, true) => UnmapRequestNs + (pages * UnmapPageNs),
            _ => OtherRequestNs,
        };
    }
}
