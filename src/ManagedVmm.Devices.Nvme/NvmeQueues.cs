namespace ManagedVmm.Devices.Nvme;

/// <summary>A submission queue as the controller tracks it: base, size, the host's tail and the controller's head.</summary>
internal sealed class SubmissionQueue(ushort id, ulong baseAddress, int size, ushort cqId)
{
    public ushort Id { get; } = id;

    public ulong Base { get; } = baseAddress;

    public int Size { get; } = size;

    public ushort CqId { get; } = cqId;

    public int Head { get; set; }

    public int Tail { get; set; }

    /// <summary>Commands fetched from this SQ and not yet completed.</summary>
    public int Outstanding { get; set; }

    public bool IsEmpty => Head == Tail;
}

/// <summary>
/// A completion queue: base, size, the controller's tail and phase, the host's head, its interrupt vector,
/// and the completions that wait for room (a CQ is full when tail + 1 == head).
/// </summary>
internal sealed class CompletionQueue(ushort id, ulong baseAddress, int size, int vector, bool interruptsEnabled)
{
    public ushort Id { get; } = id;

    public ulong Base { get; } = baseAddress;

    public int Size { get; } = size;

    public int Vector { get; } = vector;

    public bool InterruptsEnabled { get; } = interruptsEnabled;

    public int Head { get; set; }

    public int Tail { get; set; }

    /// <summary>The phase tag the next posted entry carries: 1 on the first pass, inverted on each wrap.</summary>
    public bool Phase { get; set; } = true;

    /// <summary>SQs bound to this CQ (a CQ with SQs cannot be deleted).</summary>
    public int SqCount { get; set; }

    /// <summary>Completed commands waiting for a free slot, in completion order (bounded by the command slots).</summary>
    public Queue<int> Waiting { get; } = new();

    public bool IsFull => (Tail + 1) % Size == Head;

    /// <summary>Entries posted that the host has not consumed.</summary>
    public int Posted => (Tail - Head + Size) % Size;
}
