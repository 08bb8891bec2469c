using ManagedVmm.Core.Time;
using ManagedVmm.Virtio.Queues;

namespace ManagedVmm.Devices.VirtioIommu;

/// <summary>
/// The cost model's request latency on the requestq: the device executes each request when it pops it (so its
/// effect on the mappings is immediate), but the used element becomes visible only after the request's modelled
/// host cost, one request after the other (the host side is serial, like QEMU's virtio-iommu under its lock). A
/// driver polling the used index therefore waits, in virtual time, as long as the host would have worked. A
/// request costing nothing with nothing pending completes during the notify, exactly as without a cost model.
/// </summary>
internal sealed class DelayedUsedRing
{
    /// <summary>
    /// Completions waiting at once. A well-behaved driver has at most a queue's worth outstanding; a driver that
    /// re-submits heads it has not got back could grow this, so beyond the bound requests complete at once.
    /// </summary>
    public const int MaxPending = VirtioIommuOptions.MaxQueueSize;

    private readonly EventScheduler _clock;
    private readonly VirtualTimer _timer;
    private readonly Queue<(ushort Head, uint Used, long ReadyAt)> _pending = new();
    private SplitVirtqueue? _queue;
    private long _busyUntil;

    public DelayedUsedRing(EventScheduler clock)
    {
        _clock = clock;
        _timer = clock.CreateTimer("virtio-iommu-request-cost", OnTimer);
    }

    /// <summary>Requests whose used element is not yet visible.</summary>
    public int Pending => _pending.Count;

    /// <summary>Returns <paramref name="head"/> after <paramref name="costNs"/> of host work, in submission order.</summary>
    /// <returns>False when the element must be completed now (no cost and nothing pending, or the bound is reached).</returns>
    public bool TryDefer(SplitVirtqueue queue, ushort head, uint used, long costNs)
    {
        if ((costNs == 0 && _pending.Count == 0) || _pending.Count >= MaxPending)
        {
            return false;
        }

        _queue = queue;
        long readyAt = Math.Max(_clock.Now, _busyUntil) + costNs;
        _busyUntil = readyAt;
        _pending.Enqueue((head, used, readyAt));
        if (!_timer.IsArmed)
        {
            _timer.ArmAt(readyAt);
        }

        return true;
    }

    /// <summary>Drops every pending completion (device or system reset: the rings are gone).</summary>
    public void Reset()
    {
        _timer.Cancel();
        _pending.Clear();
        _queue = null;
        _busyUntil = 0;
    }

    private void OnTimer(long now)
    {
        var queue = _queue;
        if (queue == null)
        {
            return;
        }

        while (_pending.TryPeek(out var next) && next.ReadyAt <= now)
        {
            _pending.Dequeue();
            queue.Complete(next.Head, next.Used);
        }

        queue.NotifyIfNeeded();
        if (_pending.TryPeek(out var first))
        {
            _timer.ArmAt(first.ReadyAt);
        }
    }
}
