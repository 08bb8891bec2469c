namespace ManagedVmm.Virtio.Spec;

/// <summary>Virtio device IDs (virtio 1.2 §5 "Device Types"); the ones this project uses or tests with.</summary>
public static class VirtioDeviceId
{
    public const ushort Net = 1;
    public const ushort Block = 2;
    public const ushort Console = 3;
    public const ushort Entropy = 4;

    /// <summary>virtio-iommu (§5.13).</summary>
    public const ushort Iommu = 23;
}
