using ManagedVmm.Devices.VirtioIommu.Spec;
using S = ManagedVmm.Devices.VirtioIommu.Spec.VirtioIommuStatus;

namespace ManagedVmm.Devices.VirtioIommu.Tests;

/// <summary>How a chain's readable and writable sizes decide whether and where the device answers (reference §6.1–6.3).</summary>
public sealed class RequestFramingTests
{
    [TestCase(0, 4)]
    [TestCase(3, 4)]
    [TestCase(20, 0)]
    [TestCase(20, 3)]
    public void ChainWithoutRoomForHeadOrTail_IsReturnedUnanswered(int readable, int writable)
    {
        var bench = new IommuTestBench();
        var req = IommuRequests.AttachReq(1, 0)[..readable];
        var w = new byte[writable];
        Array.Fill(w, (byte)0x5A);
        Assert.That(bench.Iommu.Requests.Process(req, w), Is.Zero);
        Assert.That(w, Is.All.EqualTo(0x5A));
        Assert.That(bench.Stats.MalformedRequests, Is.EqualTo(1));
        Assert.That(bench.Iommu.Domains.DomainCount, Is.Zero);
    }

    [TestCase(IommuRequests.Attach, 19)]
    [TestCase(IommuRequests.Detach, 4)]
    [TestCase(IommuRequests.Map, 35)]
    [TestCase(IommuRequests.Unmap, 27)]
    public void ReadablePartShorterThanTheStructure_IsInval(byte type, int readable)
    {
        var bench = new IommuTestBench();
        var req = new byte[readable];
        req[0] = type;
        Assert.That(bench.Send(req), Is.EqualTo(S.Inval));
    }

    [Test]
    public void ProbeWithShortReadablePart_IsInvalInTheFullReply()
    {
        var bench = new IommuTestBench();
        var w = new byte[516];
        Assert.That(bench.Iommu.Requests.Process(IommuRequests.ProbeReq(0)[..40], w), Is.EqualTo(516u));
        Assert.That(w[512], Is.EqualTo((byte)S.Inval));
        Assert.That(w[..512], Is.All.EqualTo(0));
    }

    [Test]
    public void ExtraReadableBytes_AreIgnored()
    {
        var bench = new IommuTestBench();
        var req = new byte[200];
        IommuRequests.AttachReq(1, 0).CopyTo(req, 0);
        Array.Fill(req, (byte)0xFF, 20, 180);
        Assert.That(bench.Send(req), Is.EqualTo(S.Ok));
    }

    [Test]
    public void LargerWritablePart_GetsTheTailAtItsStartAndUsedLengthFour()
    {
        var bench = new IommuTestBench();
        var w = new byte[64];
        Array.Fill(w, (byte)0x77);
        Assert.That(bench.Iommu.Requests.Process(IommuRequests.AttachReq(1, 444), w), Is.EqualTo(4u));
        Assert.That(w[..4], Is.EqualTo(new byte[] { (byte)S.NoEnt, 0, 0, 0 }));
        Assert.That(w[4..], Is.All.EqualTo(0x77));
    }

    [Test]
    public void HeadReservedBytes_AreIgnored()
    {
        var bench = new IommuTestBench();
        var req = IommuRequests.AttachReq(1, 0);
        req[1] = req[2] = req[3] = 0xFF;
        Assert.That(bench.Send(req), Is.EqualTo(S.Ok));
    }

    [Test]
    public void Probe_WhenNotNegotiated_IsReturnedUnanswered()
    {
        var bench = new IommuTestBench(negotiate: VirtioIommuFeatures.MapUnmap);
        var w = new byte[516];
        Array.Fill(w, (byte)0x42);
        Assert.That(bench.Iommu.Requests.Process(IommuRequests.ProbeReq(0), w), Is.Zero);
        Assert.That(w, Is.All.EqualTo(0x42));
    }

    [Test]
    public void MapAndUnmap_WithoutMapUnmapNegotiated_AreUnsupp()
    {
        var bench = new IommuTestBench(negotiate: VirtioIommuFeatures.None);
        bench.Attach(1, 0);
        Assert.That(bench.Map(1, 0, 0xFFF, 0), Is.EqualTo(S.Unsupp));
        Assert.That(bench.Unmap(1, 0, 0xFFF), Is.EqualTo(S.Unsupp));
    }

    [Test]
    public void Probe_ReportsConfiguredReservedRegionsAfterTheMsiWindow()
    {
        var bench = new IommuTestBench(o =>
        {
            o.ProbeSize = 64;
            o.ReservedRegions.Add(new VirtioIommuReservedRegion { Start = 0x10_0000, End = 0x1F_FFFF });
        });
        var w = new byte[68];
        Assert.That(bench.Iommu.Requests.Process(IommuRequests.ProbeReq(0), w), Is.EqualTo(68u));
        Assert.That(w[24], Is.EqualTo(1), "second property: RESV_MEM");
        Assert.That(w[26], Is.EqualTo(20));
        Assert.That(w[28], Is.EqualTo(0), "subtype RESERVED");
        Assert.That(BitConverter.ToUInt64(w, 32), Is.EqualTo(0x10_0000UL));
        Assert.That(BitConverter.ToUInt64(w, 40), Is.EqualTo(0x1F_FFFFUL));
        Assert.That(w[48..64], Is.All.EqualTo(0));
        Assert.That(w[64], Is.EqualTo((byte)S.Ok));
    }

    [Test]
    public void Probe_WithSplitReplyBuffer_ReturnsReplyForTheGlueToCopy()
    {
        var bench = new IommuTestBench();
        var reply = new byte[bench.Iommu.Requests.ReplyCapacity];
        uint used = bench.Iommu.Requests.Process(IommuRequests.ProbeReq(0), 1UL << 40, reply);
        Assert.That(used, Is.EqualTo(516u));
        Assert.That(reply.Length, Is.EqualTo(516));
    }

    [Test]
    public void Statistics_CountRequestsByTypeAndStatus()
    {
        var bench = new IommuTestBench();
        bench.Attach(1, 0);
        bench.Attach(1, 444);
        bench.Map(1, 0, 0xFFF, 0);
        Assert.Multiple(() =>
        {
            Assert.That(bench.Stats.RequestCount(VirtioIommuRequestType.Attach), Is.EqualTo(2));
            Assert.That(bench.Stats.RequestCount(VirtioIommuRequestType.Attach, S.NoEnt), Is.EqualTo(1));
            Assert.That(bench.Stats.RequestCount(S.Ok), Is.EqualTo(2));
            Assert.That(bench.Stats.Requests, Is.EqualTo(3));
            Assert.That(bench.Stats.PeakMappings, Is.EqualTo(1));
        });
        bench.Stats.RecordKick(3);
        bench.Stats.RecordKick(1);
        Assert.That(bench.Stats.Kicks, Is.EqualTo(2));
        Assert.That(bench.Stats.ChainsProcessed, Is.EqualTo(4));
        Assert.That(bench.Stats.MaxChainsPerKick, Is.EqualTo(3));
    }
}
