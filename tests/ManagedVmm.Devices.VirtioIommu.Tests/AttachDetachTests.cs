using ManagedVmm.Devices.VirtioIommu.Spec;
using S = ManagedVmm.Devices.VirtioIommu.Spec.VirtioIommuStatus;

namespace ManagedVmm.Devices.VirtioIommu.Tests;

/// <summary>ATTACH and DETACH rules of virtio v1.2 §5.13.6.1–2 beyond the qtest sequence.</summary>
public sealed class AttachDetachTests
{
    [Test]
    public void Attach_TheIommuItself_IsNoEnt()
    {
        var bench = new IommuTestBench();
        Assert.That(bench.Attach(1, IommuTestBench.Self), Is.EqualTo(S.NoEnt));
    }

    [Test]
    public void Attach_ExcludedEndpoint_IsNoEnt()
    {
        var bench = new IommuTestBench(o => o.ExcludedEndpoints.Add(IommuTestBench.Nvme));
        Assert.That(bench.Attach(1, IommuTestBench.Nvme), Is.EqualTo(S.NoEnt));
    }

    [Test]
    public void Attach_EndpointAbove16Bits_IsNoEnt()
    {
        var bench = new IommuTestBench();
        Assert.That(bench.Attach(1, 0x1_0000), Is.EqualTo(S.NoEnt));
    }

    [Test]
    public void Attach_TwoEndpointsShareADomain_AndItSurvivesUntilTheLastLeaves()
    {
        var bench = new IommuTestBench();
        Assert.That(bench.Attach(7, IommuTestBench.HostBridge), Is.EqualTo(S.Ok));
        Assert.That(bench.Attach(7, IommuTestBench.Nvme), Is.EqualTo(S.Ok));
        bench.Map(7, 0x1000, 0x1FFF, 0x5000);
        Assert.That(bench.Detach(7, IommuTestBench.HostBridge), Is.EqualTo(S.Ok));
        Assert.That(bench.MappingsOf(7), Has.Count.EqualTo(1), "domain lives on with the NVMe");
        Assert.That(bench.Detach(7, IommuTestBench.Nvme), Is.EqualTo(S.Ok));
        Assert.That(bench.Iommu.Domains.TryGetDomain(7, out _), Is.False);
        Assert.That(bench.Attach(7, IommuTestBench.Nvme), Is.EqualTo(S.Ok));
        Assert.That(bench.MappingsOf(7), Is.Empty, "a re-created domain starts empty (Linux replays its mappings)");
    }

    [Test]
    public void Attach_SameDomainAgain_IsOkAndChangesNothing()
    {
        var bench = new IommuTestBench();
        bench.Attach(1, 0);
        bench.Map(1, 0, 0xFFF, 0);
        Assert.That(bench.Attach(1, 0), Is.EqualTo(S.Ok));
        Assert.That(bench.MappingsOf(1), Has.Count.EqualTo(1));
        Assert.That(bench.Iommu.Domains.AttachedEndpointCount, Is.EqualTo(1));
    }

    [Test]
    public void Attach_RejectedMove_LeavesTheEndpointInItsOldDomain()
    {
        // QEMU detaches before it checks the bypass kind, so its failed ATTACH has side effects; this device does not.
        var bench = new IommuTestBench();
        bench.Attach(1, IommuTestBench.HostBridge, (uint)VirtioIommuAttachFlags.Bypass);
        bench.Attach(2, IommuTestBench.Nvme);
        Assert.That(bench.Attach(1, IommuTestBench.Nvme), Is.EqualTo(S.Inval));
        Assert.That(bench.Iommu.Domains.DomainOf(IommuTestBench.Nvme)?.Id, Is.EqualTo(2u));
    }

    [Test]
    public void Attach_BypassFlagWithoutBypassConfigNegotiated_IsInval()
    {
        var bench = new IommuTestBench(negotiate: VirtioIommuFeatures.MapUnmap);
        Assert.That(bench.Attach(1, 0, (uint)VirtioIommuAttachFlags.Bypass), Is.EqualTo(S.Inval));
    }

    [Test]
    public void Attach_DomainOutsideDomainRange_IsRange()
    {
        var bench = new IommuTestBench(o => { o.DomainRangeStart = 1; o.DomainRangeEnd = 32; });
        Assert.Multiple(() =>
        {
            Assert.That(bench.Attach(0, 0), Is.EqualTo(S.Range));
            Assert.That(bench.Attach(33, 0), Is.EqualTo(S.Range));
            Assert.That(bench.Attach(32, 0), Is.EqualTo(S.Ok));
        });
    }

    [Test]
    public void Attach_BeyondMaxDomains_IsNoMem_ButMovingTheLastEndpointIsNot()
    {
        var bench = new IommuTestBench(o => o.MaxDomains = 1);
        Assert.That(bench.Attach(1, IommuTestBench.HostBridge), Is.EqualTo(S.Ok));
        Assert.That(bench.Attach(2, IommuTestBench.Nvme), Is.EqualTo(S.NoMem));
        Assert.That(bench.Attach(2, IommuTestBench.HostBridge), Is.EqualTo(S.Ok), "domain 1 goes away as domain 2 appears");
        Assert.That(bench.Attach(2, IommuTestBench.Nvme), Is.EqualTo(S.Ok), "joining an existing domain needs no new one");
    }

    [Test]
    public void Detach_IgnoresReserved()
    {
        var bench = new IommuTestBench();
        bench.Attach(1, 0);
        Assert.That(bench.Send(IommuRequests.DetachReq(1, 0, reserved: ulong.MaxValue)), Is.EqualTo(S.Ok));
    }

    [Test]
    public void Detach_UnattachedEndpoint_IsInval()
    {
        var bench = new IommuTestBench();
        Assert.That(bench.Detach(1, IommuTestBench.Nvme), Is.EqualTo(S.Inval));
    }
}
