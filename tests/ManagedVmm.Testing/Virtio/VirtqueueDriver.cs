using System.Buffers.Binary;
using ManagedVmm.Core.Memory;
using ManagedVmm.Virtio.Spec;

namespace ManagedVmm.Testing.Virtio;

/// <summary>One buffer the driver puts in a chain: guest address, length, and whether the device may write it.</summary>
public readonly record struct DriverBuffer(ulong Address, uint Length, bool Writable);

/// <summary>A used element as the driver reads it from the used ring.</summary>
public readonly record struct UsedElement(uint Id, uint Length);

/// <summary>
/// The driver side of one split virtqueue in test RAM (libqos' <c>qvirtqueue</c>): descriptor table, available
/// and used rings allocated zeroed, chains added with readable and writable buffers (direct or through an
/// indirect table), kicks through a notify callback, and used elements read back. Raw accessors let a test
/// forge any descriptor, ring entry or index a hostile driver could write.
/// </summary>
public sealed class VirtqueueDriver
{
    private readonly GuestRam _ram;
    private readonly GuestBufferAllocator _alloc;
    private readonly Action<int> _notify;
    private readonly Stack<ushort> _free = new();
    private readonly Dictionary<ushort, (ushort[] Descriptors, DriverBuffer[] Writable)> _inFlight = [];
    private ushort _lastKickAvailIdx;

    public VirtqueueDriver(GuestRam ram, GuestBufferAllocator alloc, int index, ushort size, Action<int> notify)
    {
        _ram = ram;
        _alloc = alloc;
        _notify = notify;
        Index = index;
        Size = size;
        DescTable = alloc.Alloc(SplitRing.DescTableSize(size), 4096);
        AvailRing = alloc.Alloc(SplitRing.AvailRingSize(size), 4096);
        UsedRing = alloc.Alloc(SplitRing.UsedRingSize(size), 4096);
        for (int i = size - 1; i >= 0; i--)
        {
            _free.Push((ushort)i);
        }
    }

    public int Index { get; }

    public ushort Size { get; }

    public ulong DescTable { get; }

    public ulong AvailRing { get; }

    public ulong UsedRing { get; }

    /// <summary>The driver's available index (what it last published).</summary>
    public ushort AvailIdx { get; private set; }

    /// <summary>The used index up to which the driver has consumed used elements.</summary>
    public ushort LastUsedIdx { get; private set; }

    /// <summary>Free descriptors left in the table.</summary>
    public int FreeDescriptors => _free.Count;

    /// <summary>True when EVENT_IDX was negotiated (the driver then honours avail_event when kicking).</summary>
    public bool EventIdx { get; set; }

    /// <summary>Copies <paramref name="data"/> into a new guest buffer.</summary>
    public DriverBuffer Readable(ReadOnlySpan<byte> data)
    {
        ulong at = _alloc.Alloc((ulong)Math.Max(data.Length, 1), 16);
        _ram.TryWrite(at, data);
        return new DriverBuffer(at, (uint)data.Length, false);
    }

    /// <summary>A new zeroed device-writable guest buffer of <paramref name="length"/> bytes.</summary>
    public DriverBuffer Writable(uint length)
    {
        ulong at = _alloc.Alloc(Math.Max(length, 1u), 16);
        return new DriverBuffer(at, length, true);
    }

    /// <summary>
    /// Adds a chain made of <paramref name="buffers"/> (readable ones first, as the spec requires of a driver,
    /// but the order given is kept so tests can break the rule) and publishes it. With <paramref name="indirect"/>
    /// the buffers go in an indirect table referenced by one descriptor. Returns the head index.
    /// </summary>
    public ushort Add(IReadOnlyList<DriverBuffer> buffers, bool indirect = false, bool publish = true)
    {
        ushort head;
        ushort[] used;
        if (indirect)
        {
            ulong table = _alloc.Alloc((ulong)buffers.Count * VirtqDesc.Size, 16);
            for (int i = 0; i < buffers.Count; i++)
            {
                var b = buffers[i];
                var flags = (b.Writable ? VirtqDescFlags.WRITE : 0) | (i + 1 < buffers.Count ? VirtqDescFlags.NEXT : 0);
                WriteDescriptorAt(table, i, b.Address, b.Length, flags, (ushort)(i + 1));
            }

            head = Take();
            used = [head];
            WriteDescriptor(head, table, (uint)(buffers.Count * VirtqDesc.Size), VirtqDescFlags.INDIRECT, 0);
        }
        else
        {
            if (buffers.Count > _free.Count || buffers.Count == 0)
            {
                throw new InvalidOperationException($"queue {Index}: {buffers.Count} descriptors wanted, {_free.Count} free");
            }

            used = new ushort[buffers.Count];
            for (int i = 0; i < used.Length; i++)
            {
                used[i] = Take();
            }

            for (int i = 0; i < used.Length; i++)
            {
                var b = buffers[i];
                bool last = i + 1 == used.Length;
                var flags = (b.Writable ? VirtqDescFlags.WRITE : 0) | (last ? 0 : VirtqDescFlags.NEXT);
                WriteDescriptor(used[i], b.Address, b.Length, flags, last ? (ushort)0 : used[i + 1]);
            }

            head = used[0];
        }

        var writable = new List<DriverBuffer>();
        foreach (var b in buffers)
        {
            if (b.Writable)
            {
                writable.Add(b);
            }
        }

        _inFlight[head] = (used, [.. writable]);
        if (publish)
        {
            Publish(head);
        }

        return head;
    }

