namespace ManagedVmm.Core.Time;

/// <summary>
/// The one virtual clock (nanoseconds since power-on) and its event queue. The vCPU advances the clock per
/// retired instruction, devices schedule their work on <see cref="VirtualTimer"/>s, and HLT skips to the next
/// deadline. Events fire in deadline order, and events with equal deadlines fire in the order they were
/// armed, so a run is the same every time. Host time is never consulted.
/// </summary>
public sealed class EventScheduler
{
    /// <summary>
    /// Events that may fire within one <see cref="AdvanceTo"/> at a single instant before the scheduler decides
    /// that a device is re-arming itself at "now" forever: a host bug, reported as such.
    /// </summary>
    public const int MaxEventsPerInstant = 1_000_000;

    private readonly PriorityQueue<(VirtualTimer Timer, long Generation), (long Deadline, long Sequence)> _queue =
        new(Comparer<(long Deadline, long Sequence)>.Default);

    private long _sequence;

    /// <summary>Current virtual time in nanoseconds.</summary>
    public long Now { get; private set; }

    /// <summary>Events fired since power-on.</summary>
    public long EventsFired { get; private set; }

    public VirtualTimer CreateTimer(string name, Action<long> callback) => new(this, name, callback);

    /// <summary>A one-shot event; allocates a timer, so hot paths should keep a <see cref="VirtualTimer"/> instead.</summary>
    public VirtualTimer Schedule(long deadlineNs, string name, Action<long> callback)
    {
        var timer = CreateTimer(name, callback);
        timer.ArmAt(deadlineNs);
        return timer;
    }

    /// <summary>The earliest live deadline, if any timer is armed.</summary>
    public bool TryGetNextDeadline(out long deadline)
    {
        while (_queue.TryPeek(out var element, out var priority))
        {
            if (element.Timer.Generation == element.Generation && element.Timer.IsArmed)
            {
                deadline = priority.Deadline;
                return true;
            }

            _queue.Dequeue();
        }

        deadline = 0;
        return false;
    }

    /// <summary>
    /// Moves the clock forward to <paramref name="targetNs"/>, firing every event due on the way, each at its own
    /// deadline (the clock reads the deadline inside the callback). A target in the past is ignored.
    /// </summary>
    public void AdvanceTo(long targetNs)
    {
        int firedAtThisInstant = 0;
        long instant = Now;
        while (TryGetNextDeadline(out long deadline) && deadline <= targetNs)
        {
            var (timer, _) = _queue.Dequeue();
            if (deadline > Now)
            {
                Now = deadline;
            }

            if (Now != instant)
            {
                instant = Now;
                firedAtThisInstant = 0;
            }
            else if (++firedAtThisInstant > MaxEventsPerInstant)
            {
                ThrowHelper.ThrowInvalidOperation(
                    $"timer '{timer.Name}' fired more than {MaxEventsPerInstant} events at t={Now} ns without time passing");
            }

            EventsFired++;
            timer.Fire(Now);
        }

        if (targetNs > Now)
        {
            Now = targetNs;
        }
    }

    /// <summary>Moves the clock forward by <paramref name="deltaNs"/>, firing events due on the way.</summary>
    public void AdvanceBy(long deltaNs) => AdvanceTo(Now + deltaNs);

    /// <summary>Fires the events due now (deadline ≤ <see cref="Now"/>) without moving the clock.</summary>
    public void RunDue() => AdvanceTo(Now);

    /// <summary>
    /// Advances the clock without firing anything: the vCPU's per-instruction tick, which must stay cheap.
    /// The run loop calls <see cref="RunDue"/> when <see cref="Now"/> passes the next deadline.
    /// </summary>
    public void Tick(long deltaNs) => Now += deltaNs;

    internal void Enqueue(VirtualTimer timer, long deadline, long generation) =>
        _queue.Enqueue((timer, generation), (deadline, _sequence++));
}
