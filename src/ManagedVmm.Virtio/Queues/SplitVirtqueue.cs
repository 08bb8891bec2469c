using System.Buffers.Binary;
using ManagedVmm.Core.Memory;
using ManagedVmm.Virtio.Spec;

namespace ManagedVmm.Virtio.Queues;

/// <summary>
/// The device side of one split virtqueue (virtio 1.2 §2.7): the descriptor table, the available ring and the
/// used ring in the device's DMA view, with free-running 16-bit indices, chains (NEXT), indirect tables
/// (INDIRECT), device-writable buffers (WRITE) and notification suppression both ways (EVENT_IDX's
/// <c>used_event</c>/<c>avail_event</c>, or the NO_INTERRUPT / NO_NOTIFY flags).
/// <para>
/// Guest values are hostile. Two kinds of mistakes are told apart:
/// <list type="bullet">
/// <item>A malformed <b>chain</b> (a loop, more descriptors than the queue or table holds, a NEXT index out of
/// range, a nested or unnegotiated indirect table, a bad indirect table length, a readable buffer after a
/// writable one, an indirect table outside memory) is returned to the driver with used length 0, logged as a
/// guest error, and skipped; the queue carries on.</item>
/// <item>A broken <b>ring</b> (ring memory that cannot be read or written, misaligned ring addresses, an
/// available index more than the queue size ahead, a head index out of range) makes the queue unusable: the
/// owner sets DEVICE_NEEDS_RESET (§2.1.2) and the queue does nothing more until reset.</item>
/// </list>
/// Every loop is bounded by the queue size, so no guest value can make the device spin.
/// </para>
/// </summary>
public sealed class SplitVirtqueue
{
    private readonly IVirtqueueOwner _owner;
    private readonly VirtqueueChain _scratch = new();
    private IGuestMemory? _memory;
    private ushort[] _descStamp = [];
    private ushort[] _indirectStamp = [];
    private ushort _stamp;
    private bool _eventIdx;
    private bool _indirect;
    private ushort _lastAvailIdx;
    private ushort _usedIdx;
    private ushort _signalledUsedIdx;

    public SplitVirtqueue(int index, ushort maxSize, IVirtqueueOwner owner)
    {
        if (maxSize == 0 || maxSize > SplitRing.MaxQueueSize || (maxSize & (maxSize - 1)) != 0)
        {
            Core.ThrowHelper.ThrowArgument(nameof(maxSize), $"queue size {maxSize} is not a power of two from 1 to {SplitRing.MaxQueueSize}");
        }

        Index = index;
        MaxSize = maxSize;
        _owner = owner;
        Size = maxSize;
    }

    public int Index { get; }

    /// <summary>The largest size the device supports (queue_size after reset).</summary>
    public ushort MaxSize { get; }

    /// <summary>The size the driver chose (a power of two no larger than <see cref="MaxSize"/>).</summary>
    public ushort Size { get; set; }

    /// <summary>Descriptor Area (queue_desc).</summary>
    public ulong DescTable { get; set; }

    /// <summary>Driver Area: the available ring (queue_driver).</summary>
    public ulong AvailRing { get; set; }

    /// <summary>Device Area: the used ring (queue_device).</summary>
    public ulong UsedRing { get; set; }

    /// <summary>queue_enable as the driver wrote it.</summary>
    public bool Enabled { get; set; }

    /// <summary>True between a successful <see cref="Activate"/> and the next <see cref="Reset"/>, unless broken.</summary>
    public bool IsReady => _memory != null && !IsBroken;

    /// <summary>The ring was found broken; nothing more happens until reset.</summary>
    public bool IsBroken { get; private set; }

    /// <summary>The next available-ring index the device will consume.</summary>
    public ushort LastAvailIdx => _lastAvailIdx;

    /// <summary>The used-ring index the device has published.</summary>
    public ushort UsedIdx => _usedIdx;

    /// <summary>Available-buffer notifications the transport delivered to this queue.</summary>
    public long Kicks { get; internal set; }

