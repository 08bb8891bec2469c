using ManagedVmm.Core.Memory;

namespace ManagedVmm.Virtio.Queues;

/// <summary>
/// One descriptor chain, copied out of the descriptor table (and any indirect table) once and validated:
/// its head index, its device-readable buffers followed by its device-writable buffers (virtio 1.2 §2.7.4.2),
/// and their byte totals. Zero-length descriptors are counted in the chain but hold no buffer.
/// <para>
/// The reader (<see cref="TryReadReadable"/>) copies the readable bytes into a caller buffer in one pass; the
/// writer (<see cref="TryWriteAt"/>, <see cref="TryAppend"/>) scatters bytes across the writable buffers however
/// the driver split them and tracks <see cref="BytesWritten"/>, the used length. A DMA failure (a buffer
/// outside RAM, or an IOVA the IOMMU refuses) sets <see cref="Faulted"/>; the chain is then completed with used
/// length 0 (§2.7.8: the device reports what it wrote, and it cannot vouch for a partial write).
/// </para>
/// An instance is reusable: a pop overwrites it. Devices that keep chains across pops use their own instances.
/// </summary>
public sealed class VirtqueueChain
{
    private VirtqBuffer[] _buffers = [];
    private IGuestMemory? _memory;

    /// <summary>The head descriptor index: the <c>id</c> of the used element.</summary>
    public ushort HeadIndex { get; private set; }

    /// <summary>The queue the chain was popped from.</summary>
    public int QueueIndex { get; private set; }

    /// <summary>Descriptors in the chain, including zero-length ones and the indirect descriptor itself.</summary>
    public int DescriptorCount { get; private set; }

    /// <summary>True when part of the chain came from an indirect table.</summary>
    public bool UsedIndirectTable { get; private set; }

    public int ReadableCount { get; private set; }

    public int WritableCount { get; private set; }

    /// <summary>Total device-readable bytes.</summary>
    public ulong ReadableBytes { get; private set; }

    /// <summary>Total device-writable bytes.</summary>
    public ulong WritableBytes { get; private set; }

    /// <summary>The high-water mark of bytes written into the writable part: the used length.</summary>
    public ulong BytesWritten { get; private set; }

    /// <summary>A DMA access of this chain failed; complete it with used length 0.</summary>
    public bool Faulted { get; private set; }

    /// <summary>The used length the chain should be completed with: 0 when faulted, else <see cref="BytesWritten"/>.</summary>
    public uint UsedLength => Faulted ? 0 : (uint)Math.Min(BytesWritten, uint.MaxValue);

    /// <summary>The readable buffers, in chain order.</summary>
    public ReadOnlySpan<VirtqBuffer> Readable => _buffers.AsSpan(0, ReadableCount);

    /// <summary>The writable buffers, in chain order.</summary>
    public ReadOnlySpan<VirtqBuffer> Writable => _buffers.AsSpan(ReadableCount, WritableCount);

    /// <summary>
    /// Copies the readable bytes, in order, into <paramref name="destination"/> (at most its length). Returns false
    /// and marks the chain faulted when a buffer cannot be read.
    /// </summary>
    public bool TryReadReadable(Span<byte> destination, out int bytesRead)
    {
        bytesRead = 0;
        var memory = Memory;
        foreach (var b in Readable)
        {
            if (bytesRead == destination.Length)
            {
                break;
            }

            int n = (int)Math.Min(b.Length, (uint)(destination.Length - bytesRead));
            if (!memory.TryRead(b.Address, destination.Slice(bytesRead, n)))
            {
                Faulted = true;
                return false;
            }

            bytesRead += n;
        }

        return true;
    }

    /// <summary>
    /// Writes <paramref name="data"/> at byte <paramref name="offset"/> of the writable part, across buffer
    /// boundaries. Returns false when the range does not fit the writable part (nothing is written) or a buffer
    /// cannot be written (the chain is marked faulted).
    /// </summary>
    public bool TryWriteAt(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset > WritableBytes || (ulong)data.Length > WritableBytes - offset)
        {
            return false;
        }

        var memory = Memory;
        ulong start = offset;
        ulong end = offset + (ulong)data.Length;
        ulong bufferStart = 0;
        foreach (var b in Writable)
        {
            if (data.IsEmpty)
            {
                break;
            }

            ulong bufferEnd = bufferStart + b.Length;
            if (offset < bufferEnd)
            {
                ulong within = offset - bufferStart;
                int n = (int)Math.Min((ulong)data.Length, b.Length - within);
                if (!memory.TryWrite(b.Address + within, data[..n]))
                {
                    Faulted = true;
                    return false;
                }

                data = data[n..];
                offset += (ulong)n;
            }

            bufferStart = bufferEnd;
        }

        if (end > BytesWritten && end > start)
        {
            BytesWritten = end;
        }

        return true;
    }

    /// <summary>Writes <paramref name="data"/> right after the bytes written so far.</summary>
    public bool TryAppend(ReadOnlySpan<byte> data) => TryWriteAt(BytesWritten, data);

    /// <summary>Writes <paramref name="length"/> zero bytes at <paramref name="offset"/> of the writable part.</summary>
    public bool TryZeroAt(ulong offset, ulong length)
    {
        if (offset > WritableBytes || length > WritableBytes - offset)
        {
            return false;
        }

        Span<byte> zeros = stackalloc byte[256];
        zeros.Clear();
        while (length > 0)
        {
            int n = (int)Math.Min(length, (ulong)zeros.Length);
            if (!TryWriteAt(offset, zeros[..n]))
            {
                return false;
            }

            offset += (ulong)n;
            length -= (ulong)n;
        }

        return true;
    }

    private IGuestMemory Memory
    {
        get
        {
            if (_memory == null)
            {
                Core.ThrowHelper.ThrowInvalidOperation("the chain was not popped from a queue");
            }

            return _memory;
        }
    }

    internal void Begin(int queueIndex, ushort head, IGuestMemory memory, int capacity)
    {
        if (_buffers.Length < capacity)
        {
            _buffers = new VirtqBuffer[capacity];
        }

        _memory = memory;
        QueueIndex = queueIndex;
        HeadIndex = head;
        DescriptorCount = 0;
        UsedIndirectTable = false;
        ReadableCount = 0;
        WritableCount = 0;
        ReadableBytes = 0;
        WritableBytes = 0;
        BytesWritten = 0;
        Faulted = false;
    }

    internal void CountDescriptor(bool indirect)
    {
        DescriptorCount++;
        UsedIndirectTable |= indirect;
    }

    /// <summary>Adds a non-empty buffer; the caller has already checked the readable-before-writable order.</summary>
    internal void Add(ulong address, uint length, bool writable)
    {
        int at = ReadableCount + WritableCount;
        _buffers[at] = new VirtqBuffer(address, length);
        if (writable)
        {
            WritableCount++;
            WritableBytes += length;
        }
        else
        {
            ReadableCount++;
            ReadableBytes += length;
        }
    }
}
