using ManagedVmm.Core.Time;

namespace ManagedVmm.Core.Tests;

public sealed class EventSchedulerTests
{
    [Test]
    public void Events_FireInDeadlineOrder_EachAtItsOwnTime()
    {
        var s = new EventScheduler();
        var fired = new List<(string, long)>();
        s.Schedule(300, "c", t => fired.Add(("c", t)));
        s.Schedule(100, "a", t => fired.Add(("a", t)));
        s.Schedule(200, "b", t => fired.Add(("b", t)));
        s.AdvanceTo(250);
        Assert.That(fired, Is.EqualTo(new[] { ("a", 100L), ("b", 200L) }));
        Assert.That(s.Now, Is.EqualTo(250));
        s.AdvanceBy(100);
        Assert.That(fired[^1], Is.EqualTo(("c", 300L)));
    }

    [Test]
    public void EqualDeadlines_FireInArmingOrder()
    {
        var s = new EventScheduler();
        var fired = new List<int>();
        for (int i = 0; i < 20; i++)
        {
            int n = i;
            s.Schedule(50, $"t{n}", _ => fired.Add(n));
        }

        s.AdvanceTo(50);
        Assert.That(fired, Is.EqualTo(Enumerable.Range(0, 20)));
    }

    [Test]
    public void Cancel_PreventsFiring_AndRearmReplacesDeadline()
    {
        var s = new EventScheduler();
        int count = 0;
        long at = 0;
        var timer = s.CreateTimer("t", t => { count++; at = t; });
        timer.ArmAt(100);
        timer.Cancel();
        s.AdvanceTo(1000);
        Assert.That(count, Is.Zero);
        timer.ArmAt(1500);
        timer.ArmAt(1200);
        s.AdvanceTo(2000);
        Assert.That((count, at), Is.EqualTo((1, 1200L)), "only the latest arming fires");
    }

    [Test]
    public void ArmInThePast_FiresNow()
    {
        var s = new EventScheduler();
        s.AdvanceTo(500);
        long at = -1;
        s.Schedule(100, "late", t => at = t);
        s.RunDue();
        Assert.That(at, Is.EqualTo(500));
    }

    [Test]
    public void EventArmedFromCallback_WithinTarget_AlsoFires()
    {
        var s = new EventScheduler();
        var fired = new List<long>();
        VirtualTimer? periodic = null;
        periodic = s.CreateTimer("periodic", t =>
        {
            fired.Add(t);
            periodic!.ArmAfter(100);
        });
        periodic.ArmAt(100);
        s.AdvanceTo(450);
        Assert.That(fired, Is.EqualTo(new[] { 100L, 200L, 300L, 400L }));
    }

    [Test]
    public void Tick_MovesTimeWithoutFiring_UntilRunDue()
    {
        var s = new EventScheduler();
        bool fired = false;
        s.Schedule(10, "t", _ => fired = true);
        s.Tick(20);
        Assert.That(fired, Is.False);
        Assert.That(s.TryGetNextDeadline(out long d) && d == 10, Is.True);
        s.RunDue();
        Assert.That(fired, Is.True);
        Assert.That(s.TryGetNextDeadline(out _), Is.False);
    }

    [Test]
    public void TimerRearmingAtNowForever_IsStoppedAsAHostBug()
    {
        var s = new EventScheduler();
        VirtualTimer? t = null;
        t = s.CreateTimer("storm", _ => t!.ArmAfter(0));
        t.ArmAt(1);
        Assert.Throws<InvalidOperationException>(() => s.AdvanceTo(2));
    }
}
