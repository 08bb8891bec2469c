using ManagedVmm.Core;

namespace ManagedVmm.Pci;

/// <summary>
/// Which functions exist, for devices that must know (virtio-iommu answers ATTACH and PROBE of an endpoint
/// that does not exist with NOENT). Handed over at placement, so no device depends on the bus itself.
/// </summary>
public interface IPciTopology
{
    bool Exists(Bdf bdf);
}
