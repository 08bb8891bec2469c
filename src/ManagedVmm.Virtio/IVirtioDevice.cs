using ManagedVmm.Core;
using ManagedVmm.Core.Memory;
using ManagedVmm.Virtio.Queues;

namespace ManagedVmm.Virtio;

/// <summary>
/// A virtio device as the transport sees it (virtio 1.2 §2–§3), independent of PCI: what it is, its queues, the
/// features it offers, its device-specific configuration, and what it does when the driver is ready, kicks a
/// queue, or resets it. The transport (<see cref="Transport.VirtioPciFunction"/>) owns everything generic:
/// the status handshake, feature negotiation, queue setup, notifications, ISR and MSI-X.
/// <para>
/// Devices must never throw on guest input: a malformed request gets the status its spec names and a guest
/// error through <see cref="IVirtioDeviceHost.ReportGuestError"/>; an unrecoverable state calls
/// <see cref="IVirtioDeviceHost.NeedsReset"/>.
/// </para>
/// </summary>
public interface IVirtioDevice
{
    /// <summary>The virtio device ID (§5; 23 for virtio-iommu). The PCI device ID is 0x1040 plus this.</summary>
    ushort DeviceId { get; }

    /// <summary>A short name for listings and logs ("virtio-iommu").</summary>
    string Name { get; }

    /// <summary>The PCI class code (base, sub-class, programming interface) the transport presents.</summary>
    uint PciClassCode { get; }

    /// <summary>Number of virtqueues (num_queues).</summary>
    int QueueCount { get; }

    /// <summary>The largest size of queue <paramref name="queueIndex"/>: a power of two up to 32768.</summary>
    ushort MaxQueueSize(int queueIndex);

    /// <summary>
    /// Device-type and transport feature bits the device offers. The transport adds nothing: a device offers
    /// VERSION_1 itself, and may offer RING_INDIRECT_DESC, RING_EVENT_IDX and ACCESS_PLATFORM, which the queues
    /// implement.
    /// </summary>
    ulong OfferedFeatures { get; }

    /// <summary>
    /// Device-specific check of the driver's feature set when it sets FEATURES_OK, after the transport checked
    /// that it is a subset of the offer and contains VERSION_1. Returns null to accept, or why it refuses.
    /// </summary>
    string? CheckFeatures(ulong driverFeatures);

    /// <summary>Bytes of device-specific configuration (0 when there is none; at most 4096).</summary>
    int ConfigSize { get; }

    /// <summary>Reads device configuration; the transport keeps the range inside <see cref="ConfigSize"/>.</summary>
    void ReadConfig(int offset, Span<byte> data);

    /// <summary>Driver write to device configuration, range inside <see cref="ConfigSize"/>; the device decides what is writable.</summary>
    void WriteConfig(int offset, ReadOnlySpan<byte> data);

    /// <summary>Called once by the transport that carries the device, before anything else.</summary>
    void Attach(IVirtioDeviceHost host);

    /// <summary>The driver set DRIVER_OK: the device may use its queues from now on.</summary>
    void Activate(VirtioActivation activation);

    /// <summary>The driver notified queue <paramref name="queueIndex"/> (a valid index of an enabled, ready queue).</summary>
    void QueueNotify(int queueIndex);

    /// <summary>
    /// Device reset (the driver wrote 0 to device_status, or a PCI function-level reset) or system reset. The
    /// transport resets the queues; the device forgets its activation and resets its own state as its spec says.
    /// </summary>
    void Reset(ResetKind kind);
}

/// <summary>What the transport offers a device: configuration-change and needs-reset signals and the error log.</summary>
public interface IVirtioDeviceHost
{
    /// <summary>
    /// The device changed its configuration: config_generation changes and, once the driver is ready, a
    /// configuration-change interrupt is sent (§2.5.1, §4.1.4.5).
    /// </summary>
    void ConfigChanged();

    /// <summary>Sets DEVICE_NEEDS_RESET and, after DRIVER_OK, sends a configuration-change interrupt (§2.1.2).</summary>
    void NeedsReset(string reason);

    /// <summary>Logs a guest mistake against this device.</summary>
    void ReportGuestError(string message);
}

/// <summary>
/// What a device receives at DRIVER_OK: the negotiated features, every queue (check <see cref="SplitVirtqueue.IsReady"/>:
/// a driver may leave some disabled), and the device's DMA view the queues use.
/// </summary>
public sealed record VirtioActivation(ulong Features, IReadOnlyList<SplitVirtqueue> Queues, IGuestMemory Memory)
{
    /// <summary>True when feature bit <paramref name="bit"/> was negotiated.</summary>
    public bool Has(int bit) => Spec.VirtioFeatures.Has(Features, bit);
}
