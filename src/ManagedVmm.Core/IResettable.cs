namespace ManagedVmm.Core;

/// <summary>Which reset is happening, where a spec tells them apart (virtio-iommu's <c>bypass</c> field does).</summary>
public enum ResetKind
{
    /// <summary>The driver reset one device (virtio status 0, NVMe CC.EN 1→0, PCI FLR).</summary>
    Device,

    /// <summary>The whole machine was reset (power-on state).</summary>
    System,
}

/// <summary>
/// The one reset mechanism (ARCHITECTURE §2): the machine calls <see cref="Reset"/> on every registered
/// <see cref="IResettable"/> for a system reset; devices call their own reset for a device reset.
/// </summary>
public interface IResettable
{
    void Reset(ResetKind kind);
}
