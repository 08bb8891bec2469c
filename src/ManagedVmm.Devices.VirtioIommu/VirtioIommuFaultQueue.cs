using ManagedVmm.Devices.VirtioIommu.Spec;

namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>
/// Fault events waiting for the queue glue to write them into eventq buffers (virtio v1.2 §5.13.6.7). Bounded
/// (<see cref="VirtioIommuOptions.MaxPendingFaults"/>) because a guest can make faults as fast as its devices DMA:
/// beyond it new faults are counted as dropped. The glue drains it when <see cref="FaultPending"/> fires or when
/// eventq buffers arrive; when the driver gave no buffer the glue calls <see cref="DropPending"/> (the spec lets
/// the device drop events).
/// </summary>
public sealed class VirtioIommuFaultQueue
{
    private readonly VirtioIommuFault[] _ring;
    private readonly VirtioIommuStatistics _statistics;
    private int _head;

    internal VirtioIommuFaultQueue(int capacity, VirtioIommuStatistics statistics)
    {
        _ring = new VirtioIommuFault[capacity];
        _statistics = statistics;
    }

    /// <summary>Raised after a fault was queued (synchronously, inside the faulting DMA's translation).</summary>
    public event Action? FaultPending;

    /// <summary>Faults waiting for delivery.</summary>
    public int Count { get; private set; }

    public int Capacity => _ring.Length;

    /// <summary>The oldest pending fault, left in the queue.</summary>
    public bool TryPeek(out VirtioIommuFault fault)
    {
        fault = Count > 0 ? _ring[_head] : default;
        return Count > 0;
    }

    /// <summary>Takes the oldest pending fault; the glue writes it (24 bytes) into one eventq buffer. Counts as delivered.</summary>
    public bool TryDequeue(out VirtioIommuFault fault)
    {
        if (!TryPeek(out fault))
        {
            return false;
        }

        _head = (_head + 1) % _ring.Length;
        Count--;
        _statistics.FaultEventsDelivered++;
        return true;
    }

    /// <summary>Drops every pending fault (no eventq buffer available); returns how many.</summary>
    public int DropPending()
    {
        int n = Count;
        _statistics.FaultEventsDropped += n;
        Count = 0;
        _head = 0;
        return n;
    }

    internal void Enqueue(in VirtioIommuFault fault)
    {
        if (Count == _ring.Length)
        {
            _statistics.FaultEventsDropped++;
            return;
        }

        _ring[(_head + Count) % _ring.Length] = fault;
        Count++;
        FaultPending?.Invoke();
    }

    /// <summary>Forgets pending faults without counting them (reset: the eventq buffers are gone too).</summary>
    internal void Clear()
    {
        Count = 0;
        _head = 0;
    }
}
