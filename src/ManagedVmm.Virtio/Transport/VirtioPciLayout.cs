namespace ManagedVmm.Virtio.Transport;

/// <summary>
/// Where the virtio structures sit in the one 64-bit memory BAR (offsets chosen here, announced to the driver
/// by the vendor capabilities; virtio 1.2 §4.1.4). Each structure gets its own 4 KiB page, as QEMU lays them out.
/// </summary>
public static class VirtioPciLayout
{
    /// <summary>The BAR slot (QEMU's modern BAR is 4 as well; 4 and 5 hold the 64-bit address).</summary>
    public const int Bar = 4;

    public const ulong CommonCfgOffset = 0x0000;

    /// <summary>Bytes of common configuration announced (up to queue_device; later fields need features not offered).</summary>
    public const uint CommonCfgLength = Spec.VirtioPciCommonCfg.Size;

    public const ulong IsrOffset = 0x1000;
    public const uint IsrLength = 1;

    public const ulong DeviceCfgOffset = 0x2000;

    /// <summary>Largest device configuration: one page (Linux maps at most that).</summary>
    public const int MaxDeviceConfigSize = 0x1000;

    public const ulong NotifyOffset = 0x3000;

    /// <summary>notify_off_multiplier: each queue has its own 4-byte doorbell (queue_notify_off = queue index).</summary>
    public const uint NotifyOffMultiplier = 4;

    /// <summary>
    /// Queues per device: the notify area and per-queue state are sized from it. 1024 queues fill the notify
    /// page; no device here needs more.
    /// </summary>
    public const int MaxQueues = 1024;

    public const ulong MsixTableOffset = 0x4000;

    public static ulong PageAlign(ulong value) => (value + 0xFFF) & ~0xFFFUL;
}
