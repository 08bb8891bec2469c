namespace ManagedVmm.Virtio.Spec;

/// <summary>
/// Split virtqueue layout (virtio 1.2 §2.7): sizes, alignments and field offsets of the descriptor table, the
/// available ("driver") ring and the used ("device") ring.
/// </summary>
public static class SplitRing
{
    /// <summary>Queue Size is a power of 2 no larger than 32768 (§2.7).</summary>
    public const int MaxQueueSize = 32768;

    /// <summary>Descriptor Table alignment (§2.7, table "Virtqueue Part Alignment").</summary>
    public const ulong DescAlignment = 16;

    /// <summary>Available Ring alignment.</summary>
    public const ulong AvailAlignment = 2;

    /// <summary>Used Ring alignment.</summary>
    public const ulong UsedAlignment = 4;

    /// <summary><c>struct virtq_avail</c>: <c>le16 flags</c> at 0.</summary>
    public const int AvailFlags = 0;

    /// <summary><c>struct virtq_avail</c>: <c>le16 idx</c> at 2.</summary>
    public const int AvailIdx = 2;

    /// <summary><c>struct virtq_avail</c>: <c>le16 ring[]</c> from 4.</summary>
    public const int AvailRing = 4;

    /// <summary><c>struct virtq_used</c>: <c>le16 flags</c> at 0.</summary>
    public const int UsedFlags = 0;

    /// <summary><c>struct virtq_used</c>: <c>le16 idx</c> at 2.</summary>
    public const int UsedIdx = 2;

    /// <summary><c>struct virtq_used</c>: <c>struct virtq_used_elem ring[]</c> from 4.</summary>
    public const int UsedRing = 4;

    /// <summary><c>struct virtq_used_elem</c>: <c>le32 id; le32 len</c>.</summary>
    public const int UsedElemSize = 8;

    /// <summary>Bytes of the descriptor table for <paramref name="queueSize"/> entries.</summary>
    public static ulong DescTableSize(int queueSize) => (ulong)queueSize * VirtqDesc.Size;

    /// <summary>Bytes of the available ring including <c>used_event</c> (present with EVENT_IDX; always reserved here).</summary>
    public static ulong AvailRingSize(int queueSize) => 6 + (2 * (ulong)queueSize);

    /// <summary>Bytes of the used ring including <c>avail_event</c>.</summary>
    public static ulong UsedRingSize(int queueSize) => 6 + (8 * (ulong)queueSize);

    /// <summary>Offset of <c>used_event</c> in the available ring (§2.7.10).</summary>
    public static ulong UsedEventOffset(int queueSize) => AvailRing + (2 * (ulong)queueSize);

    /// <summary>Offset of <c>avail_event</c> in the used ring (§2.7.8).</summary>
    public static ulong AvailEventOffset(int queueSize) => UsedRing + (8 * (ulong)queueSize);

    /// <summary>
    /// <c>vring_need_event</c> (§2.7.7.2): with EVENT_IDX, notify when <paramref name="eventIdx"/> lies in the
    /// half-open window (<paramref name="oldIdx"/>, <paramref name="newIdx"/>], all free-running u16.
    /// </summary>
    public static bool NeedEvent(ushort eventIdx, ushort newIdx, ushort oldIdx) =>
        (ushort)(newIdx - eventIdx - 1) < (ushort)(newIdx - oldIdx);
}

/// <summary>Available ring flags (§2.7.6).</summary>
[Flags]
public enum VirtqAvailFlags : ushort
{
    None = 0,

    /// <summary>VIRTQ_AVAIL_F_NO_INTERRUPT (1): the driver does not want used-buffer notifications (without EVENT_IDX).</summary>
    NO_INTERRUPT = 1,
}

/// <summary>Used ring flags (§2.7.8).</summary>
[Flags]
public enum VirtqUsedFlags : ushort
{
    None = 0,

    /// <summary>VIRTQ_USED_F_NO_NOTIFY (1): the device does not want available-buffer notifications (without EVENT_IDX).</summary>
    NO_NOTIFY = 1,
}