    /// <summary>Puts <paramref name="head"/> in the next available-ring slot and increments the available index.</summary>
    public void Publish(ushort head)
    {
        WriteU16(AvailRing + SplitRing.AvailRing + (2UL * (ulong)(AvailIdx % Size)), head);
        AvailIdx++;
        WriteU16(AvailRing + SplitRing.AvailIdx, AvailIdx);
    }

    /// <summary>Notifies the device unconditionally.</summary>
    public void Kick()
    {
        _lastKickAvailIdx = AvailIdx;
        _notify(Index);
    }

    /// <summary>
    /// Notifies the device only if it asked for it: with EVENT_IDX when <c>avail_event</c> lies in the newly
    /// published range, otherwise unless the used ring has NO_NOTIFY. Returns whether it kicked.
    /// </summary>
    public bool KickIfNeeded()
    {
        bool need = EventIdx
            ? SplitRing.NeedEvent(AvailEvent, AvailIdx, _lastKickAvailIdx)
            : (UsedFlags & (ushort)VirtqUsedFlags.NO_NOTIFY) == 0;
        if (need)
        {
            Kick();
        }
        else
        {
            _lastKickAvailIdx = AvailIdx;
        }

        return need;
    }

    /// <summary>Reads the next used element, if the device published one, and frees its descriptors.</summary>
    public bool TryGetUsed(out UsedElement element)
    {
        if (DeviceUsedIdx == LastUsedIdx)
        {
            element = default;
            return false;
        }

        ulong slot = UsedRing + SplitRing.UsedRing + ((ulong)(LastUsedIdx % Size) * SplitRing.UsedElemSize);
        element = new UsedElement(ReadU32(slot), ReadU32(slot + 4));
        LastUsedIdx++;
        if (_inFlight.Remove((ushort)element.Id, out var chain))
        {
            foreach (ushort d in chain.Descriptors)
            {
                _free.Push(d);
            }
        }

        return true;
    }

    /// <summary>The next used element; fails the test when the device has not returned one.</summary>
    public UsedElement GetUsed() =>
        TryGetUsed(out var e) ? e : throw new InvalidOperationException($"queue {Index}: no used element (used idx {DeviceUsedIdx})");

    /// <summary>The current bytes of the writable buffers among <paramref name="buffers"/>, concatenated.</summary>
    public byte[] WritableBytes(IReadOnlyList<DriverBuffer> buffers)
    {
        var result = new List<byte>();
        foreach (var b in buffers)
        {
            if (b.Writable)
            {
                var bytes = new byte[b.Length];
                _ram.TryRead(b.Address, bytes);
                result.AddRange(bytes);
            }
        }

        return [.. result];
    }

    // ---- raw access, for forging malformed rings ----

    public void WriteDescriptor(int index, ulong address, uint length, VirtqDescFlags flags, ushort next) =>
        WriteDescriptorAt(DescTable, index, address, length, flags, next);

    /// <summary>Writes a descriptor into any table (the queue's or an indirect one) at <paramref name="table"/>.</summary>
    public void WriteDescriptorAt(ulong table, int index, ulong address, uint length, VirtqDescFlags flags, ushort next)
    {
        Span<byte> d = stackalloc byte[VirtqDesc.Size];
        BinaryPrimitives.WriteUInt64LittleEndian(d, address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], (ushort)flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
        _ram.TryWrite(table + ((ulong)index * VirtqDesc.Size), d);
    }

    /// <summary>Allocates a zeroed table of <paramref name="entries"/> descriptors for forging indirect chains.</summary>
    public ulong AllocTable(int entries) => _alloc.Alloc((ulong)Math.Max(entries, 1) * VirtqDesc.Size, 16);

    /// <summary>Writes the available index directly (the driver's shadow follows).</summary>
    public void SetAvailIdx(ushort value)
    {
        AvailIdx = value;
        WriteU16(AvailRing + SplitRing.AvailIdx, value);
    }

    /// <summary>Writes available-ring slot <paramref name="slot"/> directly.</summary>
    public void SetAvailEntry(int slot, ushort head) => WriteU16(AvailRing + SplitRing.AvailRing + (2UL * (ulong)slot), head);

    public void SetAvailFlags(VirtqAvailFlags flags) => WriteU16(AvailRing + SplitRing.AvailFlags, (ushort)flags);

    /// <summary>Writes <c>used_event</c> (EVENT_IDX: interrupt me when the used index passes this).</summary>
    public void SetUsedEvent(ushort value) => WriteU16(AvailRing + SplitRing.UsedEventOffset(Size), value);

    /// <summary>The used index the device published.</summary>
    public ushort DeviceUsedIdx => ReadU16(UsedRing + SplitRing.UsedIdx);

    public ushort UsedFlags => ReadU16(UsedRing + SplitRing.UsedFlags);

    /// <summary><c>avail_event</c> as the device wrote it.</summary>
    public ushort AvailEvent => ReadU16(UsedRing + SplitRing.AvailEventOffset(Size));

    private ushort Take() =>
        _free.Count > 0 ? _free.Pop() : throw new InvalidOperationException($"queue {Index}: descriptor table full");

    private void WriteU16(ulong address, ushort value) => _ram.TryWriteUInt16(address, value);

    private ushort ReadU16(ulong address) => _ram.TryReadUInt16(address, out ushort v) ? v : (ushort)0;

    private uint ReadU32(ulong address) => _ram.TryReadUInt32(address, out uint v) ? v : 0;
}
