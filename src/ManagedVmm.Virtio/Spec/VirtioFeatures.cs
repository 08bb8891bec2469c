namespace ManagedVmm.Virtio.Spec;

/// <summary>
/// Transport-level ("reserved") feature bit numbers (virtio 1.2 §6 "Reserved Feature Bits"). Device-type bits
/// are 0–23 and 50–127 (§2.2); each device keeps its own in its <c>Spec/</c> folder. Use <see cref="Bit"/> to turn
/// a number into a mask.
/// </summary>
public static class VirtioFeatures
{
    /// <summary>VIRTIO_F_INDIRECT_DESC (28): the driver may use indirect descriptor tables (§2.7.5.3).</summary>
    public const int RING_INDIRECT_DESC = 28;

    /// <summary>VIRTIO_F_EVENT_IDX (29): used_event / avail_event notification suppression (§2.7.7, §2.7.10).</summary>
    public const int RING_EVENT_IDX = 29;

    /// <summary>VIRTIO_F_VERSION_1 (32): compliance with virtio 1.x; a modern-only device requires it (§6.1).</summary>
    public const int VERSION_1 = 32;

    /// <summary>VIRTIO_F_ACCESS_PLATFORM (33): the device's DMA goes through the platform's IOMMU (§6).</summary>
    public const int ACCESS_PLATFORM = 33;

    /// <summary>VIRTIO_F_RING_PACKED (34): packed virtqueue layout (§2.8). Not implemented here.</summary>
    public const int RING_PACKED = 34;

    /// <summary>VIRTIO_F_IN_ORDER (35): buffers are used in the order they are made available.</summary>
    public const int IN_ORDER = 35;

    /// <summary>VIRTIO_F_ORDER_PLATFORM (36): memory ordering as the platform orders DMA.</summary>
    public const int ORDER_PLATFORM = 36;

    /// <summary>VIRTIO_F_SR_IOV (37).</summary>
    public const int SR_IOV = 37;

    /// <summary>VIRTIO_F_NOTIFICATION_DATA (38): the driver writes extra data with each notification.</summary>
    public const int NOTIFICATION_DATA = 38;

    /// <summary>VIRTIO_F_NOTIF_CONFIG_DATA (39).</summary>
    public const int NOTIF_CONFIG_DATA = 39;

    /// <summary>VIRTIO_F_RING_RESET (40): per-queue reset through queue_reset.</summary>
    public const int RING_RESET = 40;

    /// <summary>The features this transport and split virtqueue implement and may offer on a device's behalf.</summary>
    public const ulong TransportSupported = (1UL << RING_INDIRECT_DESC) | (1UL << RING_EVENT_IDX) | (1UL << VERSION_1)
        | (1UL << ACCESS_PLATFORM);

    /// <summary>Transport-level bits this implementation does not provide; a device must not offer them.</summary>
    public const ulong TransportUnsupported = (1UL << RING_PACKED) | (1UL << IN_ORDER) | (1UL << ORDER_PLATFORM)
        | (1UL << SR_IOV) | (1UL << NOTIFICATION_DATA) | (1UL << NOTIF_CONFIG_DATA) | (1UL << RING_RESET);

    /// <summary>The mask of feature bit <paramref name="bit"/> (0–63).</summary>
    public static ulong Bit(int bit) => 1UL << bit;

    /// <summary>True when <paramref name="features"/> contains feature bit <paramref name="bit"/>.</summary>
    public static bool Has(ulong features, int bit) => (features & (1UL << bit)) != 0;
}
