using ManagedVmm.Testing.Virtio;
using D = ManagedVmm.Testing.Virtio.ViommuTestDriver;

namespace ManagedVmm.Devices.VirtioIommu.Tests;

/// <summary>
/// The cost model on the requestq: a request executes when the device pops it, but its used element becomes
/// visible only after its modelled host cost (per request + per page for MAP and UNMAP), one after the other.
/// </summary>
public sealed class RequestCostTests
{
    private static readonly VirtioIommuCostOptions Costs = new()
    {
        MapRequestNs = 3_000, MapPageNs = 1_000, UnmapRequestNs = 5_000, UnmapPageNs = 500, OtherRequestNs = 700,
    };

    private static TransportRig Ready(VirtioIommuCostOptions? costs)
    {
        var rig = new TransportRig(costs: costs);
        rig.Driver.Initialize();
        return rig;
    }

    /// <summary>Queues one request and kicks; returns the reply buffers (not yet answered when costs apply).</summary>
    private static DriverBuffer[] Submit(TransportRig rig, byte[] request)
    {
        var q = rig.Driver.RequestQueue;
        var buffers = new[] { q.Readable(request), q.Writable(4) };
        q.Add(buffers);
        q.Kick();
        return buffers;
    }

    private static byte[] Attach1 => D.AttachRequest(D.TAttach, 1, TransportRig.EndpointId, 0);

    /// <summary>Submits a request and waits for its used element; returns the ns waited.</summary>
    private static long Do(TransportRig rig, byte[] request)
    {
        Submit(rig, request);
        return WaitForUsed(rig);
    }

    /// <summary>Advances the clock 1 ns at a time until the used element appears; returns the ns waited.</summary>
    private static long WaitForUsed(TransportRig rig)
    {
        long start = rig.Bed.Scheduler.Now;
        for (int i = 0; i < 1_000_000; i++)
        {
            if (rig.Driver.RequestQueue.TryGetUsed(out _))
            {
                return rig.Bed.Scheduler.Now - start;
            }

            rig.Bed.AdvanceClock(1);
        }

        throw new AssertionException("no used element within 1 ms of virtual time");
    }

    [TestCase(0x0FFFUL, 3_000 + (1 * 1_000), TestName = "Map_OnePage_CostsRequestPlusOnePage")]
    [TestCase(0xFFFFUL, 3_000 + (16 * 1_000), TestName = "Map_SixteenPages_CostsRequestPlusSixteenPages")]
    public void Map_UsedElementVisibleAfterPerRequestPlusPerPageCost(ulong end, long expectedNs)
    {
        using var rig = Ready(Costs);
        Assert.That(Do(rig, Attach1), Is.EqualTo(700));

        Submit(rig, D.MapRequest(1, 0, end, 0x10_0000, D.MapRead | D.MapWrite));

        Assert.That(rig.EndpointRead(0), Is.True, "the mapping takes effect when the request is executed");
        Assert.That(WaitForUsed(rig), Is.EqualTo(expectedNs));
    }

    [Test]
    public void Unmap_CostsPerRequestPlusPerPage_AndRequestsQueueBehindEachOther()
    {
        using var rig = Ready(Costs);
        Do(rig, Attach1);
        Do(rig, D.MapRequest(1, 0, 0x1FFF, 0x10_0000, D.MapRead));

        // Two requests in one kick: the second becomes visible after both costs.
        var q = rig.Driver.RequestQueue;
        q.Add([q.Readable(D.UnmapRequest(1, 0, 0x1FFF)), q.Writable(4)]);
        q.Add([q.Readable(D.AttachRequest(D.TAttach, 2, TransportRig.EndpointId, 0)), q.Writable(4)]);
        q.Kick();

        Assert.That(WaitForUsed(rig), Is.EqualTo(5_000 + (2 * 500)), "UNMAP of two pages");
        Assert.That(WaitForUsed(rig), Is.EqualTo(700), "ATTACH, after the UNMAP");
    }

    [Test]
    public void FailedMap_CostsOnlyTheOtherRequestFigure()
    {
        using var rig = Ready(Costs);
        Submit(rig, D.MapRequest(9, 0, 0xFFFF, 0x10_0000, D.MapRead)); // domain 9 does not exist: NOENT
        Assert.That(WaitForUsed(rig), Is.EqualTo(700));
    }

    [Test]
    public void ZeroCosts_CompleteDuringTheNotify_AsWithoutACostModel()
    {
        using var rig = Ready(new VirtioIommuCostOptions());
        rig.Driver.Attach(1, TransportRig.EndpointId);
        long before = rig.Bed.Scheduler.Now;

        Submit(rig, D.MapRequest(1, 0, 0xFFFF, 0x10_0000, D.MapRead));

        Assert.That(rig.Driver.RequestQueue.TryGetUsed(out var used), Is.True);
        Assert.That(used.Length, Is.EqualTo(4u));
        Assert.That(rig.Bed.Scheduler.Now, Is.EqualTo(before));
    }

    [Test]
    public void DeviceReset_DropsPendingCompletions()
    {
        using var rig = Ready(Costs);
        Do(rig, Attach1);
        Submit(rig, D.MapRequest(1, 0, 0xFFFF, 0x10_0000, D.MapRead));

        rig.Driver.Pci.Reset();
        rig.Bed.AdvanceClock(1_000_000);

        Assert.That(rig.Driver.RequestQueue.TryGetUsed(out _), Is.False, "nothing is written into rings the driver gave up");
    }

    [Test]
    public void NegativeCost_IsAHostConfigurationError() =>
        Assert.Throws<ArgumentException>(() => new TransportRig(costs: new VirtioIommuCostOptions { MapPageNs = -1 }));
}