    public long ChainsPopped { get; private set; }

    public long MalformedChains { get; private set; }

    /// <summary>Chains completed after a DMA failure on one of their buffers.</summary>
    public long FaultedChains { get; private set; }

    /// <summary>Used-buffer notifications sent.</summary>
    public long Notifications { get; private set; }

    /// <summary>Used-buffer notifications the driver's suppression (NO_INTERRUPT or used_event) avoided.</summary>
    public long SuppressedNotifications { get; private set; }

    /// <summary>
    /// Starts using the rings (at DRIVER_OK) through <paramref name="memory"/>, the device's DMA view, with the
    /// negotiated <paramref name="features"/>. Checks the layout first: size, alignment (§2.7 table), and that
    /// every ring byte is reachable. Returns false (the queue is then broken) when it is not.
    /// </summary>
    public bool Activate(IGuestMemory memory, ulong features)
    {
        _eventIdx = VirtioFeatures.Has(features, VirtioFeatures.RING_EVENT_IDX);
        _indirect = VirtioFeatures.Has(features, VirtioFeatures.RING_INDIRECT_DESC);
        _lastAvailIdx = 0;
        _usedIdx = 0;
        _signalledUsedIdx = 0;
        string? problem = CheckLayout(memory);
        if (problem != null)
        {
            MarkBroken(problem);
            return false;
        }

        if (_descStamp.Length != Size)
        {
            _descStamp = new ushort[Size];
            _indirectStamp = new ushort[Size];
        }
        else
        {
            Array.Clear(_descStamp);
            Array.Clear(_indirectStamp);
        }

        _stamp = 0;
        _memory = memory;
        return true;
    }

    /// <summary>Back to the state after device reset: not enabled, maximum size, no addresses, no indices.</summary>
    public void Reset()
    {
        _memory = null;
        IsBroken = false;
        Enabled = false;
        Size = MaxSize;
        DescTable = 0;
        AvailRing = 0;
        UsedRing = 0;
        _lastAvailIdx = 0;
        _usedIdx = 0;
        _signalledUsedIdx = 0;
    }

    /// <summary>Pops the next chain into the queue's own scratch chain (valid until the next pop).</summary>
    public bool TryPop(out VirtqueueChain chain)
    {
        chain = _scratch;
        return TryPop(_scratch) == VirtqueuePopResult.Chain;
    }

    /// <summary>
    /// Pops the next available chain into <paramref name="chain"/>. Malformed chains on the way are returned with
    /// used length 0 and skipped, so the result is a valid chain, empty, not ready, or broken.
    /// </summary>
    public VirtqueuePopResult TryPop(VirtqueueChain chain)
    {
        if (IsBroken)
        {
            return VirtqueuePopResult.Broken;
        }

        var memory = _memory;
        if (memory == null)
        {
            return VirtqueuePopResult.NotReady;
        }

        // At most Size chains can be pending, so this loop over malformed chains is bounded.
        for (int attempt = 0; attempt <= Size; attempt++)
        {
            if (!memory.TryReadUInt16(AvailRing + SplitRing.AvailIdx, out ushort availIdx))
            {
                return Break("available ring idx is not readable");
            }

            ushort pending = (ushort)(availIdx - _lastAvailIdx);
            if (pending > Size)
            {
                return Break($"available idx {availIdx} is {pending} ahead of {_lastAvailIdx}, more than the queue size {Size}");
            }

            if (pending == 0)
            {
                PublishAvailEvent(memory);
                return VirtqueuePopResult.Empty;
            }

            ulong slot = AvailRing + SplitRing.AvailRing + (2UL * (ulong)(_lastAvailIdx & (Size - 1)));
            if (!memory.TryReadUInt16(slot, out ushort head))
            {
                return Break("available ring entry is not readable");
            }

            if (head >= Size)
            {
                return Break($"available ring names head descriptor {head}, outside a queue of {Size}");
            }

            _lastAvailIdx++;
            PublishAvailEvent(memory);
            string? malformed = ReadChain(memory, head, chain, out bool ringBroken);
            if (ringBroken)
            {
                return Break(malformed!);
            }

            if (malformed == null)
            {
                ChainsPopped++;
                return VirtqueuePopResult.Chain;
            }

            MalformedChains++;
            _owner.ReportGuestError(this, $"chain at head {head}: {malformed}; returned with used length 0");
            if (!PushUsed(head, 0))
            {
                return VirtqueuePopResult.Broken;
            }
        }

        return VirtqueuePopResult.Empty;
    }

