namespace ManagedVmm.Core.Time;

/// <summary>
/// A reusable timer on the virtual clock (QEMU's <c>QEMUTimer</c>): created once by a device, armed and
/// cancelled many times without allocating. Re-arming replaces the previous deadline.
/// </summary>
public sealed class VirtualTimer
{
    private readonly EventScheduler _scheduler;
    private readonly Action<long> _callback;

    internal VirtualTimer(EventScheduler scheduler, string name, Action<long> callback)
    {
        _scheduler = scheduler;
        Name = name;
        _callback = callback;
    }

    public string Name { get; }

    /// <summary>Incremented by every arm and cancel; heap entries of older generations are stale.</summary>
    internal long Generation { get; private set; }

    public bool IsArmed { get; private set; }

    /// <summary>The virtual time (ns) at which the timer fires, when armed.</summary>
    public long Deadline { get; private set; }

    /// <summary>Fires the callback at virtual time <paramref name="deadlineNs"/> (now, if that is in the past).</summary>
    public void ArmAt(long deadlineNs)
    {
        Generation++;
        IsArmed = true;
        Deadline = Math.Max(deadlineNs, _scheduler.Now);
        _scheduler.Enqueue(this, Deadline, Generation);
    }

    /// <summary>Fires the callback <paramref name="delayNs"/> nanoseconds from now.</summary>
    public void ArmAfter(long delayNs) => ArmAt(_scheduler.Now + Math.Max(0, delayNs));

    public void Cancel()
    {
        if (IsArmed)
        {
            Generation++;
            IsArmed = false;
        }
    }

    internal void Fire(long now)
    {
        IsArmed = false;
        _callback(now);
    }
}
