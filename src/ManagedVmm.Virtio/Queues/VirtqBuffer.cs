namespace ManagedVmm.Virtio.Queues;

/// <summary>One non-empty buffer of a validated chain: where it is in the device's DMA view and how long it is.</summary>
public readonly record struct VirtqBuffer(ulong Address, uint Length);

/// <summary>What <see cref="SplitVirtqueue.TryPop(VirtqueueChain)"/> found.</summary>
public enum VirtqueuePopResult
{
    /// <summary>A valid chain was copied into the caller's <see cref="VirtqueueChain"/>.</summary>
    Chain,

    /// <summary>No available buffers (malformed chains met on the way were already returned with used length 0).</summary>
    Empty,

    /// <summary>The queue is not enabled or the driver has not set DRIVER_OK.</summary>
    NotReady,

    /// <summary>The ring is broken; the device needs a reset.</summary>
    Broken,
}