    /// <summary>
    /// Returns <paramref name="chain"/> to the driver with its <see cref="VirtqueueChain.UsedLength"/>; a chain
    /// whose DMA failed goes back with used length 0 and is logged as a guest error.
    /// </summary>
    public void Complete(VirtqueueChain chain)
    {
        if (chain.Faulted)
        {
            FaultedChains++;
            _owner.ReportGuestError(this, $"chain at head {chain.HeadIndex}: a buffer is outside the device's memory view; returned with used length 0");
        }

        Complete(chain.HeadIndex, chain.UsedLength);
    }

    /// <summary>
    /// Returns the chain at <paramref name="head"/> with <paramref name="usedLength"/>: the used element is written
    /// before the used index is published (§2.7.8.2). Does not notify; call <see cref="NotifyIfNeeded"/> after a batch.
    /// </summary>
    public void Complete(ushort head, uint usedLength)
    {
        if (IsReady)
        {
            PushUsed(head, usedLength);
        }
    }

    /// <summary>
    /// Sends a used-buffer notification if buffers were used since the last one and the driver has not suppressed
    /// it: with EVENT_IDX when <c>used_event</c> falls in the newly used range (§2.7.10), otherwise unless the
    /// available ring has NO_INTERRUPT (§2.7.7).
    /// </summary>
    public void NotifyIfNeeded()
    {
        var memory = _memory;
        if (memory == null || IsBroken || _usedIdx == _signalledUsedIdx)
        {
            return;
        }

        bool need;
        if (_eventIdx)
        {
            if (!memory.TryReadUInt16(AvailRing + SplitRing.UsedEventOffset(Size), out ushort usedEvent))
            {
                Break("used_event is not readable");
                return;
            }

            need = SplitRing.NeedEvent(usedEvent, _usedIdx, _signalledUsedIdx);
        }
        else
        {
            if (!memory.TryReadUInt16(AvailRing + SplitRing.AvailFlags, out ushort flags))
            {
                Break("available ring flags are not readable");
                return;
            }

            need = (flags & (ushort)VirtqAvailFlags.NO_INTERRUPT) == 0;
        }

        _signalledUsedIdx = _usedIdx;
        if (need)
        {
            Notifications++;
            _owner.SignalUsedBuffers(this);
        }
        else
        {
            SuppressedNotifications++;
        }
    }

    /// <summary>
    /// Asks the driver not to notify (used ring NO_NOTIFY, §2.7.8) while the device is polling anyway. Only
    /// meaningful without EVENT_IDX; with EVENT_IDX the device publishes <c>avail_event</c> instead.
    /// </summary>
    public void SetNoNotify(bool noNotify)
    {
        if (_memory != null && !IsBroken && !_eventIdx
            && !_memory.TryWriteUInt16(UsedRing + SplitRing.UsedFlags, noNotify ? (ushort)VirtqUsedFlags.NO_NOTIFY : (ushort)0))
        {
            Break("used ring flags are not writable");
        }
    }

