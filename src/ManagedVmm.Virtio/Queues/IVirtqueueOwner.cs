namespace ManagedVmm.Virtio.Queues;

/// <summary>
/// What a <see cref="SplitVirtqueue"/> needs from its transport: somewhere to report guest mistakes, a way to
/// declare the device broken (DEVICE_NEEDS_RESET), and a way to send a used-buffer notification.
/// </summary>
public interface IVirtqueueOwner
{
    /// <summary>A guest mistake confined to one chain; the queue carries on.</summary>
    void ReportGuestError(SplitVirtqueue queue, string message);

    /// <summary>The ring itself is unusable (virtio 1.2 §2.1.2): the transport sets DEVICE_NEEDS_RESET.</summary>
    void OnQueueBroken(SplitVirtqueue queue, string reason);

    /// <summary>The queue decided the driver wants a used-buffer notification (after suppression).</summary>
    void SignalUsedBuffers(SplitVirtqueue queue);
}
