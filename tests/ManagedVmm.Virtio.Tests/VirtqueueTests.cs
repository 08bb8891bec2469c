using ManagedVmm.Testing.Virtio;
using ManagedVmm.Virtio.Spec;

namespace ManagedVmm.Virtio.Tests;

/// <summary>Chains, indirect tables and notification suppression, through the transport with the echo device.</summary>
public sealed class VirtqueueTests
{
    private const ulong Indirect = EchoBench.BaseFeatures | (1UL << VirtioFeatures.RING_INDIRECT_DESC);
    private const ulong EventIdx = EchoBench.BaseFeatures | (1UL << VirtioFeatures.RING_EVENT_IDX);

    private static byte[] Bytes(int n, int seed = 1)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++)
        {
            b[i] = (byte)((i * 7) + seed);
        }

        return b;
    }

    [Test]
    public void Chain_HeadersSplitAcrossDescriptors_AreReadAndWrittenInOrder([Values] bool indirect)
    {
        using var b = new EchoBench();
        var vq = b.Start(Indirect)[0];
        var data = Bytes(23);
        DriverBuffer[] chain =
        [
            vq.Readable(data.AsSpan(0, 3)), vq.Readable(data.AsSpan(3, 1)), vq.Readable(data.AsSpan(4, 19)),
            vq.Writable(1), vq.Writable(2), vq.Writable(16), vq.Writable(10),
        ];
        vq.Add(chain, indirect);
        vq.Kick();
        var used = vq.GetUsed();
        Assert.That(used.Length, Is.EqualTo(23));
        Assert.That(vq.WritableBytes(chain).AsSpan(0, 23).ToArray(), Is.EqualTo(data));
        Assert.That(vq.WritableBytes(chain).AsSpan(23).ToArray(), Is.All.Zero);
        Assert.That(b.Function.Queues[0].ChainsPopped, Is.EqualTo(1));
    }

    [Test]
    public void Chain_WritablePartShorterThanRequest_UsedLengthIsBytesWritten()
    {
        using var b = new EchoBench();
        var vq = b.Start()[0];
        var (used, reply) = b.Echo(vq, Bytes(100), 40);
        Assert.That(used.Length, Is.EqualTo(40));
        Assert.That(reply, Is.EqualTo(Bytes(100).AsSpan(0, 40).ToArray()));
    }

    [Test]
    public void Chain_ZeroLengthDescriptors_AreCountedButCarryNothing()
    {
        using var b = new EchoBench();
        var vq = b.Start()[0];
        DriverBuffer[] chain = [vq.Readable([]), vq.Readable([5, 6, 7]), vq.Writable(0), vq.Writable(3), vq.Writable(0)];
        vq.Add(chain);
        vq.Kick();
        Assert.That(vq.GetUsed().Length, Is.EqualTo(3));
        Assert.That(vq.WritableBytes(chain), Is.EqualTo(new byte[] { 5, 6, 7 }));
    }

    [Test]
    public void Chain_DirectDescriptorsFollowedByOneIndirect_AreOneChain()
    {
        using var b = new EchoBench();
        var vq = b.Start(Indirect)[0];
        var r = vq.Readable([1, 2]);
        var r2 = vq.Readable([3, 4]);
        var w = vq.Writable(4);
        ulong table = vq.AllocTable(2);
        vq.WriteDescriptorAt(table, 0, r2.Address, 2, VirtqDescFlags.NEXT, 1);
        vq.WriteDescriptorAt(table, 1, w.Address, 4, VirtqDescFlags.WRITE, 0);
        vq.WriteDescriptor(5, r.Address, 2, VirtqDescFlags.NEXT, 6);
        // The WRITE flag on a descriptor that points to a table is ignored (§2.7.5.3.2).
        vq.WriteDescriptor(6, table, 32, VirtqDescFlags.INDIRECT | VirtqDescFlags.WRITE, 0);
        vq.Publish(5);
        vq.Kick();
        Assert.That(vq.GetUsed(), Is.EqualTo(new UsedElement(5, 4)));
        Assert.That(vq.WritableBytes([w]), Is.EqualTo(new byte[] { 1, 2, 3, 4 }));
    }

    [Test]
    public void Chains_ManyPerKick_AreAllReturnedInOrder()
    {
        using var b = new EchoBench();
        var vq = b.Start()[0];
        var heads = new List<ushort>();
        for (int i = 0; i < 8; i++)
        {
            heads.Add(vq.Add([vq.Readable([(byte)i]), vq.Writable(1)]));
        }

        vq.Kick();
        for (int i = 0; i < 8; i++)
        {
            Assert.That(vq.GetUsed(), Is.EqualTo(new UsedElement(heads[i], 1)));
        }

        Assert.That(b.Function.Queues[0].Kicks, Is.EqualTo(1));
    }

    [Test]
    public void Indices_AreFreeRunning16Bit_AcrossWrapAround()
    {
        using var b = new EchoBench(queues: 1, queueSize: 4);
        var vq = b.Start()[0];
        var r = vq.Readable([42]);
        var w = vq.Writable(1);
        for (int i = 0; i < 65536 + 10; i++)
        {
            vq.Add([r, w]);
            vq.Kick();
            Assert.That(vq.TryGetUsed(out var e) && e.Length == 1, Is.True, $"round {i}");
        }

        Assert.That(b.Function.Queues[0].UsedIdx, Is.EqualTo((ushort)10));
        Assert.That(vq.DeviceUsedIdx, Is.EqualTo((ushort)10));
    }

    // ---- notification suppression ----

    [Test]
    public void NoInterrupt_WithoutEventIdx_SuppressesUsedBufferNotification()
    {
        using var b = new EchoBench();
        var vq = b.Start(msix: true)[0];
        vq.SetAvailFlags(VirtqAvailFlags.NO_INTERRUPT);
        b.Echo(vq, [1], 1);
        Assert.That(b.Bed.Msi.Count, Is.Zero);
        Assert.That(b.Function.Queues[0].SuppressedNotifications, Is.EqualTo(1));
        vq.SetAvailFlags(VirtqAvailFlags.None);
        b.Echo(vq, [1], 1);
        Assert.That(b.Bed.Msi.Count, Is.EqualTo(1));
    }

    [Test]
    public void UsedEvent_WithEventIdx_NotifiesOnlyWhenUsedIdxPassesIt()
    {
        using var b = new EchoBench();
        var vq = b.Start(EventIdx, msix: true)[0];
        vq.SetAvailFlags(VirtqAvailFlags.NO_INTERRUPT); // ignored with EVENT_IDX
        vq.SetUsedEvent(2);
        var counts = new List<int>();
        for (int i = 0; i < 4; i++)
        {
            b.Echo(vq, [1], 1);
            counts.Add(b.Bed.Msi.Count);
        }

        // used idx 0→1, 1→2: no; 2→3 crosses used_event 2: yes; 3→4: no (used_event not moved).
        Assert.That(counts, Is.EqualTo(new[] { 0, 0, 1, 1 }));
    }

    [Test]
    public void AvailEvent_WithEventIdx_IsPublishedAndSuppressesKicks()
    {
        using var b = new EchoBench();
        var vq = b.Start(EventIdx)[0];
        for (int i = 0; i < 3; i++)
        {
            b.Echo(vq, [1], 1);
        }

        Assert.That(vq.AvailEvent, Is.EqualTo(3));

        // The device stops consuming: avail_event stays 3, so the driver kicks once for entry 3 and not for entry 4.
        b.Device.Process = false;
        vq.Add([vq.Readable([1]), vq.Writable(1)]);
        Assert.That(vq.KickIfNeeded(), Is.True);
        vq.Add([vq.Readable([1]), vq.Writable(1)]);
        Assert.That(vq.KickIfNeeded(), Is.False);
        Assert.That(b.Device.NotifyCount, Is.EqualTo(4));
    }

    [Test]
    public void AvailEvent_WithoutEventIdx_IsNotWritten()
    {
        using var b = new EchoBench();
        var vq = b.Start()[0];
        b.Echo(vq, [1], 1);
        b.Echo(vq, [1], 1);
        Assert.That(vq.AvailEvent, Is.Zero);
    }

    [Test]
    public void NoNotify_WithoutEventIdx_TellsDriverNotToKick()
    {
        using var b = new EchoBench();
        var vq = b.Start()[0];
        b.Function.Queues[0].SetNoNotify(true);
        Assert.That(vq.UsedFlags, Is.EqualTo((ushort)VirtqUsedFlags.NO_NOTIFY));
        vq.Add([vq.Readable([1]), vq.Writable(1)]);
        Assert.That(vq.KickIfNeeded(), Is.False);
        b.Function.Queues[0].SetNoNotify(false);
        Assert.That(vq.KickIfNeeded(), Is.True);
        Assert.That(vq.GetUsed().Length, Is.EqualTo(1));
    }

    // ---- queue state ----

    [Test]
    public void Notify_BeforeDriverOk_IsIgnored_AndBuffersAreUsedOnlyAfterIt()
    {
        using var b = new EchoBench();
        Assert.That(b.Driver.Negotiate(EchoBench.BaseFeatures), Is.True);
        var vq = b.Driver.SetupQueue(0);
        vq.Add([vq.Readable([7]), vq.Writable(1)]);
        long errors = b.GuestErrors;
        vq.Kick();
        Assert.That(vq.DeviceUsedIdx, Is.Zero);
        Assert.That(b.Device.NotifyCount, Is.Zero);
        Assert.That(b.GuestErrors, Is.GreaterThan(errors));

        b.Driver.DriverOk();
        vq.Kick();
        Assert.That(vq.GetUsed().Length, Is.EqualTo(1));
    }

    [Test]
    public void Notify_QueueNotEnabled_IsIgnored()
    {
        using var b = new EchoBench();
        Assert.That(b.Driver.Negotiate(EchoBench.BaseFeatures), Is.True);
        var vq0 = b.Driver.SetupQueue(0);
        b.Driver.DriverOk();
        b.Driver.Notify(1, 1);
        Assert.That(b.Device.NotifyCount, Is.Zero);
        Assert.That(b.Function.Queues[1].IsReady, Is.False);
        Assert.That(b.Device.Activation!.Queues[1].IsReady, Is.False);
        Assert.That(b.Echo(vq0, [1], 1).Used.Length, Is.EqualTo(1));
    }

    [Test]
    public void QueueEnabledAfterDriverOk_StartsImmediately()
    {
        using var b = new EchoBench();
        b.Driver.Negotiate(EchoBench.BaseFeatures);
        b.Driver.SetupQueue(0);
        b.Driver.DriverOk();
        var vq1 = b.Driver.SetupQueue(1);
        Assert.That(b.Echo(vq1, [1, 2], 2).Used.Length, Is.EqualTo(2));
    }
}