    private string? CheckLayout(IGuestMemory memory)
    {
        if (Size == 0 || Size > MaxSize || (Size & (Size - 1)) != 0)
        {
            return $"queue size {Size} is not a power of two up to {MaxSize}";
        }

        if ((DescTable & (SplitRing.DescAlignment - 1)) != 0 || (AvailRing & (SplitRing.AvailAlignment - 1)) != 0
            || (UsedRing & (SplitRing.UsedAlignment - 1)) != 0)
        {
            return $"ring addresses desc 0x{DescTable:x} avail 0x{AvailRing:x} used 0x{UsedRing:x} are misaligned";
        }

        if (!Reachable(memory, DescTable, SplitRing.DescTableSize(Size)))
        {
            return $"descriptor table 0x{DescTable:x} is outside memory";
        }

        if (!Reachable(memory, AvailRing, SplitRing.AvailRingSize(Size)))
        {
            return $"available ring 0x{AvailRing:x} is outside memory";
        }

        if (!Reachable(memory, UsedRing, SplitRing.UsedRingSize(Size)))
        {
            return $"used ring 0x{UsedRing:x} is outside memory";
        }

        return null;
    }

    /// <summary>Reads every byte of a ring area once, in chunks, to check that the DMA view reaches it.</summary>
    private static bool Reachable(IGuestMemory memory, ulong address, ulong length)
    {
        if (address + length < address)
        {
            return false;
        }

        Span<byte> chunk = stackalloc byte[512];
        while (length > 0)
        {
            int n = (int)Math.Min(length, (ulong)chunk.Length);
            if (!memory.TryRead(address, chunk[..n]))
            {
                return false;
            }

            address += (ulong)n;
            length -= (ulong)n;
        }

        return true;
    }

    /// <summary>
    /// Walks the chain at <paramref name="head"/> into <paramref name="chain"/>. Returns null for a valid chain,
    /// otherwise what is wrong; <paramref name="ringBroken"/> says whether the descriptor table itself failed.
    /// </summary>
    private string? ReadChain(IGuestMemory memory, ushort head, VirtqueueChain chain, out bool ringBroken)
    {
        ringBroken = false;
        chain.Begin(Index, head, memory, 2 * Size);
        ushort stamp = NextStamp();
        bool sawWritable = false;
        int index = head;
        Span<byte> raw = stackalloc byte[VirtqDesc.Size];
        for (int count = 0; ; count++)
        {
            if (count >= Size || _descStamp[index] == stamp)
            {
                return count >= Size ? $"more than {Size} descriptors" : $"descriptor {index} is visited twice (a loop)";
            }

            _descStamp[index] = stamp;
            if (!memory.TryRead(DescTable + ((ulong)index * VirtqDesc.Size), raw))
            {
                ringBroken = true;
                return "descriptor table is not readable";
            }

            var desc = Decode(raw);
            chain.CountDescriptor(false);
            if ((desc.Flags & VirtqDescFlags.INDIRECT) != 0)
            {
                // §2.7.5.3.1: INDIRECT needs the feature, must not be combined with NEXT; its WRITE flag is ignored.
                if (!_indirect)
                {
                    return "INDIRECT descriptor without VIRTIO_F_INDIRECT_DESC";
                }

                if ((desc.Flags & VirtqDescFlags.NEXT) != 0)
                {
                    return "INDIRECT descriptor also has NEXT";
                }

                return ReadIndirect(memory, desc, chain, stamp, ref sawWritable);
            }

            string? problem = AddBuffer(chain, desc, ref sawWritable);
            if (problem != null)
            {
                return problem;
            }

            if ((desc.Flags & VirtqDescFlags.NEXT) == 0)
            {
                return null;
            }

            if (desc.Next >= Size)
            {
                return $"NEXT index {desc.Next} outside a queue of {Size}";
            }

            index = desc.Next;
        }
    }

    private string? ReadIndirect(IGuestMemory memory, in VirtqDesc table, VirtqueueChain chain, ushort stamp, ref bool sawWritable)
    {
        if (table.Len == 0 || table.Len % VirtqDesc.Size != 0)
        {
            return $"indirect table length {table.Len} is not a non-zero multiple of {VirtqDesc.Size}";
        }

        // Bound: a chain is never longer than the queue (§2.7.5.3.1), so neither is one indirect table.
        uint entries = table.Len / VirtqDesc.Size;
        if (entries > Size)
        {
            return $"indirect table of {entries} entries is larger than the queue size {Size}";
        }

        Span<byte> raw = stackalloc byte[VirtqDesc.Size];
        int index = 0;
        for (int count = 0; ; count++)
        {
            if (count >= entries || _indirectStamp[index] == stamp)
            {
                return count >= entries ? $"indirect chain longer than its {entries} entries" : $"indirect descriptor {index} is visited twice (a loop)";
            }

            _indirectStamp[index] = stamp;
            if (!memory.TryRead(table.Addr + ((ulong)index * VirtqDesc.Size), raw))
            {
                return $"indirect table at 0x{table.Addr:x} is outside memory";
            }

            var desc = Decode(raw);
            chain.CountDescriptor(true);
            if ((desc.Flags & VirtqDescFlags.INDIRECT) != 0)
            {
                return "INDIRECT descriptor inside an indirect table";
            }

            string? problem = AddBuffer(chain, desc, ref sawWritable);
            if (problem != null)
            {
                return problem;
            }

            if ((desc.Flags & VirtqDescFlags.NEXT) == 0)
            {
                return null;
            }

            if (desc.Next >= entries)
            {
                return $"indirect NEXT index {desc.Next} outside a table of {entries}";
            }

            index = desc.Next;
        }
    }

    private static string? AddBuffer(VirtqueueChain chain, in VirtqDesc desc, ref bool sawWritable)
    {
        bool writable = (desc.Flags & VirtqDescFlags.WRITE) != 0;
        if (writable)
        {
            sawWritable = true;
        }
        else if (sawWritable)
        {
            return "device-readable descriptor after a device-writable one";
        }

        if (desc.Len == 0)
        {
            return null;
        }

        if (desc.Addr + desc.Len - 1 < desc.Addr)
        {
            return $"buffer 0x{desc.Addr:x}+0x{desc.Len:x} wraps the address space";
        }

        chain.Add(desc.Addr, desc.Len, writable);
        return null;
    }

    private static VirtqDesc Decode(ReadOnlySpan<byte> raw) => new()
    {
        Addr = BinaryPrimitives.ReadUInt64LittleEndian(raw),
        Len = BinaryPrimitives.ReadUInt32LittleEndian(raw[8..]),
        Flags = (VirtqDescFlags)BinaryPrimitives.ReadUInt16LittleEndian(raw[12..]),
        Next = BinaryPrimitives.ReadUInt16LittleEndian(raw[14..]),
    };

    private ushort NextStamp()
    {
        if (++_stamp == 0)
        {
            Array.Clear(_descStamp);
            Array.Clear(_indirectStamp);
            _stamp = 1;
        }

        return _stamp;
    }

    private void PublishAvailEvent(IGuestMemory memory)
    {
        // With EVENT_IDX, ask to be notified once the driver makes the next unconsumed entry available (§2.7.10).
        if (_eventIdx && !memory.TryWriteUInt16(UsedRing + SplitRing.AvailEventOffset(Size), _lastAvailIdx))
        {
            Break("avail_event is not writable");
        }
    }

    private bool PushUsed(ushort head, uint usedLength)
    {
        var memory = _memory!;
        Span<byte> elem = stackalloc byte[SplitRing.UsedElemSize];
        BinaryPrimitives.WriteUInt32LittleEndian(elem, head);
        BinaryPrimitives.WriteUInt32LittleEndian(elem[4..], usedLength);
        ulong slot = UsedRing + SplitRing.UsedRing + ((ulong)(_usedIdx & (Size - 1)) * SplitRing.UsedElemSize);
        if (!memory.TryWrite(slot, elem) || !memory.TryWriteUInt16(UsedRing + SplitRing.UsedIdx, (ushort)(_usedIdx + 1)))
        {
            Break("used ring is not writable");
            return false;
        }

        _usedIdx++;
        return true;
    }

    private VirtqueuePopResult Break(string reason)
    {
        if (!IsBroken)
        {
            IsBroken = true;
            _owner.OnQueueBroken(this, reason);
        }

        return VirtqueuePopResult.Broken;
    }

    private void MarkBroken(string reason) => Break(reason);
}
